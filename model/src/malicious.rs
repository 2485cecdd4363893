//! The malicious service: an independent business that follows the
//! protocol towards its own users and abuses what the protocol lets it do.
//!
//! The patent trusts every service it lists (DB 52) alike: the CA checks only
//! that a request comes from some service. A malicious service therefore
//! - uses its CA channel on serials it was never shown (`Move::Probe`):
//!   invalidate, withdraw, qualify, check or list any serial. Under
//!   sequential serials (`config::Serials`; RFC 5280 asks only for
//!   uniqueness) they count from 1, so it tries 1..=M for M users, which
//!   covers every serial the checked systems issue first. Under random
//!   serials, the default (64 bits of CSPRNG output, as the Baseline
//!   Requirements ask), a guess hits with probability about 2^-64, so it
//!   makes none: it names only serials it was shown.
//!   "Never shown" is kept exactly: a serial that reached it in any message
//!   (a presentation, its own issuance or CA answers, its Fig. 7 table) is
//!   not probed, and while an issuance through it is under way it probes
//!   nothing (it cannot know which serial that issuance takes);
//! - asks the CA to invalidate, or withdraw it from, a certificate it
//!   issued or was shown, though the holder said no Yes (`Move::Revoke`):
//!   the insider's abuse, which `ca-authz` cannot tell from the holder's
//!   request and `holder-consent` refuses (`insider-invalidates`);
//! - relays a presentation a user made to it to another service, as itself
//!   (`Move::Relay`): a man in the middle between the user and B. Under
//!   bearer certificates B cannot tell; under proof of possession the
//!   signature names the service it was made for, so B refuses;
//! - replays the credentials its users type (as the curious service does):
//!   passwords are refused elsewhere, V2 templates are not;
//! - binds its operator's own genuine certificate (`Directory::own`) to a
//!   victim's account elsewhere (`Move::Bind`): it presents its certificate
//!   at B, and at B's login screen (S14) types the credential the victim
//!   gave it. Under V2 the template is B's too, and the patent's S16 checks
//!   only that, so S19 links the operator's certificate to the victim's
//!   account. The hardening `subject-match` closes it.
//!
//! Its moves are bounded like the attacker's: in the checker by the
//! configuration's action budget (`--actions`), in the simulator by scenario
//! steps (`probe`, `relay`). The hardening `ca-authz` closes the probes.

use crate::attacker::{Replay, Replays, Reply};
use crate::config::{Credential, Presentation, Serials, Subject};
use crate::effects::{Done, Effects, Timer};
use crate::msg::{Msg, OpId, Purpose, Refusal, Request, Session, Shown, Verdict};
use crate::node::Choice;
use crate::service::{Service, ServiceState, Stage};
use crate::tables::Serial;
use crate::user::Outcome;
use crate::x509::CsrId;
use serde::Serialize;
use stateright::actor::Id;
use std::collections::BTreeSet;
use std::sync::Arc;

/// One move of the malicious service.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Move {
    /// Send `request` about `serial` to the CA, for no user's sake: a
    /// guess at a serial it was never shown, offered only under sequential
    /// serials.
    Probe { request: Request, serial: Serial },
    /// Ask the CA to invalidate (P13/S10) or withdraw it from (S20-3) a
    /// certificate it issued or was shown, though the holder said no Yes:
    /// the insider's abuse. The patent's CA cannot tell it from the
    /// holder's request (nothing of the holder's is in it), and neither can
    /// `ca-authz`'s, since the service is the issuing or a qualified one.
    /// Under `holder-consent` the CA wants the holder's signature over the
    /// request, which the service does not have (it sends none).
    Revoke { request: Request, serial: Serial },
    /// Present a certificate a user showed it at another service.
    Relay(Replay),
    /// Present its own certificate at `at` and log in with `credential`
    /// (a victim's, harvested, under the victim's login there).
    Bind { at: Id, credential: Credential },
    /// Ask the CA to qualify it (S17) for a certificate a user showed it,
    /// carrying that presentation as the holder's, when it is not (or no
    /// longer) linked to it: after the holder withdrew it (S20), this
    /// undoes the holder's choice. `ca-authz` checks the presentation, but
    /// as the patent reads any proof made to this service passes;
    /// `pop-binding` asks for a consent made for this qualification.
    Requalify { shown: Shown },
    /// Ask the CA (S6) to certify `key`, a user's key it learned (offered
    /// at an issuance through it, or inside a presentation), for a subject
    /// of its own choosing (`Service::alias`): a key whose holder never
    /// asked for that subject. The patent's CA takes a bare key. Under
    /// `csr` the request must carry a PKCS#10 request signed with the key,
    /// which it cannot make; it sends the best it has (the holder's own
    /// request, for the holder's subject, if it saw one), which the CA
    /// refuses.
    Substitute { key: [u8; 32] },
}

