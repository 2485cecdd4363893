//! What one handler invocation does: the sans-IO output of an actor.
//!
//! Handlers never touch a network, a clock or a random source; they write
//! here. The stateright adapter (`node.rs`) turns this into `Out` commands; the
//! simulator schedules it itself; both read `steps`, so every run yields its
//! step sequence from the same code.

use crate::msg::{Msg, OpId};
use crate::rejection::Rejection;
use crate::step::Step;
use crate::user::Outcome;
use stateright::actor::Id;

/// A timer an actor sets or cancels.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum Timer {
    /// A user's operation `op` has waited `timeout_ms` for an answer.
    Timeout(OpId),
    /// `push-ack`: the CA's retransmission timer. When it fires the CA
    /// pushes again every notification not yet acknowledged. The patent's
    /// V1 has no retransmission; the interval is the run's timeout.
    Retry,
    /// `crl-freshness`: the CA's CRL publication timer. When it fires the
    /// CA publishes its complete CRL to every service and waits again; the
    /// interval is the run's timeout, well within a CRL's validity (one
    /// day), so a service that hears the CA never holds a CRL past its
    /// nextUpdate. In the checker it may fire at any time.
    NextUpdate,
}

impl Timer {
    /// The CA's own timers, which fire for ever while they have work
    /// (`push-ack`'s retransmissions, `crl-freshness`'s publications), as
    /// against a user's or a service's timeout of one operation.
    pub fn is_background(&self) -> bool {
        matches!(self, Timer::Retry | Timer::NextUpdate)
    }
}

/// As traces write a timer firing (a trace's text is part of its hash, so
/// this is fixed).
impl std::fmt::Display for Timer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Timer::Timeout(op) => write!(f, "timeout of op {op}"),
            Timer::Retry => f.write_str("retransmission timer"),
            Timer::NextUpdate => f.write_str("CRL publication timer"),
        }
    }
}

/// An operation that ended, as its initiator saw it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Done {
    pub op: OpId,
    pub outcome: Outcome,
    /// For a statement: the services whose statement was shown (Fig. 11).
    pub sources: Vec<String>,
    /// For `rejected`: why.
    pub reason: Option<Rejection>,
}

/// Everything a handler asks for, in order.
#[derive(Debug, Default)]
pub struct Effects {
    /// The step labels this event realised, in the order realised.
    pub steps: Vec<Step>,
    pub sends: Vec<(Id, Msg)>,
    pub set_timers: Vec<Timer>,
    pub cancel_timers: Vec<Timer>,
    /// The durable part of the state changed and must be saved.
    pub persist: bool,
    /// Operations that ended in this event.
    pub done: Vec<Done>,
    /// Nondeterministic choices offered to the checker (autonomous users and
    /// the attacker); the simulator drives these parties by scenario instead.
    pub choices: Option<Vec<crate::node::Choice>>,
}

impl Effects {
    pub fn step(&mut self, step: Step) -> &mut Self {
        self.steps.push(step);
        self
    }

    pub fn steps(&mut self, steps: &[Step]) -> &mut Self {
        self.steps.extend_from_slice(steps);
        self
    }

    pub fn send(&mut self, dst: Id, msg: Msg) -> &mut Self {
        self.sends.push((dst, msg));
        self
    }

    pub fn finish(&mut self, op: OpId, outcome: Outcome) -> &mut Self {
        self.done.push(Done {
            op,
            outcome,
            sources: Vec::new(),
            reason: None,
        });
        self.cancel_timers.push(Timer::Timeout(op));
        self
    }
}
