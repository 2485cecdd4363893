//! Liveness: a sound search for fair cycles over the explored state graph.
//!
//! stateright's `eventually` is documented to miss counterexamples on cycles
//! (its own `fixme_can_miss_counterexample_when_revisiting_a_state` test), so
//! liveness is checked here instead, on the same `Model`:
//!
//! 1. A breadth-first search gives every state a dense id (in discovery
//!    order, so parents give shortest stems) and keeps every edge with its
//!    action's class (`EdgeClass`) and, for a weakly fair class, its task:
//!    the message it delivers or the timer it fires.
//! 2. Per property, the states where the awaited thing has not happened
//!    (`bad`) are split into strongly connected components with petgraph's
//!    iterative `kosaraju_scc` (no recursion to overflow on millions of
//!    states).
//! 3. A component is a counterexample if it holds a cycle and that cycle can
//!    be fair: under weak fairness every task enabled in *every* state of the
//!    component must be taken on one of its edges (the cycle through all its
//!    states and edges is then fair, and if it is not, no cycle in it is).
//!    Deliveries and timeouts are weakly fair; drops, duplications, crashes,
//!    restarts and choices are not.
//!    The network loses finitely many messages: a loop never drops one.
//!    This is stronger than fair loss (a message sent infinitely often is
//!    delivered infinitely often), which would also admit loops that drop
//!    some copies and deliver others; for the properties here, which wait
//!    for one delivery, the two give the same verdicts.
//!    Drops happen in a lasso's stem, so a message lost for good is a
//!    counterexample (the stem drops it, the loop stutters), but a loop
//!    that drops every retransmission is not. No model before `push-ack`
//!    retransmitted, so no loop could drop a message and no verdict
//!    changed with this reading.
//! 4. Stuttering, as TLC reads it: a run may stay in a state forever if no
//!    weakly fair task is enabled there (a state without successors is the
//!    simplest case, a deadlock). A bad state where nothing fair is enabled
//!    is a counterexample whose loop is that stutter.
//!
//! The answer is a lasso: a shortest stem to the component (breadth-first
//! parents) and a loop that is an actual cycle of edges through it, taking
//! every task the component keeps enabled. Symmetry is not applied: a
//! renamed state would not be the state the loop returns to.

use crate::explore::{Ended, Path, fingerprint};
use petgraph::graph::{DiGraph, NodeIndex};
use serde::Serialize;
use stateright::Model;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::hash::Hash;
use std::time::Instant;

/// What an edge is, for fairness.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EdgeClass {
    /// A delivery. In a duplicating network every delivery of a message
    /// kept for redelivery is this class and that message's task (stateright
    /// has no separate duplication action).
    Deliver,
    Timeout,
    Drop,
    Crash,
    Restart,
    Choice,
}

impl EdgeClass {
    /// Weakly fair: a task of this class that stays enabled is eventually taken.
    pub fn fair(self) -> bool {
        matches!(self, EdgeClass::Deliver | EdgeClass::Timeout)
    }
}

/// One edge: the successor's id, the action's class, and its task (the
/// same delivery or timer in every state; 0 for an unfair class).
#[derive(Clone, Copy, Debug)]
struct Edge {
    to: u32,
    class: EdgeClass,
    task: u64,
}

/// A predicate on states.
pub type StatePredicate<S> = Box<dyn Fn(&S) -> bool + Send + Sync>;

/// A loop as (state id, the edge taken from it).
type Loop = Vec<(u32, Edge)>;

/// A liveness property: its name and the states where what it awaits has
/// not happened (a violation is a fair run that stays in such states).
pub struct Awaits<M: Model> {
    pub name: &'static str,
    pub pending: StatePredicate<M::State>,
}

/// The explored graph.
struct Graph {
    /// Per id: its fingerprint, its breadth-first parent and depth.
    fps: Vec<u64>,
    parent: Vec<u32>,
    depth: Vec<u32>,
    /// Per id: the range of its edges in `edges`.
    offsets: Vec<u32>,
    edges: Vec<Edge>,
    /// Per property, per id: the property's `pending` predicate.
    pending: Vec<Vec<bool>>,
}

