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

#[derive(Clone, Debug)]
pub struct Attacker {
    pub dir: Arc<Directory>,
    /// In the checker: how many replays it attempts nondeterministically.
    pub autonomous_actions: Option<u8>,
    pub timeouts: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct AttackerState {
    /// Every distinct presentation seen on the wire.
    pub seen: BTreeSet<Shown>,
    pub next_op: OpId,
    pub pending: SmallMap<OpId, Replay>,
    pub actions_done: u8,
}

impl Attacker {
    pub fn start(&self) -> AttackerState {
        AttackerState {
            seen: BTreeSet::new(),
            next_op: 0,
            pending: SmallMap::new(),
            actions_done: 0,
        }
    }

    fn offer_choices(&self, st: &AttackerState, fx: &mut Effects) {
        let Some(max) = self.autonomous_actions else {
            return;
        };
        if st.actions_done >= max || !st.pending.is_empty() || st.seen.is_empty() {
            return;
        }
        let mut choices = Vec::new();
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
        st.actions_done = st.actions_done.saturating_add(1);
        let service = replay.service;
        if self.timeouts {
            fx.set_timers.push(Timer::Timeout(op));
        }
        match self.dir.modes.presentation {
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
        st.pending.insert(op, replay);
        op
    }

    fn end(
        &self,
        st: &mut AttackerState,
        op: OpId,
        outcome: Outcome,
        refusal: Option<Refusal>,
        fx: &mut Effects,
    ) {
        st.pending.remove(&op);
        fx.done.push(Done {
            op,
            outcome,
            sources: Vec::new(),
            reason: match refusal {
                Some(Refusal::Rejected(r)) => Some(r),
                _ => None,
            },
        });
        fx.cancel_timers.push(Timer::Timeout(op));
        self.offer_choices(st, fx);
    }

    pub fn on_msg(&self, st: &mut AttackerState, src: Id, msg: Msg, fx: &mut Effects) {
        match msg {
            Msg::Observed { shown } if !st.seen.contains(&shown) => {
                st.seen.insert(shown);
                self.offer_choices(st, fx)
            }
            Msg::Challenge { op, .. } => {
                // It cannot sign: it replays the victim's signature for another challenge.
                let Some(replay) = st.pending.get(&op).filter(|r| r.service == src) else {
                    return;
                };
                fx.send(
                    src,
                    Msg::Present {
                        op,
                        purpose: Purpose::Use,
                        shown: replay.shown.clone(),
                    },
                );
            }
            Msg::Granted { op, .. } if st.pending.contains_key(&op) => {
                self.end(st, op, Outcome::Granted, None, fx)
            }
            // It holds no password: a login screen is a dead end, as is any refusal.
            Msg::LoginForm { op, .. } if st.pending.contains_key(&op) => {
                self.end(st, op, Outcome::Rejected, None, fx)
            }
            Msg::Refused { op, refusal } if st.pending.contains_key(&op) => {
                self.end(st, op, Outcome::Rejected, Some(refusal), fx)
            }
            _ => {}
        }
    }

    pub fn on_timeout(&self, st: &mut AttackerState, timer: &Timer, fx: &mut Effects) {
        let Timer::Timeout(op) = timer;
        if st.pending.contains_key(op) {
            self.end(st, *op, Outcome::Timeout, None, fx);
        }
    }
}
