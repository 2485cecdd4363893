//! A service (servers 32, 33, 42-49), and the portal (@nifty server 43).
//!
//! It keeps the Fig. 7 table durable, verifies every certificate it is shown
//! (issuer, signature, validity at virtual time, EKU, and under proof of
//! possession the signature over its own challenge), and asks the CA what the
//! patent says to ask. Sessions are in memory: a crash loses them, as it
//! would lose a real server's HTTP sessions.

use crate::clock::Clock;
use crate::config::{Credential, Defects, Directory, Presentation, Revocation};
use crate::effects::Effects;
use crate::malicious::Malice;
use crate::msg::{Basis, Msg, OpId, Purpose, Refusal, Request, Session, Shown, Verdict};
use crate::rejection::Rejection;
use crate::small_map::SmallMap;
use crate::step::Step;
use crate::tables::{Link, Serial, UserTable};
use crate::x509::{CertInfo, CsrId, SigId, TrustAnchor};
use serde::Serialize;
use stateright::actor::Id;
use std::collections::BTreeSet;
use std::sync::Arc;

/// The service's configuration (immutable; not part of the checked state).
#[derive(Clone, Debug)]
pub struct Service {
    pub dir: Arc<Directory>,
    /// The CA this service trusts.
    pub anchor: TrustAnchor,
    pub clock: Clock,
    pub defects: Defects,
    /// Honest but curious: it follows the protocol, and also presents every
    /// credential a user gives it at the next service where that user has an
    /// account (login IDs are not secret; the directory says them). Under
    /// passwords the other service refuses; under V2 its template is
    /// accepted, which is the variant's risk. It stops at acceptance (S9 or
    /// a no-certificate answer) and invalidates nothing.
    pub curious: bool,
    /// Malicious (`malicious.rs`): it probes the CA and relays
    /// presentations (and replays credentials if also `curious`).
    pub malicious: bool,
    /// In the checker: how many moves a malicious service makes on its own.
    pub autonomous_actions: Option<u8>,
    /// Whether a malicious service's moves can time out.
    pub timeouts: bool,
    /// A malicious service's operator's key, for its own certificate
    /// (`Directory::own`).
    pub own_key: Option<crate::x509::SigningKey>,
    /// The service's secret for `pop-binding`'s unpredictable nonces,
    /// derived from the run's seed (`KeyStream::Service`).
    pub nonce_key: [u8; 32],
}

/// Where a session is in its flow.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Stage {
    /// Proof of possession: waiting for the presentation signed over `nonce`.
    AwaitPresent { nonce: u64 },
    /// S2/S14: waiting for ID and password.
    AwaitLogin,
    /// S9/S20-1: waiting for the user's Yes.
    AwaitConfirm,
    /// P34: waiting for the member's menu choice.
    AwaitSelect,
    /// Waiting for the CA's answer to this request.
    AwaitCa(Request),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct SessionState {
    pub purpose: Purpose,
    pub stage: Stage,
    /// The certificate's serial and subject, once verified.
    pub serial: Option<Serial>,
    pub subject: Option<String>,
    /// The logged-in account, once S4/S16 said Yes.
    pub login: Option<Arc<str>>,
    /// How S13 found the serial linked (issued here: Fig. 4's A; qualified:
    /// B), so the answer is labelled P21/P22 or P23/P24 even if a
    /// concurrent S20-2 deletes the row meanwhile.
    pub link: Option<Link>,
    /// `ca-authz`: the presentation S17 forwards to the CA as the holder's.
    pub holder: Option<Shown>,
    /// `holder-consent`: the nonce sent with S9/P12's or S20-1's question,
    /// which the holder's Yes must sign.
    pub consent_nonce: Option<u64>,
    /// Ghost, read by no handler: this session's check went to the CA
    /// because the service's newest CRL had passed its nextUpdate
    /// (`crl-freshness`), as against holding none yet. Only the
    /// `stale-crl-asks-ca` milestone reads it; it is never true unless
    /// time passes (`check --clock-jumps`).
    pub stale_crl: bool,
}

/// What survives a crash.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct ServiceDurable {
    pub table: UserTable,
    /// Challenge nonces are never reissued, not even after a restart.
    pub next_nonce: u64,
    /// A curious service's replays, numbered like a user's operations.
    pub next_replay: OpId,
    /// `push-ack`: every serial a pushed CRL listed. A service that has a
    /// notification keeps it: S19 never links such a serial, even when the
    /// CA's OK to a qualification sent before the invalidation arrives
    /// after the CRL (a race the patent's V1 leaves open). Also kept under
    /// `crl-freshness`. Always empty without either.
    pub revoked: BTreeSet<Serial>,
    /// `crl-freshness`: the newest complete CRL it has, as (CRL number,
    /// nextUpdate). A CRL is a file a service keeps: it survives a crash.
    /// Always None without `crl-freshness`.
    pub crl: Option<(u64, crate::x509::VirtualTime)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct ServiceState {
    pub durable: ServiceDurable,
    pub sessions: SmallMap<Session, SessionState>,
    /// A curious service: the credentials it has replayed, and its replays
    /// under way (operation -> the service and the credential presented).
    pub harvested: BTreeSet<Credential>,
    pub replays: SmallMap<OpId, (Id, Credential)>,
    /// A malicious service's own state; None for every other service.
    pub malice: Option<Malice>,
}

