//! One actor type for every party, so stateright's `ActorModel` and the
//! simulator hold them in one vector.
//!
//! `Node::start`, `Node::on_message`, `Node::on_timer` and `Node::on_choice`
//! are the protocol's entry points and return `Effects` with the step labels;
//! the checker's `stateright::actor::Actor` impl (`checker::Checked`) is a thin
//! adapter over them, and `Node::apply_to` turns effects into its commands. The
//! wire tap that shows the attacker every presentation is here too, because it
//! is the network's doing, not any party's.

use crate::attacker::{Attacker, AttackerState, Replay};
use crate::ca::{Ca, CaState};
use crate::config::Directory;
use crate::effects::{Effects, Timer};
use crate::msg::Msg;
use crate::service::{Service, ServiceDurable, ServiceState};
use crate::user::{Command, User, UserDurable, UserState};
use serde::Serialize;
use stateright::actor::{Actor, Id, Out};
use std::sync::Arc;
use std::time::Duration;

/// A party.
#[derive(Clone, Debug)]
pub enum Node {
    Ca(Ca),
    Service(Service),
    /// Variant V3: the portal's node hosts the CA role too.
    PortalCa(Service, Ca),
    User(User),
    Attacker(Attacker),
    /// The checker's clock (`--clock-jumps`): the environment, not a party.
    Clock(crate::clock::Jumps),
}

/// A service's state is boxed: it is four times a user's, and a system of a
/// million users holds a million of these (a workload), so the enum stays
/// the size of the small variants.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum NodeState {
    /// Boxed like a service's, so that the per-node slot a driver keeps
    /// for each of a million users is a user's size.
    Ca(Box<CaState>),
    Service(Box<ServiceState>),
    PortalCa(Box<ServiceState>, Box<CaState>),
    User(UserState),
    Attacker(AttackerState),
    /// The checked time (`--clock-jumps`).
    Clock(crate::clock::ClockState),
}

// A driver keeps one slot per node, a million of them for a workload's
// users: the CA's and the services' states are boxed so that a slot is a
// user's size (160 bytes with the CA's state inline).
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<NodeState>() <= 64);

/// What a node keeps across a crash.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Storage {
    /// Boxed, so that the per-node slot a driver keeps is a user's size.
    Ca(Box<CaState>),
    Service(ServiceDurable),
    PortalCa(ServiceDurable, Box<CaState>),
    User(UserDurable),
}

/// The checker keeps storage shared and hashed once (`hashed.rs`).
impl From<Storage> for Arc<crate::hashed::Hashed<Storage>> {
    fn from(s: Storage) -> Self {
        Arc::new(crate::hashed::Hashed::new(s))
    }
}

/// A nondeterministic choice the checker explores.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Choice {
    User(Command),
    Attacker(Replay),
    Malicious(crate::malicious::Move),
    /// The checker's clock jumps forward (`clock::Jump`).
    Jump(crate::clock::Jump),
}

impl NodeState {
    /// The CA's state, wherever the CA role lives.
    pub fn ca(&self) -> Option<&CaState> {
        match self {
            NodeState::Ca(c) | NodeState::PortalCa(_, c) => Some(c),
            _ => None,
        }
    }

    pub fn service(&self) -> Option<&ServiceState> {
        match self {
            NodeState::Service(s) | NodeState::PortalCa(s, _) => Some(s),
            _ => None,
        }
    }

    pub fn user(&self) -> Option<&UserState> {
        match self {
            NodeState::User(u) => Some(u),
            _ => None,
        }
    }

    pub fn attacker(&self) -> Option<&AttackerState> {
        match self {
            NodeState::Attacker(a) => Some(a),
            _ => None,
        }
    }

    /// The checked time, if this is the checker's clock.
    pub fn clock(&self) -> Option<&crate::clock::ClockState> {
        match self {
            NodeState::Clock(c) => Some(c),
            _ => None,
        }
    }

