//! The user's terminal (user 31, terminal 50).
//!
//! A user holds one account per service, at most one common certificate and
//! the private key it certifies. It starts operations (scenario steps in the
//! simulator, nondeterministic choices in the checker) and reports each one's
//! outcome when it ends.

use crate::config::{Credential, Defects, Directory, Presentation, Subject};
use crate::effects::{Done, Effects, Timer};
use crate::msg::{Msg, OpId, Purpose, Refusal, Shown};
use crate::node::Choice;
use crate::rejection::Rejection;
use crate::small_map::SmallMap;
use crate::step::Step;
use crate::x509::{CertId, SigId, SigningKey};
use serde::{Deserialize, Serialize};
use stateright::actor::Id;
use std::collections::BTreeMap;
use std::sync::Arc;

/// How an operation ended (the scenario format's outcomes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Issued,
    AlreadyIssued,
    BadCredentials,
    Granted,
    LoginRequired,
    Revoked,
    NotQualified,
    Rejected,
    NoCertificate,
    Prohibited,
    Invalidated,
    Statement,
    Timeout,
    /// The party running the operation crashed or was restarted under it.
    /// Drivers report this; no actor can, having lost the operation.
    Crashed,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Issued => "issued",
            Outcome::AlreadyIssued => "already-issued",
            Outcome::BadCredentials => "bad-credentials",
            Outcome::Granted => "granted",
            Outcome::LoginRequired => "login-required",
            Outcome::Revoked => "revoked",
            Outcome::NotQualified => "not-qualified",
            Outcome::Rejected => "rejected",
            Outcome::NoCertificate => "no-certificate",
            Outcome::Prohibited => "prohibited",
            Outcome::Invalidated => "invalidated",
            Outcome::Statement => "statement",
            Outcome::Timeout => "timeout",
            Outcome::Crashed => "crashed",
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How a user proves who it is when invalidating (Fig. 3B P11).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Using {
    Password,
    Certificate,
}

/// An operation a user can start.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Command {
    Issue {
        service: Id,
        /// A credential other than the account's (a wrong password, S4 No).
        credential: Option<Arc<Credential>>,
    },
    Use {
        service: Id,
        /// Whether to answer a login request (P5/S15).
        login: bool,
        credential: Option<Arc<Credential>>,
    },
    Prohibit {
        service: Id,
    },
    Invalidate {
        service: Id,
        using: Using,
        credential: Option<Arc<Credential>>,
    },
    Statement {
        portal: Id,
    },
}

impl Command {
    pub fn service(&self) -> Id {
        match self {
            Command::Issue { service, .. }
            | Command::Use { service, .. }
            | Command::Prohibit { service }
            | Command::Invalidate { service, .. } => *service,
            Command::Statement { portal } => *portal,
        }
    }

    fn purpose(&self) -> Purpose {
        match self {
            Command::Issue { .. } => Purpose::Issue,
            Command::Use { .. } => Purpose::Use,
            Command::Prohibit { .. } => Purpose::Prohibit,
            Command::Invalidate {
                using: Using::Password,
                ..
            } => Purpose::InvalidateByPassword,
            Command::Invalidate {
                using: Using::Certificate,
                ..
            } => Purpose::InvalidateByCertificate,
            Command::Statement { .. } => Purpose::Statement,
        }
    }

    fn credential_override(&self) -> Option<&Credential> {
        match self {
            Command::Issue { credential, .. }
            | Command::Use { credential, .. }
            | Command::Invalidate { credential, .. } => credential.as_deref(),
            _ => None,
        }
    }
}

/// The user's configuration (immutable; not part of the checked state).
#[derive(Clone, Debug)]
pub struct User {
    pub dir: Arc<Directory>,
    /// Who this user is when it first starts.
    pub identity: Arc<Identity>,
    /// In the checker: how many operations the user chooses nondeterministically.
    pub autonomous_actions: Option<u8>,
    /// In the checker: how many of them may be in flight at once (>= 1), so
    /// that races (a use at B while an invalidation at A is under way) are
    /// reached without a timeout.
    pub concurrency: u8,
    /// Whether operations time out (set under loss and crashes).
    pub timeouts: bool,
    pub defects: Defects,
}

/// A statement display in progress: region -> the service's statement, once shown.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Regions {
    pub services: Vec<Id>,
    pub shown: BTreeMap<u32, Option<String>>,
}

