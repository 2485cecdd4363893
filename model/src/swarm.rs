//! Swarm checking (issue 14): many small, bounded, randomised depth-first
//! searches instead of one exhaustive one, after Holzmann, Joshi and Groce,
//! "Swarm Verification Techniques" (IEEE TSE 37(6), 2011).
//!
//! A configuration beyond exhaustive reach (four users, five services,
//! crashes) has more states than memory holds, but its violations usually
//! lie on many paths. A swarm runs *members*: each has its own seed, which
//! fixes its search order (the actions of every state shuffled by a ChaCha
//! stream) and its depth bound (drawn from a range), and a budget of unique
//! states. Different orders reach different corners of the graph, so many
//! members with small budgets cover far more ground than one search with
//! their sum. Members are independent and deterministic (a member's seed
//! alone fixes what it visits and finds), so they shard across processes
//! and machines, and any one of them can be re-run on its own.
//!
//! **A swarm finds violations; it never proves their absence.** Its
//! verdicts are `violated` (with a path) or `unknown`, never `holds`; a
//! `sometimes` it did not reach is `unknown`, not `NOT FOUND`.
//!
//! A depth-first path is rarely short. Each violation a member finds is
//! shrunk before it is reported ([`shrink`]: delta debugging over the
//! path's actions, replayed in the model, keeping a candidate only when
//! every action is enabled where it is taken and the violation still
//! happens), and the swarm keeps, per property, the shortest path any
//! member found. That is the *shortest found*, 1-minimal (no single action
//! can be dropped), not the shortest there is: only the breadth-first
//! `check` gives that.

use crate::checker::{
    CcAction, CcModel, CheckConfig, CheckError, CheckReport, Coverage, PropertyResult, Verdict,
    kind_name, violated_along,
};
use crate::counterexample::explain;
use crate::explore::{Ended, Path, Target, fingerprint, property_targets};
use crate::step::Step;
use crate::symmetry::Symmetry;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use serde::Serialize;
use stateright::Model;
use stateright::actor::ActorModelAction;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How one member searches, fixed by its seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Plan {
    pub seed: u64,
    /// States at this depth are not expanded.
    pub depth_bound: usize,
    /// How many of each state's successors (in this member's order) are
    /// searched: all (`None`: one depth-first search), or the first k, in
    /// rounds from the initial state until the budget is spent (k = 1 is a
    /// random walk per round).
    pub branching: Option<usize>,
    /// Classes of actions this member never takes, as bits the model's
    /// filter reads (swarm testing's "feature omission", after Groce et
    /// al., ISSTA 2012: a member without crashes or losses goes deeper into
    /// the protocol). Any path a member finds is a path of the whole model.
    pub omit: u8,
    /// The member stops after this many unique states.
    pub max_states: usize,
}

/// The branching caps a member draws from, with equal chances: a quarter of
/// the members search exhaustively below their root (deep in one corner),
/// the rest sample narrow trees from the root again and again (wide and
/// shallow coverage).
const BRANCHING: [Option<usize>; 4] = [None, Some(1), Some(2), Some(3)];

/// How many classes of actions a plan may omit (bits of [`Plan::omit`]).
pub const OMITTABLE: u32 = 4;

/// A capped member's rounds stop after this many transitions per unique
/// state of its budget, so that a member whose rounds keep revisiting the
/// same states still ends.
const TRANSITIONS_PER_STATE: usize = 8;

impl Plan {
    /// The plan of member `seed`: its depth bound drawn uniformly from
    /// `depths` (inclusive) and its branching cap from [`BRANCHING`], from
    /// the same ChaCha stream that then orders its search. Returns that
    /// stream too.
    pub fn of(seed: u64, depths: (usize, usize), max_states: usize) -> (Plan, ChaCha20Rng) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let (lo, hi) = (depths.0.min(depths.1), depths.0.max(depths.1));
        let span = (hi - lo) as u64 + 1;
        // Modulo, not rand's ranges: the bias over a few hundred values is
        // below 2^-50, and the draw must not change with rand's version, to
        // keep members reproducible.
        let depth_bound = lo + (rng.next_u64() % span) as usize;
        let branching = BRANCHING[(rng.next_u64() % BRANCHING.len() as u64) as usize];
        // Each of the classes omitted with chance 1/2.
        let omit = (rng.next_u64() % (1 << OMITTABLE)) as u8;
        (
            Plan {
                seed,
                depth_bound,
                branching,
                omit,
                max_states,
            },
            rng,
        )
    }
}

/// Why a member ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MemberEnded {
    /// Every state within its depth bound that its order reaches was visited.
    Exhausted,
    /// Its budget of unique states ran out.
    StateBudget,
    /// Its rounds (a capped branching) used their transitions.
    TransitionBudget,
    /// It found every target.
    AllFound,
}

/// What one member did and found.
pub struct Member<M: Model> {
    pub plan: Plan,
    pub unique_states: usize,
    pub transitions: usize,
    pub max_depth: usize,
    /// Rounds from the initial states (1 without a branching cap).
    pub rounds: usize,
    pub ended: MemberEnded,
    /// Per target: the depth-first path to the first state where it hit,
    /// as found (not yet shrunk).
    pub found: BTreeMap<&'static str, Path<M>>,
}

/// One level of the depth-first stack: a state, its actions in this
/// member's order, the next one to try, and the one taken to the child.
struct Frame<M: Model> {
    state: M::State,
    actions: Vec<M::Action>,
    next: usize,
    taken: Option<M::Action>,
}

/// How often (in transitions) a member looks at the clock.
const DEADLINE_EVERY: usize = 256;

/// Why a round stopped early.
enum Stop {
    /// The member is over (budget, or every target found).
    Member(MemberEnded),
    /// The deadline passed.
    Deadline,
}

/// A member under way.
struct Search<'a, M: Model, K> {
    model: &'a M,
    targets: &'a [Target<M>],
    plan: Plan,
    rng: ChaCha20Rng,
    key: K,
    /// Whether the member may take an action (its omitted classes).
    allow: &'a dyn Fn(&M::Action) -> bool,
    deadline: Option<Instant>,
    /// Every state this member reached, by fingerprint. Only equality of
    /// fingerprints steers the search (a state seen or not), never their
    /// values or a set's iteration order, so a member does the same on a
    /// CPU whose aHash gives other values (`explore::fingerprint`); the
    /// action order comes from stateright, which sorts a state's actions.
    unique: HashSet<u64>,
    found: BTreeMap<&'static str, Path<M>>,
    transitions: usize,
    max_depth: usize,
}

