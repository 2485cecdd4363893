//! The properties, written once for the checker and the simulator.
//!
//! Most are judged on a `History`: an auxiliary variable (in TLA's sense, and
//! stateright's `ActorModel` history) that observes every message as it is
//! sent. It mirrors what the CA announced about its tables, which answers it
//! gave, and who owns which certificate, and records a violation at the
//! moment a message breaks a property. `one-certificate-per-user` is judged on
//! the CA's state itself.

use crate::config::{Directory, Role};
use crate::msg::{Basis, Msg, OpId, Refusal, Request, Session, Verdict};
use crate::node::NodeState;
use crate::tables::Serial;
use crate::x509::{CertId, VirtualTime};
use serde::Serialize;
use stateright::actor::Id;
use std::collections::{BTreeMap, BTreeSet};

/// A safety property (`always`). Names are part of the interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Property {
    /// No service grants on a serial after the CA invalidated it, unless the
    /// grant rests on a CA answer given before the invalidation.
    RevokedNeverAccepted,
    /// A grant at S for s rests on S being qualified for s (issued through S,
    /// or added by S18) and not withdrawn since (S20-4), at the time of the
    /// evidence. Independent of revocation: an invalidation withdraws no
    /// service, so a stale grant after it breaks only `revoked-never-accepted`.
    OnlyQualifiedServices,
    /// A service's password for a user is in no message to any other node,
    /// as sent by a user, the CA or an honest service. The patent's claim
    /// is about what the system discloses of a user's secrets: an adversary
    /// (the curious or malicious service) sending on the password its own
    /// users typed to it discloses only what it holds, and is not judged.
    PasswordStaysHome,
    /// No service receives from its person a credential that another
    /// service accepts for the same person (generalises
    /// `password-stays-home` to V2's templates). Judged on what a user
    /// hands over itself; an adversary replaying a credential it received
    /// discloses nothing new.
    CredentialStaysHome,
    /// No service grants a user's identity to a party without the user's key.
    NoImpersonation,
    /// The CA never issues two different certificates with one serial (the
    /// same certificate answered again, byte for byte, is one certificate).
    UniqueSerials,
    /// At most one valid certificate per user at the CA.
    OneCertificatePerUser,
    /// A certificate is invalidated only through its holder's action: the
    /// CA's OK to an invalidation asked by service S follows the holder's
    /// Yes (S9, P12) to S, in that session of the holder's. A withdrawal
    /// (S20-3/S20-4) names the asking service itself, and a service that
    /// withdraws itself harms nobody (it could refuse service anyway), so
    /// only a withdrawal of another service would break this; in this
    /// model the CA never withdraws anyone but the asker.
    NoUnauthorisedRevocation,
    /// A grant at B of a user's certificate rests on a presentation the user
    /// made to B (under proof of possession, a proof made for B): nobody
    /// relays a user's presentation to another service.
    NoRelay,
    /// Only the portal learns the list of services of a certificate (P36-P37).
    ServiceListPrivate,
    /// A service links a certificate only to its subject's account (S16,
    /// S19): no Fig. 7 row holds a serial the CA issued to someone else.
    LinkMatchesSubject,
    /// A service is added to a certificate (S18) only through its holder's
    /// action: the CA's OK to S's qualification answers a request S made in
    /// an open session of the holder's, in which the holder presented the
    /// certificate to S to use it (S13-S17), or repeats one so answered
    /// that the holder has not withdrawn since. A service that qualifies
    /// itself on its own (a guess, a presentation it kept, one relayed to
    /// it) is not the holder's doing, and after the holder's S20 it undoes
    /// the holder's choice.
    NoUnauthorisedQualification,
    /// The CA certifies a key for a subject only at the request of the
    /// key's holder for that subject: every certificate it issues binds a
    /// key some user offered at S3, in its own login for an issuance, to
    /// that user's own subject (PKCS#10's proof of possession at
    /// registration, RFC 4211). A service that has a key it was shown
    /// certified for a subject of its choosing breaks it.
    KeyBoundByHolder,
    /// Under V1, a service never grants a serial after the CA's
    /// notification of that serial's deletion has reached it. Grants while
    /// the notification is in flight or lost are V1's designed window
    /// (`revoked-never-accepted` reports those); a grant after it arrived
    /// is a bug of the design, such as a qualification answered before the
    /// invalidation that links the serial again (S19) after the CRL.
    PushWindowOnly,
    /// No service grants on a certificate whose notAfter had passed when
    /// it was presented there (judged as the presentation is sent, which
    /// the service's check follows). Only a run in which time passes can
    /// break it, so the checker judges it with `--clock-jumps` only.
    ExpiredNeverAccepted,
}