/// An operation in progress.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Pending {
    pub command: Command,
    pub regions: Option<Regions>,
    /// `pop-binding`: the challenge this operation answered and the
    /// certificate it answered with, for its consent to a qualification at
    /// S15 (the same certificate, even if another was issued meanwhile).
    /// Always None without it.
    pub challenge: Option<(u64, CertId)>,
}

/// Who a user is: its name, its key, its accounts. Kept in the user's state
/// (and storage), not its configuration, so that the checker may permute
/// users (symmetry reduction) and every identity moves with its state.
#[derive(Clone, Debug)]
pub struct Identity {
    pub subject: Subject,
    /// The key the common certificate certifies, derived from the seed.
    pub key: SigningKey,
    /// service -> the credential that service gave this user (a sorted
    /// vector: a few entries each, for up to a million users).
    pub accounts: SmallMap<Id, Credential>,
}

impl PartialEq for Identity {
    fn eq(&self, other: &Self) -> bool {
        self.subject == other.subject
            && self.key.public_key() == other.key.public_key()
            && self.accounts == other.accounts
    }
}

impl Eq for Identity {}

impl std::hash::Hash for Identity {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.subject.hash(state);
        self.key.public_key().hash(state);
        self.accounts.hash(state);
    }
}

impl Serialize for Identity {
    // The secret key is never serialised; the public key identifies it.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Identity", 2)?;
        st.serialize_field("subject", &self.subject)?;
        st.serialize_field("public_key", &self.key.public_key())?;
        st.end()
    }
}

/// What a user keeps across a crash: who it is and its certificate.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct UserDurable {
    pub identity: Arc<Identity>,
    pub certificate: Option<CertId>,
    pub invalidated: bool,
    /// Operation numbers are never reused: services key sessions by them.
    pub next_op: OpId,
    /// The checker's bound on operations holds across crashes too, or a
    /// crash-and-restart loop would make the state space infinite.
    pub actions_done: u8,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct UserState {
    pub identity: Arc<Identity>,
    pub certificate: Option<CertId>,
    /// The user invalidated its certificate itself (P13) and knows it.
    pub invalidated: bool,
    pub next_op: OpId,
    pub pending: SmallMap<OpId, Pending>,
    pub actions_done: u8,
    /// Ghost: an honest issue ended otherwise than issued or
    /// already-issued (`issue-eventually-succeeds`); not durable, and only
    /// kept without timeouts (`checker::liveness_properties`).
    pub issue_failed: bool,
}

impl User {
    pub fn start(&self, me: Id, storage: Option<&UserDurable>) -> (UserState, Effects) {
        let st = UserState {
            identity: storage.map_or_else(|| self.identity.clone(), |d| d.identity.clone()),
            certificate: storage.and_then(|d| d.certificate),
            invalidated: storage.is_some_and(|d| d.invalidated),
            next_op: storage.map_or(0, |d| d.next_op),
            pending: SmallMap::new(),
            actions_done: storage.map_or(0, |d| d.actions_done),
            issue_failed: false,
        };
        // A first start saves the identity, so that a restart is the same user.
        let mut fx = Effects {
            persist: storage.is_none(),
            ..Effects::default()
        };
        self.offer_choices(me, &st, &mut fx);
        (st, fx)
    }

    pub fn durable(st: &UserState) -> UserDurable {
        UserDurable {
            identity: st.identity.clone(),
            certificate: st.certificate,
            invalidated: st.invalidated,
            next_op: st.next_op,
            actions_done: st.actions_done,
        }
    }

    /// In the checker, an idle user with actions left chooses what to do next.
    fn offer_choices(&self, _me: Id, st: &UserState, fx: &mut Effects) {
        let Some(max) = self.autonomous_actions else {
            return;
        };
        if st.actions_done >= max || st.pending.len() >= usize::from(self.concurrency.max(1)) {
            return;
        }
        let mut choices = Vec::new();
        for s in self.dir.services() {
            if !st.identity.accounts.contains_key(&s) {
                continue;
            }
            choices.push(Command::Issue {
                service: s,
                credential: None,
            });
            if st.certificate.is_some() {
                choices.push(Command::Use {
                    service: s,
                    login: true,
                    credential: None,
                });
                choices.push(Command::Prohibit { service: s });
                choices.push(Command::Invalidate {
                    service: s,
                    using: Using::Password,
                    credential: None,
                });
                choices.push(Command::Invalidate {
                    service: s,
                    using: Using::Certificate,
                    credential: None,
                });
                if self.dir.is_portal(s) {
                    choices.push(Command::Statement { portal: s });
                }
            }
        }
        fx.choices = Some(choices.into_iter().map(Choice::User).collect());
    }