impl Service {
    pub fn start(&self, me: Id, storage: Option<&ServiceDurable>) -> ServiceState {
        let durable = storage.cloned().unwrap_or_else(|| {
            let table = UserTable::enrolled(
                self.dir
                    .accounts
                    .iter()
                    .filter(|((_, service), _)| *service == me)
                    .filter_map(|((user, _), credential)| {
                        Some((credential, self.dir.subjects.get(user)?.clone()))
                    }),
            );
            ServiceDurable {
                table,
                next_nonce: 1,
                next_replay: 0,
                revoked: BTreeSet::new(),
                crl: None,
            }
        });
        ServiceState {
            durable,
            sessions: SmallMap::new(),
            harvested: BTreeSet::new(),
            replays: SmallMap::new(),
            malice: self.malicious.then(Malice::default),
        }
    }

    fn ca(&self) -> Id {
        self.dir.ca().unwrap_or_default()
    }

    /// The nonce of the `counter`-th challenge. As the patent reads (the
    /// project's reading), the counter itself. Under `pop-binding` it is
    /// unpredictable: the counter in the low 32 bits, and above it 32 bits
    /// of a keyed SHA-256 of the counter, so nobody can tell the next nonce
    /// from the ones seen, while the service still tells a nonce it handed
    /// out (a replay) from one it never made.
    fn nonce(&self, counter: u64) -> u64 {
        if !self.dir.hardening.pop_binding {
            return counter;
        }
        let mut input = self.nonce_key.to_vec();
        input.extend_from_slice(&counter.to_be_bytes());
        let digest = ring::digest::digest(&ring::digest::SHA256, &input);
        let mut tag = [0u8; 4];
        tag.copy_from_slice(&digest.as_ref()[..4]);
        (u64::from(u32::from_be_bytes(tag)) << 32) | (counter & 0xFFFF_FFFF)
    }

    /// The counter of a nonce this service made, or None for one it never
    /// made. Under `pop-binding` the counter is taken modulo 2^32: past
    /// 2^32 challenges a replayed nonce reads as unknown rather than
    /// replayed (refused either way), and uniqueness rests on the tag.
    /// No checked or simulated run comes near.
    fn counter_of(&self, nonce: u64) -> Option<u64> {
        let counter = if self.dir.hardening.pop_binding {
            nonce & 0xFFFF_FFFF
        } else {
            nonce
        };
        (self.nonce(counter) == nonce).then_some(counter)
    }

    fn refuse(&self, st: &mut ServiceState, session: Session, refusal: Refusal, fx: &mut Effects) {
        st.sessions.remove(&session);
        fx.send(
            session.peer,
            Msg::Refused {
                op: session.op,
                refusal,
            },
        );
    }

    pub fn on_msg(&self, me: Id, st: &mut ServiceState, src: Id, msg: Msg, fx: &mut Effects) {
        self.handle(me, st, src, msg, fx);
        if self.malicious {
            // What it was shown may have changed which moves are open.
            self.offer_moves(me, st, fx);
        }
    }

