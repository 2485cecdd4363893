//! A breadth-first walk over every transition of a stateright `Model`.
//!
//! stateright's checkers report states; some questions are about
//! transitions (does every label recorded by an event have its effect at that
//! event?). This walk visits each transition out of each reachable state
//! once, in breadth-first order, with a bound on states so a test stays
//! small. States are identified by a deterministic hash (SipHash with fixed
//! keys), as stateright's own fingerprints are.

use stateright::Model;
use std::collections::{HashSet, VecDeque};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::ops::ControlFlow;

/// How far a walk got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Walked {
    pub states: usize,
    pub transitions: usize,
    /// Every reachable state within the model's boundary was visited.
    pub complete: bool,
}

fn fingerprint<T: Hash>(t: &T) -> u64 {
    let mut h = DefaultHasher::new();
    t.hash(&mut h);
    h.finish()
}

/// Visit every transition `(state, action, next)` of the states reachable
/// from `model`'s initial states, breadth-first, until `max_states` states
/// have been expanded or `visit` returns `ControlFlow::Break`.
pub fn walk_transitions<M: Model>(
    model: &M,
    max_states: usize,
    mut visit: impl FnMut(&M::State, &M::Action, &M::State) -> ControlFlow<()>,
) -> Walked
where
    M::State: Hash,
    M::Action: Clone,
{
    let mut seen = HashSet::new();
    let mut queue = VecDeque::new();
    for s in model.init_states() {
        if seen.insert(fingerprint(&s)) {
            queue.push_back(s);
        }
    }
    let mut walked = Walked {
        states: 0,
        transitions: 0,
        complete: true,
    };
    let mut actions = Vec::new();
    while let Some(state) = queue.pop_front() {
        if walked.states >= max_states {
            walked.complete = false;
            break;
        }
        walked.states += 1;
        actions.clear();
        model.actions(&state, &mut actions);
        for action in actions.drain(..) {
            let Some(next) = model.next_state(&state, action.clone()) else {
                continue;
            };
            walked.transitions += 1;
            if visit(&state, &action, &next).is_break() {
                walked.complete = false;
                return walked;
            }
            if model.within_boundary(&next) && seen.insert(fingerprint(&next)) {
                queue.push_back(next);
            }
        }
    }
    walked
}