impl<M, K> Search<'_, M, K>
where
    M: Model,
    M::State: Hash + Clone,
    M::Action: Clone,
    K: Fn(&M::State) -> u64,
{
    /// The state's actions in this member's order, capped.
    fn expand(&mut self, state: &M::State) -> Vec<M::Action> {
        let mut actions = Vec::new();
        self.model.actions(state, &mut actions);
        actions.retain(|a| (self.allow)(a));
        actions.shuffle(&mut self.rng);
        if let Some(k) = self.plan.branching {
            actions.truncate(k);
        }
        actions
    }

    /// Note `state`, reached by `stack`'s path: count it, and record the
    /// targets it hits first.
    fn visit(&mut self, fp: u64, state: &M::State, stack: &[Frame<M>]) -> Result<(), Stop> {
        if self.unique.insert(fp) && self.unique.len() > self.plan.max_states {
            self.unique.remove(&fp);
            return Err(Stop::Member(MemberEnded::StateBudget));
        }
        for t in self.targets {
            if !self.found.contains_key(t.name) && (t.hit)(self.model, state) {
                let mut path: Path<M> = stack
                    .iter()
                    .map(|f| (f.state.clone(), f.taken.clone()))
                    .collect();
                path.push((state.clone(), None));
                self.found.insert(t.name, path);
            }
        }
        if !self.targets.is_empty() && self.found.len() == self.targets.len() {
            return Err(Stop::Member(MemberEnded::AllFound));
        }
        Ok(())
    }

    /// One depth-first search from the initial states. A state is pruned
    /// when `reached` holds it at no greater depth: a state is searched
    /// again when reached at a smaller depth than before (Spin's fix for
    /// depth-bounded search), so that a state first met near the bound does
    /// not hide what lies below it on a shorter path.
    fn round(&mut self, reached: &mut HashMap<u64, usize>) -> Result<(), Stop> {
        let mut inits = self.model.init_states();
        inits.shuffle(&mut self.rng);
        for init in inits {
            let fp = (self.key)(&init);
            if reached.contains_key(&fp) {
                continue;
            }
            reached.insert(fp, 0);
            self.visit(fp, &init, &[])?;
            let actions = if self.plan.depth_bound > 0 {
                self.expand(&init)
            } else {
                Vec::new()
            };
            let mut stack: Vec<Frame<M>> = vec![Frame {
                state: init,
                actions,
                next: 0,
                taken: None,
            }];
            loop {
                // The child's depth: the initial state is at depth 0.
                let depth = stack.len();
                let Some(top) = stack.last_mut() else { break };
                let Some(action) = top.actions.get(top.next).cloned() else {
                    stack.pop();
                    continue;
                };
                top.next += 1;
                let Some(next) = self.model.next_state(&top.state, action.clone()) else {
                    continue;
                };
                top.taken = Some(action);
                self.transitions += 1;
                if self.transitions.is_multiple_of(DEADLINE_EVERY)
                    && self.deadline.is_some_and(|d| Instant::now() >= d)
                {
                    return Err(Stop::Deadline);
                }
                if !self.model.within_boundary(&next) {
                    continue;
                }
                let fp = (self.key)(&next);
                match reached.get_mut(&fp) {
                    Some(d) if *d <= depth => continue,
                    Some(d) => *d = depth,
                    None => {
                        reached.insert(fp, depth);
                    }
                }
                self.max_depth = self.max_depth.max(depth);
                self.visit(fp, &next, &stack)?;
                if depth < self.plan.depth_bound {
                    let actions = self.expand(&next);
                    stack.push(Frame {
                        state: next,
                        actions,
                        next: 0,
                        taken: None,
                    });
                }
            }
        }
        Ok(())
    }
}

/// Run one member: depth-first searches from the initial states in the
/// order its seed gives, bounded by its plan: one search over every
/// successor, or (a branching cap) rounds over the first few successors of
/// each state, each round in a fresh order, until a budget is spent.
/// `representative` maps a state to its symmetry class before
/// fingerprinting; `allow` says whether an action may be taken (the plan's
/// omitted classes). Returns `None` when the `deadline` passed first: a
/// member cut short is not reported at all, so that every member reported
/// is the whole of what its seed determines.
pub fn run_member<M>(
    model: &M,
    targets: &[Target<M>],
    plan: Plan,
    rng: ChaCha20Rng,
    representative: impl Fn(&M::State) -> M::State,
    allow: &dyn Fn(&M::Action) -> bool,
    deadline: Option<Instant>,
) -> Option<Member<M>>
where
    M: Model,
    M::State: Hash + Clone,
    M::Action: Clone,
{
    let mut search = Search {
        model,
        targets,
        plan,
        rng,
        key: |s: &M::State| fingerprint(&representative(s)),
        allow,
        deadline,
        unique: HashSet::new(),
        found: BTreeMap::new(),
        transitions: 0,
        max_depth: 0,
    };
    let mut rounds = 0;
    let ended = match plan.branching {
        None => {
            rounds = 1;
            match search.round(&mut HashMap::new()) {
                Ok(()) => MemberEnded::Exhausted,
                Err(Stop::Member(why)) => why,
                Err(Stop::Deadline) => return None,
            }
        }
        Some(_) => loop {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return None;
            }
            rounds += 1;
            let before = search.transitions;
            match search.round(&mut HashMap::new()) {
                Ok(()) => {}
                Err(Stop::Member(why)) => break why,
                Err(Stop::Deadline) => return None,
            }
            if search.transitions == before {
                // Nothing is enabled from the initial states: every round
                // would be this one.
                break MemberEnded::Exhausted;
            }
            if search.transitions >= plan.max_states.saturating_mul(TRANSITIONS_PER_STATE) {
                break MemberEnded::TransitionBudget;
            }
        },
    };
    Some(Member {
        plan,
        unique_states: search.unique.len(),
        transitions: search.transitions,
        max_depth: search.max_depth,
        rounds,
        ended,
        found: search.found,
    })
}

/// Whether two actions are "the same move" for replaying a path that was
/// edited: `similar(a, b)` may hold for actions that differ only in what
/// an earlier removal changed (a serial number, a nonce).
pub type Similar<A> = dyn Fn(&A, &A) -> bool;