    fn handle(&self, me: Id, st: &mut ServiceState, src: Id, msg: Msg, fx: &mut Effects) {
        if self.malicious && self.on_malice(me, st, src, &msg, fx) {
            return;
        }
        if self.curious && self.on_replay_answer(st, src, &msg, fx) {
            return;
        }
        match msg {
            Msg::Access { op, purpose } => {
                self.on_access(me, st, Session { peer: src, op }, purpose, fx)
            }
            Msg::Login {
                op,
                credential,
                public_key,
                consent,
                csr,
            } => {
                if self.curious {
                    self.replay_elsewhere(me, st, src, &credential, fx);
                }
                let session = Session { peer: src, op };
                let key = public_key.map(|k| (k, csr));
                self.on_login(st, session, &credential, key, consent, fx)
            }
            Msg::Present { op, purpose, shown } => {
                self.on_present(me, st, Session { peer: src, op }, purpose, &shown, fx)
            }
            Msg::Confirm { op, consent } => {
                self.on_confirm(st, Session { peer: src, op }, consent, fx)
            }
            Msg::SelectStatement { op } => {
                let session = Session { peer: src, op };
                if let Some(s) = st.sessions.get_mut(&session)
                    && s.stage == Stage::AwaitSelect
                    && let Some(serial) = s.serial
                {
                    // P36: ask the CA which services the certificate may be used for.
                    s.stage = Stage::AwaitCa(Request::ListServices);
                    fx.step(Step::P36)
                        .send(self.ca(), Msg::ListServices { session, serial });
                }
            }
            Msg::Issued {
                session,
                serial,
                certificate,
                existing,
            } if src == self.ca() => {
                let Some(s) = st.sessions.get(&session) else {
                    return;
                };
                if s.stage != Stage::AwaitCa(Request::Issue) || s.purpose != Purpose::Issue {
                    return;
                }
                // S8: deliver the certificate and record its serial (under
                // `push-ack`, not a serial a CRL already listed: the CA
                // invalidated it before this answer arrived).
                if let Some(login) = s.login.clone()
                    && !st.durable.revoked.contains(&serial)
                {
                    st.durable.table.link(&login, serial, Link::Issued);
                    fx.persist |= !self.defects.forget_link_persist;
                }
                st.sessions.remove(&session);
                fx.step(Step::S8).send(
                    session.peer,
                    Msg::Certificate {
                        op: session.op,
                        certificate,
                        existing,
                    },
                );
            }
            Msg::Answer {
                session,
                serial,
                request,
                verdict,
            } if src == self.ca() => self.on_answer(me, st, session, serial, request, verdict, fx),
            Msg::Services {
                session, services, ..
            } if src == self.ca() => {
                if !matches!(st.sessions.get(&session), Some(s) if s.stage == Stage::AwaitCa(Request::ListServices) && s.purpose == Purpose::Statement)
                {
                    return;
                }
                match services {
                    Some(list) => {
                        // P38: a display region for each service other than the portal.
                        let regions = list
                            .into_iter()
                            .filter(|name| name != self.dir.name(me))
                            .collect();
                        st.sessions.remove(&session);
                        fx.step(Step::P38).send(
                            session.peer,
                            Msg::Layout {
                                op: session.op,
                                regions,
                            },
                        );
                    }
                    None => self.refuse(st, session, Refusal::Revoked, fx),
                }
            }
            Msg::Revocation { crl } if src == self.ca() => {
                // V1: act only on a CRL the CA signed.
                if let Ok(info) = self.dir.arena.verify_crl(&self.anchor, crl) {
                    // `crl-freshness`: CRLs are complete and numbered; the
                    // service keeps the newest (and, for one number, the
                    // latest nextUpdate), so a late or replayed older copy
                    // never stands for the current one. Its serials are
                    // still deleted: a revocation is for ever, and S19 may
                    // have linked one since the newer CRL was applied.
                    if self.dir.keeps_crls_fresh() {
                        let newest = match st.durable.crl {
                            Some(held) => held.max((info.crl_number, info.next_update)),
                            None => (info.crl_number, info.next_update),
                        };
                        if st.durable.crl != Some(newest) {
                            st.durable.crl = Some(newest);
                            fx.persist = true;
                        }
                    }
                    // `push-ack` and `crl-freshness`: remember every serial
                    // listed, so that S8 and S19 never link one again.
                    let remember = self.dir.hardening.push_ack || self.dir.keeps_crls_fresh();
                    for serial in info.revoked {
                        if !self.defects.keep_row_on_crl && st.durable.table.unlink(serial) {
                            fx.persist = true;
                        }
                        if remember && st.durable.revoked.insert(serial) {
                            fx.persist = true;
                        }
                    }
                    // `push-ack`: tell the CA, once acted on (the unlink is
                    // persisted with this event), so it stops retransmitting.
                    // A CRL that does not verify is not acknowledged.
                    if self.dir.hardening.push_ack {
                        fx.send(src, Msg::RevocationAck { crl });
                    }
                }
            }
            _ => {}
        }
    }

    /// `crl-freshness`: whether the newest CRL held is still current (its
    /// nextUpdate not yet passed).
    fn holds_current_crl(&self, st: &ServiceState) -> bool {
        st.durable
            .crl
            .is_some_and(|(_, next_update)| self.clock.now() <= next_update)
    }

    /// A curious service presents a credential its user gave it at the next
    /// service where the person has an account, as that account's login.
    fn replay_elsewhere(
        &self,
        me: Id,
        st: &mut ServiceState,
        src: Id,
        credential: &Credential,
        fx: &mut Effects,
    ) {
        if self.dir.person_of(credential, me) != Some(src) || st.harvested.contains(credential) {
            return;
        }
        let target = self
            .dir
            .accounts
            .range((src, Id::from(0))..=(src, Id::from(usize::MAX)))
            .find(|((_, service), _)| *service != me)
            .map(|((_, service), account)| (*service, credential.with_login(account.login())));
        let Some((service, presented)) = target else {
            return;
        };
        st.harvested.insert(credential.clone());
        let op = st.durable.next_replay;
        st.durable.next_replay += 1;
        fx.persist = true;
        st.replays.insert(op, (service, presented));
        fx.send(
            service,
            Msg::Access {
                op,
                purpose: Purpose::InvalidateByPassword,
            },
        );
    }