impl Property {
    pub const ALL: &'static [Property] = &[
        Property::RevokedNeverAccepted,
        Property::OnlyQualifiedServices,
        Property::PasswordStaysHome,
        Property::CredentialStaysHome,
        Property::NoImpersonation,
        Property::UniqueSerials,
        Property::OneCertificatePerUser,
        Property::NoUnauthorisedRevocation,
        Property::NoRelay,
        Property::ServiceListPrivate,
        Property::LinkMatchesSubject,
        Property::NoUnauthorisedQualification,
        Property::KeyBoundByHolder,
        Property::PushWindowOnly,
        Property::ExpiredNeverAccepted,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Property::RevokedNeverAccepted => "revoked-never-accepted",
            Property::OnlyQualifiedServices => "only-qualified-services",
            Property::PasswordStaysHome => "password-stays-home",
            Property::CredentialStaysHome => "credential-stays-home",
            Property::NoImpersonation => "no-impersonation",
            Property::UniqueSerials => "unique-serials",
            Property::OneCertificatePerUser => "one-certificate-per-user",
            Property::NoUnauthorisedRevocation => "no-unauthorised-revocation",
            Property::NoRelay => "no-relay",
            Property::ServiceListPrivate => "service-list-private",
            Property::LinkMatchesSubject => "link-matches-subject",
            Property::NoUnauthorisedQualification => "no-unauthorised-qualification",
            Property::KeyBoundByHolder => "key-bound-by-holder",
            Property::PushWindowOnly => "push-window-only",
            Property::ExpiredNeverAccepted => "expired-never-accepted",
        }
    }

    pub fn from_name(name: &str) -> Option<Property> {
        Property::ALL.iter().copied().find(|p| p.name() == name)
    }
}

/// A flow's end, which some run must reach (`sometimes`), so that a vacuous
/// model (one that never gets anywhere) is caught.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Milestone {
    /// A grant at a service other than the issuing one (after P6/S19).
    GrantAfterQualification,
    /// The CA invalidated a certificate (P13/S10).
    Invalidation,
    /// The CA withdrew a service (S20-4).
    Prohibition,
    /// A statement with at least two sources (Fig. 11).
    StatementTwoSources,
    /// Another service accepted a credential a curious service replayed
    /// (reachable under V2, where the template is the same everywhere; not
    /// under passwords).
    ReplayedCredentialAccepted,
    /// A service refused a certificate because its notAfter had passed
    /// (rejection `expired`): reachable only when time passes
    /// (`--clock-jumps`).
    ExpiredRefused,
    /// Under `crl-freshness`, a service whose newest CRL had passed its
    /// nextUpdate checked a presentation with the CA instead of its own
    /// table (a check for want of any CRL yet does not count). Judged on
    /// the services' sessions (`SessionState::stale_crl`), not the history.
    StaleCrlAsksCa,
}

impl Milestone {
    pub const ALL: &'static [Milestone] = &[
        Milestone::GrantAfterQualification,
        Milestone::Invalidation,
        Milestone::Prohibition,
        Milestone::StatementTwoSources,
        Milestone::ReplayedCredentialAccepted,
        Milestone::ExpiredRefused,
        Milestone::StaleCrlAsksCa,
    ];

    /// Whether some run has reached this milestone by the state with this
    /// history and these parties' states.
    pub fn reached<'a>(
        self,
        history: &History,
        states: impl IntoIterator<Item = &'a NodeState>,
    ) -> bool {
        match self {
            Milestone::StaleCrlAsksCa => states
                .into_iter()
                .filter_map(NodeState::service)
                .any(|s| s.sessions.values().any(|session| session.stale_crl)),
            m => history.reached.contains(&m),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Milestone::GrantAfterQualification => "grant-after-qualification",
            Milestone::Invalidation => "invalidation",
            Milestone::Prohibition => "prohibition",
            Milestone::StatementTwoSources => "statement-two-sources",
            Milestone::ReplayedCredentialAccepted => "replayed-credential-accepted",
            Milestone::ExpiredRefused => "expired-refused",
            Milestone::StaleCrlAsksCa => "stale-crl-asks-ca",
        }
    }
}

