//! The project's own breadth-first search over a stateright `Model`, keeping
//! each state's first discovery, so every counterexample is a shortest path.
//!
//! stateright's BFS checker may report a later, longer path to a violation
//! (it pops jobs in batches), and it cannot be stopped cleanly at a state or
//! memory budget. This search visits states in order of depth, evaluates every
//! property on each state when it is first reached, remembers only a parent
//! fingerprint per state, and rebuilds the path of a discovery by replaying
//! the model forward from its initial state. Limits (depth, states, memory)
//! stop it with a partial result that says which limit stopped it.
//!
//! `representative` (symmetry) is applied before a state is fingerprinted, so
//! equivalent states are explored once; paths are still rebuilt on concrete
//! states.

use stateright::{Expectation, Model};
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

/// Budgets for one search; `None` is unbounded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    /// States deeper than this are not expanded.
    pub max_depth: Option<usize>,
    /// Stop after this many unique states.
    pub max_states: Option<usize>,
    /// Stop when the process's resident memory exceeds this many bytes.
    pub max_memory: Option<u64>,
}

/// Why a search ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ended {
    /// Every reachable state was visited.
    Complete,
    /// States at the depth bound were not expanded.
    DepthBound,
    /// The state budget ran out.
    MaxStates,
    /// The memory budget ran out.
    MaxMemory,
    /// Every target was found and the caller asked to stop then.
    AllFound,
    /// A swarm (`swarm.rs`): many bounded randomised searches, never
    /// exhaustive.
    Swarm,
}

impl Ended {
    /// Whether a property not discovered is known not to be discoverable.
    pub fn exhaustive(self) -> bool {
        self == Ended::Complete
    }
}

/// Progress, reported every `PROGRESS_EVERY`.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    pub unique_states: usize,
    pub transitions: usize,
    pub depth: usize,
    pub resident_bytes: u64,
    pub elapsed: Duration,
}

pub const PROGRESS_EVERY: Duration = Duration::from_secs(2);

/// A path: (state, the action taken from it); the last pair has no action.
pub type Path<M> = Vec<(<M as Model>::State, Option<<M as Model>::Action>)>;

/// A predicate on a model's states.
pub type Predicate<M> = Box<dyn Fn(&M, &<M as Model>::State) -> bool + Send + Sync>;

/// What a search found.
pub struct Explored<M: Model> {
    pub unique_states: usize,
    pub transitions: usize,
    /// The deepest state reached (the initial states are at depth 0).
    pub max_depth: usize,
    pub ended: Ended,
    pub seconds: f64,
    /// Per target name: the shortest path to a state where it holds, as
    /// (state, action taken from it); the last pair has no action.
    pub found: BTreeMap<&'static str, Path<M>>,
}

/// What to look for: a name and a predicate on states.
pub struct Target<M: Model> {
    pub name: &'static str,
    pub hit: Predicate<M>,
}

/// The targets a model's properties define: the violation of an `always`,
/// the example of a `sometimes` (`eventually` is not a state predicate).
pub fn property_targets<M: Model + 'static>(model: &M) -> Vec<Target<M>> {
    model
        .properties()
        .into_iter()
        .filter_map(|p| {
            let cond = p.condition;
            let hit: Predicate<M> = match p.expectation {
                Expectation::Always => Box::new(move |m, s| !cond(m, s)),
                Expectation::Sometimes => Box::new(cond),
                Expectation::Eventually => return None,
            };
            Some(Target { name: p.name, hit })
        })
        .collect()
}

/// A state's 64-bit fingerprint: aHash with fixed keys. It is several times
/// faster than SipHash on the many small fields of a state, and as good a
/// 64-bit hash for deduplication (collisions about n²/2⁶⁵). Fingerprints
/// never leave the process, so aHash's variation across CPUs is harmless;
/// the fixed keys make a run repeatable on one machine.
pub fn fingerprint<T: Hash>(t: &T) -> u64 {
    FINGERPRINT.hash_one(t)
}

const FINGERPRINT: ahash::RandomState = ahash::RandomState::with_seeds(
    0x243f_6a88_85a3_08d3,
    0x1319_8a2e_0370_7344,
    0xa409_3822_299f_31d0,
    0x082e_fa98_ec4e_6c89,
);