/// The requests a probe may make: every one the CA answers on a serial.
pub const PROBES: [Request; 5] = [
    Request::Invalidate,
    Request::Withdraw,
    Request::Qualify,
    Request::Check,
    Request::ListServices,
];

/// What the malicious service keeps besides an honest service's state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Malice {
    /// Every presentation users made to it.
    pub seen: BTreeSet<Shown>,
    /// Every serial it was shown, in any message.
    pub known: BTreeSet<Serial>,
    /// Probes under way: operation -> the request.
    pub probes: crate::small_map::SmallMap<OpId, (Request, Serial)>,
    pub relays: Replays,
    /// Binds under way: operation -> (service, credential).
    /// With the challenge nonce it answered, for `pop-binding`'s consent.
    pub binds: crate::small_map::SmallMap<OpId, (Id, Credential, Option<u64>)>,
    /// Keys users offered it for certification (S3), with their
    /// certification requests under `csr`.
    pub offered: std::collections::BTreeMap<[u8; 32], Option<CsrId>>,
    /// Keys it asked the CA to certify: each once, for its own alias, so
    /// that no made-up subject holds two certificates (those are not a
    /// user's, and `one-certificate-per-user` is about users).
    pub substituted: BTreeSet<[u8; 32]>,
    pub moves_done: u8,
}

impl Service {
    /// The moves open to the malicious service now (checker only).
    pub(crate) fn offer_moves(&self, me: Id, st: &ServiceState, fx: &mut Effects) {
        let (Some(max), Some(m)) = (self.autonomous_actions, &st.malice) else {
            return;
        };
        let mut moves = Vec::new();
        let idle = m.probes.is_empty() && m.relays.pending.is_empty() && m.binds.is_empty();
        if m.moves_done < max && idle {
            let issuing = st
                .sessions
                .iter()
                .any(|(_, s)| s.stage == Stage::AwaitCa(Request::Issue));
            let users = self.dir.users().count() as Serial;
            let never_shown = |s: &Serial| !m.known.contains(s) && !st.durable.table.holds(*s);
            // Only counted serials can be guessed.
            let guessable = self.dir.modes.serials == Serials::Sequential;
            for serial in (1..=users)
                .filter(never_shown)
                .filter(|_| !issuing && guessable)
            {
                for request in PROBES {
                    moves.push(Move::Probe { request, serial });
                }
            }
            for serial in self.known_serials(me, st) {
                for request in [Request::Invalidate, Request::Withdraw] {
                    moves.push(Move::Revoke { request, serial });
                }
            }
            for s in &m.seen {
                let serial = self.dir.arena.serial_of(s.certificate);
                if serial.is_some_and(|n| !st.durable.table.holds(n)) {
                    moves.push(Move::Requalify { shown: s.clone() });
                }
                for service in self.dir.services().filter(|s| *s != me) {
                    moves.push(Move::Relay(Replay {
                        shown: s.clone(),
                        service,
                    }));
                }
            }
            for key in self.learned_keys(m) {
                if !m.substituted.contains(&key) {
                    moves.push(Move::Substitute { key });
                }
            }
            if self.own_key.is_some() && self.dir.own.contains_key(&me) {
                for credential in &st.harvested {
                    moves.extend(self.binds_for(me, credential));
                }
            }
        }
        moves.sort();
        // Always offered, even empty: the offer replaces the last one, so no
        // stale move (on a serial shown since) stays selectable.
        fx.choices = Some(moves.into_iter().map(Choice::Malicious).collect());
    }