impl Graph {
    /// The edges a loop may take: all but drops (finite loss).
    fn looping(&self, id: u32) -> impl Iterator<Item = &Edge> {
        self.out(id).iter().filter(|e| e.class != EdgeClass::Drop)
    }

    fn out(&self, id: u32) -> &[Edge] {
        let i = id as usize;
        let end = self
            .offsets
            .get(i + 1)
            .map_or(self.edges.len(), |e| *e as usize);
        &self.edges[self.offsets[i] as usize..end]
    }

    fn fair_tasks(&self, id: u32) -> impl Iterator<Item = u64> + '_ {
        self.out(id)
            .iter()
            .filter(|e| e.class.fair())
            .map(|e| e.task)
    }
}

/// A counterexample to a liveness property: the path to the loop's first
/// state, and the loop (empty when the run stutters there).
pub struct Lasso<M: Model> {
    /// From an initial state to the loop's first state (which ends it, with
    /// no action).
    pub stem: Path<M>,
    /// The loop: each state with the action taken from it; the last action
    /// returns to the stem's last state. Empty: the run stays there forever
    /// (nothing weakly fair is enabled).
    pub cycle: Vec<(M::State, M::Action)>,
}

/// One property's answer: a lasso, none, or why one could not be shown.
pub type Found<M> = Result<Option<Lasso<M>>, String>;