    fn durable(&self) -> Option<Storage> {
        match self {
            NodeState::Ca(c) => Some(Storage::Ca(c.clone())),
            NodeState::Service(s) => Some(Storage::Service(s.durable.clone())),
            NodeState::PortalCa(s, c) => Some(Storage::PortalCa(s.durable.clone(), c.clone())),
            NodeState::User(u) => Some(Storage::User(User::durable(u))),
            // The clock never crashes (the checker offers no such move).
            NodeState::Attacker(_) | NodeState::Clock(_) => None,
        }
    }
}

impl Node {
    pub fn dir(&self) -> &Arc<Directory> {
        match self {
            Node::Ca(c) => &c.dir,
            Node::Service(s) | Node::PortalCa(s, _) => &s.dir,
            Node::User(u) => &u.dir,
            Node::Attacker(a) => &a.dir,
            Node::Clock(c) => &c.dir,
        }
    }

    /// Start, or restart from `storage` after a crash.
    pub fn start(&self, me: Id, storage: Option<&Storage>) -> (NodeState, Effects) {
        let mut fx = Effects::default();
        let state = match self {
            Node::Ca(ca) => {
                let st = ca.start(match storage {
                    Some(Storage::Ca(c)) => Some(&**c),
                    _ => None,
                });
                ca.start_timers(&st, &mut fx);
                NodeState::Ca(Box::new(st))
            }
            Node::Service(s) => {
                let st = s.start(
                    me,
                    match storage {
                        Some(Storage::Service(d)) => Some(d),
                        _ => None,
                    },
                );
                s.offer_moves(me, &st, &mut fx);
                NodeState::Service(Box::new(st))
            }
            Node::PortalCa(s, ca) => {
                let (d, c) = match storage {
                    Some(Storage::PortalCa(d, c)) => (Some(d), Some(&**c)),
                    _ => (None, None),
                };
                let st = s.start(me, d);
                s.offer_moves(me, &st, &mut fx);
                let cst = ca.start(c);
                ca.start_timers(&cst, &mut fx);
                NodeState::PortalCa(Box::new(st), Box::new(cst))
            }
            Node::User(u) => {
                let (st, f) = u.start(
                    me,
                    match storage {
                        Some(Storage::User(d)) => Some(d),
                        _ => None,
                    },
                );
                fx = f;
                NodeState::User(st)
            }
            Node::Attacker(a) => {
                let st = a.start();
                a.start_effects(me, &st, &mut fx);
                NodeState::Attacker(st)
            }
            Node::Clock(c) => NodeState::Clock(c.start(&mut fx)),
        };
        (state, fx)
    }

    pub fn on_message(&self, me: Id, state: &mut NodeState, src: Id, msg: Msg) -> Effects {
        let mut fx = Effects::default();
        match (self, &mut *state) {
            (Node::Ca(ca), NodeState::Ca(st)) => ca.on_msg(st, src, msg, &mut fx),
            (Node::Service(s), NodeState::Service(st)) => s.on_msg(me, st, src, msg, &mut fx),
            (Node::PortalCa(s, ca), NodeState::PortalCa(sst, cst)) => {
                if msg.is_for_ca() {
                    ca.on_msg(cst, src, msg, &mut fx)
                } else {
                    s.on_msg(me, sst, src, msg, &mut fx)
                }
            }
            (Node::User(u), NodeState::User(st)) => u.on_msg(me, st, src, msg, &mut fx),
            (Node::Attacker(a), NodeState::Attacker(st)) => a.on_msg(me, st, src, msg, &mut fx),
            _ => {}
        }
        self.tap(me, &mut fx);
        fx
    }