    /// The binds open with a harvested credential: at every other service
    /// where its person holds an account, under that account's login.
    pub fn binds_for(&self, me: Id, credential: &Credential) -> Vec<Move> {
        let Some(person) = self.dir.person_of(credential, me) else {
            return Vec::new();
        };
        self.dir
            .accounts
            .range((person, Id::from(0))..=(person, Id::from(usize::MAX)))
            .filter(|((_, service), _)| *service != me)
            .map(|((_, service), account)| Move::Bind {
                at: *service,
                credential: credential.with_login(account.login()),
            })
            .collect()
    }

    /// Start a move; the operation number it runs under.
    pub(crate) fn begin_move(
        &self,
        me: Id,
        st: &mut ServiceState,
        mv: &Move,
        fx: &mut Effects,
    ) -> Option<OpId> {
        let m = st.malice.as_mut()?;
        let op = st.durable.next_replay;
        st.durable.next_replay += 1;
        fx.persist = true;
        m.moves_done = m.moves_done.saturating_add(1);
        match mv {
            Move::Probe { request, serial } | Move::Revoke { request, serial } => {
                let session = Session { peer: me, op };
                let serial = *serial;
                let consent = None;
                let msg = match request {
                    Request::Invalidate => Msg::Invalidate {
                        session,
                        serial,
                        consent,
                    },
                    Request::Withdraw => Msg::Withdraw {
                        session,
                        serial,
                        consent,
                    },
                    Request::Qualify => Msg::Qualify {
                        session,
                        serial,
                        holder: None,
                    },
                    Request::Check => Msg::Check { session, serial },
                    Request::ListServices => Msg::ListServices { session, serial },
                    Request::Issue => return None,
                };
                if self.timeouts {
                    fx.set_timers.push(Timer::Timeout(op));
                }
                m.probes.insert(op, (*request, serial));
                fx.send(self.dir.ca().unwrap_or_default(), msg);
            }
            Move::Requalify { shown } => {
                let serial = self.dir.arena.serial_of(shown.certificate)?;
                if self.timeouts {
                    fx.set_timers.push(Timer::Timeout(op));
                }
                // Answered like a probe's qualification.
                m.probes.insert(op, (Request::Qualify, serial));
                fx.send(
                    self.dir.ca().unwrap_or_default(),
                    Msg::Qualify {
                        session: Session { peer: me, op },
                        serial,
                        holder: Some(shown.clone()),
                    },
                );
            }
            Move::Substitute { key } => {
                if self.timeouts {
                    fx.set_timers.push(Timer::Timeout(op));
                }
                // Answered like a probe; an issuance takes no serial yet.
                m.probes.insert(op, (Request::Issue, 0));
                m.substituted.insert(*key);
                let csr = m.offered.get(key).copied().flatten();
                fx.send(
                    self.dir.ca().unwrap_or_default(),
                    Msg::IssueRequest {
                        session: Session { peer: me, op },
                        subject: Arc::new(self.alias(me, key, op)),
                        public_key: *key,
                        csr,
                    },
                );
            }
            Move::Relay(replay) => {
                // Its own relays count once, in `moves_done`.
                m.relays
                    .begin(&self.dir, op, replay.clone(), self.timeouts, fx);
            }
            Move::Bind { at, credential } => {
                if self.timeouts {
                    fx.set_timers.push(Timer::Timeout(op));
                }
                m.binds.insert(op, (*at, credential.clone(), None));
                match (self.dir.modes.presentation, self.dir.own.get(&me)) {
                    // A bearer certificate is presented at once.
                    (Presentation::Bearer, Some(own)) => fx.send(
                        *at,
                        Msg::Present {
                            op,
                            purpose: Purpose::Use,
                            shown: Shown {
                                certificate: own.certificate,
                                proof: None,
                            },
                        },
                    ),
                    _ => fx.send(
                        *at,
                        Msg::Access {
                            op,
                            purpose: Purpose::Use,
                        },
                    ),
                };
            }
        }
        Some(op)
    }

