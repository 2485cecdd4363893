//! Symmetry reduction over interchangeable users.
//!
//! Users of the standard systems differ only in who they are (name, key,
//! accounts), and that identity lives in each user's state and storage, not
//! in its actor configuration (`user::Identity`). Permuting the user slots and
//! renaming every reference to them (sessions at services and the CA, the
//! history, the network's envelopes) therefore yields an equivalent system
//! state, and the checker may keep one representative per class.
//!
//! What this buys, measured (reports/performance.md): nothing, with real
//! certificates. A user's identity is inside every certificate it holds (its
//! name and key, signed by the CA), so a state where u0 holds a certificate
//! and u1 none is not a renaming of the state where u1 holds one and u0 none:
//! the renaming would have to rewrite signed DER. Every class is a singleton
//! and a search with this representative visits as many states as without it. The
//! reduction is kept because it is sound, cheap, and the place to plug in a
//! symbolic-certificate abstraction, under which users would be symmetric.
//!
//! Services are not permuted: a proof of possession signs the service's name
//! (`x509::challenge_bytes`), so two services are never interchangeable once
//! a signature for one of them exists. `checker::check` applies the
//! representative before fingerprinting in its breadth-first search
//! (`explore.rs`), so counterexamples stay shortest under symmetry too.

use crate::checker::CcState;
use crate::msg::{Msg, Session};
use crate::node::{Choice, NodeState, Storage};
use stateright::actor::{ActorModelState, Id};
use stateright::{Rewrite, RewritePlan};
use std::hash::{Hash, Hasher};

impl Rewrite<Id> for Session {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        Session {
            peer: plan.rewrite(&self.peer),
            op: self.op,
        }
    }
}

impl Rewrite<Id> for Msg {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        let mut m = self.clone();
        if let Some(s) = m.ca_session_mut() {
            *s = s.rewrite(plan);
        }
        m
    }
}

fn rewrite_ca(c: &crate::ca::CaState, plan: &RewritePlan<Id, impl Sized>) -> crate::ca::CaState {
    let mut c = c.clone();
    c.issued = c
        .issued
        .iter()
        .map(|((svc, s), v)| ((*svc, s.rewrite(plan)), *v))
        .collect();
    c
}

fn rewrite_service(
    s: &crate::service::ServiceState,
    plan: &RewritePlan<Id, impl Sized>,
) -> crate::service::ServiceState {
    let mut s = s.clone();
    s.sessions = s
        .sessions
        .iter()
        .map(|(k, v)| (k.rewrite(plan), v.clone()))
        .collect();
    s
}

impl Rewrite<Id> for NodeState {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        match self {
            NodeState::Ca(c) => NodeState::Ca(rewrite_ca(c, plan)),
            NodeState::Service(s) => NodeState::Service(rewrite_service(s, plan)),
            NodeState::PortalCa(s, c) => {
                NodeState::PortalCa(rewrite_service(s, plan), rewrite_ca(c, plan))
            }
            // Users and the attacker refer to services only, which stay put.
            NodeState::User(_) | NodeState::Attacker(_) => self.clone(),
        }
    }
}

impl Rewrite<Id> for Storage {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        match self {
            Storage::Ca(c) => Storage::Ca(rewrite_ca(c, plan)),
            Storage::PortalCa(d, c) => Storage::PortalCa(d.clone(), rewrite_ca(c, plan)),
            Storage::Service(_) | Storage::User(_) => self.clone(),
        }
    }
}

impl Rewrite<Id> for Choice {
    fn rewrite<S>(&self, _plan: &RewritePlan<Id, S>) -> Self {
        // Choices name services (and certificates), never users.
        self.clone()
    }
}

/// The representative of a state's class: users sorted by their state, every
/// other party where it is.
pub fn representative(s: &CcState) -> CcState {
    let first_user = s
        .actor_states
        .iter()
        .position(|st| matches!(***st, NodeState::User(_)))
        .unwrap_or(0);
    let keys: Vec<(usize, u64)> = s
        .actor_states
        .iter()
        .enumerate()
        .map(|(i, st)| match &***st {
            NodeState::User(u) => {
                // Any fixed hasher will do: ties only cost reduction, never soundness.
                let mut h = std::hash::DefaultHasher::new();
                u.hash(&mut h);
                s.crashed.get(i).hash(&mut h);
                (first_user, h.finish())
            }
            _ => (i, 0),
        })
        .collect();
    let plan = RewritePlan::<Id, _>::from_values_to_sort(&keys);
    ActorModelState {
        actor_states: plan.reindex(&s.actor_states),
        network: s.network.rewrite(&plan),
        timers_set: plan.reindex(&s.timers_set),
        random_choices: plan.reindex(&s.random_choices),
        crashed: plan.reindex(&s.crashed),
        history: s.history.rewrite(&plan),
        actor_storages: plan.reindex(&s.actor_storages),
    }
}

impl<T: Rewrite<Id>> Rewrite<Id> for crate::hashed::Hashed<T> {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        crate::hashed::Hashed::new((**self).rewrite(plan))
    }
}