/// A liveness property (`eventually`), checked by `liveness.rs` for fair
/// cycles when `check --liveness` asks. Names are part of the interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Liveness {
    /// Every operation a user starts ends with an outcome.
    OperationsEnd,
    /// After the CA deletes a serial, every service that holds it
    /// eventually deletes it (V1), or its certificate expires. Online,
    /// every use asks the CA, so a deleted serial is refused everywhere
    /// from the deletion on (which `revoked-never-accepted` checks as
    /// safety); nothing is awaited. The project's reading of "for ever":
    /// once the certificate's notAfter has passed every service refuses it
    /// (`expired` at S11-S12, before any table lookup), so a row left
    /// behind grants nothing and is no longer awaited. Time passes only
    /// with `check --clock-jumps`, and a jump is never forced (it is not
    /// weakly fair), so a run may still keep the time short of notAfter
    /// for ever; without jumps nothing expires and the reading changes
    /// nothing.
    InvalidationReachesAll,
    /// Under a reliable network and no crash, an honest issue (the
    /// account's own credential) ends issued or already-issued. A user that
    /// saw one end otherwise carries that (ghost `UserState::issue_failed`)
    /// for ever after, so such a run can never satisfy it.
    IssueEventuallySucceeds,
}

impl Liveness {
    pub const ALL: &'static [Liveness] = &[
        Liveness::OperationsEnd,
        Liveness::InvalidationReachesAll,
        Liveness::IssueEventuallySucceeds,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Liveness::OperationsEnd => "operations-end",
            Liveness::InvalidationReachesAll => "invalidation-reaches-all",
            Liveness::IssueEventuallySucceeds => "issue-eventually-succeeds",
        }
    }

    /// Whether the awaited thing is still outstanding in this system state
    /// (a fair run that stays in such states violates the property).
    pub fn pending<'a>(
        self,
        dir: &Directory,
        states: impl IntoIterator<Item = &'a NodeState>,
    ) -> bool {
        match self {
            Liveness::OperationsEnd => states
                .into_iter()
                .filter_map(NodeState::user)
                .any(|u| !u.pending.is_empty()),
            Liveness::InvalidationReachesAll => {
                if dir.modes.revocation != crate::config::Revocation::Push {
                    return false;
                }
                let states: Vec<&NodeState> = states.into_iter().collect();
                let Some(ca) = states.iter().find_map(|s| s.ca()) else {
                    return false;
                };
                let now = states.iter().find_map(|s| s.clock()).map(|c| c.now);
                states.iter().filter_map(|s| s.service()).any(|service| {
                    ca.revoked.iter().any(|serial| {
                        service.durable.table.holds(*serial)
                            && !now.is_some_and(|now| expired(dir, ca, *serial, now))
                    })
                })
            }
            // Outstanding: an honest issue under way, or one that ended
            // otherwise (which can then never succeed).
            Liveness::IssueEventuallySucceeds => {
                states.into_iter().filter_map(NodeState::user).any(|u| {
                    u.issue_failed
                        || u.pending.iter().any(|(_, p)| {
                            matches!(
                                p.command,
                                crate::user::Command::Issue {
                                    credential: None,
                                    ..
                                }
                            )
                        })
                })
            }
        }
    }
}

/// Whether the certificate the CA issued with `serial` has expired at `now`
/// (its notAfter passed). A serial the CA did not issue in this run is
/// not known to have expired.
fn expired(dir: &Directory, ca: &crate::ca::CaState, serial: Serial, now: u64) -> bool {
    ca.certificate_of(dir, serial)
        .and_then(|cert| dir.arena.not_after(cert))
        .is_some_and(|not_after| now > not_after)
}