    /// The malicious service's own business in a message: a presentation to
    /// remember, or an answer to one of its moves (then true: handled).
    pub(crate) fn on_malice(
        &self,
        me: Id,
        st: &mut ServiceState,
        src: Id,
        msg: &Msg,
        fx: &mut Effects,
    ) -> bool {
        let Some(m) = st.malice.as_mut() else {
            return false;
        };
        let serial = match msg {
            Msg::Present { shown, .. } => {
                m.seen.insert(shown.clone());
                self.dir.arena.serial_of(shown.certificate)
            }
            Msg::Login {
                public_key: Some(key),
                csr,
                ..
            } => {
                m.offered.insert(*key, *csr);
                return false;
            }
            Msg::Issued { serial, .. }
            | Msg::Answer { serial, .. }
            | Msg::Services { serial, .. } => Some(*serial),
            Msg::Granted { serial, .. } => Some(*serial),
            _ => None,
        };
        if let Some(serial) = serial {
            m.known.insert(serial);
        }
        if matches!(msg, Msg::Present { .. }) {
            return false;
        }
        let from_ca = self.dir.ca() == Some(src);
        let done = match msg {
            Msg::Answer {
                session, verdict, ..
            } if from_ca && session.peer == me => {
                let Some((request, _)) = m.probes.remove(&session.op) else {
                    return false;
                };
                let outcome = match (request, verdict) {
                    // "Invalid either way now", as an honest service reads
                    // it (a duplicated request is answered NG after OK).
                    (Request::Invalidate, Verdict::Ok | Verdict::NotRegistered) => {
                        Outcome::Invalidated
                    }
                    (Request::Withdraw, Verdict::Ok) => Outcome::Prohibited,
                    (_, Verdict::Ok) => Outcome::Granted,
                    (_, Verdict::NotRegistered) => Outcome::Revoked,
                    (_, Verdict::NotQualified | Verdict::AlreadyIssued) => Outcome::NotQualified,
                    (_, Verdict::BadRequest(_)) => Outcome::Rejected,
                };
                probe_done(session.op, outcome, Vec::new(), fx)
            }
            // A substitution answered: the key is certified for its alias.
            Msg::Issued { session, .. } if from_ca && session.peer == me => {
                if m.probes.remove(&session.op).is_none() {
                    return false;
                }
                probe_done(session.op, Outcome::Issued, Vec::new(), fx)
            }
            Msg::Services {
                session, services, ..
            } if from_ca && session.peer == me => {
                if m.probes.remove(&session.op).is_none() {
                    return false;
                }
                match services {
                    // What it learned: the services the user uses.
                    Some(list) => probe_done(session.op, Outcome::Statement, list.clone(), fx),
                    None => probe_done(session.op, Outcome::Revoked, Vec::new(), fx),
                }
            }
            _ if msg
                .reply_op()
                .is_some_and(|op| m.binds.get(&op).is_some_and(|(at, ..)| *at == src)) =>
            {
                let op = msg.reply_op().unwrap_or_default();
                let Some((at, credential, answered)) = m.binds.get(&op).cloned() else {
                    return false;
                };
                let outcome = match msg {
                    Msg::Challenge { nonce, .. } => {
                        // Its operator's own certificate, signed with its own key.
                        let (Some(own), Some(key)) = (self.dir.own.get(&me), &self.own_key) else {
                            return true;
                        };
                        let signed =
                            self.dir
                                .challenge(at, *nonce, own.certificate, Purpose::Use.tag());
                        let proof = self
                            .dir
                            .arena
                            .sign(key, &signed)
                            .ok()
                            .map(|sig| (*nonce, sig));
                        m.binds.insert(op, (at, credential.clone(), Some(*nonce)));
                        fx.send(
                            at,
                            Msg::Present {
                                op,
                                purpose: Purpose::Use,
                                shown: Shown {
                                    certificate: own.certificate,
                                    proof,
                                },
                            },
                        );
                        return true;
                    }
                    // S14: the victim's credential, under the victim's login;
                    // under `pop-binding` with its operator's consent to the
                    // qualification (its own key: it can always give that).
                    Msg::LoginForm { failed: false, .. } => {
                        let consent = match (self.dir.own.get(&me), &self.own_key, answered) {
                            (Some(own), Some(key), Some(nonce))
                                if self.dir.hardening.pop_binding =>
                            {
                                let signed = self.dir.challenge(
                                    at,
                                    nonce,
                                    own.certificate,
                                    Purpose::QUALIFY,
                                );
                                self.dir.arena.sign(key, &signed).ok()
                            }
                            _ => None,
                        };
                        fx.send(
                            at,
                            Msg::Login {
                                op,
                                credential: credential.into(),
                                public_key: None,
                                consent,
                                csr: None,
                            },
                        );
                        return true;
                    }
                    Msg::Granted { .. } => (Outcome::Granted, None),
                    Msg::Refused {
                        refusal: Refusal::Rejected(r),
                        ..
                    } => (Outcome::Rejected, Some(*r)),
                    _ => (Outcome::Rejected, None),
                };
                m.binds.remove(&op);
                fx.cancel_timers.push(Timer::Timeout(op));
                Done {
                    op,
                    outcome: outcome.0,
                    sources: Vec::new(),
                    reason: outcome.1,
                }
            }
            _ => match m.relays.on_reply(&self.dir, None, src, msg, fx) {
                Reply::NotMine => return false,
                Reply::Continued => return true,
                Reply::Ended(done) => done,
            },
        };
        fx.done.push(done);
        true
    }