    /// A curious service's replay, as the other service answers it; true if
    /// the message belonged to one.
    fn on_replay_answer(
        &self,
        st: &mut ServiceState,
        src: Id,
        msg: &Msg,
        fx: &mut Effects,
    ) -> bool {
        let op = match msg {
            Msg::LoginForm { op, .. }
            | Msg::AskInvalidate { op, .. }
            | Msg::Refused { op, .. }
            | Msg::Challenge { op, .. } => *op,
            _ => return false,
        };
        let Some((service, presented)) = st.replays.get(&op).cloned() else {
            return false;
        };
        if service != src {
            return false;
        }
        match msg {
            Msg::LoginForm { failed: false, .. } => {
                fx.send(
                    service,
                    Msg::Login {
                        op,
                        credential: presented.into(),
                        public_key: None,
                        consent: None,
                        csr: None,
                    },
                );
            }
            // Accepted (S9, or S4 Yes with no certificate) or refused: done.
            _ => {
                st.replays.remove(&op);
            }
        }
        true
    }

    fn on_access(
        &self,
        me: Id,
        st: &mut ServiceState,
        session: Session,
        purpose: Purpose,
        fx: &mut Effects,
    ) {
        if st.sessions.contains_key(&session) {
            return; // a duplicated access: the session is under way
        }
        if matches!(purpose, Purpose::Statement) && !self.dir.is_portal(me) {
            return self.refuse(st, session, Refusal::NotQualified, fx);
        }
        if !purpose.presents_certificate() {
            // S2: a login screen.
            st.sessions
                .insert(session, SessionState::new(purpose, Stage::AwaitLogin));
            fx.step(Step::S2).send(
                session.peer,
                Msg::LoginForm {
                    op: session.op,
                    failed: false,
                },
            );
        } else if self.dir.modes.presentation == Presentation::ProofOfPossession {
            let nonce = self.nonce(st.durable.next_nonce);
            st.durable.next_nonce += 1;
            fx.persist = true;
            st.sessions.insert(
                session,
                SessionState::new(purpose, Stage::AwaitPresent { nonce }),
            );
            fx.send(
                session.peer,
                Msg::Challenge {
                    op: session.op,
                    nonce,
                },
            );
        }
    }

    /// Verify a presentation: the certificate, then (under proof of
    /// possession) the signature over the challenge this session was given.
    fn verify(
        &self,
        me: Id,
        st: &mut ServiceState,
        session: Session,
        shown: &Shown,
    ) -> Result<CertInfo, Rejection> {
        let now = self.clock.now();
        // The deliberate defect `ignore_expiry`: check as of the notAfter
        // once it has passed, so an expired certificate verifies.
        let at = if self.defects.ignore_expiry {
            self.dir
                .arena
                .not_after(shown.certificate)
                .map_or(now, |not_after| now.min(not_after))
        } else {
            now
        };
        let info = self
            .dir
            .arena
            .verify_certificate(&self.anchor, shown.certificate, at)?;
        if self.dir.modes.presentation == Presentation::Bearer || self.defects.skip_proof_check {
            return Ok(info);
        }
        let (expected, purpose) = match st.sessions.get(&session) {
            Some(s) => match s.stage {
                Stage::AwaitPresent { nonce } => (Some(nonce), s.purpose),
                _ => (None, s.purpose),
            },
            None => (None, Purpose::Use),
        };
        let Some((nonce, signature)) = &shown.proof else {
            return Err(Rejection::MissingProof);
        };
        if expected != Some(*nonce) {
            // A nonce we handed out before, to this session or another, is a replay.
            return Err(
                if self
                    .counter_of(*nonce)
                    .is_some_and(|c| c < st.durable.next_nonce)
                {
                    Rejection::ReplayedChallenge
                } else {
                    Rejection::UnknownChallenge
                },
            );
        }
        self.dir.arena.verify_proof(
            &info.public_key,
            &self
                .dir
                .challenge(me, *nonce, shown.certificate, purpose.tag()),
            *signature,
        )?;
        Ok(info)
    }