/// Fingerprint -> parent fingerprint. Fingerprints are already uniform
/// 64-bit hashes, so the map uses them as they are instead of hashing again.
type Parents = HashMap<u64, u64, BuildHasherDefault<Identity>>;

/// The identity "hash" of a `u64` key.
#[derive(Default)]
struct Identity(u64);

impl Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used (u64 keys); anything else folds in.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// The process's resident set size, from `/proc/self/statm` (0 where that
/// is not available).
pub fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// Breadth-first search from `model`'s initial states for every target.
///
/// `representative` maps a state to its symmetry class's representative
/// before fingerprinting (`|s| s.clone()` for none). With `stop_when_all_found`
/// the search ends as soon as every target has been found.
pub fn explore<M>(
    model: &M,
    targets: &[Target<M>],
    limits: Limits,
    stop_when_all_found: bool,
    representative: impl Fn(&M::State) -> M::State,
    mut progress: impl FnMut(&Progress),
    before_rebuild: impl FnOnce(),
) -> Explored<M>
where
    M: Model,
    M::State: Hash,
    M::Action: Clone,
{
    let start = Instant::now();
    let key = |s: &M::State| fingerprint(&representative(s));
    // fingerprint -> parent fingerprint; an initial state is its own parent.
    let mut parents = Parents::default();
    let mut queue: VecDeque<(M::State, u64, usize)> = VecDeque::new();
    let mut found_at: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut transitions = 0usize;
    let mut max_depth = 0usize;
    let mut ended = Ended::Complete;
    let mut last_report = Instant::now();
    let mut expanded = 0usize;

    let visit = |state: &M::State, fp: u64, found_at: &mut BTreeMap<&'static str, u64>| {
        for t in targets {
            if !found_at.contains_key(t.name) && (t.hit)(model, state) {
                found_at.insert(t.name, fp);
            }
        }
    };
    for s in model.init_states() {
        let fp = key(&s);
        if parents.contains_key(&fp) {
            continue;
        }
        parents.insert(fp, fp);
        visit(&s, fp, &mut found_at);
        queue.push_back((s, fp, 0));
    }
    let mut actions = Vec::new();
    'search: while let Some((state, fp, depth)) = queue.pop_front() {
        if stop_when_all_found && found_at.len() == targets.len() {
            ended = Ended::AllFound;
            break;
        }
        if limits.max_depth.is_some_and(|d| depth >= d) {
            // Not expanded: what lies below is unknown.
            ended = Ended::DepthBound;
            continue;
        }
        expanded += 1;
        // The memory budget is read every 1,024 expansions (a /proc read),
        // progress every PROGRESS_EVERY.
        if limits.max_memory.is_some() && expanded % 1024 == 1 {
            let resident = resident_bytes();
            if limits.max_memory.is_some_and(|m| resident > m) {
                ended = Ended::MaxMemory;
                break;
            }
        }
        if last_report.elapsed() >= PROGRESS_EVERY {
            last_report = Instant::now();
            progress(&Progress {
                unique_states: parents.len(),
                transitions,
                depth,
                resident_bytes: resident_bytes(),
                elapsed: start.elapsed(),
            });
        }
        actions.clear();
        model.actions(&state, &mut actions);
        for action in actions.drain(..) {
            let Some(next) = model.next_state(&state, action) else {
                continue;
            };
            transitions += 1;
            if !model.within_boundary(&next) {
                continue;
            }
            let nfp = key(&next);
            let full = limits.max_states.is_some_and(|m| parents.len() >= m);
            match parents.entry(nfp) {
                Entry::Occupied(_) => continue,
                Entry::Vacant(_) if full => {
                    ended = Ended::MaxStates;
                    break 'search;
                }
                Entry::Vacant(v) => {
                    v.insert(fp);
                }
            }
            max_depth = max_depth.max(depth + 1);
            visit(&next, nfp, &mut found_at);
            queue.push_back((next, nfp, depth + 1));
        }
    }
    if ended == Ended::Complete && stop_when_all_found && found_at.len() == targets.len() {
        ended = Ended::AllFound;
    }
    // Rebuilding replays transitions; the caller may stop counting first.
    before_rebuild();
    // A discovery whose path cannot be rebuilt (a fingerprint collision)
    // keeps its verdict with an empty path rather than vanishing.
    let found = found_at
        .into_iter()
        .map(|(name, fp)| (name, rebuild(model, &parents, fp, &key).unwrap_or_default()))
        .collect();
    Explored {
        unique_states: parents.len(),
        transitions,
        max_depth,
        ended,
        seconds: start.elapsed().as_secs_f64(),
        found,
    }
}