/// Follow `actions` from `init` and stop at the first state where `target`
/// hits; `None` when it never does. Each action is taken where it is
/// enabled (listed by `Model::actions`): as it is, or else the first
/// enabled action `similar` to it. One with neither is skipped, so that
/// removing an action also removes what only it made possible (a user's
/// choice, and with it that operation's messages). Whatever is skipped or
/// substituted, the path returned is a real path of the model.
pub fn replay<M>(
    model: &M,
    target: &Target<M>,
    init: &M::State,
    actions: &[M::Action],
    similar: &Similar<M::Action>,
) -> Option<Path<M>>
where
    M: Model,
    M::State: Clone,
    M::Action: Clone + PartialEq,
{
    let mut state = init.clone();
    let mut path: Path<M> = Vec::with_capacity(actions.len() + 1);
    let mut enabled = Vec::new();
    for a in actions {
        if (target.hit)(model, &state) {
            break;
        }
        enabled.clear();
        model.actions(&state, &mut enabled);
        let Some(taken) = enabled
            .iter()
            .find(|b| *b == a)
            .or_else(|| enabled.iter().find(|b| similar(a, b)))
            .cloned()
        else {
            continue;
        };
        let Some(next) = model.next_state(&state, taken.clone()) else {
            continue;
        };
        if !model.within_boundary(&next) {
            continue;
        }
        path.push((std::mem::replace(&mut state, next), Some(taken)));
    }
    let hit = (target.hit)(model, &state);
    path.push((state, None));
    hit.then_some(path)
}

/// States the refinement of a swarm's best counterexample may visit.
const REFINE_STATES: usize = 50_000;

/// The shortest path from `init` to a state where `target` hits that takes
/// only actions of `alphabet` (a counterexample's own actions, in any order
/// and number), by breadth-first search; `None` when there is none within
/// `max_states` states. Shrinking removes actions and keeps their order;
/// this also reorders them, which finds the shorter interleavings that a
/// depth-first path hides (a retry after a timeout that another order makes
/// unnecessary).
pub fn shortest_within<M>(
    model: &M,
    target: &Target<M>,
    init: &M::State,
    alphabet: &[M::Action],
    similar: &Similar<M::Action>,
    max_states: usize,
) -> Option<Path<M>>
where
    M: Model,
    M::State: Hash + Clone,
    M::Action: Clone + PartialEq,
{
    // Each node: a state and how it was reached (its parent's index and
    // the action), so the path is rebuilt without replaying.
    type Node<M> = (<M as Model>::State, Option<(usize, <M as Model>::Action)>);
    let rebuild = |nodes: &mut Vec<Node<M>>, mut i: usize| {
        let mut path: Path<M> = Vec::new();
        let mut taken = None;
        loop {
            let (state, how) = std::mem::replace(&mut nodes[i], (init.clone(), None));
            path.push((state, taken));
            match how {
                Some((parent, action)) => {
                    taken = Some(action);
                    i = parent;
                }
                None => break,
            }
        }
        path.reverse();
        path
    };
    let mut nodes: Vec<Node<M>> = vec![(init.clone(), None)];
    if (target.hit)(model, init) {
        return Some(rebuild(&mut nodes, 0));
    }
    let mut seen: HashSet<u64> = HashSet::from([fingerprint(init)]);
    let mut actions = Vec::new();
    let mut next = 0;
    while next < nodes.len() {
        let state = nodes[next].0.clone();
        let parent = next;
        next += 1;
        actions.clear();
        model.actions(&state, &mut actions);
        for a in actions.drain(..) {
            if !alphabet.iter().any(|b| *b == a || similar(b, &a)) {
                continue;
            }
            let Some(s) = model.next_state(&state, a.clone()) else {
                continue;
            };
            if !model.within_boundary(&s) || !seen.insert(fingerprint(&s)) {
                continue;
            }
            let hit = (target.hit)(model, &s);
            nodes.push((s, Some((parent, a))));
            if hit {
                let last = nodes.len() - 1;
                return Some(rebuild(&mut nodes, last));
            }
            if nodes.len() >= max_states {
                return None;
            }
        }
    }
    None
}

/// Shrink a path to a `target` hit by delta debugging (Zeller's ddmin,
/// complement removal): drop chunks of actions, halving the chunk size when
/// none can go, and keep a candidate when [`replay`] (with `similar`) still
/// reaches the target. The result is 1-minimal: no single action can be
/// removed. A path that does not replay (it should always) is returned as
/// it was. `None` when the `deadline` passed first (a result cut short by
/// the clock would depend on the machine's speed).
pub fn shrink<M>(
    model: &M,
    target: &Target<M>,
    path: Path<M>,
    similar: &Similar<M::Action>,
    deadline: Option<Instant>,
) -> Option<Path<M>>
where
    M: Model,
    M::State: Clone,
    M::Action: Clone + PartialEq,
{
    let Some((init, _)) = path.first() else {
        return Some(path);
    };
    let init = init.clone();
    let mut actions: Vec<M::Action> = path.iter().filter_map(|(_, a)| a.clone()).collect();
    let Some(mut best) = replay(model, target, &init, &actions, similar) else {
        return Some(path);
    };
    actions = best.iter().filter_map(|(_, a)| a.clone()).collect();
    let mut parts = 2usize;
    while !actions.is_empty() {
        let chunk = actions.len().div_ceil(parts.min(actions.len()));
        let mut reduced = false;
        let mut start = 0;
        while start < actions.len() {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return None;
            }
            let end = (start + chunk).min(actions.len());
            let candidate: Vec<M::Action> = actions[..start]
                .iter()
                .chain(&actions[end..])
                .cloned()
                .collect();
            if let Some(p) = replay(model, target, &init, &candidate, similar) {
                actions = p.iter().filter_map(|(_, a)| a.clone()).collect();
                best = p;
                reduced = true;
                break;
            }
            start = end;
        }
        if reduced {
            parts = parts.saturating_sub(1).max(2);
        } else if chunk == 1 {
            break;
        } else {
            parts = (parts * 2).min(actions.len());
        }
    }
    Some(best)
}

// ---------------------------------------------------------------------------
// The common-certificate model's swarm: `commoncert check --swarm`
// ---------------------------------------------------------------------------

/// The seeds of a swarm's members: `start..end`, or from `start` on while
/// the budget lasts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seeds {
    pub start: u64,
    pub end: Option<u64>,
}

impl std::fmt::Display for Seeds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.end {
            Some(end) => write!(f, "{}..{end}", self.start),
            None => write!(f, "{}..", self.start),
        }
    }
}