/// Whether any certificate of this run can have expired at `now`: every
/// certificate the CA issues is valid for `certificate_validity_ms` from a
/// time at or after 0 (rounded to seconds), so none has before. A
/// simulation that runs for less than the validity (most) pays nothing for
/// `expired-never-accepted`.
fn may_have_expired(dir: &Directory, now: VirtualTime) -> bool {
    now.saturating_add(1000) > dir.modes.certificate_validity_ms
}

/// Every property's and milestone's name, as flags and files write them.
pub fn names() -> Vec<&'static str> {
    Property::ALL
        .iter()
        .map(|p| p.name())
        .chain(Milestone::ALL.iter().map(|m| m.name()))
        .chain(Liveness::ALL.iter().map(|l| l.name()))
        .collect()
}

/// A CA answer a service may rest a grant on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
struct Evidence {
    serial: Serial,
    /// The service was qualified for the serial then (as the CA announced).
    qualified: bool,
    /// The serial had been invalidated by then.
    revoked: bool,
}

/// The auxiliary history the properties are judged on.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct History {
    /// Qualifications as the CA announced them: serial -> services issued
    /// through or added (S7, S18), less those withdrawn (S20-4). An
    /// invalidation does not touch it: revocation is judged apart.
    qualified: BTreeMap<Serial, BTreeSet<Id>>,
    /// serial -> the service it was issued through, and for which session.
    issued_at: BTreeMap<Serial, (Id, Session)>,
    /// serial -> the certificate issued with it (a second, different
    /// certificate with the serial breaks `unique-serials`; the same one
    /// answered again does not).
    certificates: BTreeMap<Serial, CertId>,
    /// (holder, service, operation): the holder said Yes to an invalidation
    /// or a prohibition at the service in that operation
    /// (`no-unauthorised-revocation`).
    consents: BTreeSet<(Id, Id, OpId)>,
    /// (serial, service): the certificate's holder presented it there (`no-relay`).
    presented: BTreeSet<(Serial, Id)>,
    /// (holder, service, operation): the holder presented its certificate
    /// to the service to use it in that operation, whose session is still
    /// open (`no-unauthorised-qualification`).
    using: BTreeSet<(Id, Id, OpId)>,
    /// (holder, service, operation): the CA qualified the service in that
    /// session of the holder's, and the holder has not withdrawn it since:
    /// a duplicated request of the session is answered alike.
    qualified_in: BTreeSet<(Id, Id, OpId)>,
    /// (presenter, service, operation): a certificate was presented there
    /// after its notAfter had passed, in a session still open
    /// (`expired-never-accepted`). Empty unless time passes.
    presented_expired: BTreeSet<(Id, Id, OpId)>,
    /// (key, user): the user offered the key for certification in its own
    /// login for an issuance (S3) (`key-bound-by-holder`). Keyed by the key,
    /// so that an issuance looks up only the offers of the key it certifies.
    key_offers: BTreeSet<([u8; 32], Id)>,
    revoked: BTreeSet<Serial>,
    /// (service, serial): a CRL listing the serial reached the service
    /// (`push-window-only`).
    notified: BTreeSet<(Id, Serial)>,
    /// serial -> the user whose key it certifies.
    owners: BTreeMap<Serial, Id>,
    evidence: BTreeMap<(Id, Session), Evidence>,
    balances: BTreeMap<(Id, OpId), u8>,
    pub violated: BTreeSet<Property>,
    pub reached: BTreeSet<Milestone>,
}

impl History {
    /// The history at the start of a run: adversaries' own certificates
    /// (`Directory::own`) are issued already, to their holders.
    pub fn new(dir: &Directory) -> History {
        let mut h = History::default();
        for (holder, own) in &dir.own {
            h.owners.insert(own.serial, *holder);
            h.certificates.insert(own.serial, own.certificate);
            h.qualified
                .insert(own.serial, BTreeSet::from([own.registered_at]));
        }
        h
    }