    pub fn on_timer(&self, me: Id, state: &mut NodeState, timer: &Timer) -> Effects {
        let mut fx = Effects::default();
        match (self, &mut *state) {
            // `push-ack`: the CA's retransmission timer.
            (Node::Ca(ca), NodeState::Ca(st))
            | (Node::PortalCa(_, ca), NodeState::PortalCa(_, st))
                if *timer == Timer::Retry =>
            {
                ca.on_retry(st, &mut fx)
            }
            // `crl-freshness`: the CA's CRL publication timer.
            (Node::Ca(ca), NodeState::Ca(st))
            | (Node::PortalCa(_, ca), NodeState::PortalCa(_, st))
                if *timer == Timer::NextUpdate =>
            {
                ca.on_publish(st, &mut fx)
            }
            (Node::User(u), NodeState::User(st)) => u.on_timeout(me, st, timer, &mut fx),
            (Node::Attacker(a), NodeState::Attacker(st)) => a.on_timeout(me, st, timer, &mut fx),
            (Node::Service(s), NodeState::Service(st))
            | (Node::PortalCa(s, _), NodeState::PortalCa(st, _)) => {
                s.on_timeout(me, st, timer, &mut fx)
            }
            _ => {}
        }
        self.tap(me, &mut fx);
        fx
    }

    /// Start an operation: a user's command, an attacker's replay or a
    /// malicious service's move; or the checker's clock jumps.
    pub fn on_choice(
        &self,
        me: Id,
        state: &mut NodeState,
        choice: &Choice,
    ) -> (Effects, Option<u32>) {
        let mut fx = Effects::default();
        let op = match (self, &mut *state, choice) {
            (Node::User(u), NodeState::User(st), Choice::User(cmd)) => {
                Some(u.begin(me, st, cmd.clone(), &mut fx))
            }
            (Node::Attacker(a), NodeState::Attacker(st), Choice::Attacker(r)) => {
                Some(a.begin(st, r.clone(), &mut fx))
            }
            (Node::Service(s), NodeState::Service(st), Choice::Malicious(m))
            | (Node::PortalCa(s, _), NodeState::PortalCa(st, _), Choice::Malicious(m)) => {
                let op = s.begin_move(me, st, m, &mut fx);
                s.offer_moves(me, st, &mut fx);
                op
            }
            (Node::Clock(c), NodeState::Clock(st), Choice::Jump(j)) => {
                c.jump(st, *j, &mut fx);
                None
            }
            _ => None,
        };
        self.tap(me, &mut fx);
        (fx, op)
    }

    /// The eavesdropper's view: every presentation an honest node puts on the
    /// wire is shown to the attacker as well.
    fn tap(&self, me: Id, fx: &mut Effects) {
        let Some(attacker) = self.dir().attacker() else {
            return;
        };
        if attacker == me {
            return;
        }
        let copies: Vec<(Id, Msg)> = fx
            .sends
            .iter()
            .filter_map(|(_, m)| match m {
                Msg::Present { shown, .. } => Some((
                    attacker,
                    Msg::Observed {
                        shown: shown.clone(),
                    },
                )),
                _ => None,
            })
            .collect();
        fx.sends.extend(copies);
    }

    /// Turn effects into stateright commands for any actor type over these messages.
    pub fn apply_to<A>(&self, state: &NodeState, fx: Effects, o: &mut Out<A>)
    where
        A: Actor<Msg = Msg, Timer = Timer, Random = Choice>,
        A::Storage: From<Storage>,
    {
        for (dst, msg) in fx.sends {
            o.send(dst, msg);
        }
        for t in fx.cancel_timers {
            o.cancel_timer(t);
        }
        for t in fx.set_timers {
            o.set_timer(t, Duration::ZERO..Duration::ZERO);
        }
        if fx.persist
            && let Some(storage) = state.durable()
        {
            o.save(storage.into());
        }
        if let Some(choices) = fx.choices {
            o.choose_random("next", choices);
        }
    }

    /// The durable part of a state, to save after `Effects::persist`.
    pub fn storage_of(state: &NodeState) -> Option<Storage> {
        state.durable()
    }

    /// Whether a crash of `live` at `me`, restarting from `saved` (None:
    /// never saved), would lose durable state: a handler changed a table,
    /// a counter or a certificate without persisting it. The simulator asks
    /// at every crash (`World::lost_at_crash`); the checker's tests ask at
    /// every crash transition they explore. In a correct system: never.
    pub fn loses_at_crash(&self, me: Id, live: &NodeState, saved: Option<&Storage>) -> bool {
        let restarted = match saved {
            Some(s) => Some(s.clone()),
            None => self.start(me, None).0.durable(),
        };
        live.durable() != restarted
    }
}