/// The path from an initial state to the state with fingerprint `target`:
/// follow the parents back, then replay the model forward, choosing at each
/// state the action whose successor has the next fingerprint.
fn rebuild<M>(
    model: &M,
    parents: &Parents,
    target: u64,
    key: &impl Fn(&M::State) -> u64,
) -> Option<Path<M>>
where
    M: Model,
    M::Action: Clone,
{
    let mut chain = vec![target];
    let mut fp = target;
    loop {
        let parent = *parents.get(&fp)?;
        if parent == fp {
            break;
        }
        chain.push(parent);
        fp = parent;
    }
    chain.reverse();
    let mut state = model
        .init_states()
        .into_iter()
        .find(|s| key(s) == chain[0])?;
    let mut path = Vec::with_capacity(chain.len());
    let mut actions = Vec::new();
    for next_fp in &chain[1..] {
        actions.clear();
        model.actions(&state, &mut actions);
        let (action, next) = actions.drain(..).find_map(|a| {
            let n = model.next_state(&state, a.clone())?;
            (key(&n) == *next_fp).then_some((a, n))
        })?;
        path.push((state, Some(action)));
        state = next;
    }
    path.push((state, None));
    Some(path)
}

// ---------------------------------------------------------------------------
// Every transition, for tests about transitions
// ---------------------------------------------------------------------------
//
// Some questions are about transitions rather than states (does every label
// recorded by an event have its effect at that event?). This walk visits each
// transition out of each reachable state once, in the same breadth-first
// order and with the same fingerprints as `explore`.

/// How far a walk got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Walked {
    pub states: usize,
    pub transitions: usize,
    /// Every reachable state within the model's boundary was visited.
    pub complete: bool,
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

#[cfg(test)]
mod tests {
    use super::*;
    use stateright::Property;

    /// A counter that may add 1 or 3, up to 10: the shortest path to 9 is
    /// three steps of 3, whatever order actions are tried in.
    struct Counter;
    impl Model for Counter {
        type State = u8;
        type Action = u8;
        fn init_states(&self) -> Vec<u8> {
            vec![0]
        }
        fn actions(&self, s: &u8, a: &mut Vec<u8>) {
            if *s < 10 {
                a.push(1);
                a.push(3);
            }
        }
        fn next_state(&self, s: &u8, a: u8) -> Option<u8> {
            Some((s + a).min(10))
        }
        fn properties(&self) -> Vec<Property<Self>> {
            vec![Property::always("below nine", |_, s| *s != 9)]
        }
    }

    #[test]
    fn the_path_to_a_violation_is_a_shortest_one() {
        let targets = property_targets(&Counter);
        let r = explore(
            &Counter,
            &targets,
            Limits::default(),
            false,
            |s| *s,
            |_| {},
            || {},
        );
        assert_eq!(r.ended, Ended::Complete);
        let path = &r.found["below nine"];
        assert_eq!(path.len(), 4, "0 -> 3 -> 6 -> 9: {path:?}");
        assert_eq!(path.last().map(|(s, _)| *s), Some(9));
        // With one step less there is none.
        let bounded = explore(
            &Counter,
            &targets,
            Limits {
                max_depth: Some(2),
                ..Limits::default()
            },
            false,
            |s| *s,
            |_| {},
            || {},
        );
        assert!(!bounded.found.contains_key("below nine"));
        assert_eq!(bounded.ended, Ended::DepthBound);
    }

    #[test]
    fn a_state_budget_stops_the_search_with_a_partial_result() {
        let r = explore(
            &Counter,
            &property_targets(&Counter),
            Limits {
                max_states: Some(3),
                ..Limits::default()
            },
            false,
            |s| *s,
            |_| {},
            || {},
        );
        assert_eq!(r.ended, Ended::MaxStates);
        assert!(r.unique_states <= 3);
    }
}