    /// The same history with every party id renamed by `id`, every
    /// certificate by `cert` and every user's key by `key` (symmetry).
    pub fn renamed(
        &self,
        id: impl Fn(Id) -> Id,
        cert: impl Fn(CertId) -> CertId,
        key: impl Fn(&[u8; 32]) -> [u8; 32],
    ) -> History {
        let session = |s: &Session| Session {
            peer: id(s.peer),
            op: s.op,
        };
        History {
            qualified: self
                .qualified
                .iter()
                .map(|(s, svcs)| (*s, svcs.iter().map(|x| id(*x)).collect()))
                .collect(),
            issued_at: self
                .issued_at
                .iter()
                .map(|(s, (svc, sess))| (*s, (id(*svc), session(sess))))
                .collect(),
            certificates: self
                .certificates
                .iter()
                .map(|(s, c)| (*s, cert(*c)))
                .collect(),
            consents: self
                .consents
                .iter()
                .map(|(u, s, op)| (id(*u), id(*s), *op))
                .collect(),
            presented: self
                .presented
                .iter()
                .map(|(s, svc)| (*s, id(*svc)))
                .collect(),
            using: self
                .using
                .iter()
                .map(|(h, svc, op)| (id(*h), id(*svc), *op))
                .collect(),
            qualified_in: self
                .qualified_in
                .iter()
                .map(|(h, svc, op)| (id(*h), id(*svc), *op))
                .collect(),
            presented_expired: self
                .presented_expired
                .iter()
                .map(|(h, svc, op)| (id(*h), id(*svc), *op))
                .collect(),
            key_offers: self
                .key_offers
                .iter()
                .map(|(k, u)| (key(k), id(*u)))
                .collect(),
            revoked: self.revoked.clone(),
            notified: self
                .notified
                .iter()
                .map(|(svc, s)| (id(*svc), *s))
                .collect(),
            owners: self.owners.iter().map(|(s, u)| (*s, id(*u))).collect(),
            evidence: self
                .evidence
                .iter()
                .map(|((svc, sess), e)| ((id(*svc), session(sess)), *e))
                .collect(),
            balances: self
                .balances
                .iter()
                .map(|((who, op), b)| ((id(*who), *op), *b))
                .collect(),
            violated: self.violated.clone(),
            reached: self.reached.clone(),
        }
    }

    /// Whether the key `certificate` certifies was offered by a user for
    /// certification, and the certificate names that user's own subject
    /// (`key-bound-by-holder`). A certificate this run did not issue has
    /// no known request and fails.
    fn offered_by_holder(&self, dir: &Directory, certificate: CertId) -> bool {
        let Some((_, req)) = dir.arena.origin(certificate) else {
            return false;
        };
        let key = req.public_key;
        self.key_offers
            .range((key, Id::from(0))..=(key, Id::from(usize::MAX)))
            .any(|(_, user)| {
                dir.subjects
                    .get(user)
                    .is_some_and(|s| s.name == req.common_name && s.email == req.email)
            })
    }

    /// Whether observing `msg` can change a history: only credentials, the
    /// CA's issuances and answers, grants, and answers to a login (S9 or a
    /// no-certificate refusal) matter. The checker clones the history only
    /// for these, so most transitions copy nothing.
    pub fn may_change(msg: &Msg) -> bool {
        msg.credential().is_some()
            || msg.grant().is_some()
            || matches!(
                msg,
                Msg::Issued { .. }
                    | Msg::Answer { .. }
                    | Msg::AskInvalidate { .. }
                    | Msg::Refused { .. }
                    | Msg::Confirm { .. }
                    | Msg::Present { .. }
                    | Msg::Services { .. }
            )
    }