    fn on_present(
        &self,
        me: Id,
        st: &mut ServiceState,
        session: Session,
        purpose: Purpose,
        shown: &Shown,
        fx: &mut Effects,
    ) {
        if !purpose.presents_certificate() {
            return;
        }
        match st.sessions.get(&session).map(|s| &s.stage) {
            Some(Stage::AwaitPresent { .. }) => {}
            // A duplicate of a presentation already being handled.
            Some(_) => return,
            // Under proof of possession every presentation answers a challenge
            // of an open session; without one it is a copy of a finished
            // exchange (the network duplicated it): nobody is waiting for an
            // answer, so none is sent.
            None if self.dir.modes.presentation == Presentation::ProofOfPossession => return,
            None => {}
        }
        let info = match self.verify(me, st, session, shown) {
            Ok(info) => info,
            Err(reason) => return self.refuse(st, session, Refusal::Rejected(reason), fx),
        };
        let row = st.durable.table.by_serial(info.serial);
        if let Some(row) = row
            && row.subject.name != info.common_name
        {
            return self.refuse(
                st,
                session,
                Refusal::Rejected(Rejection::SerialRowMismatch),
                fx,
            );
        }
        let link = row.and_then(|r| r.serial.map(|(_, link)| link));
        let login = row.map(|r| r.login.clone());
        let mut s = SessionState::new(purpose, Stage::AwaitCa(Request::Check));
        s.serial = Some(info.serial);
        s.link = link;
        s.subject = Some(info.common_name.clone());
        if self.dir.hardening.ca_authz {
            s.holder = Some(shown.clone());
        }
        // `crl-freshness`: under V1 the own table is trusted only while the
        // service holds a CRL whose nextUpdate is still ahead.
        let ask_ca = (self.dir.modes.revocation == Revocation::Online
            || (self.dir.keeps_crls_fresh() && !self.holds_current_crl(st)))
            && !self.defects.skip_ca_check;
        // Under V1 a check goes to the CA only for want of a current CRL;
        // the ghost tells a stale one from none yet.
        let stale_crl = ask_ca && self.dir.keeps_crls_fresh() && st.durable.crl.is_some();
        let grant = |fx: &mut Effects, msg: Msg| {
            fx.send(session.peer, msg);
        };
        match purpose {
            Purpose::Use => match link {
                None => {
                    // S13 No: P3 was a first presentation here; P4/S14 ask for B's login.
                    // Under V1 too: the patent's V1 says a serial not in the
                    // table is "NG"; the project reads that as "the
                    // certificate alone is not accepted", after which Fig. 3A
                    // (P4) and Fig. 9 (S14) ask for the login, as the scenario
                    // contract's `use` promises in every mode. A departure
                    // from the literal V1 sentence, documented in README.md.
                    s.stage = Stage::AwaitLogin;
                    st.sessions.insert(session, s);
                    fx.steps(&[Step::S13, Step::P3, Step::P4, Step::S14]).send(
                        session.peer,
                        Msg::LoginForm {
                            op: session.op,
                            failed: false,
                        },
                    );
                }
                Some(_) if ask_ca => {
                    s.stale_crl = stale_crl;
                    st.sessions.insert(session, s);
                    fx.step(Step::S13).send(
                        self.ca(),
                        Msg::Check {
                            session,
                            serial: info.serial,
                        },
                    );
                }
                Some(_) => {
                    // V1: the own table is the only check. Not P22/P24,
                    // whose trigger is the CA's OK: the variant's own step.
                    st.sessions.remove(&session);
                    fx.step(Step::S13).step(Step::V1);
                    grant(
                        fx,
                        Msg::Granted {
                            op: session.op,
                            serial: info.serial,
                            subject: info.common_name,
                            basis: Basis::OwnTable,
                        },
                    );
                }
            },
            Purpose::Prohibit => {
                if link.is_none() {
                    fx.step(Step::S13);
                    return self.refuse(st, session, Refusal::NotQualified, fx);
                }
                s.stage = Stage::AwaitConfirm;
                let nonce = self.consent_nonce(st, &mut s, fx);
                st.sessions.insert(session, s);
                fx.steps(&[Step::S13, Step::S20_1]).send(
                    session.peer,
                    Msg::AskProhibit {
                        op: session.op,
                        nonce,
                    },
                );
            }
            Purpose::InvalidateByCertificate => {
                // P12 "certifies the user in a predetermined certificating
                // method": the project certifies a verified certificate (and
                // its proof of possession) against A's own Fig. 7, without
                // asking the CA first; P13's answer settles the rest. The
                // oracle's `p12_invalidate_by_certificate_certifies_by_the_own_table`
                // shows where this differs from a CA check.
                if link.is_none() {
                    return self.refuse(st, session, Refusal::NoCertificate, fx);
                }
                s.stage = Stage::AwaitConfirm;
                s.login = login;
                let nonce = self.consent_nonce(st, &mut s, fx);
                st.sessions.insert(session, s);
                fx.step(Step::P12).send(
                    session.peer,
                    Msg::AskInvalidate {
                        op: session.op,
                        nonce,
                    },
                );
            }
            Purpose::Statement | Purpose::StatementSource { .. } => {
                let portal = purpose == Purpose::Statement;
                if portal && !self.dir.is_portal(me) {
                    return self.refuse(st, session, Refusal::NotQualified, fx);
                }
                // P31-P33 and P39-P41: online, the portal and each bank send
                // the serial to the CA whatever their own table holds, as the
                // patent writes it, so a certificate invalidated elsewhere is
                // answered NG (revoked), not merely "not qualified here". Under
                // V1 there is no CA check: the own table decides.
                if link.is_none() && !ask_ca {
                    return self.refuse(st, session, Refusal::NotQualified, fx);
                }
                let first = purpose == Purpose::StatementSource { region: 0 };
                if ask_ca {
                    s.stale_crl = stale_crl;
                    st.sessions.insert(session, s);
                    fx.step(match (portal, first) {
                        (true, _) => Step::P32,
                        (false, true) => Step::P40,
                        (false, false) => Step::P44,
                    })
                    .send(
                        self.ca(),
                        Msg::Check {
                            session,
                            serial: info.serial,
                        },
                    );
                } else {
                    self.serve_statement(me, st, session, s, Basis::OwnTable, fx);
                }
            }
            Purpose::Issue | Purpose::InvalidateByPassword => {}
        }
    }