    /// A move timed out (a lossy network lost its request or the answer).
    pub(crate) fn on_timeout(
        &self,
        me: Id,
        st: &mut ServiceState,
        timer: &Timer,
        fx: &mut Effects,
    ) {
        let Timer::Timeout(op) = timer else {
            return; // only the CA sets `Retry`
        };
        let Some(m) = st.malice.as_mut() else {
            return;
        };
        let done = if m.probes.remove(op).is_some() || m.binds.remove(op).is_some() {
            probe_done(*op, Outcome::Timeout, Vec::new(), fx)
        } else if let Some(done) = m.relays.on_timeout(*op, fx) {
            done
        } else {
            return;
        };
        fx.done.push(done);
        self.offer_moves(me, st, fx);
    }
}

impl Service {
    /// The subject a malicious service has a substituted `key` certified
    /// for in its move `op`: one of its own making per key and move, which
    /// no user holds and the CA has no certificate for (so `one-per-subject`
    /// does not stand in its way, and a second substitution, say after a
    /// crash made it forget the first, gives no subject two certificates).
    pub fn alias(&self, me: Id, key: &[u8; 32], op: OpId) -> Subject {
        let name = self.dir.name(me);
        let tag = crate::counterexample::key_label(key);
        Subject {
            name: format!("{name} alias {tag} {op}"),
            address: String::new(),
            email: format!("alias-{tag}-{op}@{}.example", name.to_ascii_lowercase()),
        }
    }

    /// The serials the malicious service knows, sorted: every one that
    /// reached it in a message, and every one its Fig. 7 links; not its
    /// operator's own (`Move::Revoke` is about users' certificates).
    pub fn known_serials(&self, me: Id, st: &ServiceState) -> BTreeSet<Serial> {
        let own = self.dir.own.get(&me).map(|o| o.serial);
        let known = st.malice.iter().flat_map(|m| m.known.iter().copied());
        known
            .chain(st.durable.table.linked_rows().map(|(s, _)| s))
            .filter(|s| Some(*s) != own)
            .collect()
    }