/// How a swarm runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SwarmOptions {
    pub seeds: Seeds,
    /// This process runs the members whose seed is `index` modulo `count`
    /// (counted from `seeds.start`): shard `index` of `count`.
    pub shard: (u64, u64),
    /// Start no member after this much wall time, and abandon (and do not
    /// report) the members under way when it runs out.
    pub budget: Option<Duration>,
    /// Each member's depth bound is drawn from this inclusive range.
    pub depths: (usize, usize),
    /// Unique states per member.
    pub max_states: usize,
    /// Members run at once, each on its own copy of the model.
    pub threads: usize,
    /// Properties known to be violated (`--expect-violated`): members do
    /// not shrink their paths (only the shortest found is, once, for the
    /// report), as shrinking the patent's own findings in every member
    /// would spend the budget on what is known. Unexpected violations are
    /// shrunk and refined by the member that finds them, so that a
    /// member's report (and a shard file's) is as short as one process's.
    pub expected: Vec<String>,
}

impl SwarmOptions {
    /// The `check` flags that select these members' plans (not the seeds
    /// or the shard), for a replay command.
    pub fn flags(&self) -> String {
        let mut f = format!(
            "--swarm --swarm-depth {}..{} --max-states {}",
            self.depths.0, self.depths.1, self.max_states
        );
        // What is expected is not shrunk by members: it changes them.
        if !self.expected.is_empty() {
            f.push_str(&format!(" --expect-violated {}", self.expected.join(",")));
        }
        f
    }

    /// The seed of this shard's `k`-th member, if there is one.
    fn seed(&self, k: u64) -> Option<u64> {
        let (index, count) = self.shard;
        let seed = k
            .checked_mul(count)?
            .checked_add(index)?
            .checked_add(self.seeds.start)?;
        match self.seeds.end {
            Some(end) if seed >= end => None,
            // Its replay range, seed..seed+1, could not be written.
            _ if seed == u64::MAX => None,
            _ => Some(seed),
        }
    }
}

/// A violation (or a `sometimes` example) one member found, shrunk.
#[derive(Clone, Debug, Serialize)]
pub struct Found {
    pub property: String,
    pub kind: &'static str,
    /// Actions on the path after shrinking (as found when not shrunk).
    pub steps: usize,
    /// Actions on the depth-first path as the member found it.
    pub found_steps: usize,
    /// Whether the member shrank it (a `sometimes` example and an expected
    /// violation are kept as found).
    pub shrunk: bool,
    /// The path's actions, from the initial state.
    #[serde(skip)]
    pub actions: Vec<CcAction>,
}

/// What one member did, as reported.
#[derive(Clone, Debug, Serialize)]
pub struct MemberReport {
    pub plan: Plan,
    pub unique_states: usize,
    pub transitions: usize,
    pub max_depth: usize,
    pub rounds: usize,
    pub ended: MemberEnded,
    pub found: Vec<Found>,
    /// Transitions that realised each step label, in this member alone.
    pub coverage: BTreeMap<Step, u64>,
    /// Wall time; it reaches no verdict.
    pub seconds: f64,
    /// A digest of everything above but the wall time: the same seed and
    /// options give the same digest on any machine.
    pub digest: String,
}

impl MemberReport {
    /// The `always` properties this member found violated.
    pub fn violated(&self) -> impl Iterator<Item = &Found> {
        self.found.iter().filter(|f| f.kind == "always")
    }
}

/// A swarm's result: a [`CheckReport`] over all members (its verdicts
/// `violated`, `found` or `unknown`, its counterexamples the shortest found)
/// and each member's own report, in seed order.
pub struct SwarmReport {
    pub report: CheckReport,
    /// The copy of the model the counterexamples were explained on.
    pub model: CcModel,
    pub members: Vec<MemberReport>,
    /// Whether the budget ended the swarm (rather than the seeds running out).
    pub budget_ran_out: bool,
}

/// Progress of a swarm, for a progress line.
#[derive(Clone, Copy, Debug)]
pub struct SwarmProgress {
    pub members: usize,
    pub states: usize,
    pub violations: usize,
    pub elapsed: Duration,
}

/// Run a swarm over `config`'s model. The configuration's own search
/// limits (`depth`, `max_states`, `max_memory`, `liveness`, `threads`) do
/// not apply: `options` bounds each member.
pub fn swarm(
    config: &CheckConfig,
    options: &SwarmOptions,
    mut progress: impl FnMut(&SwarmProgress),
) -> Result<SwarmReport, CheckError> {
    if config.services < 2 {
        return Err(CheckError::TooFewServices(config.services));
    }
    if config.users == 0 {
        return Err(CheckError::NoUsers);
    }
    if options.shard.1 == 0 || options.shard.0 >= options.shard.1 {
        return Err(CheckError::BadShard(options.shard.0, options.shard.1));
    }
    let start = Instant::now();
    // A budget past what the clock can count is no budget.
    let deadline = options.budget.and_then(|b| start.checked_add(b));
    let next = AtomicU64::new(0);
    let done = AtomicUsize::new(0);
    let states = AtomicUsize::new(0);
    let violations = AtomicUsize::new(0);
    let out_of_time = AtomicBool::new(false);
    let threads = options.threads.max(1);
    let results: Vec<Result<Vec<MemberReport>, CheckError>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut members = Vec::new();
                    let (model, coverage) = config.into_model()?;
                    let symmetry = if config.symmetry {
                        Some(Symmetry::of(&model.cfg.system).ok_or(CheckError::NotSymmetric)?)
                    } else {
                        None
                    };
                    let targets = property_targets(&model);
                    loop {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        let Some(seed) = options.seed(k) else { break };
                        if deadline.is_some_and(|d| Instant::now() >= d) {
                            out_of_time.store(true, Ordering::Relaxed);
                            break;
                        }
                        let Some(m) = one_member(
                            &model,
                            &coverage,
                            &targets,
                            symmetry.as_ref(),
                            options,
                            seed,
                            deadline,
                        ) else {
                            out_of_time.store(true, Ordering::Relaxed);
                            break;
                        };
                        done.fetch_add(1, Ordering::Relaxed);
                        states.fetch_add(m.unique_states, Ordering::Relaxed);
                        violations.fetch_add(m.violated().count(), Ordering::Relaxed);
                        members.push(m);
                    }
                    Ok(members)
                })
            })
            .collect();
        let mut last = Instant::now();
        while !workers.iter().all(|w| w.is_finished()) {
            std::thread::sleep(Duration::from_millis(50));
            if last.elapsed() >= crate::explore::PROGRESS_EVERY {
                last = Instant::now();
                progress(&SwarmProgress {
                    members: done.load(Ordering::Relaxed),
                    states: states.load(Ordering::Relaxed),
                    violations: violations.load(Ordering::Relaxed),
                    elapsed: start.elapsed(),
                });
            }
        }
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let mut members = Vec::new();
    for r in results {
        members.extend(r?);
    }
    members.sort_by_key(|m| m.plan.seed);
    let (report, model) = combine(config, options, &members, start.elapsed())?;
    Ok(SwarmReport {
        report,
        model,
        members,
        budget_ran_out: out_of_time.load(Ordering::Relaxed),
    })
}