    /// P34 (portal) or P42/P46 (a bank): serve a statement request.
    fn serve_statement(
        &self,
        me: Id,
        st: &mut ServiceState,
        session: Session,
        mut s: SessionState,
        basis: Basis,
        fx: &mut Effects,
    ) {
        let (Some(serial), Some(subject)) = (s.serial, s.subject.clone()) else {
            return;
        };
        match s.purpose {
            Purpose::Statement => {
                s.stage = Stage::AwaitSelect;
                st.sessions.insert(session, s);
                fx.step(Step::P34).send(
                    session.peer,
                    Msg::MemberMenu {
                        op: session.op,
                        serial,
                        subject,
                        basis,
                    },
                );
            }
            Purpose::StatementSource { region } => {
                st.sessions.remove(&session);
                let text = self
                    .dir
                    .statement_of(me)
                    .unwrap_or("no statement")
                    .to_string();
                fx.step(if region == 0 { Step::P42 } else { Step::P46 })
                    .send(
                        session.peer,
                        Msg::Balance {
                            op: session.op,
                            region,
                            serial,
                            subject,
                            basis,
                            text: text.into(),
                        },
                    );
            }
            _ => {}
        }
    }

    fn on_login(
        &self,
        st: &mut ServiceState,
        session: Session,
        credential: &Credential,
        // The key to certify, with its certification request under `csr`.
        public_key: Option<([u8; 32], Option<CsrId>)>,
        consent: Option<SigId>,
        fx: &mut Effects,
    ) {
        let Some(s) = st.sessions.get(&session) else {
            return;
        };
        if s.stage != Stage::AwaitLogin {
            return;
        }
        let purpose = s.purpose;
        let table = &st.durable.table;
        let Some(row) = table.authenticate(credential) else {
            // S4/S16 No: "back to S2/S14". The session stays at the login
            // screen, but S2/S14 is recorded only by an event that shows the
            // screen again; the users modelled here hold one credential per
            // account and give up (outcome `bad-credentials`), so none does.
            fx.step(if purpose == Purpose::Use {
                Step::S16
            } else {
                Step::S4
            })
            .send(
                session.peer,
                Msg::LoginForm {
                    op: session.op,
                    failed: true,
                },
            );
            return;
        };
        let login = row.login.clone();
        let linked = row.serial.map(|(serial, _)| serial);
        let subject = row.subject.clone();
        match purpose {
            Purpose::Issue => {
                fx.steps(&[Step::S4, Step::S5]);
                if let Some(serial) = linked {
                    if self.defects.invalidate_without_yes {
                        // The defect: the certificate found is invalidated
                        // as if the user had said Yes (its answer finds no
                        // session and is dropped).
                        let consent = None;
                        fx.send(
                            self.ca(),
                            Msg::Invalidate {
                                session,
                                serial,
                                consent,
                            },
                        );
                    }
                    // S9: a certificate exists; the user, here to get one, says No.
                    st.sessions.remove(&session);
                    fx.step(Step::S9).send(
                        session.peer,
                        Msg::AskInvalidate {
                            op: session.op,
                            nonce: None,
                        },
                    );
                    return;
                }
                let Some((public_key, csr)) = public_key else {
                    return self.refuse(
                        st,
                        session,
                        Refusal::Rejected(Rejection::UnsupportedKey),
                        fx,
                    );
                };
                if let Some(s) = st.sessions.get_mut(&session) {
                    s.stage = Stage::AwaitCa(Request::Issue);
                    s.login = Some(login);
                }
                // S6/P1: ask the CA to issue.
                fx.steps(&[Step::S6, Step::P1]).send(
                    self.ca(),
                    Msg::IssueRequest {
                        session,
                        subject,
                        public_key,
                        csr,
                    },
                );
            }
            Purpose::InvalidateByPassword => {
                fx.steps(&[Step::S4, Step::P12, Step::S5]);
                let Some(serial) = linked else {
                    return self.refuse(st, session, Refusal::NoCertificate, fx);
                };
                let mut nonce = None;
                if let Some(mut s) = st.sessions.remove(&session) {
                    s.stage = Stage::AwaitConfirm;
                    s.login = Some(login);
                    s.serial = Some(serial);
                    nonce = self.consent_nonce(st, &mut s, fx);
                    st.sessions.insert(session, s);
                }
                fx.step(Step::S9).send(
                    session.peer,
                    Msg::AskInvalidate {
                        op: session.op,
                        nonce,
                    },
                );
            }
            Purpose::Use => {
                let Some(serial) = s.serial else { return };
                if self.dir.hardening.subject_match && s.subject.as_deref() != Some(&subject.name) {
                    // `subject-match`: this account is not the certificate's subject's.
                    return self.refuse(
                        st,
                        session,
                        Refusal::Rejected(Rejection::SubjectMismatch),
                        fx,
                    );
                }
                // `pop-binding`: the CA is shown the holder's consent to this
                // qualification (over the same challenge), not the proof made
                // to use the service, which vouches for nothing else.
                let holder = if self.dir.hardening.pop_binding {
                    s.holder.clone().map(|h| Shown {
                        proof: h.proof.zip(consent).map(|((nonce, _), c)| (nonce, c)),
                        ..h
                    })
                } else {
                    s.holder.clone()
                };
                // S16 Yes, S17: ask the CA to validate the certificate for this service.
                if let Some(s) = st.sessions.get_mut(&session) {
                    s.stage = Stage::AwaitCa(Request::Qualify);
                    s.login = Some(login);
                }
                fx.steps(&[Step::S16, Step::S17]).send(
                    self.ca(),
                    Msg::Qualify {
                        session,
                        serial,
                        holder,
                    },
                );
            }
            _ => {}
        }
    }