/// The liveness verdicts of one search.
pub struct Checked<M: Model> {
    pub unique_states: usize,
    pub edges: usize,
    pub ended: Ended,
    pub seconds: f64,
    /// Bytes the graph keeps per state (edges and per-state columns).
    pub graph_bytes_per_state: f64,
    /// Per property: `Ok(Some(lasso))` if it is violated, `Ok(None)` if no
    /// fair lasso exists (within a complete search), `Err` if one was found
    /// but could not be rebuilt (a fingerprint collision): never "holds".
    pub violations: Vec<(&'static str, Found<M>)>,
}

/// Explore `model` and look for a fair lasso for each of `properties`.
/// `classify` tells each action's class and task. With `max_states`, an
/// unfinished search looks for no lasso (its frontier states are not
/// deadlocks) and `ended` says so: every verdict is then unknown.
pub fn check<M>(
    model: &M,
    properties: &[Awaits<M>],
    classify: impl Fn(&M::Action) -> (EdgeClass, u64),
    max_states: Option<usize>,
) -> Checked<M>
where
    M: Model,
    M::State: Hash + Clone,
    M::Action: Clone,
{
    let start = Instant::now();
    let (graph, ended) = build(model, properties, &classify, max_states);
    let n = graph.fps.len();
    let bytes =
        graph.edges.len() * std::mem::size_of::<Edge>() + n * (8 + 4 + 4 + 4 + properties.len());
    let violations = properties
        .iter()
        .enumerate()
        .map(|(k, p)| {
            let found = if ended == Ended::Complete {
                find_lasso(&graph, k).and_then(|found| match found {
                    None => Ok(None),
                    Some((stem, cycle)) => replay(model, &graph, &classify, &stem, &cycle)
                        .map(Some)
                        .ok_or_else(|| "the lasso could not be replayed".to_string()),
                })
            } else {
                Ok(None)
            };
            (p.name, found)
        })
        .collect();
    Checked {
        unique_states: n,
        edges: graph.edges.len(),
        ended,
        seconds: start.elapsed().as_secs_f64(),
        graph_bytes_per_state: if n == 0 { 0.0 } else { bytes as f64 / n as f64 },
        violations,
    }
}

fn build<M>(
    model: &M,
    properties: &[Awaits<M>],
    classify: &impl Fn(&M::Action) -> (EdgeClass, u64),
    max_states: Option<usize>,
) -> (Graph, Ended)
where
    M: Model,
    M::State: Hash,
    M::Action: Clone,
{
    let mut g = Graph {
        fps: Vec::new(),
        parent: Vec::new(),
        depth: Vec::new(),
        offsets: Vec::new(),
        edges: Vec::new(),
        pending: vec![Vec::new(); properties.len()],
    };
    let mut ids: HashMap<u64, u32> = HashMap::new();
    let mut queue: VecDeque<(M::State, u32)> = VecDeque::new();
    let mut ended = Ended::Complete;
    let add = |g: &mut Graph, s: &M::State, fp: u64, parent: Option<u32>| -> u32 {
        let id = g.fps.len() as u32;
        g.fps.push(fp);
        g.parent.push(parent.unwrap_or(id));
        g.depth.push(parent.map_or(0, |p| g.depth[p as usize] + 1));
        for (k, p) in properties.iter().enumerate() {
            g.pending[k].push((p.pending)(s));
        }
        id
    };
    for s in model.init_states() {
        let fp = fingerprint(&s);
        if ids.contains_key(&fp) {
            continue;
        }
        let id = add(&mut g, &s, fp, None);
        ids.insert(fp, id);
        queue.push_back((s, id));
    }
    let mut actions = Vec::new();
    // Ids are given in push order and the queue is FIFO, so states are
    // expanded in id order and each one's edges are contiguous.
    'search: while let Some((state, id)) = queue.pop_front() {
        debug_assert_eq!(g.offsets.len(), id as usize);
        g.offsets.push(g.edges.len() as u32);
        actions.clear();
        model.actions(&state, &mut actions);
        for action in actions.drain(..) {
            let (class, task) = classify(&action);
            let task = if class.fair() { task } else { 0 };
            let to = match model.next_state(&state, action) {
                // No change (stateright's no-op: a delivery to a crashed
                // node): a stuttering step, not an edge. Weak fairness of an
                // action that changes nothing is met by stuttering, so it is
                // not counted as enabled either. (A delivery that leaves the
                // state equal without being a no-op, as a re-delivery in a
                // duplicating network can, is a self-loop edge, taken.)
                None => continue,
                Some(next) => {
                    if !model.within_boundary(&next) {
                        continue;
                    }
                    let fp = fingerprint(&next);
                    match ids.get(&fp) {
                        Some(to) => *to,
                        None => {
                            if max_states.is_some_and(|m| g.fps.len() >= m) {
                                ended = Ended::MaxStates;
                                break 'search;
                            }
                            let to = add(&mut g, &next, fp, Some(id));
                            ids.insert(fp, to);
                            queue.push_back((next, to));
                            to
                        }
                    }
                }
            };
            g.edges.push(Edge { to, class, task });
        }
    }
    // States never expanded (a stopped search) have no edges.
    while g.offsets.len() < g.fps.len() {
        g.offsets.push(g.edges.len() as u32);
    }
    (g, ended)
}