/// Whether a member omitting the classes `omit` may take `action`: bit 0
/// drops (message loss), 1 timeouts, 2 crashes, 3 restarts. Deliveries and
/// the parties' own choices (`SelectRandom`: users' operations, the
/// attacker's and a malicious service's moves) are never omitted: without
/// them nothing happens.
pub fn allowed(omit: u8, action: &CcAction) -> bool {
    let bit = match action {
        ActorModelAction::Drop(_) => 0,
        ActorModelAction::Timeout(..) => 1,
        ActorModelAction::Crash(_) => 2,
        ActorModelAction::Recover(_) => 3,
        ActorModelAction::Deliver { .. } | ActorModelAction::SelectRandom { .. } => {
            return true;
        }
    };
    omit & (1 << bit) == 0
}

/// An `always` property's path made as short as the swarm makes it: shrunk
/// ([`shrink`]), then searched again within its own moves
/// ([`shortest_within`], at most [`REFINE_STATES`] states). `None` when the
/// deadline passed while shrinking.
fn refine(
    model: &CcModel,
    target: &Target<CcModel>,
    path: Path<CcModel>,
    deadline: Option<Instant>,
) -> Option<Path<CcModel>> {
    let path = shrink(model, target, path, &similar, deadline)?;
    let Some((init, _)) = path.first() else {
        return Some(path);
    };
    let actions: Vec<CcAction> = path.iter().filter_map(|(_, a)| a.clone()).collect();
    Some(
        shortest_within(model, target, init, &actions, &similar, REFINE_STATES)
            .filter(|p| p.len() < path.len())
            .unwrap_or(path),
    )
}

/// Whether two of the model's actions are the same move for replaying an
/// edited path: the same kind between the same parties, a delivered or
/// dropped message of the same kind (its serials, nonces and certificates
/// may differ: they shift when an earlier operation is removed), a timeout
/// of the same party. A party's own choice must be the same choice.
pub fn similar(a: &CcAction, b: &CcAction) -> bool {
    use std::mem::discriminant;
    match (a, b) {
        (
            ActorModelAction::Deliver { src, dst, msg },
            ActorModelAction::Deliver {
                src: src2,
                dst: dst2,
                msg: msg2,
            },
        ) => src == src2 && dst == dst2 && discriminant(msg) == discriminant(msg2),
        (ActorModelAction::Drop(e), ActorModelAction::Drop(e2)) => {
            e.src == e2.src && e.dst == e2.dst && discriminant(&e.msg) == discriminant(&e2.msg)
        }
        (ActorModelAction::Timeout(id, _), ActorModelAction::Timeout(id2, _)) => id == id2,
        _ => a == b,
    }
}

/// Run member `seed` on this worker's model, shrink what it found, and
/// report it; `None` when the deadline passed first.
fn one_member(
    model: &CcModel,
    coverage: &Coverage,
    targets: &[Target<CcModel>],
    symmetry: Option<&Symmetry>,
    options: &SwarmOptions,
    seed: u64,
    deadline: Option<Instant>,
) -> Option<MemberReport> {
    let began = Instant::now();
    let (plan, rng) = Plan::of(seed, options.depths, options.max_states);
    let before = coverage.snapshot();
    let allow = |a: &CcAction| allowed(plan.omit, a);
    let member = match symmetry {
        Some(sym) => run_member(
            model,
            targets,
            plan,
            rng,
            |s| sym.representative(s),
            &allow,
            deadline,
        ),
        None => run_member(model, targets, plan, rng, Clone::clone, &allow, deadline),
    }?;
    let after = coverage.snapshot();
    // Shrinking replays transitions: they are not the member's coverage.
    coverage.freeze();
    let kinds: BTreeMap<&str, &'static str> = model
        .properties()
        .iter()
        .map(|p| (p.name, kind_name(&p.expectation)))
        .collect();
    let mut found = Vec::new();
    for (name, path) in member.found {
        let Some(target) = targets.iter().find(|t| t.name == name) else {
            continue;
        };
        let found_steps = path.len().saturating_sub(1);
        let kind = kinds.get(name).copied().unwrap_or("always");
        // An example of a `sometimes` is coverage, not a finding, and an
        // expected violation is known: neither is shrunk here (it costs
        // replays and says nothing new; the report shrinks the shortest
        // one once).
        let shrunk = kind == "always" && !options.expected.iter().any(|e| e == name);
        let path = if shrunk {
            let Some(path) = refine(model, target, path, deadline) else {
                coverage.thaw();
                return None;
            };
            path
        } else {
            path
        };
        found.push(Found {
            property: name.to_string(),
            kind,
            steps: path.len().saturating_sub(1),
            found_steps,
            shrunk,
            actions: path.into_iter().filter_map(|(_, a)| a).collect(),
        });
    }
    coverage.thaw();
    let member_coverage: BTreeMap<Step, u64> = after
        .iter()
        .map(|(s, n)| (*s, n - before.get(s).copied().unwrap_or(0)))
        .collect();
    let digest = digest(
        &plan,
        (
            member.unique_states,
            member.transitions,
            member.max_depth,
            member.rounds,
        ),
        member.ended,
        &found,
        &member_coverage,
    );
    Some(MemberReport {
        plan,
        unique_states: member.unique_states,
        transitions: member.transitions,
        max_depth: member.max_depth,
        rounds: member.rounds,
        ended: member.ended,
        found,
        coverage: member_coverage,
        seconds: began.elapsed().as_secs_f64(),
        digest,
    })
}