    fn credential(&self, st: &UserState, cmd: &Command) -> Option<Credential> {
        if self.defects.one_password_everywhere
            && let Some(first) = st.identity.accounts.values().next()
        {
            return Some(first.clone());
        }
        cmd.credential_override()
            .cloned()
            .or_else(|| st.identity.accounts.get(&cmd.service()).cloned())
    }

    /// The proof of possession: the challenge signed with the user's key,
    /// through the run's arena (real Ed25519; `None` only if the arena
    /// refuses the signature's handle, a 64-bit collision).
    fn sign(
        &self,
        st: &UserState,
        service: Id,
        nonce: u64,
        certificate: CertId,
        purpose: &str,
    ) -> Option<SigId> {
        self.dir
            .arena
            .sign(
                &st.identity.key,
                &self.dir.challenge(service, nonce, certificate, purpose),
            )
            .ok()
    }

    /// `holder-consent`: the holder's Yes, signed with the certificate's
    /// key over the service's nonce (None when no nonce was asked for, or
    /// the user holds no certificate to sign for).
    fn consent(
        &self,
        st: &UserState,
        service: Id,
        nonce: Option<u64>,
        purpose: &str,
    ) -> Option<SigId> {
        let certificate = st.certificate?;
        self.sign(st, service, nonce?, certificate, purpose)
    }

