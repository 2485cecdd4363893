//! The eavesdropping attacker (mallory).
//!
//! It sees every presentation that crosses the network (a TLS 1.2 client
//! certificate travels in the clear; passwords travel inside the channel and
//! are not shown to it) and may replay any of them to any service. It holds no
//! private key, so under proof of possession it can only resend a signature
//! made for another challenge.

use crate::config::{Directory, Presentation};
use crate::effects::{Done, Effects, Timer};
use crate::msg::{Msg, OpId, Purpose, Refusal, Shown};
use crate::node::Choice;
use crate::small_map::SmallMap;
use crate::user::Outcome;
use crate::x509::{CertId, SigningKey};
use serde::{Deserialize, Serialize};
use stateright::actor::Id;
use std::collections::BTreeSet;
use std::sync::Arc;

/// A replay the attacker can attempt.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Replay {
    pub shown: Shown,
    pub service: Id,
}

/// Presentations of someone else's certificate, under way: the eavesdropper's
/// replays and the malicious service's relays run this one client, so the
/// two adversaries present in exactly the same way.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Replays {
    pub pending: SmallMap<OpId, Replay>,
    pub actions_done: u8,
}

/// How a message bore on a replay under way.
pub enum Reply {
    /// Not an answer to any replay.
    NotMine,
    /// An answer that keeps the replay going (a challenge answered).
    Continued,
    /// The replay ended.
    Ended(Done),
}

impl Replays {
    /// Present `replay.shown` at `replay.service` as operation `op`. It holds
    /// no private key of the certificate's: under proof of possession it can
    /// only answer the challenge with the signature it saw.
    pub fn begin(
        &mut self,
        dir: &Directory,
        op: OpId,
        replay: Replay,
        timeouts: bool,
        fx: &mut Effects,
    ) {
        self.actions_done = self.actions_done.saturating_add(1);
        let service = replay.service;
        if timeouts {
            fx.set_timers.push(Timer::Timeout(op));
        }
        match dir.modes.presentation {
            Presentation::ProofOfPossession => {
                fx.send(
                    service,
                    Msg::Access {
                        op,
                        purpose: Purpose::Use,
                    },
                );
            }
            Presentation::Bearer => {
                fx.send(
                    service,
                    Msg::Present {
                        op,
                        purpose: Purpose::Use,
                        shown: Shown {
                            certificate: replay.shown.certificate,
                            proof: None,
                        },
                    },
                );
            }
        }
        self.pending.insert(op, replay);
    }

    /// A service's answer, if it answers a replay under way. `own` is the
    /// presenter's own certificate and key, if it has one: a challenge to a
    /// presentation of that certificate is answered with a fresh signature.
    pub fn on_reply(
        &mut self,
        dir: &Directory,
        own: Option<(CertId, &SigningKey)>,
        src: Id,
        msg: &Msg,
        fx: &mut Effects,
    ) -> Reply {
        let Some(op) = msg.reply_op() else {
            return Reply::NotMine;
        };
        if self.pending.get(&op).is_none_or(|r| r.service != src) {
            return Reply::NotMine;
        }
        let (outcome, refusal) = match msg {
            Msg::Challenge { nonce, .. } => {
                let Some(replay) = self.pending.get(&op) else {
                    return Reply::NotMine;
                };
                let mut shown = replay.shown.clone();
                match own {
                    // Its own certificate: it signs the challenge.
                    Some((cert, key)) if cert == shown.certificate => {
                        let bytes = dir.challenge(src, *nonce, cert, Purpose::Use.tag());
                        let signed = dir.arena.sign(key, &bytes).ok();
                        shown.proof = signed.map(|sig| (*nonce, sig));
                    }
                    // Someone else's: it cannot sign, and replays the
                    // signature it saw, made for another challenge.
                    _ => {}
                }
                fx.send(
                    src,
                    Msg::Present {
                        op,
                        purpose: Purpose::Use,
                        shown,
                    },
                );
                return Reply::Continued;
            }
            Msg::Granted { .. } => (Outcome::Granted, None),
            // It holds no password: a login screen is a dead end, as is any refusal.
            Msg::LoginForm { .. } => (Outcome::Rejected, None),
            Msg::Refused { refusal, .. } => (Outcome::Rejected, Some(*refusal)),
            _ => return Reply::NotMine,
        };
        Reply::Ended(self.end(op, outcome, refusal, fx))
    }