    /// Observe one message as it is sent (dropped or not), at `now`.
    pub fn observe(&mut self, dir: &Directory, src: Id, dst: Id, msg: &Msg, now: VirtualTime) {
        if let Some(credential) = msg.credential() {
            if let crate::config::Credential::Password { password, .. } = credential
                && !dir.is_adversary(src)
            {
                // Judged by the secret: a service's password sent anywhere
                // else, under whatever login, has left home.
                let owners = dir.services_of_password(password);
                if owners.iter().any(|s| *s != dst) && !owners.contains(&dst) {
                    self.violated.insert(Property::PasswordStaysHome);
                }
            }
            // Judged on what a user hands over itself: a party replaying a
            // credential it received (the curious service) holds nothing new.
            if dir.person_of(credential, dst) == Some(src)
                && !dir.is_adversary(src)
                && !dir.accepted_elsewhere(credential, dst).is_empty()
            {
                self.violated.insert(Property::CredentialStaysHome);
            }
        }
        let from_ca = dir.ca() == Some(src);
        // S4 Yes for a login another service made: the replay was accepted.
        if dir.is_service(dst)
            && matches!(
                msg,
                Msg::AskInvalidate { .. }
                    | Msg::Refused {
                        refusal: crate::msg::Refusal::NoCertificate,
                        ..
                    }
            )
        {
            self.reached.insert(Milestone::ReplayedCredentialAccepted);
        }
        self.observe_expiry(dir, src, dst, msg, now);
        let from_user = matches!(dir.party(src).map(|p| &p.role), Some(Role::User));
        match msg {
            // The holder's Yes to S9/P12 (invalidate) or S20-1 (prohibit).
            Msg::Confirm { op, .. } if from_user && dir.is_service(dst) => {
                self.consents.insert((src, dst, *op));
            }
            // The holder's own presentation (a user's, or an adversary's of
            // its own certificate).
            Msg::Present { shown, purpose, op } => {
                if let Some(serial) = dir.arena.serial_of(shown.certificate)
                    && self.owners.get(&serial) == Some(&src)
                {
                    self.presented.insert((serial, dst));
                    if *purpose == crate::msg::Purpose::Use {
                        self.using.insert((src, dst, *op));
                    }
                }
            }
            // A use's session ends with the service's answer.
            Msg::Granted { op, .. } | Msg::Refused { op, .. } => {
                self.using.remove(&(dst, src, *op));
            }
            // P37 to anyone but a portal.
            Msg::Services {
                services: Some(_), ..
            } if from_ca && !dir.is_portal(dst) => {
                self.violated.insert(Property::ServiceListPrivate);
            }
            // S3: a user offers its key for certification (honest users
            // offer only their own).
            Msg::Login {
                public_key: Some(key),
                ..
            } if from_user => {
                self.key_offers.insert((*key, src));
            }
            Msg::Issued {
                session,
                serial,
                certificate,
                ..
            } if from_ca => {
                if !self.offered_by_holder(dir, *certificate) {
                    self.violated.insert(Property::KeyBoundByHolder);
                }
                // The same certificate answered again (a duplicated request,
                // or under `one-per-subject` a retried one, which makes the
                // asking service one of its services) is not a second
                // issuance; another certificate with the serial is.
                match self.certificates.get(serial) {
                    Some(first) if first != certificate => {
                        self.violated.insert(Property::UniqueSerials);
                    }
                    Some(_) => {
                        self.qualified.entry(*serial).or_default().insert(dst);
                        return;
                    }
                    None => {}
                }
                self.certificates.insert(*serial, *certificate);
                self.issued_at.insert(*serial, (dst, *session));
                self.owners.insert(*serial, session.peer);
                self.qualified.insert(*serial, BTreeSet::from([dst]));
            }
            Msg::Answer {
                session,
                serial,
                request,
                verdict,
            } if from_ca => {
                if *verdict != Verdict::Ok {
                    return;
                }
                match request {
                    Request::Check => {
                        let qualified = self.is_qualified(*serial, dst);
                        let revoked = self.revoked.contains(serial);
                        self.evidence.insert(
                            (dst, *session),
                            Evidence {
                                serial: *serial,
                                qualified,
                                revoked,
                            },
                        );
                    }
                    Request::Qualify => {
                        // In a session of the holder's that is open (it
                        // presented the certificate there to use the
                        // service), or one already qualified and not
                        // withdrawn since (a duplicated request). A service
                        // that names another's session in its own request
                        // gains nothing: it must be that very open session.
                        let key = (session.peer, dst, session.op);
                        if self.owners.get(serial) != Some(&session.peer)
                            || !(self.using.contains(&key) || self.qualified_in.contains(&key))
                        {
                            self.violated.insert(Property::NoUnauthorisedQualification);
                        }
                        self.qualified_in.insert(key);
                        let revoked = self.revoked.contains(serial);
                        self.qualified.entry(*serial).or_default().insert(dst);
                        self.evidence.insert(
                            (dst, *session),
                            Evidence {
                                serial: *serial,
                                qualified: true,
                                revoked,
                            },
                        );
                    }
                    Request::Withdraw => {
                        // The CA withdraws the asking service itself
                        // (S20-4): no harm to anyone else, so nothing for
                        // `no-unauthorised-revocation` to judge.
                        if let Some(s) = self.qualified.get_mut(serial) {
                            s.remove(&dst);
                        }
                        if let Some(holder) = self.owners.get(serial) {
                            self.qualified_in
                                .retain(|(h, svc, _)| !(h == holder && *svc == dst));
                        }
                        self.reached.insert(Milestone::Prohibition);
                    }
                    Request::Invalidate => {
                        self.judge_consent(*serial, dst, *session);
                        self.revoked.insert(*serial);
                        self.reached.insert(Milestone::Invalidation);
                    }
                    Request::Issue | Request::ListServices => {}
                }
            }
            _ => {}
        }
        if let Some((serial, _subject, basis)) = msg.grant() {
            self.observe_grant(src, dst, msg, serial, basis);
        }
    }