/// The shallowest fair lasso for property `k`, as ids: the stem (from an
/// initial state to the loop's first state) and the loop's edges. Ties in
/// depth go to the lower id, so the answer is the same in every run.
/// `Err` if a component was found fair but no loop could be built through
/// it (which the construction rules out): never a silent "holds".
fn find_lasso(g: &Graph, k: usize) -> Result<Option<(Vec<u32>, Loop)>, String> {
    let bad = &g.pending[k];
    let n = g.fps.len() as u32;
    let mut best: Option<(u32, Loop)> = None;
    let key = |at: u32| (g.depth[at as usize], at);
    let better =
        |best: &Option<(u32, Loop)>, at: u32| best.as_ref().is_none_or(|(b, _)| key(at) < key(*b));
    // Stuttering: a pending state where nothing weakly fair is enabled.
    for id in 0..n {
        if bad[id as usize] && g.fair_tasks(id).next().is_none() && better(&best, id) {
            best = Some((id, Vec::new()));
        }
    }
    // Fair cycles among the pending states (ordered maps: the petgraph
    // graph, and with it the order of components, is the same every run).
    let mut sub: DiGraph<u32, ()> = DiGraph::new();
    let mut local: BTreeMap<u32, NodeIndex> = BTreeMap::new();
    for id in (0..n).filter(|i| bad[*i as usize]) {
        local.insert(id, sub.add_node(id));
    }
    for (&id, &a) in &local {
        for e in g.looping(id) {
            if let Some(&b) = local.get(&e.to) {
                sub.add_edge(a, b, ());
            }
        }
    }
    for component in petgraph::algo::kosaraju_scc(&sub) {
        let members: BTreeSet<u32> = component.iter().map(|i| sub[*i]).collect();
        let internal = |id: u32| g.looping(id).filter(|e| members.contains(&e.to));
        let cyclic = members.len() > 1 || members.iter().any(|id| internal(*id).next().is_some());
        if !cyclic {
            continue;
        }
        // Tasks enabled in every state of the component...
        let mut always: Option<BTreeSet<u64>> = None;
        for id in &members {
            let here: BTreeSet<u64> = g.fair_tasks(*id).collect();
            always = Some(match always {
                None => here,
                Some(a) => a.intersection(&here).copied().collect(),
            });
        }
        let always = always.unwrap_or_default();
        // ... must each be taken inside it.
        let taken: BTreeSet<u64> = members
            .iter()
            .flat_map(|id| internal(*id).filter(|e| e.class.fair()).map(|e| e.task))
            .collect();
        if !always.is_subset(&taken) {
            continue;
        }
        let Some(&entry) = members.iter().min_by_key(|id| key(**id)) else {
            continue;
        };
        if better(&best, entry) {
            let cycle = fair_loop(g, &members, entry, &always)
                .ok_or_else(|| format!("no fair loop through the component at state {entry}"))?;
            best = Some((entry, cycle));
        }
    }
    let Some((entry, cycle)) = best else {
        return Ok(None);
    };
    let mut stem = vec![entry];
    let mut at = entry;
    while g.parent[at as usize] != at {
        at = g.parent[at as usize];
        stem.push(at);
    }
    stem.reverse();
    Ok(Some((stem, cycle)))
}

/// A cycle of edges from `entry` back to `entry` inside `members` that is
/// weakly fair: it visits every state of the component (so a task not
/// enabled everywhere is disabled somewhere on it) and takes an edge of
/// every task in `must` (those enabled everywhere). A loop through only
/// some states could keep a task enabled that it never takes.
fn fair_loop(g: &Graph, members: &BTreeSet<u32>, entry: u32, must: &BTreeSet<u64>) -> Option<Loop> {
    let mut path: Loop = Vec::new();
    let mut missing = must.clone();
    let mut unvisited = members.clone();
    unvisited.remove(&entry);
    let mut at = entry;
    while !missing.is_empty() || !unvisited.is_empty() {
        let leg = shortest(g, members, at, |_, e| {
            unvisited.contains(&e.to) || (e.class.fair() && missing.contains(&e.task))
        })?;
        for (_, e) in &leg {
            unvisited.remove(&e.to);
            if e.class.fair() {
                missing.remove(&e.task);
            }
        }
        at = leg.last().map_or(at, |(_, e)| e.to);
        path.extend(leg);
    }
    // Back to the entry (at least one edge).
    if at != entry || path.is_empty() {
        let leg = shortest(g, members, at, |_, e| e.to == entry)?;
        path.extend(leg);
    }
    Some(path)
}

/// The shortest edge path from `from` inside `members` ending with an edge
/// that satisfies `goal` (at least one edge).
fn shortest(
    g: &Graph,
    members: &BTreeSet<u32>,
    from: u32,
    goal: impl Fn(u32, &Edge) -> bool,
) -> Option<Vec<(u32, Edge)>> {
    let mut came: HashMap<u32, (u32, Edge)> = HashMap::new();
    let mut queue = VecDeque::from([from]);
    let mut seen = BTreeSet::from([from]);
    while let Some(id) = queue.pop_front() {
        for e in g.looping(id).filter(|e| members.contains(&e.to)) {
            if goal(id, e) {
                let mut leg = vec![(id, *e)];
                let mut at = id;
                while at != from {
                    let (prev, edge) = came[&at];
                    leg.push((prev, edge));
                    at = prev;
                }
                leg.reverse();
                return Some(leg);
            }
            if seen.insert(e.to) {
                came.insert(e.to, (id, *e));
                queue.push_back(e.to);
            }
        }
    }
    None
}