    /// `holder-consent`: a fresh nonce for the holder's Yes to sign, kept
    /// in the session (None without the hardening).
    fn consent_nonce(
        &self,
        st: &mut ServiceState,
        s: &mut SessionState,
        fx: &mut Effects,
    ) -> Option<u64> {
        if !self.dir.hardening.holder_consent {
            return None;
        }
        let nonce = self.nonce(st.durable.next_nonce);
        st.durable.next_nonce += 1;
        fx.persist = true;
        s.consent_nonce = Some(nonce);
        Some(nonce)
    }

    fn on_confirm(
        &self,
        st: &mut ServiceState,
        session: Session,
        consent: Option<SigId>,
        fx: &mut Effects,
    ) {
        let Some(s) = st.sessions.get_mut(&session) else {
            return;
        };
        if s.stage != Stage::AwaitConfirm {
            return;
        }
        let Some(serial) = s.serial else { return };
        // `holder-consent`: the holder's signature over this nonce goes to
        // the CA with the request.
        let consent = s.consent_nonce.zip(consent);
        match s.purpose {
            Purpose::InvalidateByPassword | Purpose::InvalidateByCertificate => {
                // P13/S10 are recorded when the CA's answer says the rows are
                // gone (`on_answer`): a lost request deletes nothing.
                s.stage = Stage::AwaitCa(Request::Invalidate);
                fx.send(
                    self.ca(),
                    Msg::Invalidate {
                        session,
                        serial,
                        consent,
                    },
                );
            }
            Purpose::Prohibit => {
                s.stage = Stage::AwaitCa(Request::Withdraw);
                // S20-2: delete the serial here first, so that no grant rests on it meanwhile.
                if !self.defects.keep_row_on_prohibit {
                    st.durable.table.unlink(serial);
                    fx.persist = true;
                    fx.step(Step::S20_2);
                }
                fx.step(Step::S20_3).send(
                    self.ca(),
                    Msg::Withdraw {
                        session,
                        serial,
                        consent,
                    },
                );
            }
            _ => {}
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn on_answer(
        &self,
        me: Id,
        st: &mut ServiceState,
        session: Session,
        serial: Serial,
        request: Request,
        verdict: Verdict,
        fx: &mut Effects,
    ) {
        let Some(s) = st.sessions.get(&session).cloned() else {
            return;
        };
        if s.stage == Stage::AwaitCa(Request::Issue)
            && request == Request::Issue
            && verdict == Verdict::AlreadyIssued
        {
            // `one-per-subject`: the CA holds another valid certificate for
            // this subject, made with another key.
            return self.refuse(st, session, Refusal::AlreadyIssued, fx);
        }
        if let (Stage::AwaitCa(Request::Issue), Request::Issue, Verdict::BadRequest(r)) =
            (&s.stage, request, verdict)
        {
            // `csr`: the CA refused the certification request.
            return self.refuse(st, session, Refusal::Rejected(r), fx);
        }
        if s.stage != Stage::AwaitCa(request) || s.serial != Some(serial) {
            return;
        }
        let op = session.op;
        match (s.purpose, verdict) {
            (Purpose::Use, Verdict::Ok) if st.durable.revoked.contains(&serial) => {
                // `push-ack`: the CA's OK was sent before the invalidation
                // whose CRL this service already has.
                self.refuse(st, session, Refusal::Revoked, fx);
            }
            (Purpose::Use, Verdict::Ok) => {
                let subject = s.subject.clone().unwrap_or_default();
                if let Some(login) = &s.login {
                    // S18 answered: S19 record the serial; P6 serve.
                    st.durable.table.link(login, serial, Link::Qualified);
                    fx.persist |= !self.defects.forget_link_persist;
                    fx.steps(&[Step::S19, Step::P6]);
                } else {
                    fx.steps(if s.link == Some(Link::Issued) {
                        &[Step::P21, Step::P22]
                    } else {
                        &[Step::P23, Step::P24]
                    });
                }
                st.sessions.remove(&session);
                fx.send(
                    session.peer,
                    Msg::Granted {
                        op,
                        serial,
                        subject,
                        basis: Basis::CaAnswer,
                    },
                );
            }
            (
                Purpose::Use | Purpose::Statement | Purpose::StatementSource { .. },
                Verdict::NotRegistered,
            ) if request == Request::Check => {
                // P14/P15: the CA's validity answer on a presented certificate
                // is NG; forget the serial and tell the user.
                if st.durable.table.unlink(serial) {
                    fx.persist = true;
                }
                fx.steps(&[Step::P14, Step::P15]);
                self.refuse(st, session, Refusal::Revoked, fx);
            }
            (Purpose::Use, Verdict::NotRegistered) => {
                // The CA refused S18 (the serial is gone): no qualification,
                // and not Fig. 3B's P14/P15, which answer a validity check.
                self.refuse(st, session, Refusal::Revoked, fx);
            }
            (_, Verdict::NotQualified) => self.refuse(st, session, Refusal::NotQualified, fx),
            (Purpose::Statement | Purpose::StatementSource { .. }, Verdict::Ok) => {
                let first = s.purpose == Purpose::StatementSource { region: 0 };
                fx.step(match s.purpose {
                    Purpose::Statement => Step::P33,
                    _ if first => Step::P41,
                    _ => Step::P45,
                });
                self.serve_statement(me, st, session, s, Basis::CaAnswer, fx);
            }
            (Purpose::Prohibit, Verdict::Ok) => {
                st.sessions.remove(&session);
                fx.send(session.peer, Msg::Prohibited { op });
            }
            (Purpose::Prohibit, Verdict::NotRegistered) => {
                self.refuse(st, session, Refusal::Revoked, fx)
            }
            (Purpose::InvalidateByPassword | Purpose::InvalidateByCertificate, _) => {
                // Invalid either way now: the CA deleted it, or had already
                // (then it deleted nothing for this request, so no P13/S10).
                if verdict == Verdict::Ok && s.purpose == Purpose::InvalidateByPassword {
                    // S10: the CA deleted both rows (its P13) and answered; A
                    // deletes the serial and tells the user.
                    fx.step(Step::S10);
                }
                st.durable.table.unlink(serial);
                fx.persist = true;
                st.sessions.remove(&session);
                fx.send(session.peer, Msg::Invalidated { op });
            }
            _ => {}
        }
    }
}

impl SessionState {
    fn new(purpose: Purpose, stage: Stage) -> Self {
        SessionState {
            purpose,
            stage,
            serial: None,
            subject: None,
            login: None,
            link: None,
            holder: None,
            consent_nonce: None,
            stale_crl: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Hardening;
    use crate::node::Node;
    use crate::system::standard_spec;

    /// Challenge nonces: the counter as the patent reads; under
    /// `pop-binding` unpredictable (not the counter, different per service
    /// and per seed) yet traceable to the counter that made them, and a
    /// nonce the service never made is told apart.
    #[test]
    fn pop_binding_nonces_are_unpredictable_and_their_counters_known() {
        let service = |hardening, seed| {
            let mut spec = standard_spec(2, 1, false);
            spec.hardening = hardening;
            spec.seed = seed;
            let system = spec.build().expect("builds");
            let a = system.dir.by_name("A").expect("A");
            match &system.nodes[usize::from(a)] {
                Node::Service(s) => s.clone(),
                _ => panic!("A is a service"),
            }
        };
        let plain = service(Hardening::default(), 1);
        assert_eq!((plain.nonce(7), plain.counter_of(7)), (7, Some(7)));
        let bound = Hardening {
            pop_binding: true,
            ..Hardening::default()
        };
        let (s1, s2) = (service(bound, 1), service(bound, 2));
        let nonces: Vec<u64> = (1..5).map(|c| s1.nonce(c)).collect();
        assert!(
            nonces
                .iter()
                .zip(1..)
                .all(|(n, c)| *n != c && *n >> 32 != 0)
        );
        assert_ne!(s1.nonce(1), s2.nonce(1), "another seed, another nonce");
        assert!((1..5).all(|c| s1.counter_of(s1.nonce(c)) == Some(c)));
        assert_eq!(s1.counter_of(s1.nonce(3) ^ (1 << 40)), None);
        assert_eq!(s1.counter_of(3), None);
    }
}