    /// Whether delivering `msg` can change a history: only a CRL does.
    pub fn may_change_on_delivery(msg: &Msg) -> bool {
        matches!(msg, Msg::Revocation { .. })
    }

    /// Observe one message as it is delivered (after `observe` saw it sent):
    /// a CRL from the CA has reached a service (`push-window-only`).
    pub fn observe_delivery(&mut self, dir: &Directory, src: Id, dst: Id, msg: &Msg) {
        if let Msg::Revocation { crl } = msg
            && dir.ca() == Some(src)
            && dir.is_service(dst)
        {
            for serial in dir.arena.crl_listed(*crl).unwrap_or_default() {
                self.notified.insert((dst, serial));
            }
        }
    }

    /// What time passing shows: a presentation of a certificate whose
    /// notAfter has passed (`expired-never-accepted`, judged at the grant),
    /// the session's end, and a service's refusal as `expired`.
    fn observe_expiry(&mut self, dir: &Directory, src: Id, dst: Id, msg: &Msg, now: VirtualTime) {
        match msg {
            Msg::Present { shown, op, .. }
                if may_have_expired(dir, now)
                    && dir
                        .arena
                        .not_after(shown.certificate)
                        .is_some_and(|not_after| now > not_after) =>
            {
                self.presented_expired.insert((src, dst, *op));
            }
            Msg::Refused { op, refusal } => {
                self.presented_expired.remove(&(dst, src, *op));
                if *refusal == Refusal::Rejected(crate::rejection::Rejection::Expired)
                    && dir.is_service(src)
                {
                    self.reached.insert(Milestone::ExpiredRefused);
                }
            }
            _ => {}
        }
    }

    /// The CA invalidated `serial` at `service`'s request for `session`:
    /// that session must be its holder's, in which the holder said Yes
    /// there.
    fn judge_consent(&mut self, serial: Serial, service: Id, session: Session) {
        if let Some(holder) = self.owners.get(&serial)
            && (session.peer != *holder || !self.consents.contains(&(*holder, service, session.op)))
        {
            self.violated.insert(Property::NoUnauthorisedRevocation);
        }
    }

    fn is_qualified(&self, serial: Serial, service: Id) -> bool {
        self.qualified
            .get(&serial)
            .is_some_and(|s| s.contains(&service))
    }