/// SHA-256 over a member's deterministic report (its plan, counts, ending,
/// findings with their actions, coverage), the first 16 bytes in hex: the
/// "trace hash" of a member, compared by `commoncert merge` across re-runs.
fn digest(
    plan: &Plan,
    counts: (usize, usize, usize, usize),
    ended: MemberEnded,
    found: &[Found],
    coverage: &BTreeMap<Step, u64>,
) -> String {
    let found: Vec<(String, usize, usize, Vec<String>)> = found
        .iter()
        .map(|f| {
            (
                f.property.clone(),
                f.steps,
                f.found_steps,
                f.actions.iter().map(|a| format!("{a:?}")).collect(),
            )
        })
        .collect();
    let coverage: BTreeMap<&str, u64> = coverage.iter().map(|(s, n)| (s.label(), *n)).collect();
    let text = serde_json::json!({
        "plan": plan, "counts": counts, "ended": ended, "found": found, "coverage": coverage,
    })
    .to_string();
    let d = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    d.as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `found` (a finding of property `name`) as a [`PropertyResult`]: its
/// actions replayed on `model` (a copy of the model that found it: actions
/// name certificates by deterministic handles, so any copy replays them)
/// and explained.
fn result_for(
    model: &CcModel,
    name: &str,
    kind: &'static str,
    verdict: Verdict,
    found: Option<&Found>,
    refine: bool,
) -> PropertyResult {
    let targets = property_targets(model);
    let path = found.and_then(|f| {
        let target = targets.iter().find(|t| t.name == name)?;
        let path = model
            .init_states()
            .iter()
            .find_map(|init| replay(model, target, init, &f.actions, &similar))?;
        // A member refined what it shrank; the shortest expected violation
        // is refined here, once.
        if !refine || kind != "always" || f.shrunk {
            return Some(path);
        }
        self::refine(model, target, path, None)
    });
    let always = kind == "always";
    let explained = match (&path, always) {
        (Some(path), true) => explain(model, path.clone()),
        _ => Default::default(),
    };
    PropertyResult {
        name: name.to_string(),
        kind,
        verdict,
        counterexample: explained.lines,
        in_flight: explained.in_flight,
        actions: path
            .as_ref()
            .map(|p| p.iter().filter_map(|(_, a)| a.clone()).collect())
            .unwrap_or_default(),
        violated_on_path: path
            .as_ref()
            .map(|p| violated_along(p.iter().map(|(s, _)| s)))
            .unwrap_or_default(),
        loop_from: None,
    }
}

impl SwarmReport {
    /// One member's finding, explained as `check` explains a
    /// counterexample (for its scenario file).
    pub fn explained(&self, found: &Found) -> PropertyResult {
        let verdict = if found.kind == "always" {
            Verdict::Violated
        } else {
            Verdict::Holds
        };
        result_for(
            &self.model,
            &found.property,
            found.kind,
            verdict,
            Some(found),
            false,
        )
    }
}

/// The swarm's verdicts and counterexamples over all its members: per
/// property the shortest path any member found (the lowest seed among
/// equals), replayed on a fresh copy of the model to explain it. Returns
/// that copy too.
fn combine(
    config: &CheckConfig,
    options: &SwarmOptions,
    members: &[MemberReport],
    elapsed: Duration,
) -> Result<(CheckReport, CcModel), CheckError> {
    let (model, coverage) = config.into_model()?;
    coverage.freeze();
    let mut properties = Vec::new();
    for p in model.properties() {
        let kind = kind_name(&p.expectation);
        // The shortest finding first (the lowest seed among equals); one
        // that does not replay on this copy of the model (it should) gives
        // way to the next, and if none does the swarm says so rather than
        // claim a violation it cannot show.
        let mut candidates: Vec<(usize, u64, &Found)> = members
            .iter()
            .flat_map(|m| m.found.iter().map(move |f| (f.steps, m.plan.seed, f)))
            .filter(|(_, _, f)| f.property == p.name)
            .collect();
        candidates.sort_by_key(|(steps, seed, _)| (*steps, *seed));
        if candidates.is_empty() {
            properties.push(result_for(
                &model,
                p.name,
                kind,
                Verdict::Unknown,
                None,
                true,
            ));
            continue;
        }
        let verdict = if kind == "always" {
            Verdict::Violated
        } else {
            Verdict::Holds
        };
        let shown = candidates.iter().find_map(|(_, _, f)| {
            let r = result_for(&model, p.name, kind, verdict, Some(f), true);
            (!r.actions.is_empty() || f.actions.is_empty()).then_some(r)
        });
        match shown {
            Some(r) => properties.push(r),
            None => return Err(CheckError::SwarmReplay(p.name.to_string())),
        }
    }
    let mut total = BTreeMap::new();
    for m in members {
        for (s, n) in &m.coverage {
            *total.entry(*s).or_insert(0) += n;
        }
    }
    let unique: usize = members.iter().map(|m| m.unique_states).sum();
    let seconds = elapsed.as_secs_f64();
    let seeds = match (members.first(), members.last()) {
        (Some(a), Some(b)) => format!("seeds from {} to {}", a.plan.seed, b.plan.seed),
        _ => "no seeds".to_string(),
    };
    let shard = if options.shard.1 > 1 {
        format!(" (shard {}/{})", options.shard.0, options.shard.1)
    } else {
        String::new()
    };
    let report = CheckReport {
        config: config.clone(),
        unique_states: unique,
        total_states: members.iter().map(|m| m.transitions).sum(),
        max_depth: members.iter().map(|m| m.max_depth).max().unwrap_or(0),
        seconds,
        states_per_second: if seconds > 0.0 {
            unique as f64 / seconds
        } else {
            0.0
        },
        properties,
        coverage: total,
        complete: false,
        ended: Ended::Swarm,
        bound: format!(
            "a swarm of {} members, {seeds}{shard}, depth bounds {}..={}, <= {} states each; it finds violations and never proves their absence",
            members.len(),
            options.depths.0,
            options.depths.1,
            options.max_states
        ),
        dir: model.cfg.system.dir.clone(),
        liveness: None,
    };
    Ok((report, model))
}

#[cfg(test)]
mod tests {
    use super::*;
    use stateright::Property;

    /// A grid walk: from (0, 0), step right, up, or wander (a loop that
    /// goes nowhere new); the violation is reaching (3, 3). The shortest
    /// path is six steps; a depth-first search in a random order takes
    /// detours through the wandering moves.
    struct Grid;
    impl Model for Grid {
        type State = (u8, u8, u8);
        type Action = u8;
        fn init_states(&self) -> Vec<Self::State> {
            vec![(0, 0, 0)]
        }
        fn actions(&self, s: &Self::State, a: &mut Vec<u8>) {
            if s.0 < 5 {
                a.push(0);
            }
            if s.1 < 5 {
                a.push(1);
            }
            if s.2 < 6 {
                a.push(2);
            }
        }
        fn next_state(&self, s: &Self::State, a: u8) -> Option<Self::State> {
            Some(match a {
                0 => (s.0 + 1, s.1, s.2),
                1 => (s.0, s.1 + 1, s.2),
                _ => (s.0, s.1, s.2 + 1),
            })
        }
        fn properties(&self) -> Vec<Property<Self>> {
            vec![
                Property::always("not at 3,3", |_, s: &(u8, u8, u8)| !(s.0 == 3 && s.1 == 3)),
                Property::sometimes("wandered", |_, s: &(u8, u8, u8)| s.2 == 6),
            ]
        }
    }

    /// Member `seed` of the grid, searching every successor.
    fn member(seed: u64, depths: (usize, usize), max_states: usize) -> Member<Grid> {
        capped(seed, depths, max_states, None)
    }

    fn capped(
        seed: u64,
        depths: (usize, usize),
        max_states: usize,
        branching: Option<usize>,
    ) -> Member<Grid> {
        let targets = property_targets(&Grid);
        let (mut plan, rng) = Plan::of(seed, depths, max_states);
        plan.branching = branching;
        run_member(&Grid, &targets, plan, rng, |s| *s, &|_| true, None)
            .unwrap_or_else(|| panic!("no deadline was given"))
    }

    #[test]
    fn seeds_spread_over_depths_and_branching_caps() {
        let plans: Vec<Plan> = (0..200).map(|s| Plan::of(s, (8, 64), 100).0).collect();
        for cap in BRANCHING {
            assert!(plans.iter().any(|p| p.branching == cap), "{cap:?}");
        }
        assert!(plans.iter().all(|p| (8..=64).contains(&p.depth_bound)));
        assert!(plans.iter().any(|p| p.depth_bound == 8));
        assert!(plans.iter().any(|p| p.depth_bound == 64));
    }

    /// A capped member searches narrow trees from the root in rounds, each
    /// in a fresh order, until its budget is spent, and stays fixed by its
    /// seed.
    #[test]
    fn a_capped_member_samples_the_space_in_rounds() {
        // Depths whose capped trees (13 and 31 states at most) are smaller
        // than the budget.
        for (cap, depth) in [(1, 12), (2, 4)] {
            let a = capped(5, (depth, depth), 60, Some(cap));
            let b = capped(5, (depth, depth), 60, Some(cap));
            assert!(a.rounds > 1, "cap {cap}: {} rounds", a.rounds);
            assert!(a.unique_states <= 60);
            assert!(matches!(
                a.ended,
                MemberEnded::StateBudget | MemberEnded::TransitionBudget | MemberEnded::AllFound
            ));
            assert_eq!(
                (a.rounds, a.unique_states, a.transitions, a.ended),
                (b.rounds, b.unique_states, b.transitions, b.ended)
            );
        }
        // Walks (cap 1) looking for nothing, with a state budget above the
        // grid's 252 states, end on their transitions.
        let (mut plan, rng) = Plan::of(5, (12, 12), 1000);
        plan.branching = Some(1);
        let walk = run_member(&Grid, &[], plan, rng, |s| *s, &|_| true, None);
        let walk = walk.unwrap_or_else(|| panic!("no deadline was given"));
        assert_eq!(walk.ended, MemberEnded::TransitionBudget);
        assert!(walk.max_depth <= 12);
        assert!(walk.rounds >= 1000 * TRANSITIONS_PER_STATE / 12);
    }

    #[test]
    fn a_member_is_fixed_by_its_seed() {
        for seed in 0..20 {
            let a = member(seed, (4, 20), 1000);
            let b = member(seed, (4, 20), 1000);
            assert_eq!(a.plan, b.plan);
            assert_eq!(
                (a.unique_states, a.transitions, a.max_depth, a.ended),
                (b.unique_states, b.transitions, b.max_depth, b.ended)
            );
            let paths = |m: &Member<Grid>| -> Vec<Vec<(u8, u8, u8)>> {
                m.found
                    .values()
                    .map(|p| p.iter().map(|(s, _)| *s).collect())
                    .collect()
            };
            assert_eq!(paths(&a), paths(&b));
            assert!((4..=20).contains(&a.plan.depth_bound));
        }
        // Different seeds search in different orders.
        let orders: std::collections::BTreeSet<usize> = (0..20)
            .map(|s| member(s, (18, 18), 1000).found["not at 3,3"].len())
            .collect();
        assert!(orders.len() > 1, "every seed found the same path length");
    }

    #[test]
    fn a_depth_bound_below_the_violation_finds_nothing() {
        let m = member(7, (5, 5), 10_000);
        assert!(!m.found.contains_key("not at 3,3"));
        assert_eq!(m.ended, MemberEnded::Exhausted);
        assert!(m.max_depth <= 5);
    }

    #[test]
    fn the_state_budget_stops_a_member() {
        let m = member(3, (30, 30), 10);
        assert_eq!(m.ended, MemberEnded::StateBudget);
        assert_eq!(m.unique_states, 10);
    }

    #[test]
    fn a_passed_deadline_reports_no_member() {
        // A member that needs more transitions than one clock reading's
        // worth, with a deadline already passed, is abandoned whole.
        let (mut plan, rng) = Plan::of(1, (30, 30), 1_000_000);
        plan.branching = None;
        let full = run_member(&Grid, &[], plan, rng.clone(), |s| *s, &|_| true, None);
        assert!(full.is_some_and(|m| m.transitions > DEADLINE_EVERY));
        let cut = run_member(
            &Grid,
            &[],
            plan,
            rng,
            |s| *s,
            &|_| true,
            Some(Instant::now()),
        );
        assert!(cut.is_none());
    }

    fn config(f: impl FnOnce(&mut CheckConfig)) -> CheckConfig {
        let mut c = CheckConfig::default();
        f(&mut c);
        c
    }

    fn options(seeds: std::ops::Range<u64>, shard: (u64, u64), threads: usize) -> SwarmOptions {
        SwarmOptions {
            seeds: Seeds {
                start: seeds.start,
                end: Some(seeds.end),
            },
            shard,
            budget: None,
            depths: (6, 40),
            max_states: 3_000,
            threads,
            expected: Vec::new(),
        }
    }

    fn run_swarm(cfg: &CheckConfig, o: &SwarmOptions) -> SwarmReport {
        swarm(cfg, o, |_| {}).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Soundness against the exhaustive search: a swarm reports only
    /// violations the breadth-first check also finds, never shorter than
    /// its shortest, never says `holds`; and it does find the deliberate
    /// defect's violation (the proof of possession not checked).
    #[test]
    fn a_swarm_finds_the_defect_and_nothing_the_exhaustive_check_does_not() {
        for defect in [false, true] {
            let cfg = config(|c| {
                c.attacker = true;
                c.defects.skip_proof_check = defect;
            });
            let bfs = crate::checker::check(&cfg, |_| {}).unwrap_or_else(|e| panic!("{e}"));
            let sw = run_swarm(&cfg, &options(0..12, (0, 1), 1));
            assert_eq!(sw.members.len(), 12);
            for p in &sw.report.properties {
                assert_ne!(
                    (p.kind, p.verdict),
                    ("always", Verdict::Holds),
                    "{}: a swarm never proves",
                    p.name
                );
                if p.verdict == Verdict::Violated && p.kind == "always" {
                    assert_eq!(bfs.verdict(&p.name), Some(Verdict::Violated), "{}", p.name);
                    let shortest = bfs
                        .properties
                        .iter()
                        .find(|q| q.name == p.name)
                        .map_or(0, |q| q.counterexample.len());
                    assert!(p.counterexample.len() >= shortest, "{}", p.name);
                    assert_eq!(p.actions.len(), p.counterexample.len());
                    assert!(p.violated_on_path.contains(&p.name));
                }
            }
            assert_eq!(
                sw.report.verdict("no-impersonation"),
                Some(if defect {
                    Verdict::Violated
                } else {
                    Verdict::Unknown
                })
            );
        }
    }

    /// With symmetry the representative steers only which states count as
    /// seen; paths stay concrete, so what a member finds replays on the
    /// model as it is (the swarm refuses a counterexample that does not).
    #[test]
    fn a_symmetric_swarm_finds_and_replays_the_same_finding() {
        let cfg = config(|c| {
            c.users = 2;
            c.symmetry = true;
        });
        let sw = run_swarm(&cfg, &options(0..4, (0, 1), 1));
        assert_eq!(
            sw.report.verdict("one-certificate-per-user"),
            Some(Verdict::Violated)
        );
        let p = sw
            .report
            .properties
            .iter()
            .find(|p| p.name == "one-certificate-per-user")
            .map(|p| p.counterexample.len());
        // The shortest there is: 12 events (the breadth-first check's).
        assert_eq!(p, Some(12));
        assert!(
            sw.report
                .properties
                .iter()
                .all(|p| p.kind != "always" || p.verdict != Verdict::Holds)
        );
    }

    /// Members are fixed by their seeds: the same digests whatever the
    /// number of threads, and shards that together run every member.
    #[test]
    fn members_are_the_same_across_threads_and_shards() {
        let cfg = config(|c| {
            c.services = 3;
            c.users = 2;
            c.crashes = 1;
        });
        let digests = |r: &SwarmReport| -> Vec<(u64, String)> {
            r.members
                .iter()
                .map(|m| (m.plan.seed, m.digest.clone()))
                .collect()
        };
        let one = digests(&run_swarm(&cfg, &options(0..6, (0, 1), 1)));
        let two = digests(&run_swarm(&cfg, &options(0..6, (0, 1), 2)));
        assert_eq!(one, two);
        let mut sharded = digests(&run_swarm(&cfg, &options(0..6, (0, 2), 1)));
        sharded.extend(digests(&run_swarm(&cfg, &options(0..6, (1, 2), 1))));
        sharded.sort();
        assert_eq!(one, sharded);
        assert_eq!(one.len(), 6);
        let distinct: std::collections::BTreeSet<&String> = one.iter().map(|(_, d)| d).collect();
        assert_eq!(distinct.len(), 6, "members differ");
    }

    #[test]
    fn shrinking_gives_a_one_minimal_path_that_still_violates() {
        let targets = property_targets(&Grid);
        let t = &targets[0];
        for seed in 0..20 {
            let m = member(seed, (18, 18), 1000);
            let path = m.found["not at 3,3"].clone();
            let shrunk = shrink(&Grid, t, path.clone(), &|a, b| a == b, None)
                .unwrap_or_else(|| panic!("no deadline was given"));
            assert!(shrunk.len() <= path.len());
            // Right three times and up three times: the wandering is gone.
            assert_eq!(shrunk.len(), 7, "seed {seed}: {shrunk:?}");
            assert_eq!(shrunk.last().map(|(s, _)| (s.0, s.1)), Some((3, 3)));
        }
    }

    #[test]
    fn replay_skips_what_is_not_enabled_and_stops_at_the_hit() {
        let targets = property_targets(&Grid);
        let same = |a: &u8, b: &u8| a == b;
        let init = (0, 0, 0);
        // Never reaching the target is no path.
        assert!(replay(&Grid, &targets[0], &init, &[5], &same).is_none());
        assert!(replay(&Grid, &targets[0], &init, &[0; 6], &same).is_none());
        // 5 is no action of the grid: skipped. It stops at the hit and
        // drops the rest.
        let p = replay(&Grid, &targets[0], &init, &[0, 5, 0, 0, 1, 1, 1, 2], &same);
        let taken: Vec<u8> = p
            .unwrap_or_default()
            .iter()
            .filter_map(|(_, a)| *a)
            .collect();
        assert_eq!(taken, vec![0, 0, 0, 1, 1, 1]);
        // With a similarity, a move not enabled as it is may be taken as
        // another: here 4 stands for "right" (0).
        let like = |a: &u8, b: &u8| a == b || (*a == 4 && *b == 0);
        let p = replay(&Grid, &targets[0], &init, &[4, 4, 4, 1, 1, 1], &like);
        assert_eq!(p.map(|p| p.len()), Some(7));
    }

    #[test]
    fn the_shortest_path_within_a_paths_actions_reorders_them() {
        let targets = property_targets(&Grid);
        // Up to 18 steps with wandering: the search over its own moves
        // finds the six-step path.
        let m = member(3, (18, 18), 1000);
        let path = m.found["not at 3,3"].clone();
        let moves: Vec<u8> = path.iter().filter_map(|(_, a)| *a).collect();
        let init = (0, 0, 0);
        let p = shortest_within(&Grid, &targets[0], &init, &moves, &|a, b| a == b, 10_000);
        assert_eq!(p.map(|p| p.len()), Some(7));
        // Without the "up" move there is no path at all.
        let rights: Vec<u8> = moves.iter().copied().filter(|a| *a != 1).collect();
        let none = shortest_within(&Grid, &targets[0], &init, &rights, &|a, b| a == b, 10_000);
        assert!(none.is_none());
    }
}