    /// The users' keys a malicious service has learned: offered to it at
    /// S3 for an issuance, or certified by a certificate presented to it.
    /// Not its own, nor an adversary's own (`Directory::own`): a
    /// substitution is about a user's key.
    pub fn learned_keys(&self, m: &Malice) -> BTreeSet<[u8; 32]> {
        let key_of = |cert| self.dir.arena.origin(cert).map(|(_, req)| req.public_key);
        let adversaries: BTreeSet<[u8; 32]> = (self.dir.own.values())
            .filter_map(|o| key_of(o.certificate))
            .chain(self.own_key.as_ref().map(|k| k.public_key()))
            .collect();
        m.offered
            .keys()
            .copied()
            .chain(m.seen.iter().filter_map(|s| key_of(s.certificate)))
            .filter(|k| !adversaries.contains(k))
            .collect()
    }
}

fn probe_done(op: OpId, outcome: Outcome, sources: Vec<String>, fx: &mut Effects) -> Done {
    fx.cancel_timers.push(Timer::Timeout(op));
    Done {
        op,
        outcome,
        sources,
        reason: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::{CheckConfig, check};
    use crate::checker::{Verdict as V, tests_support::verdicts};
    use crate::config::{Hardening, Presentation};
    use crate::node::NodeState;
    use stateright::actor::ActorModelAction;
    use std::ops::ControlFlow;

    fn insider(f: impl FnOnce(&mut CheckConfig)) -> CheckConfig {
        let mut c = CheckConfig {
            malicious_service: Some(1),
            actions: 2,
            ..CheckConfig::default()
        };
        f(&mut c);
        c
    }

    /// The bound is kept exactly: no probe is ever taken on a serial the
    /// malicious service was shown, nor while an issuance through it is
    /// under way, and at least one probe is taken (the test is not vacuous).
    #[test]
    fn a_probe_never_targets_a_serial_it_was_shown() {
        let sequential = insider(|c| c.serials = Serials::Sequential);
        let (model, _) = sequential.into_model().expect("builds");
        let mut probes = 0;
        crate::explore::walk_transitions(&model, 30_000, |s, action, _| {
            if let ActorModelAction::SelectRandom {
                actor,
                random: Choice::Malicious(Move::Probe { serial, .. }),
                ..
            } = action
            {
                probes += 1;
                let Some(NodeState::Service(st)) =
                    s.actor_states.get(usize::from(*actor)).map(|a| &***a)
                else {
                    panic!("a probe by a party that is not a service");
                };
                let m = st.malice.as_ref().expect("malicious");
                assert!(
                    !m.known.contains(serial),
                    "probe on a known serial {serial}"
                );
                assert!(!st.durable.table.holds(*serial), "probe on a linked serial");
                assert!(
                    !st.sessions
                        .iter()
                        .any(|(_, s)| s.stage == Stage::AwaitCa(Request::Issue)),
                    "probe during its own issuance"
                );
            }
            ControlFlow::Continue(())
        });
        assert!(probes > 0);
    }

    /// Every move is offered, and only the malicious service offers them.
    #[test]
    fn the_honest_services_never_probe() {
        let (model, _) = insider(|_| {}).into_model().expect("builds");
        crate::explore::walk_transitions(&model, 10_000, |_, action, _| {
            if let ActorModelAction::SelectRandom {
                actor,
                random: Choice::Malicious(_),
                ..
            } = action
            {
                assert_eq!(usize::from(*actor), 2, "only B (id 2) is malicious");
            }
            ControlFlow::Continue(())
        });
    }

    /// Relays: under bearer certificates one is accepted elsewhere (no-relay
    /// and no-impersonation break); under proof of possession none is.
    #[test]
    fn a_relay_succeeds_only_with_bearer_certificates() {
        let bearer =
            check(&insider(|c| c.presentation = Presentation::Bearer), |_| {}).expect("checks");
        assert_eq!(bearer.verdict("no-relay"), Some(V::Violated));
        assert_eq!(bearer.verdict("no-impersonation"), Some(V::Violated));
        let pop = check(&insider(|_| {}), |_| {}).expect("checks");
        assert_eq!(pop.verdict("no-relay"), Some(V::Holds));
        assert_eq!(pop.verdict("no-impersonation"), Some(V::Holds));
    }

    /// Under V2 the malicious service binds its operator's certificate to
    /// the victim's account elsewhere; subject-match closes exactly that,
    /// and under random serials also what follows from it: the victim's
    /// invalidation at that service revokes the operator's certificate
    /// (no-unauthorised-revocation), which under sequential serials the
    /// probes break anyway.
    #[test]
    fn subject_match_closes_the_v2_bind_and_nothing_else_changes() {
        for (serials, closed) in [
            (Serials::Sequential, &["link-matches-subject"][..]),
            // (The insider's own invalidation, `Move::Revoke`, breaks
            // no-unauthorised-revocation either way.)
            (Serials::Random, &["link-matches-subject"][..]),
        ] {
            let v2 = |h: Hardening| {
                insider(|c| {
                    c.biometric = true;
                    c.harden = h;
                    c.serials = serials;
                })
            };
            let before = verdicts(&v2(Hardening::default()));
            let after = verdicts(&v2(Hardening {
                subject_match: true,
                ..Hardening::default()
            }));
            for (name, v) in &before {
                if closed.contains(&name.as_str()) {
                    assert_eq!((*v, after[name]), (V::Violated, V::Holds), "{name}");
                } else {
                    assert_eq!(*v, after[name], "{name} changed under subject-match");
                }
            }
        }
        // Under passwords the harvested password is refused elsewhere.
        assert_eq!(verdicts(&insider(|_| {}))["link-matches-subject"], V::Holds);
    }

    /// csr closes the substituted key (the malicious service's issue
    /// request for a user's key under its alias) and changes no other
    /// verdict; the substitution is taken (the test is not vacuous).
    #[test]
    fn csr_closes_the_substituted_key_and_nothing_else_changes() {
        let run = |csr| {
            insider(|c| {
                c.harden = Hardening {
                    csr,
                    ..Hardening::default()
                }
            })
        };
        let (before, after) = (verdicts(&run(false)), verdicts(&run(true)));
        for (name, v) in &before {
            if name == "key-bound-by-holder" {
                assert_eq!((*v, after[name]), (V::Violated, V::Holds), "{name}");
            } else {
                assert_eq!(*v, after[name], "{name} changed under csr");
            }
        }
        let (model, _) = run(true).into_model().expect("builds");
        let mut substitutions = 0;
        crate::explore::walk_transitions(&model, 30_000, |_, action, _| {
            if let ActorModelAction::SelectRandom {
                random: Choice::Malicious(Move::Substitute { .. }),
                ..
            } = action
            {
                substitutions += 1;
            }
            ControlFlow::Continue(())
        });
        assert!(substitutions > 0);
    }

    /// ca-authz closes the outsider's probes (its invalidations, its service
    /// lists and its qualifications of itself) and changes no other verdict.
    #[test]
    fn ca_authz_closes_the_outsiders_probes_and_nothing_else_changes() {
        let outsider = |h: Hardening| CheckConfig {
            services: 3,
            malicious_service: Some(2),
            outsider: true,
            harden: h,
            serials: Serials::Sequential,
            ..CheckConfig::default()
        };
        let before = verdicts(&outsider(Hardening::default()));
        let after = verdicts(&outsider(Hardening {
            ca_authz: true,
            ..Hardening::default()
        }));
        for (name, v) in &before {
            let closed = [
                "no-unauthorised-revocation",
                "service-list-private",
                "no-unauthorised-qualification",
            ];
            if closed.contains(&name.as_str()) {
                assert_eq!((*v, after[name]), (V::Violated, V::Holds), "{name}");
            } else {
                assert_eq!(*v, after[name], "{name} changed under ca-authz");
            }
        }
    }
}