    fn observe_grant(&mut self, service: Id, to: Id, msg: &Msg, serial: Serial, basis: Basis) {
        let op = match msg {
            Msg::Granted { op, .. } | Msg::MemberMenu { op, .. } | Msg::Balance { op, .. } => *op,
            _ => return,
        };
        let session = Session { peer: to, op };
        let (qualified, revoked) = match basis {
            Basis::CaAnswer => match self.evidence.remove(&(service, session)) {
                Some(ev) if ev.serial == serial => (ev.qualified, ev.revoked),
                // A grant that claims a CA answer the CA never gave.
                _ => (false, self.revoked.contains(&serial)),
            },
            Basis::OwnTable => (
                self.is_qualified(serial, service),
                self.revoked.contains(&serial),
            ),
        };
        if !qualified {
            self.violated.insert(Property::OnlyQualifiedServices);
        }
        if revoked {
            self.violated.insert(Property::RevokedNeverAccepted);
        }
        if self.notified.contains(&(service, serial)) {
            self.violated.insert(Property::PushWindowOnly);
        }
        if self.owners.get(&serial).is_some_and(|owner| *owner != to) {
            self.violated.insert(Property::NoImpersonation);
        }
        if !self.presented.contains(&(serial, service)) {
            self.violated.insert(Property::NoRelay);
        }
        let expired = (to, service, op);
        if self.presented_expired.contains(&expired) {
            self.violated.insert(Property::ExpiredNeverAccepted);
            if matches!(msg, Msg::Granted { .. }) {
                self.presented_expired.remove(&expired);
            }
        }
        match msg {
            Msg::Granted { .. }
                if self
                    .issued_at
                    .get(&serial)
                    .is_some_and(|(s, _)| *s != service) =>
            {
                self.reached.insert(Milestone::GrantAfterQualification);
            }
            Msg::Balance { .. } => {
                let n = self.balances.entry((to, op)).or_default();
                *n = n.saturating_add(1);
                if *n >= 2 {
                    self.reached.insert(Milestone::StatementTwoSources);
                }
            }
            _ => {}
        }
    }
}

/// Whether `property` holds in a system state.
pub fn holds<'a>(
    property: Property,
    history: &History,
    states: impl IntoIterator<Item = &'a NodeState>,
) -> bool {
    match property {
        // The CA tables' subject index (checked against a full scan in tables.rs).
        Property::OneCertificatePerUser => states
            .into_iter()
            .filter_map(NodeState::ca)
            .all(|ca| ca.tables.subjects_with_several_certificates().is_empty()),
        // Every service's Fig. 7 against the CA's Fig. 5.
        Property::LinkMatchesSubject => {
            let states: Vec<&NodeState> = states.into_iter().collect();
            let Some(ca) = states.iter().find_map(|s| s.ca()) else {
                return true;
            };
            states.iter().filter_map(|s| s.service()).all(|service| {
                service
                    .durable
                    .table
                    .linked_rows()
                    .all(|(serial, row)| link_matches(ca, serial, row))
            })
        }
        p => !history.violated.contains(&p),
    }
}

/// `link-matches-subject` for one linked row: the CA's Fig. 5 subject for
/// `serial`, if the CA knows the serial, is the row's. The full scan above
/// and `World`'s incremental judgement both ask this.
pub fn link_matches(ca: &crate::ca::CaState, serial: u64, row: &crate::tables::UserRow) -> bool {
    ca.tables
        .subject_of(serial)
        .is_none_or(|subject| subject.name == row.subject.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `may_change` is a sound filter: over every transition of a few
    /// configurations, a message it skips never changes the history.
    #[test]
    fn the_history_filter_never_skips_a_change() {
        use crate::checker::CheckConfig;
        use crate::config::{Presentation, Revocation};
        for cfg in [
            CheckConfig {
                actions: 3,
                ..CheckConfig::default()
            },
            CheckConfig {
                revocation: Revocation::Push,
                presentation: Presentation::Bearer,
                attacker: true,
                biometric: true,
                curious_service: true,
                actions: 2,
                ..CheckConfig::default()
            },
        ] {
            let (model, _) = cfg.into_model().expect("builds");
            let dir = model.cfg.system.dir.clone();
            crate::explore::walk_transitions(&model, 20_000, |s, _, n| {
                for env in crate::checker::in_flight(&n.network) {
                    if !History::may_change(env.msg) {
                        let mut h = History::clone(&s.history);
                        h.observe(&dir, env.src, env.dst, env.msg, 0);
                        assert_eq!(h, **s.history, "{}", env.msg);
                    }
                }
                std::ops::ControlFlow::Continue(())
            });
        }
    }
}