    /// The replay `op` timed out, if it was under way.
    pub fn on_timeout(&mut self, op: OpId, fx: &mut Effects) -> Option<Done> {
        self.pending
            .contains_key(&op)
            .then(|| self.end(op, Outcome::Timeout, None, fx))
    }

    fn end(
        &mut self,
        op: OpId,
        outcome: Outcome,
        refusal: Option<Refusal>,
        fx: &mut Effects,
    ) -> Done {
        self.pending.remove(&op);
        fx.cancel_timers.push(Timer::Timeout(op));
        Done {
            op,
            outcome,
            sources: Vec::new(),
            reason: match refusal {
                Some(Refusal::Rejected(r)) => Some(r),
                _ => None,
            },
        }
    }
}

#[derive(Clone, Debug)]
pub struct Attacker {
    pub dir: Arc<Directory>,
    /// In the checker: how many replays it attempts nondeterministically.
    pub autonomous_actions: Option<u8>,
    pub timeouts: bool,
    /// A network attacker's key, for its own certificate (`Directory::own`).
    pub own_key: Option<crate::x509::SigningKey>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct AttackerState {
    /// Every distinct presentation seen on the wire.
    pub seen: BTreeSet<Shown>,
    pub next_op: OpId,
    pub replays: Replays,
}

impl Attacker {
    pub fn start(&self) -> AttackerState {
        AttackerState {
            seen: BTreeSet::new(),
            next_op: 0,
            replays: Replays::default(),
        }
    }

    fn offer_choices(&self, me: Id, st: &AttackerState, fx: &mut Effects) {
        let Some(max) = self.autonomous_actions else {
            return;
        };
        let own = self.dir.own.get(&me).map(|o| o.certificate);
        if st.replays.actions_done >= max
            || !st.replays.pending.is_empty()
            || (st.seen.is_empty() && own.is_none())
        {
            return;
        }
        let mut choices = Vec::new();
        // A network attacker also presents its own genuine certificate.
        if let Some(certificate) = own {
            for service in self.dir.services() {
                choices.push(Choice::Attacker(Replay {
                    shown: Shown {
                        certificate,
                        proof: None,
                    },
                    service,
                }));
            }
        }
        for shown in &st.seen {
            for service in self.dir.services() {
                choices.push(Choice::Attacker(Replay {
                    shown: shown.clone(),
                    service,
                }));
            }
        }
        fx.choices = Some(choices);
    }

    /// The newest presentation seen of `victim`'s certificate, if any.
    pub fn seen_of(&self, st: &AttackerState, victim_name: &str) -> Option<Shown> {
        st.seen
            .iter()
            .rfind(|s| self.dir.arena.subject_of(s.certificate).as_deref() == Some(victim_name))
            .cloned()
    }

    /// Present a seen certificate to a service as if it were the victim.
    pub fn begin(&self, st: &mut AttackerState, replay: Replay, fx: &mut Effects) -> OpId {
        let op = st.next_op;
        st.next_op += 1;
        st.replays.begin(&self.dir, op, replay, self.timeouts, fx);
        op
    }

    pub fn on_msg(&self, me: Id, st: &mut AttackerState, src: Id, msg: Msg, fx: &mut Effects) {
        if let Msg::Observed { shown } = msg {
            if st.seen.insert(shown) {
                self.offer_choices(me, st, fx);
            }
            return;
        }
        let own = self.own(me);
        if let Reply::Ended(done) = st.replays.on_reply(&self.dir, own, src, &msg, fx) {
            fx.done.push(done);
            self.offer_choices(me, st, fx);
        }
    }

    /// Its own certificate and key, if it is a network attacker.
    fn own(&self, me: Id) -> Option<(CertId, &SigningKey)> {
        Some((self.dir.own.get(&me)?.certificate, self.own_key.as_ref()?))
    }

    /// A network attacker offers its own presentations from the start.
    pub fn start_effects(&self, me: Id, st: &AttackerState, fx: &mut Effects) {
        self.offer_choices(me, st, fx);
    }

    pub fn on_timeout(&self, me: Id, st: &mut AttackerState, timer: &Timer, fx: &mut Effects) {
        let Timer::Timeout(op) = timer else {
            return; // only the CA sets `Retry`
        };
        if let Some(done) = st.replays.on_timeout(*op, fx) {
            fx.done.push(done);
            self.offer_choices(me, st, fx);
        }
    }
}