/// The lasso's concrete states and actions, replayed from an initial state.
fn replay<M>(
    model: &M,
    g: &Graph,
    classify: &impl Fn(&M::Action) -> (EdgeClass, u64),
    stem: &[u32],
    cycle: &[(u32, Edge)],
) -> Option<Lasso<M>>
where
    M: Model,
    M::State: Hash + Clone,
    M::Action: Clone,
{
    let first = *stem.first()?;
    let mut state = model
        .init_states()
        .into_iter()
        .find(|s| fingerprint(s) == g.fps[first as usize])?;
    // One step along an edge: the action of that class and task whose
    // successor has the edge's fingerprint.
    let step = |state: &M::State, to: u32, want: Option<(EdgeClass, u64)>| {
        let mut actions = Vec::new();
        model.actions(state, &mut actions);
        actions.into_iter().find_map(|a| {
            if let Some((class, task)) = want {
                let (c, t) = classify(&a);
                if c != class || (class.fair() && t != task) {
                    return None;
                }
            }
            let next = model.next_state(state, a.clone())?;
            (fingerprint(&next) == g.fps[to as usize]).then_some((a, next))
        })
    };
    let mut path: Path<M> = Vec::new();
    for to in &stem[1..] {
        let (a, next) = step(&state, *to, None)?;
        path.push((state, Some(a)));
        state = next;
    }
    path.push((state.clone(), None));
    let mut loop_ = Vec::new();
    for (_, e) in cycle {
        let (a, next) = step(&state, e.to, Some((e.class, e.task)))?;
        loop_.push((state, a));
        state = next;
    }
    Some(Lasso {
        stem: path,
        cycle: loop_,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use stateright::{Model, Property};

    /// A tiny model: states are numbers, actions are labelled edges.
    #[derive(Clone)]
    struct Tiny {
        init: u8,
        edges: Vec<(u8, u8, EdgeClass, u64)>,
        pending: fn(u8) -> bool,
    }

    impl Model for Tiny {
        type State = u8;
        type Action = (u8, u8, EdgeClass, u64);
        fn init_states(&self) -> Vec<u8> {
            vec![self.init]
        }
        fn actions(&self, s: &u8, out: &mut Vec<Self::Action>) {
            out.extend(self.edges.iter().filter(|e| e.0 == *s).copied());
        }
        fn next_state(&self, _: &u8, a: Self::Action) -> Option<u8> {
            Some(a.1)
        }
        fn properties(&self) -> Vec<Property<Self>> {
            Vec::new()
        }
    }

    fn run(t: &Tiny) -> Option<(Vec<u8>, Vec<u8>)> {
        let pending = t.pending;
        let props = [Awaits::<Tiny> {
            name: "p",
            pending: Box::new(move |s| pending(*s)),
        }];
        let checked = check(t, &props, |a| (a.2, a.3), None);
        let (_, lasso) = checked.violations.into_iter().next()?;
        lasso.expect("a found lasso replays").map(|l| {
            (
                l.stem.iter().map(|(s, _)| *s).collect(),
                l.cycle.iter().map(|(s, _)| *s).collect(),
            )
        })
    }

    use EdgeClass::*;

    /// The case stateright's `eventually` misses: the only violation is a
    /// cycle that revisits a state (0 -> 1 -> 0 ...), never reaching 2.
    #[test]
    fn a_cycle_revisiting_a_state_is_found() {
        let t = Tiny {
            init: 0,
            edges: vec![(0, 1, Deliver, 1), (1, 0, Deliver, 2), (1, 2, Choice, 0)],
            pending: |s| s != 2,
        };
        assert_eq!(run(&t), Some((vec![0], vec![0, 1])));
    }

    /// A cycle that needs a message to be dropped forever is unfair: in
    /// state 1 the delivery 1 -> 2 stays enabled while the loop drops
    /// something else, so staying in 1 is not a fair run. Without fairness
    /// (the delivery classed as a choice) the same run is reported.
    #[test]
    fn an_unfair_cycle_is_not_reported_under_fairness_and_is_without() {
        let fair = Tiny {
            init: 1,
            edges: vec![(1, 1, Drop, 0), (1, 2, Deliver, 7)],
            pending: |s| s != 2,
        };
        assert_eq!(run(&fair), None);
        let unfair = Tiny {
            edges: vec![(1, 1, Drop, 0), (1, 2, Choice, 0)],
            ..fair
        };
        // Nothing fair is enabled in 1: the run may stay there.
        assert_eq!(run(&unfair), Some((vec![1], vec![])));
        // Weak fairness asks only of what stays enabled: 0 -> 1 -> 0 leaves
        // 1 for 0, where the delivery is not enabled, so that cycle is fair.
        let intermittent = Tiny {
            init: 0,
            edges: vec![
                (0, 1, Choice, 0),
                (1, 0, Choice, 0),
                (1, 2, Deliver, 7),
                (0, 9, Deliver, 8),
                (9, 0, Timeout, 1),
            ],
            pending: |s| s != 2,
        };
        assert!(run(&intermittent).is_some_and(|(_, cycle)| !cycle.is_empty()));
    }

    /// Fair loss: a message that is retransmitted until delivered gets
    /// through. 0 has the message in flight; dropping it leads to 1, whose
    /// timer resends it. Under weak fairness alone the loop 0 -> 1 -> 0
    /// would be fair (the delivery is not enabled in 1); a loop may drop
    /// nothing, so it is not a run, and every run reaches 2. A message
    /// dropped for good is still a counterexample: the stem drops it.
    #[test]
    fn a_loop_drops_nothing_but_a_stem_may() {
        let retried = Tiny {
            init: 0,
            edges: vec![(0, 1, Drop, 0), (1, 0, Timeout, 1), (0, 2, Deliver, 7)],
            pending: |s| s != 2,
        };
        assert_eq!(run(&retried), None);
        let lost = Tiny {
            init: 0,
            edges: vec![(0, 1, Drop, 0), (0, 2, Deliver, 7)],
            pending: |s| s != 2,
        };
        assert_eq!(run(&lost), Some((vec![0, 1], vec![])));
    }

    /// The loop shown must itself be fair: 0 -> 0 alone would keep the
    /// delivery 0 -> 2 enabled forever without taking it; the loop goes
    /// through 1, where that delivery is not enabled.
    #[test]
    fn the_loop_shown_is_fair_not_only_its_component() {
        let t = Tiny {
            init: 0,
            edges: vec![
                (0, 0, Choice, 0),
                (0, 1, Choice, 0),
                (1, 0, Choice, 0),
                (0, 2, Deliver, 7),
            ],
            pending: |s| s != 2,
        };
        let (stem, cycle) = run(&t).expect("a lasso");
        assert_eq!(stem, vec![0]);
        assert!(cycle.contains(&1), "{cycle:?}");
    }

    /// A terminating model with a deadlock: the run stutters in the
    /// deadlocked state, which is reported with an empty loop.
    #[test]
    fn a_deadlock_is_reported_as_the_deadlock() {
        let t = Tiny {
            init: 0,
            edges: vec![(0, 1, Deliver, 1), (0, 2, Deliver, 2)],
            pending: |s| s != 2,
        };
        assert_eq!(run(&t), Some((vec![0, 1], vec![])));
    }

    /// Where every run reaches the awaited state, nothing is reported.
    #[test]
    fn a_model_that_always_gets_there_holds() {
        let t = Tiny {
            init: 0,
            edges: vec![(0, 1, Deliver, 1), (1, 2, Timeout, 2), (2, 2, Deliver, 3)],
            pending: |s| s != 2,
        };
        assert_eq!(run(&t), None);
    }
}