    /// The label a presentation carries, by what it is for.
    fn present_steps(purpose: Purpose, combined_with_access: bool) -> &'static [Step] {
        match purpose {
            Purpose::Use | Purpose::Prohibit if combined_with_access => &[Step::S11, Step::S12],
            Purpose::Use | Purpose::Prohibit => &[Step::S12],
            Purpose::InvalidateByCertificate => &[Step::P11],
            Purpose::Statement => &[Step::P31],
            Purpose::StatementSource { region: 0 } => &[Step::P39],
            Purpose::StatementSource { .. } => &[Step::P43],
            Purpose::Issue | Purpose::InvalidateByPassword => &[],
        }
    }

    /// Starts an operation: the scenario's `do`, or the checker's choice.
    pub fn begin(&self, me: Id, st: &mut UserState, command: Command, fx: &mut Effects) -> OpId {
        let op = st.next_op;
        st.next_op += 1;
        fx.persist = true;
        st.actions_done = st.actions_done.saturating_add(1);
        let purpose = command.purpose();
        let service = command.service();
        st.pending.insert(
            op,
            Pending {
                command,
                regions: None,
                challenge: None,
            },
        );
        if self.timeouts {
            fx.set_timers.push(Timer::Timeout(op));
        }
        if purpose.presents_certificate() {
            if st.certificate.is_none() {
                self.end(me, st, op, Outcome::NoCertificate, None, fx);
                return op;
            }
            self.access_with_certificate(st, op, service, purpose, fx);
        } else {
            fx.step(Step::S1).send(service, Msg::Access { op, purpose });
        }
        // Under concurrency the user may start another operation meanwhile.
        self.offer_choices(me, st, fx);
        op
    }

    fn access_with_certificate(
        &self,
        st: &UserState,
        op: OpId,
        service: Id,
        purpose: Purpose,
        fx: &mut Effects,
    ) {
        let Some(certificate) = st.certificate else {
            return;
        };
        match self.dir.modes.presentation {
            Presentation::ProofOfPossession => {
                if matches!(purpose, Purpose::Use | Purpose::Prohibit) {
                    fx.step(Step::S11);
                }
                fx.send(service, Msg::Access { op, purpose });
            }
            Presentation::Bearer => {
                fx.steps(Self::present_steps(purpose, true)).send(
                    service,
                    Msg::Present {
                        op,
                        purpose,
                        shown: Shown {
                            certificate,
                            proof: None,
                        },
                    },
                );
            }
        }
    }

    fn end(
        &self,
        me: Id,
        st: &mut UserState,
        op: OpId,
        outcome: Outcome,
        reason: Option<Rejection>,
        fx: &mut Effects,
    ) {
        let pending = st.pending.remove(&op);
        // Ghost data for `issue-eventually-succeeds`: an honest issue that
        // ended otherwise than with a certificate. Kept only where that
        // property is judged (no loss, no crash: no timeouts), so it adds no
        // states to the configurations where operations time out.
        if !self.timeouts
            && pending.as_ref().is_some_and(|p| {
                matches!(
                    p.command,
                    Command::Issue {
                        credential: None,
                        ..
                    }
                )
            })
            && !matches!(outcome, Outcome::Issued | Outcome::AlreadyIssued)
        {
            st.issue_failed = true;
        }
        let sources = pending
            .and_then(|p| p.regions)
            .map(|r| {
                r.shown
                    .iter()
                    .filter(|(_, text)| text.is_some())
                    .filter_map(|(region, _)| r.services.get(*region as usize))
                    .map(|id| self.dir.name(*id).to_string())
                    .collect()
            })
            .unwrap_or_default();
        fx.done.push(Done {
            op,
            outcome,
            sources,
            reason,
        });
        fx.cancel_timers.push(Timer::Timeout(op));
        self.offer_choices(me, st, fx);
    }

    pub fn on_msg(&self, me: Id, st: &mut UserState, src: Id, msg: Msg, fx: &mut Effects) {
        let Some(op) = msg.reply_op() else { return };
        let Some(pending) = st.pending.get(&op).cloned() else {
            return; // a late answer to an operation that already ended
        };
        let in_statement = pending.regions.is_some();
        if src != pending.command.service() && !in_statement {
            return;
        }
        match msg {
            Msg::LoginForm { failed: true, .. } => {
                self.end(me, st, op, Outcome::BadCredentials, None, fx)
            }
            Msg::LoginForm { failed: false, .. } => {
                let login = match &pending.command {
                    Command::Use { login, .. } => *login,
                    _ => true,
                };
                let Some(credential) = self.credential(st, &pending.command).filter(|_| login)
                else {
                    return self.end(me, st, op, Outcome::LoginRequired, None, fx);
                };
                let (steps, public_key): (&[Step], _) = match pending.command {
                    Command::Issue { .. } => (&[Step::S3], Some(st.identity.key.public_key())),
                    Command::Invalidate { .. } => (&[Step::S3, Step::P11], None),
                    _ => (&[Step::S15, Step::P5], None),
                };
                // `pop-binding`: a login after a presentation (S15) is the
                // service asking to be qualified; the user consents to that,
                // for this certificate and this challenge only.
                let consent = pending.challenge.and_then(|(nonce, certificate)| {
                    self.sign(st, src, nonce, certificate, Purpose::QUALIFY)
                });
                // `csr`: the key goes with a request for this user's subject,
                // signed with it (a request that cannot be made is not sent,
                // and the CA refuses the issuance).
                let csr = public_key.filter(|_| self.dir.hardening.csr).and_then(|_| {
                    let id = &st.identity;
                    (self.dir.arena)
                        .request(&id.key, &id.subject.name, &id.subject.email)
                        .ok()
                });
                fx.steps(steps).send(
                    src,
                    Msg::Login {
                        op,
                        credential: credential.into(),
                        public_key,
                        consent,
                        csr,
                    },
                );
            }
            Msg::Challenge { nonce, .. } => {
                let Some(certificate) = st.certificate else {
                    return;
                };
                let purpose = match &pending.regions {
                    Some(r) => match r.services.iter().position(|s| *s == src) {
                        Some(i) => Purpose::StatementSource { region: i as u32 },
                        None => return,
                    },
                    None => pending.command.purpose(),
                };
                let Some(signature) = self.sign(st, src, nonce, certificate, purpose.tag()) else {
                    return;
                };
                if self.dir.hardening.pop_binding
                    && let Some(p) = st.pending.get_mut(&op)
                {
                    p.challenge = Some((nonce, certificate));
                }
                let proof = Some((nonce, signature));
                fx.steps(Self::present_steps(purpose, false)).send(
                    src,
                    Msg::Present {
                        op,
                        purpose,
                        shown: Shown { certificate, proof },
                    },
                );
            }
            Msg::Certificate {
                certificate,
                existing,
                ..
            } => {
                st.certificate = Some(certificate);
                st.invalidated = false;
                fx.persist = true;
                // `one-per-subject` hands back the subject's certificate:
                // the user holds it, but nothing new was issued.
                let outcome = if existing {
                    Outcome::AlreadyIssued
                } else {
                    Outcome::Issued
                };
                self.end(me, st, op, outcome, None, fx);
            }
            Msg::AskInvalidate { nonce, .. } => match pending.command {
                // S9 "No ends here": the user wanted a certificate, not to invalidate.
                Command::Issue { .. } => self.end(me, st, op, Outcome::AlreadyIssued, None, fx),
                _ => {
                    let consent = self.consent(st, src, nonce, Purpose::CONSENT_INVALIDATE);
                    fx.send(src, Msg::Confirm { op, consent });
                }
            },
            Msg::AskProhibit { nonce, .. } => {
                let consent = self.consent(st, src, nonce, Purpose::CONSENT_PROHIBIT);
                fx.send(src, Msg::Confirm { op, consent });
            }
            Msg::Granted { .. } => self.end(me, st, op, Outcome::Granted, None, fx),
            Msg::Invalidated { .. } => {
                st.invalidated = true;
                fx.persist = true;
                self.end(me, st, op, Outcome::Invalidated, None, fx)
            }
            Msg::Prohibited { .. } => self.end(me, st, op, Outcome::Prohibited, None, fx),
            Msg::MemberMenu { .. } => {
                // P35: select statement display.
                fx.step(Step::P35).send(src, Msg::SelectStatement { op });
            }
            Msg::Layout { regions, .. } => self.fetch_regions(me, st, op, &regions, fx),
            Msg::Balance { region, text, .. } => {
                self.region_answered(me, st, op, src, region, Some(text.to_string()), fx)
            }
            Msg::Refused { .. } if in_statement => {
                let region = pending
                    .regions
                    .as_ref()
                    .and_then(|r| r.services.iter().position(|s| *s == src))
                    .map(|i| i as u32);
                if let Some(region) = region {
                    self.region_answered(me, st, op, src, region, None, fx)
                }
            }
            Msg::Refused { refusal, .. } => {
                let (outcome, reason) = match refusal {
                    Refusal::BadCredentials => (Outcome::BadCredentials, None),
                    Refusal::Revoked => (Outcome::Revoked, None),
                    Refusal::NotQualified => (Outcome::NotQualified, None),
                    Refusal::NoCertificate => (Outcome::NoCertificate, None),
                    Refusal::AlreadyIssued => (Outcome::AlreadyIssued, None),
                    Refusal::Rejected(r) => (Outcome::Rejected, Some(r)),
                };
                self.end(me, st, op, outcome, reason, fx)
            }
            _ => {}
        }
    }

    /// P38 -> P39/P43: ask every service in the layout for its statement.
    fn fetch_regions(
        &self,
        me: Id,
        st: &mut UserState,
        op: OpId,
        regions: &[String],
        fx: &mut Effects,
    ) {
        let services: Vec<Id> = regions
            .iter()
            .filter_map(|name| self.dir.by_name(name))
            .collect();
        if services.is_empty() {
            return self.end(me, st, op, Outcome::Statement, None, fx);
        }
        if let Some(p) = st.pending.get_mut(&op) {
            p.regions = Some(Regions {
                services: services.clone(),
                shown: BTreeMap::new(),
            });
        }
        for (i, s) in services.into_iter().enumerate() {
            let purpose = Purpose::StatementSource { region: i as u32 };
            self.access_with_certificate(st, op, s, purpose, fx);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn region_answered(
        &self,
        me: Id,
        st: &mut UserState,
        op: OpId,
        src: Id,
        region: u32,
        text: Option<String>,
        fx: &mut Effects,
    ) {
        let Some(regions) = st.pending.get_mut(&op).and_then(|p| p.regions.as_mut()) else {
            return;
        };
        if regions.services.get(region as usize) != Some(&src) {
            return;
        }
        regions.shown.insert(region, text);
        if regions.shown.len() == regions.services.len() {
            self.end(me, st, op, Outcome::Statement, None, fx);
        }
    }

    pub fn on_timeout(&self, me: Id, st: &mut UserState, timer: &Timer, fx: &mut Effects) {
        let Timer::Timeout(op) = timer else {
            return; // only the CA sets `Retry`
        };
        if st.pending.contains_key(op) {
            self.end(me, st, *op, Outcome::Timeout, None, fx);
        }
    }
}
