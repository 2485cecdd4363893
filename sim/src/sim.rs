//! The engine: one run of one scenario under one seed, and its verdict.
//!
//! The run drives the model's `World` event by event: scenario steps start
//! operations (`World::choose`), messages go through the [`Network`], timers
//! through the agenda, and after every event the model's own invariant code
//! (`Outcome::new_violations`) says what broke. Every event is attributed to
//! the scenario step that caused it: a message inherits the cause of the
//! event that sent it, a timer the cause of its operation; so each step has
//! its own list of step labels to compare with `expect_steps`.
//!
//! Step scheduling: a step starts `delay_ms` after every step before it has
//! ended (an operation when its result arrives; partition, heal, crash and
//! restart at once; wait after `ms`), or, with `concurrent = true`, `delay_ms`
//! after the step before it started. (When no step is concurrent this is the
//! contract's "when the one before it has ended"; after a concurrent group,
//! the next step waits for the whole group, so that its expectations do not
//! race with the group's slower member.)

use crate::clock::{Agenda, Time};
use crate::faults::FaultProfile;
use crate::metrics::{Metrics, Summary};
use crate::network::{DropReason, Fate, Network};
use crate::scenario::{Action, Scenario};
use crate::trace::{Done, EventRef, Kind, Trace};
use crate::workload::{Arrival, Arrivals, OpKind, Workload};
use commoncert_model::effects::Timer;
use commoncert_model::malicious::Move;
use commoncert_model::msg::{Msg, OpId};
use commoncert_model::node::Choice;
use commoncert_model::step::{Step as Label, restrict_to_families};
use commoncert_model::system::{BuildError, credential};
use commoncert_model::user::{Command, Outcome as OpOutcome};
use commoncert_model::world::{Outcome, World};
use commoncert_model::x509::{Der, Memo};
use serde::Serialize;
use smallvec::SmallVec;
use stateright::actor::Id;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::PathBuf;

/// How to run a scenario.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    pub seed: u64,
    /// Swarm testing: layer the seed's [`FaultProfile`] on the file's network
    /// and tolerate outcomes that depend on faults.
    pub swarm: bool,
    /// Whether the run's X.509 arena remembers verdicts; `Memo::Off` is the
    /// concrete reading (every certificate, CRL and proof issued and checked
    /// on every use), which the concretisation check compares against.
    pub memo: Memo,
    /// Show a progress bar on stderr while a workload runs.
    pub progress: bool,
}

/// A run that could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("the system does not build: {0}")]
    Build(#[from] BuildError),
}

/// What one scenario step did.
#[derive(Clone, Debug, Serialize)]
pub struct StepResult {
    pub number: usize,
    pub line: usize,
    pub action: String,
    pub concurrent: bool,
    pub started_at: Option<Time>,
    pub ended_at: Option<Time>,
    pub expected: Option<String>,
    /// The outcome (`granted`, ...), `down` if the user was down at the
    /// start, `crashed` if it crashed meanwhile; none for non-operations.
    pub actual: Option<String>,
    /// Why a presentation was rejected, when it was.
    pub reason: Option<String>,
    pub expected_steps: Option<Vec<String>>,
    /// Every step label of the events this step caused, in order.
    pub steps: Vec<String>,
    pub expected_sources: Option<Vec<String>>,
    pub sources: Vec<String>,
    pub pass: bool,
}

/// An invariant broken during the run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Violation {
    pub property: String,
    pub event: usize,
    pub time: Time,
    /// The scenario step whose event broke it.
    pub step: Option<usize>,
    pub expected: bool,
}

/// One thing that differed from the file's expectations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Failure {
    pub step: Option<usize>,
    pub line: Option<usize>,
    pub message: String,
}

/// One `expect_final`, judged.
#[derive(Clone, Debug, Serialize)]
pub struct FinalResult {
    pub user: String,
    pub line: usize,
    pub actual: commoncert_model::world::UserFinal,
    pub pass: bool,
}

/// A map the event loop reads or writes on most events: aHash with fixed
/// keys instead of SipHash or a B-tree. Nothing may depend on its
/// iteration order (which aHash does not promise across builds or CPUs):
/// it is looked up, inserted into, removed from and `retain`ed, and the
/// entries a crash takes out of it are sorted before they are handled.
pub(crate) type FastMap<K, V> = HashMap<K, V, FixedState>;

/// aHash's hasher with fixed keys.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct FixedState;

impl std::hash::BuildHasher for FixedState {
    type Hasher = ahash::AHasher;

    fn build_hasher(&self) -> ahash::AHasher {
        ahash::RandomState::with_seeds(0x636f, 0x6d6d, 0x6f6e, 0x6365).build_hasher()
    }
}

/// Where a run's wall time went (not part of any trace or report: wall
/// time differs between runs of the same seed).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Timing {
    /// Building the system and starting every node.
    pub setup: std::time::Duration,
    /// The event loop and the verdict.
    pub events: std::time::Duration,
    /// Of `events`, inside the model (`World`), cryptography included.
    pub model: std::time::Duration,
    /// Of `model`, in cryptography and X.509 encoding and parsing.
    pub crypto: std::time::Duration,
}

impl Timing {
    /// The simulator's own share: the event loop outside the model.
    pub fn simulator(&self) -> std::time::Duration {
        self.events.saturating_sub(self.model)
    }
}

/// The run's PKI, for `--export-pki`.
#[derive(Clone, Debug)]
pub struct Pki {
    pub root: Der,
    pub users: Vec<(String, Der)>,
    pub crls: Vec<Der>,
}

/// One run of one scenario.
#[derive(Clone, Debug, Serialize)]
pub struct Run {
    pub name: String,
    pub description: String,
    pub file: PathBuf,
    pub seed: u64,
    /// Under swarm: the fault profile, described.
    pub profile: Option<String>,
    pub pass: bool,
    pub events: usize,
    pub trace_hash: String,
    pub steps: Vec<StepResult>,
    pub violations: Vec<Violation>,
    pub finals: Vec<FinalResult>,
    pub failures: Vec<Failure>,
    /// Under swarm: mismatches accepted because faults explain them.
    pub tolerated: Vec<Failure>,
    /// The parties, by node id.
    pub parties: Vec<String>,
    #[serde(skip)]
    pub trace: Trace,
    #[serde(skip)]
    pub pki: Option<Pki>,
    /// A workload's figures: staleness, latency, CA load (issue 13).
    pub metrics: Option<Summary>,
    #[serde(skip)]
    pub timing: Timing,
}

impl Run {
    /// The command that replays exactly this run.
    pub fn replay_command(&self) -> String {
        let file = shell_quote(&self.file.display().to_string());
        if self.profile.is_some() {
            format!(
                "commoncert sim {file} --seeds {}..{}",
                self.seed,
                self.seed.saturating_add(1)
            )
        } else {
            format!("commoncert sim {file} --seed {}", self.seed)
        }
    }

    /// How often each step label was realised in this run.
    pub fn coverage(&self) -> BTreeMap<String, usize> {
        self.trace.coverage()
    }
}

fn shell_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:@".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Hard cap on events per run: no scenario needs more; a runaway is a bug.
const MAX_EVENTS: usize = 1_000_000;

enum Ev {
    Start(usize),
    WaitOver(usize),
    Deliver {
        from: Id,
        to: Id,
        msg: Msg,
        cause: Option<usize>,
        copy: bool,
    },
    Timer {
        node: Id,
        timer: Timer,
        cause: Option<usize>,
    },
    /// The workload's next operation.
    Arrival(Arrival),
}

/// An event's lists as the trace records them, borrowed from the model's
/// outcome (every name is static).
#[derive(Default)]
struct Lines {
    labels: Vec<&'static str>,
    done: Vec<Done<'static>>,
    violations: Vec<&'static str>,
}

/// Generated user `i`'s node.
enum Users {
    /// `first + i`: the system numbers generated users in order, which
    /// spares every arrival a read from a million-entry list.
    Consecutive { first: usize, n: usize },
    /// Otherwise: the nodes, and each node's index among them.
    Listed(Vec<Id>, FastMap<Id, usize>),
}

impl Users {
    fn new(ids: Vec<Id>) -> Users {
        let first = ids.first().map_or(0, |id| usize::from(*id));
        let consecutive = ids
            .iter()
            .enumerate()
            .all(|(i, id)| usize::from(*id) == first + i);
        if consecutive {
            Users::Consecutive {
                first,
                n: ids.len(),
            }
        } else {
            let index = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
            Users::Listed(ids, index)
        }
    }

    /// Which generated user node `id` is, if it is one.
    fn index_of(&self, id: Id) -> Option<usize> {
        match self {
            Users::Consecutive { first, n } => {
                usize::from(id).checked_sub(*first).filter(|i| i < n)
            }
            Users::Listed(_, index) => index.get(&id).copied(),
        }
    }

    fn get(&self, i: usize) -> Option<Id> {
        match self {
            Users::Consecutive { first, n } => (i < *n).then(|| Id::from(first + i)),
            Users::Listed(ids, _) => ids.get(i).copied(),
        }
    }
}

/// A running `[workload]`.
struct Load<'a> {
    w: &'a Workload,
    arrivals: Arrivals,
    /// The arrival after the one scheduled: drawn one early (from the
    /// workload's own random stream, so nothing else changes) to ask for
    /// its user's memory while the events before it run.
    ahead: Option<Arrival>,
    /// Generated user `i` -> its node, and service `j` -> its node.
    users: Users,
    services: Vec<Id>,
    /// Generated user `i`'s workload operation in flight, if any (a user
    /// has at most one: an arrival for a busy user is counted and
    /// dropped). A slot per user, not a map: it is read on every arrival
    /// and every end of an operation, at a random user each time.
    inflight: Vec<Option<InFlight>>,
    progress: Option<indicatif::ProgressBar>,
}

/// Live timers, by node: each timer with the agenda sequence number of
/// its firing (a timer set again fires only at its latest). A short inline
/// list per node rather than one hashed map: a workload sets, cancels and
/// fires a timer for every operation, each at a random user among a
/// million, and a node's list can be prefetched with the node.
struct Timers(Vec<SmallVec<[(Timer, u64); 1]>>);

impl Timers {
    fn new(nodes: usize) -> Timers {
        Timers(vec![SmallVec::new(); nodes])
    }

    /// `timer` at `node` now fires at agenda sequence number `seq` only
    /// (the list grows for a node past its end).
    fn set(&mut self, node: Id, timer: Timer, seq: u64) {
        let i = usize::from(node);
        if i >= self.0.len() {
            self.0.resize(i + 1, SmallVec::new());
        }
        let list = &mut self.0[i];
        match list.iter_mut().find(|(t, _)| *t == timer) {
            Some(live) => live.1 = seq,
            None => list.push((timer, seq)),
        }
    }

    fn cancel(&mut self, node: Id, timer: &Timer) {
        if let Some(list) = self.0.get_mut(usize::from(node)) {
            list.retain(|(t, _)| t != timer);
        }
    }

    /// Whether the firing `seq` of `timer` at `node` is live (not
    /// cancelled, set again or forgotten); if so it is no longer.
    fn fire(&mut self, node: Id, timer: &Timer, seq: u64) -> bool {
        let Some(list) = self.0.get_mut(usize::from(node)) else {
            return false;
        };
        match list.iter().position(|(t, s)| t == timer && *s == seq) {
            Some(i) => {
                list.swap_remove(i);
                true
            }
            None => false,
        }
    }

    /// A crash: `node`'s timers are lost.
    fn forget(&mut self, node: Id) {
        if let Some(list) = self.0.get_mut(usize::from(node)) {
            list.clear();
        }
    }

    /// Start loading `node`'s list (a hint).
    fn prefetch(&self, node: Id) {
        if let Some(list) = self.0.get(usize::from(node)) {
            commoncert_model::hint::prefetch(list);
        }
    }
}

/// A workload operation in flight.
#[derive(Clone, Copy)]
struct InFlight {
    op: OpId,
    kind: OpKind,
    start: Time,
}

#[derive(Default)]
struct StepState {
    started: Option<Time>,
    ended: Option<Time>,
    actual: Option<String>,
    reason: Option<String>,
    labels: Vec<Label>,
    sources: Vec<String>,
    raced: bool,
    /// A message this step caused was lost.
    lost: bool,
    /// A message this step caused was delivered twice.
    duplicated: bool,
}

struct Engine<'a> {
    sc: &'a Scenario,
    world: World,
    agenda: Agenda<Ev>,
    net: Network,
    trace: Trace,
    /// The step labels, ended operations and broken properties of the
    /// event being recorded (buffers reused from event to event).
    lines: Lines,
    /// A delivered message's summary (a buffer reused from event to event).
    what: String,
    /// Live timers, by node.
    timers: Timers,
    /// Operations in flight: (initiator, op) -> scenario step index.
    ops: FastMap<(Id, OpId), usize>,
    steps: Vec<StepState>,
    /// The first step not yet scheduled.
    next: usize,
    violations: Vec<Violation>,
    first_fault: Option<Time>,
    /// The first delivery of a duplicate copy.
    first_duplicate: Option<Time>,
    timeout_ms: Time,
    /// `schedule = "scripted"`: messages and timers wait in `held` until a
    /// step names them; time stays at zero but for `wait` steps.
    scripted: bool,
    held: Vec<(Id, Id, Msg, Option<usize>)>,
    held_timers: Vec<(Id, Timer, Option<usize>)>,
    /// Scripted steps that named nothing held: (step index, what).
    script_errors: Vec<(usize, String)>,
    load: Option<Load<'a>>,
    metrics: Metrics,
    ca: Option<Id>,
    /// How many of the agenda's events are background timers, `push-ack`'s
    /// retransmissions and `crl-freshness`'s CRL refreshes (cancelled ones
    /// included), to tell when nothing else is left.
    background_events: usize,
    /// Wall time inside the model's `World` (handlers, invariants, history,
    /// and the cryptography they call): the benchmark's cost split.
    world_time: std::time::Duration,
}

/// Run `sc` under `opts`.
pub fn run(sc: &Scenario, opts: Options) -> Result<Run, SimError> {
    let started = std::time::Instant::now();
    // A scripted file names messages by their text, certificate fingerprints
    // included, and has no latency or loss to draw: its keys come from the
    // file's own seed whatever `--seed` says.
    let seed = if sc.schedule == crate::scenario::Schedule::Scripted {
        sc.seed
    } else {
        opts.seed
    };
    let generated = sc.workload.iter().flat_map(|w| w.user_specs());
    let system = sc.spec.build_with(seed, opts.memo, generated)?;
    let nodes = system.nodes.len();
    let profile = opts.swarm.then(|| FaultProfile::draw(opts.seed, nodes));
    let network = match &profile {
        Some(p) => p.layer(&sc.network),
        None => sc.network.clone(),
    };
    let horizon = horizon(sc, network.latency_ms.1, profile.as_ref());
    system.clock.set(0);
    let (mut world, starts) = World::new(system);
    // Snapshots of what each node persisted are what a crash keeps; a
    // scenario that crashes nothing needs none.
    world.durable_snapshots = sc.steps.iter().any(|s| {
        matches!(
            s.action,
            crate::scenario::Action::Crash { .. } | crate::scenario::Action::Restart { .. }
        )
    });
    let load = sc.workload.as_ref().map(|w| {
        let dir = &world.system.dir;
        let id = |name: String| dir.by_name(&name).unwrap_or_default();
        let progress = opts.progress.then(|| {
            let bar = indicatif::ProgressBar::new(w.duration_ms);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{elapsed_precise} virtual {pos}/{len} ms {wide_bar} {msg}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar
        });
        Load {
            w,
            arrivals: Arrivals::new(opts.seed),
            ahead: None,
            users: Users::new((0..w.users).map(|i| id(Workload::user_name(i))).collect()),
            services: (0..w.services)
                .map(|j| id(Workload::service_name(j)))
                .collect(),
            inflight: vec![None; w.users],
            progress,
        }
    });
    let ca = world.system.dir.ca();
    let trace = match &sc.workload {
        Some(w) => Trace::keeping(w.keep_events),
        None => Trace::default(),
    };
    let max_events = sc.workload.as_ref().map_or(MAX_EVENTS, |w| {
        let expected = (w.rate * w.duration_ms as f64 / 1000.0) as u64;
        let ops = w.ops.map_or(expected, |n| n.min(expected));
        MAX_EVENTS.saturating_add(ops.saturating_mul(200) as usize)
    });
    let timers = Timers::new(world.system.dir.parties.len());
    let mut e = Engine {
        sc,
        world,
        agenda: Agenda::default(),
        net: Network::new(
            opts.seed,
            network,
            profile.as_ref().and_then(|p| p.partition.clone()),
        ),
        trace,
        lines: Lines::default(),
        what: String::new(),
        timers,
        ops: FastMap::default(),
        steps: sc.steps.iter().map(|_| StepState::default()).collect(),
        next: 0,
        violations: Vec::new(),
        first_fault: None,
        first_duplicate: None,
        timeout_ms: sc.timeout_ms,
        scripted: sc.schedule == crate::scenario::Schedule::Scripted,
        held: Vec::new(),
        held_timers: Vec::new(),
        script_errors: Vec::new(),
        load,
        metrics: Metrics::default(),
        ca,
        background_events: 0,
        world_time: std::time::Duration::ZERO,
    };
    for (id, out) in starts {
        e.process(id, out, None);
    }
    e.schedule_next();
    e.schedule_arrival();
    let setup = started.elapsed();
    let arena = e.world.system.dir.arena.clone();
    let crypto_before = arena.crypto_time();
    e.world_time = std::time::Duration::ZERO;
    let looping = std::time::Instant::now();
    let mut runaway = None;
    while let Some(t) = e.agenda.peek_time() {
        if e.only_futile_background() {
            break; // settled: nothing but timers that can change nothing
        }
        if t > horizon {
            runaway = Some(format!(
                "the run did not settle by the horizon t={horizon}ms ({} events pending)",
                e.agenda.len()
            ));
            break;
        }
        if e.trace.len() >= max_events {
            runaway = Some(format!("the run exceeded {max_events} events"));
            break;
        }
        let Some((t, seq, ev)) = e.agenda.pop() else {
            break;
        };
        e.prefetch_next();
        e.world.system.clock.set(t);
        e.handle(seq, ev);
    }
    if let Some(bar) = e.load.as_ref().and_then(|l| l.progress.as_ref()) {
        bar.finish_and_clear();
    }
    let timing = Timing {
        setup,
        events: looping.elapsed(),
        model: e.world_time,
        crypto: arena.crypto_time().saturating_sub(crypto_before),
    };
    let mut run = e.finish(opts, profile, runaway);
    run.timing = timing;
    Ok(run)
}

/// A virtual time by which any run of `sc` has settled: every delay and
/// wait, plus generous room for every step to time out.
fn horizon(sc: &Scenario, latency_hi: Time, profile: Option<&FaultProfile>) -> Time {
    let waits = sc.steps.iter().fold(0u64, |acc, s| {
        let ms = match s.action {
            Action::Wait { ms } => ms,
            _ => 0,
        };
        acc.saturating_add(s.delay_ms).saturating_add(ms)
    });
    let per_step = sc
        .timeout_ms
        .saturating_add(latency_hi.saturating_mul(2))
        .saturating_mul(4);
    let window = profile
        .and_then(|p| p.partition.as_ref())
        .map_or(0, |w| w.until_ms);
    let workload = sc
        .workload
        .as_ref()
        .map_or(0, |w| w.duration_ms.saturating_add(per_step));
    waits
        .saturating_add(workload)
        .saturating_add(per_step.saturating_mul(sc.steps.len() as u64 + 2))
        .saturating_add(window)
        .saturating_add(60_000)
}

impl Engine<'_> {
    fn now(&self) -> Time {
        self.agenda.now()
    }

    /// Whether all that is left is background timers that can change
    /// nothing, with nothing scheduled that could change that (a restart or
    /// a heal is a step, a fault window an end time): `push-ack`'s
    /// retransmissions when every service still to acknowledge is down or
    /// cut off from the CA, and `crl-freshness`'s refreshes when no service
    /// that can reach the CA holds a serial the CA revoked. The timers
    /// would fire for ever; the run has settled.
    fn only_futile_background(&self) -> bool {
        if self.background_events == 0 || self.agenda.len() != self.background_events {
            return false;
        }
        let (Some(ca), Some(state)) = (self.ca, self.world.ca_state()) else {
            return true;
        };
        let now = self.now();
        let reachable = |service: Id| {
            self.world.is_up(service) && !self.net.cut(usize::from(ca), usize::from(service), now)
        };
        let dir = &self.world.system.dir;
        let refreshes_to_make = dir.keeps_crls_fresh()
            && dir.services().filter(|s| reachable(*s)).any(|s| {
                self.world
                    .state(s)
                    .and_then(|n| n.service())
                    .is_some_and(|st| state.revoked.iter().any(|r| st.durable.table.holds(*r)))
            });
        !self.net.window_ahead(now)
            && state.unacked.values().flatten().all(|s| !reachable(*s))
            && !refreshes_to_make
    }

    /// Start loading what the next event reads first (its node's slot and
    /// entry), while this one is handled: at a million users a delivery's
    /// user is a cache miss, one that is over by then. A hint only (the
    /// event at hand may schedule an earlier one).
    fn prefetch_next(&self) {
        let node = match self.agenda.peek() {
            Some(Ev::Deliver { to, .. }) => *to,
            Some(Ev::Timer { node, .. }) => *node,
            _ => return,
        };
        self.prefetch_node(node);
    }

    /// Start loading what an event at `node` reads: its state slot and
    /// entry (`World::prefetch`), its timers and, for a workload user, its
    /// operation in flight. A hint only.
    fn prefetch_node(&self, node: Id) {
        self.world.prefetch(node);
        self.timers.prefetch(node);
        if let Some(load) = &self.load
            && let Some(slot) = load.users.index_of(node).and_then(|i| load.inflight.get(i))
        {
            commoncert_model::hint::prefetch(slot);
        }
    }

    /// Call into the model, adding the wall time to `world_time` (read by
    /// the benchmark only, never by anything that affects the trace).
    fn in_world<T>(&mut self, f: impl FnOnce(&mut World) -> T) -> T {
        // The TSC, as the arena's tally: this runs on every event.
        let started = quanta::Instant::now();
        let out = f(&mut self.world);
        self.world_time += started.elapsed();
        out
    }

    fn name(&self, id: Id) -> String {
        self.world.system.dir.name(id).to_string()
    }

    /// A scenario node name: `CA` is wherever the CA role lives (V3: the portal).
    fn node(&self, name: &str) -> Option<Id> {
        let dir = &self.world.system.dir;
        if name == "CA" {
            dir.ca()
        } else {
            dir.by_name(name)
        }
    }

    /// A message was lost or an operation timed out, for step `cause`.
    fn fault(&mut self, cause: Option<usize>) {
        if self.first_fault.is_none() {
            self.first_fault = Some(self.now());
        }
        if let Some(st) = cause.and_then(|i| self.steps.get_mut(i)) {
            st.lost = true;
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn record(
        &mut self,
        kind: Kind,
        reason: Option<DropReason>,
        from: Id,
        to: Id,
        what: String,
        cause: Option<usize>,
        out: Option<&Outcome>,
    ) -> usize {
        self.record_str(kind, reason, from, to, &what, cause, out)
    }

    /// `record` with the message summary borrowed.
    #[allow(clippy::too_many_arguments)]
    fn record_str(
        &mut self,
        kind: Kind,
        reason: Option<DropReason>,
        from: Id,
        to: Id,
        what: &str,
        cause: Option<usize>,
        out: Option<&Outcome>,
    ) -> usize {
        // The names are borrowed from the directory, not copied: most
        // events of a workload are hashed and not kept.
        let dir = &self.world.system.dir;
        Self::push_event(
            &mut self.trace,
            &mut self.lines,
            self.agenda.now(),
            kind,
            reason,
            (dir.name(from), dir.name(to)),
            what,
            cause,
            out,
        )
    }

    /// Append an event to `trace` (`lines`: reused buffers for its lists).
    #[allow(clippy::too_many_arguments)]
    fn push_event(
        trace: &mut Trace,
        lines: &mut Lines,
        time: Time,
        kind: Kind,
        reason: Option<DropReason>,
        (from, to): (&str, &str),
        what: &str,
        cause: Option<usize>,
        out: Option<&Outcome>,
    ) -> usize {
        let Lines {
            labels,
            done,
            violations,
        } = lines;
        labels.clear();
        done.clear();
        violations.clear();
        if let Some(o) = out {
            labels.extend(o.steps.iter().map(|s| s.label()));
            done.extend(o.done.iter().map(|d| Done::Op {
                op: d.op,
                outcome: d.outcome.name(),
            }));
            violations.extend(o.new_violations.iter().map(|p| p.name()));
        }
        trace.push_ref(EventRef {
            index: 0,
            time,
            kind,
            reason,
            from,
            to,
            what,
            steps: labels,
            cause: cause.map(|i| i + 1),
            done,
            violations,
        })
    }

    /// A trace line that concerns the whole network (`*` to `*`).
    fn note(&mut self, kind: Kind, what: String, cause: Option<usize>) {
        Self::push_event(
            &mut self.trace,
            &mut self.lines,
            self.agenda.now(),
            kind,
            None,
            ("*", "*"),
            &what,
            cause,
            None,
        );
    }

    /// Apply what an event at `actor` did: labels, sends, timers, results, violations.
    fn process(&mut self, actor: Id, out: Outcome, cause: Option<usize>) {
        let event = self.trace.len().saturating_sub(1);
        if let Some(st) = cause.and_then(|i| self.steps.get_mut(i)) {
            st.labels.extend(out.steps.iter().copied());
        }
        for p in &out.new_violations {
            self.violations.push(Violation {
                property: p.name().to_string(),
                event,
                time: self.now(),
                step: cause.map(|i| i + 1),
                expected: self.sc.expect_violations.contains(p),
            });
        }
        let now = self.now();
        if self.ca == Some(actor) {
            self.metrics
                .ca_sent(out.sends.iter().map(|(d, m)| (usize::from(*d), m)), now);
        }
        for (dst, msg) in out.sends {
            self.metrics.sent(usize::from(actor), &msg, now);
            self.send(actor, dst, msg, cause);
        }
        for timer in out.set_timers {
            let cause = match &timer {
                Timer::Timeout(op) => self.ops.get(&(actor, *op)).copied().or(cause),
                // `push-ack`'s retransmissions belong to the invalidation
                // whose event set the timer; a CRL refresh to the event
                // that armed it.
                Timer::Retry | Timer::NextUpdate => cause,
            };
            if self.scripted {
                self.held_timers.push((actor, timer.clone(), cause));
                continue;
            }
            let at = self.now().saturating_add(self.timeout_ms);
            if timer.is_background() {
                self.background_events += 1;
            }
            let seq = self.agenda.schedule(
                at,
                Ev::Timer {
                    node: actor,
                    timer: timer.clone(),
                    cause,
                },
            );
            self.timers.set(actor, timer, seq);
        }
        for timer in out.cancel_timers {
            self.held_timers
                .retain(|(n, t, _)| !(*n == actor && *t == timer));
            self.timers.cancel(actor, &timer);
        }
        for done in out.done {
            if let Some(load) = &mut self.load
                && let Some(slot) = load
                    .users
                    .index_of(actor)
                    .and_then(|i| load.inflight.get_mut(i))
                && let Some(op) = slot.take_if(|op| op.op == done.op)
            {
                self.metrics
                    .ended(op.kind, op.start, now, done.outcome.name());
                if done.outcome == OpOutcome::Timeout {
                    self.fault(None);
                }
                continue;
            }
            let Some(i) = self.ops.remove(&(actor, done.op)) else {
                continue;
            };
            if done.outcome == OpOutcome::Timeout {
                self.fault(Some(i));
            }
            if let Some(st) = self.steps.get_mut(i) {
                st.sources = done.sources;
                st.reason = done.reason.map(|r| r.to_string());
            }
            self.end_step(i, Some(done.outcome.name().to_string()));
        }
    }

    fn send(&mut self, from: Id, to: Id, msg: Msg, cause: Option<usize>) {
        if self.scripted {
            self.held.push((from, to, msg, cause));
            return;
        }
        let tap = matches!(msg, Msg::Observed { .. });
        let now = self.now();
        match self.net.send(now, usize::from(from), usize::from(to), tap) {
            Fate::Dropped(reason) => {
                self.record(
                    Kind::Dropped,
                    Some(reason),
                    from,
                    to,
                    msg.to_string(),
                    cause,
                    None,
                );
                self.fault(cause);
            }
            Fate::Deliver { at, copy_at } => {
                if let Some(copy_at) = copy_at {
                    self.agenda.schedule(
                        copy_at,
                        Ev::Deliver {
                            from,
                            to,
                            msg: msg.clone(),
                            cause,
                            copy: true,
                        },
                    );
                }
                self.agenda.schedule(
                    at,
                    Ev::Deliver {
                        from,
                        to,
                        msg,
                        cause,
                        copy: false,
                    },
                );
            }
        }
    }

    fn handle(&mut self, seq: u64, ev: Ev) {
        match ev {
            Ev::Start(i) => self.start_step(i),
            Ev::WaitOver(i) => self.end_step(i, None),
            Ev::Deliver {
                from,
                to,
                msg,
                cause,
                copy,
            } => {
                let now = self.now();
                let reason = if self.net.cut(usize::from(from), usize::from(to), now) {
                    Some(DropReason::Partition)
                } else if !self.world.is_up(to) {
                    Some(DropReason::Crashed)
                } else {
                    None
                };
                if let Some(reason) = reason {
                    self.record(
                        Kind::Dropped,
                        Some(reason),
                        from,
                        to,
                        msg.to_string(),
                        cause,
                        None,
                    );
                    self.fault(cause);
                    return;
                }
                if self.ca == Some(to) {
                    self.metrics.ca_received(now);
                }
                self.metrics.delivered(usize::from(to), &msg, now);
                // The summary is written into a buffer kept from event to
                // event (the message itself goes to the model).
                let mut what = std::mem::take(&mut self.what);
                what.clear();
                let _ = write!(what, "{msg}");
                let out = self.in_world(|w| w.deliver(from, to, msg));
                let kind = if copy {
                    if self.first_duplicate.is_none() {
                        self.first_duplicate = Some(now);
                    }
                    // Its labels count for the step that caused it, also
                    // when the copy arrives after that step ended.
                    if let Some(st) = cause.and_then(|i| self.steps.get_mut(i)) {
                        st.duplicated = true;
                    }
                    Kind::Duplicated
                } else {
                    Kind::Delivered
                };
                self.record_str(kind, None, from, to, &what, cause, Some(&out));
                self.what = what;
                self.process(to, out, cause);
            }
            Ev::Timer { node, timer, cause } => {
                if timer.is_background() {
                    self.background_events -= 1;
                }
                if !self.timers.fire(node, &timer, seq) {
                    return; // cancelled, or forgotten in a crash
                }
                let what = timer.to_string();
                let out = self.in_world(|w| w.fire(node, &timer));
                self.record(Kind::Timer, None, node, node, what, cause, Some(&out));
                self.process(node, out, cause);
            }
            Ev::Arrival(a) => self.arrive(a),
        }
    }

    /// Schedule the next step if every step before it has ended.
    fn schedule_next(&mut self) {
        let j = self.next;
        let Some(step) = self.sc.steps.get(j) else {
            return;
        };
        if step.concurrent && j > 0 {
            return; // scheduled when its predecessor starts
        }
        // Scripted: a step starts once the one before it was applied; an
        // operation goes on while later steps deliver its messages. A wait
        // is applied when its time is over: the steps after it run later.
        let scripted = self.scripted;
        let waits = |k: usize| matches!(self.sc.steps.get(k), Some(s) if matches!(s.action, Action::Wait { .. }));
        if self.steps[..j]
            .iter()
            .enumerate()
            .all(|(k, s)| s.ended.is_some() || (scripted && s.started.is_some() && !waits(k)))
        {
            let delay = if scripted { 0 } else { step.delay_ms };
            let at = self.now().saturating_add(delay);
            self.agenda.schedule(at, Ev::Start(j));
            self.next = j + 1;
        }
    }

    fn end_step(&mut self, i: usize, actual: Option<String>) {
        let now = self.now();
        if let Some(st) = self.steps.get_mut(i) {
            if st.ended.is_some() {
                return;
            }
            st.ended = Some(now);
            if actual.is_some() {
                st.actual = actual;
            }
        }
        self.schedule_next();
    }

    fn start_step(&mut self, i: usize) {
        let now = self.now();
        let Some(step) = self.sc.steps.get(i) else {
            return;
        };
        let running: Vec<usize> = (0..self.steps.len())
            .filter(|k| {
                *k != i && self.steps[*k].started.is_some() && self.steps[*k].ended.is_none()
            })
            .collect();
        for k in &running {
            self.steps[*k].raced = true;
        }
        self.steps[i].raced = !running.is_empty();
        self.steps[i].started = Some(now);
        if let Some(next) = self.sc.steps.get(i + 1)
            && next.concurrent
        {
            self.agenda
                .schedule(now.saturating_add(next.delay_ms), Ev::Start(i + 1));
            self.next = i + 2;
        }
        let what = step.action.to_string();
        let cause = Some(i);
        let resolved = |e: &Self, name: &str| e.node(name).unwrap_or_default();
        match &step.action {
            Action::Issue { user, service, .. }
            | Action::Use { user, service, .. }
            | Action::Prohibit { user, service }
            | Action::Invalidate { user, service, .. }
            | Action::Statement { user, service } => {
                let (uid, sid) = (resolved(self, user), resolved(self, service));
                let command = self.command(&step.action, user, service, sid);
                self.begin(i, uid, sid, &Choice::User(command), what);
            }
            Action::Impersonate {
                attacker,
                victim,
                service,
            } => {
                let (aid, vid, sid) = (
                    resolved(self, attacker),
                    resolved(self, victim),
                    resolved(self, service),
                );
                match self.world.attacker_replay(aid, vid, sid) {
                    Some(choice) => self.begin(i, aid, sid, &choice, what),
                    None => {
                        self.record(
                            Kind::Start,
                            None,
                            aid,
                            sid,
                            format!("{what}: nothing of {victim}'s seen to replay"),
                            cause,
                            None,
                        );
                        self.end_step(i, Some(OpOutcome::Rejected.name().to_string()));
                    }
                }
            }
            Action::Probe {
                service,
                request,
                serial,
            } => {
                let sid = resolved(self, service);
                let ca = self.world.system.dir.ca().unwrap_or_default();
                let choice = Choice::Malicious(Move::Probe {
                    request: *request,
                    serial: *serial,
                });
                self.begin(i, sid, ca, &choice, what);
            }
            Action::Requalify {
                service,
                victim,
                serial,
            } => {
                let (sid, vid) = (resolved(self, service), resolved(self, victim));
                let choice = self.world.malicious_requalify(sid, vid, *serial);
                let why = format!("{what}: no presentation of theirs seen ({victim})");
                self.begin_move(i, sid, choice, what, why, OpOutcome::NotQualified);
            }
            Action::Revoke {
                service,
                victim,
                request,
            } => {
                let (sid, vid) = (resolved(self, service), resolved(self, victim));
                let choice = self.world.malicious_revoke(sid, vid, *request);
                let why = format!("{what}: it was never shown {victim}'s serial");
                self.begin_move(i, sid, choice, what, why, OpOutcome::NotQualified);
            }
            Action::Substitute { service, victim } => {
                let (sid, vid) = (resolved(self, service), resolved(self, victim));
                let choice = self.world.malicious_substitute(sid, vid);
                let why = format!(
                    "{what}: their key was never shown to it, or is substituted ({victim})"
                );
                self.begin_move(i, sid, choice, what, why, OpOutcome::Rejected);
            }
            Action::Relay {
                service,
                victim,
                to,
                ..
            }
            | Action::Bind {
                service,
                victim,
                to,
            } => {
                let (sid, vid, tid) = (
                    resolved(self, service),
                    resolved(self, victim),
                    resolved(self, to),
                );
                let (choice, missing) = match &step.action {
                    Action::Relay { serial, .. } => (
                        self.world.malicious_relay(sid, vid, tid, *serial),
                        "presentation of theirs seen to relay",
                    ),
                    _ => (
                        self.world.malicious_bind(sid, vid, tid),
                        "credential of theirs harvested to bind",
                    ),
                };
                match choice {
                    Some(choice) => self.begin(i, sid, tid, &choice, what),
                    None => {
                        self.record(
                            Kind::Start,
                            None,
                            sid,
                            tid,
                            format!("{what}: no {missing} ({victim})"),
                            cause,
                            None,
                        );
                        self.end_step(i, Some(OpOutcome::Rejected.name().to_string()));
                    }
                }
            }
            Action::Partition { nodes } => {
                let ids: BTreeSet<usize> = nodes
                    .iter()
                    .filter_map(|n| self.node(n))
                    .map(usize::from)
                    .collect();
                self.net.partition(ids);
                self.note(Kind::Partition, what, cause);
                self.end_step(i, None);
            }
            Action::Heal => {
                self.net.heal();
                self.note(Kind::Heal, what, cause);
                self.end_step(i, None);
            }
            Action::Crash { node } => {
                let id = resolved(self, node);
                self.record(Kind::Crash, None, id, id, what, cause, None);
                self.crash_node(id);
                self.end_step(i, None);
            }
            Action::Restart { node } => {
                let id = resolved(self, node);
                // Restarting a node that is up loses its memory as a crash would.
                if self.world.is_up(id) {
                    self.crash_node(id);
                }
                let out = self.world.restart(id);
                self.record(Kind::Restart, None, id, id, what, cause, Some(&out));
                self.process(id, out, cause);
                self.end_step(i, None);
            }
            Action::Wait { ms } => {
                self.note(Kind::Start, what, cause);
                // Scripted too: nothing is due meanwhile (every message
                // and timer is held), so a wait only moves the clock, as a
                // checker's clock jump does (`check --clock-jumps`).
                self.agenda
                    .schedule(now.saturating_add(*ms), Ev::WaitOver(i));
            }
            Action::Deliver {
                from,
                to,
                message,
                op,
                duplicate,
            } => {
                match self.take_held(from, to, message, *op, *duplicate) {
                    Some((f, t, msg, cause)) => self.handle(
                        0,
                        Ev::Deliver {
                            from: f,
                            to: t,
                            msg,
                            cause,
                            copy: *duplicate,
                        },
                    ),
                    None => self.script_error(i, &what),
                }
                self.end_step(i, None);
            }
            Action::Drop {
                from,
                to,
                message,
                op,
            } => {
                match self.take_held(from, to, message, *op, false) {
                    Some((f, t, msg, c)) => {
                        self.record(
                            Kind::Dropped,
                            Some(DropReason::Loss),
                            f,
                            t,
                            msg.to_string(),
                            c,
                            None,
                        );
                        self.fault(c);
                    }
                    None => self.script_error(i, &what),
                }
                self.end_step(i, None);
            }
            Action::Timeout { node, op, timer } => {
                let id = resolved(self, node);
                // Without `op`: one of the CA's background timers, as
                // `timer` names it (without it, the first held).
                let wanted = |t: &Timer| match (op, timer) {
                    (Some(op), _) => *t == Timer::Timeout(*op),
                    (None, Some(named)) => *t == named.timer(),
                    (None, None) => t.is_background(),
                };
                match self
                    .held_timers
                    .iter()
                    .position(|(n, t, _)| *n == id && wanted(t))
                {
                    Some(k) => {
                        let (_, timer, cause) = self.held_timers.remove(k);
                        let out = self.world.fire(id, &timer);
                        self.record(
                            Kind::Timer,
                            None,
                            id,
                            id,
                            timer.to_string(),
                            cause,
                            Some(&out),
                        );
                        self.process(id, out, cause);
                    }
                    None => self.script_error(i, &what),
                }
                self.end_step(i, None);
            }
        }
        if self.scripted {
            self.schedule_next();
        }
    }

    /// Scripted: the held message `from` -> `to` whose text is `message`
    /// (and operation `op`): removed, or copied when `keep`.
    fn take_held(
        &mut self,
        from: &str,
        to: &str,
        message: &str,
        op: Option<u32>,
        keep: bool,
    ) -> Option<(Id, Id, Msg, Option<usize>)> {
        let (f, t) = (self.node(from)?, self.node(to)?);
        let k = self.held.iter().position(|(a, b, m, _)| {
            *a == f && *b == t && m.to_string() == message && op.is_none_or(|o| m.op() == Some(o))
        })?;
        if keep {
            self.held.get(k).cloned()
        } else {
            Some(self.held.remove(k))
        }
    }

    fn script_error(&mut self, i: usize, what: &str) {
        let held: Vec<String> = self
            .held
            .iter()
            .map(|(f, t, m, _)| format!("{} -> {}: {m}", self.name(*f), self.name(*t)))
            .collect();
        self.script_errors.push((
            i,
            format!(
                "{what}: no such message or timer is held (held: {})",
                if held.is_empty() {
                    "nothing".to_string()
                } else {
                    held.join("; ")
                }
            ),
        ));
    }

    /// The node stops: its memory, timers and operations in flight are lost.
    fn crash_node(&mut self, id: Id) {
        self.world.crash(id);
        self.timers.forget(id);
        // Taken out of the maps, then handled in the order of the
        // operations, as the run's order must not depend on the maps'.
        let mut lost: Vec<(OpId, usize)> = self
            .ops
            .extract_if(|(n, _), _| *n == id)
            .map(|((_, op), s)| (op, s))
            .collect();
        lost.sort_unstable();
        for (_, s) in lost {
            self.end_step(s, Some("crashed".to_string()));
        }
        let now = self.now();
        if let Some(load) = &mut self.load
            && let Some(op) = load
                .users
                .index_of(id)
                .and_then(|i| load.inflight.get_mut(i))
                .and_then(Option::take)
        {
            self.metrics.ended(op.kind, op.start, now, "crashed");
        }
    }

    /// Schedule the workload's next arrival, if there is one.
    fn schedule_arrival(&mut self) {
        let Some(load) = &mut self.load else {
            return;
        };
        let next = match load.ahead.take() {
            Some(a) => Some(a),
            None => load.arrivals.next(load.w),
        };
        let Some(a) = next else {
            return;
        };
        load.ahead = load.arrivals.next(load.w);
        // The arrival after this one reads its user's memory.
        if let Some(uid) = load.ahead.and_then(|b| load.users.get(b.user)) {
            self.prefetch_node(uid);
        }
        self.agenda.schedule(a.at, Ev::Arrival(a));
    }

    /// A workload operation arrives: start it unless its user is busy or down.
    fn arrive(&mut self, a: Arrival) {
        self.schedule_arrival();
        let Some(load) = &mut self.load else {
            return;
        };
        if let Some(bar) = &load.progress {
            bar.set_position(a.at);
        }
        let (Some(uid), Some(&sid)) = (load.users.get(a.user), load.services.get(a.service)) else {
            return;
        };
        if load.inflight.get(a.user).is_none_or(Option::is_some) {
            self.metrics.busy();
            return;
        }
        // A person asks for a certificate only when they hold none they can
        // use (none yet, or one they invalidated); one who holds a good one
        // uses it instead, the patent's premise of one certificate for many
        // services. (Asking a second service anyway is the finding
        // `one-certificate-per-user` without the `one-per-subject` hardening,
        // which hand-written scenarios show.)
        let holds_good = matches!(
            self.world.state(uid),
            Some(commoncert_model::node::NodeState::User(st))
                if st.certificate.is_some() && !st.invalidated
        );
        let kind = match a.kind {
            OpKind::Issue if holds_good => OpKind::Use,
            k => k,
        };
        let a = Arrival { kind, ..a };
        let command = match a.kind {
            OpKind::Issue => Command::Issue {
                service: sid,
                credential: None,
            },
            OpKind::Use => Command::Use {
                service: sid,
                login: true,
                credential: None,
            },
            OpKind::Statement => Command::Statement { portal: sid },
            OpKind::Prohibit => Command::Prohibit { service: sid },
            OpKind::Invalidate => Command::Invalidate {
                service: sid,
                using: load.w.invalidate_using,
                credential: None,
            },
        };
        let (out, op) = self.in_world(|w| w.choose(uid, &Choice::User(command)));
        let Some(op) = op else {
            self.metrics.down();
            return;
        };
        let now = self.now();
        if let Some(slot) = self.load.as_mut().and_then(|l| l.inflight.get_mut(a.user)) {
            *slot = Some(InFlight {
                op,
                kind: a.kind,
                start: now,
            });
        }
        self.metrics.started();
        let mut what = std::mem::take(&mut self.what);
        what.clear();
        let dir = &self.world.system.dir;
        let _ = write!(
            what,
            "workload: {} {} at {}",
            a.kind.name(),
            dir.name(uid),
            dir.name(sid)
        );
        self.record_str(Kind::Start, None, uid, sid, &what, None, Some(&out));
        self.what = what;
        self.process(uid, out, None);
    }

    fn command(&self, action: &Action, user: &str, service: &str, sid: Id) -> Command {
        let modes = self.world.system.dir.modes;
        let override_with = |password: &Option<String>| {
            password.as_ref().map(|pw| {
                let login = self
                    .sc
                    .spec
                    .users
                    .iter()
                    .find(|u| u.name == user)
                    .and_then(|u| u.accounts.get(service))
                    .map_or(user.to_string(), |(login, _)| login.clone());
                credential(modes.primary_auth, login, pw)
            })
        };
        match action {
            Action::Issue { password, .. } => Command::Issue {
                service: sid,
                credential: override_with(password).map(std::sync::Arc::new),
            },
            Action::Use {
                login, password, ..
            } => Command::Use {
                service: sid,
                login: *login,
                credential: override_with(password).map(std::sync::Arc::new),
            },
            Action::Prohibit { .. } => Command::Prohibit { service: sid },
            Action::Invalidate {
                using, password, ..
            } => Command::Invalidate {
                service: sid,
                using: *using,
                credential: override_with(password).map(std::sync::Arc::new),
            },
            _ => Command::Statement { portal: sid },
        }
    }

    /// Step `i`: a malicious service's move towards the CA, or, when the
    /// service cannot make it (`choice` None), the step ends `otherwise`
    /// with nothing sent, saying `why`.
    fn begin_move(
        &mut self,
        i: usize,
        service: Id,
        choice: Option<Choice>,
        what: String,
        why: String,
        otherwise: OpOutcome,
    ) {
        let ca = self.world.system.dir.ca().unwrap_or_default();
        match choice {
            Some(choice) => self.begin(i, service, ca, &choice, what),
            None => {
                self.record(Kind::Start, None, service, ca, why, Some(i), None);
                self.end_step(i, Some(otherwise.name().to_string()));
            }
        }
    }

    fn begin(&mut self, i: usize, who: Id, service: Id, choice: &Choice, what: String) {
        let (out, op) = self.in_world(|w| w.choose(who, choice));
        let Some(op) = op else {
            self.record(
                Kind::Start,
                None,
                who,
                service,
                format!("{what}: {} is down", self.name(who)),
                Some(i),
                None,
            );
            self.end_step(i, Some("down".to_string()));
            return;
        };
        self.ops.insert((who, op), i);
        self.record(Kind::Start, None, who, service, what, Some(i), Some(&out));
        self.process(who, out, Some(i));
    }

    fn finish(
        mut self,
        opts: Options,
        profile: Option<FaultProfile>,
        runaway: Option<String>,
    ) -> Run {
        let sc = self.sc;
        let swarm = opts.swarm;
        let mut failures = Vec::new();
        let mut tolerated = Vec::new();
        if let Some(r) = runaway {
            failures.push(Failure {
                step: None,
                line: None,
                message: r,
            });
        }
        // Under swarm, what the faults explain is tolerated, never an
        // unexpected invariant violation:
        // - an outcome, when it is or was expected to be `timeout`, or a message was lost or an
        //   operation timed out before the step ended, or steps raced
        //   (latency decides their order), or an earlier step's mismatch was
        //   tolerated (the state is not what the file planned for);
        // - step labels, sources, final tables and expected violations,
        //   also when a duplicate was delivered before (duplicates repeat labels).
        // A duplicate alone does not excuse an outcome: a protocol should
        // shrug off duplicated messages, and swarm is there to find out.
        let before = |t: Option<Time>, end: Option<Time>| match (t, end) {
            (Some(f), Some(end)) => f <= end,
            (Some(_), None) => true,
            (None, _) => false,
        };
        let any_fault = self.first_fault.is_some() || self.first_duplicate.is_some();
        // A file whose expectations belong to its own seed, run under another.
        let foreign_seed = sc.seed_dependent && opts.seed != sc.seed;
        let mut raced_so_far = false;
        // Once one step's result was the faults' doing, later steps start
        // from a state the file did not plan for.
        let mut cascade = false;
        let mut results = Vec::new();
        for (step, st) in sc.steps.iter().zip(&self.steps) {
            raced_so_far |= st.raced;
            let timed_out = st.actual.as_deref() == Some(OpOutcome::Timeout.name());
            let expected_timeout = step.expect == Some(OpOutcome::Timeout);
            let outcome_excusable = foreign_seed
                || swarm
                    && (timed_out
                        || expected_timeout
                        || raced_so_far
                        || cascade
                        || st.lost
                        || before(self.first_fault, st.ended));
            let detail_excusable = outcome_excusable
                || (swarm && (st.duplicated || before(self.first_duplicate, st.ended)));
            let here = format!("step {} (line {}, {})", step.number, step.line, step.action);
            // (message, excusable under swarm)
            let mut problems: Vec<(String, bool)> = Vec::new();
            match (st.started, st.ended) {
                (None, _) => problems.push((format!("{here}: never started"), outcome_excusable)),
                (Some(_), None) if !(self.scripted && step.expect.is_none()) => {
                    problems.push((format!("{here}: did not end"), outcome_excusable))
                }
                _ => {}
            }
            if let Some(expected) = step.expect
                && st.ended.is_some()
            {
                let actual = st.actual.as_deref().unwrap_or("none");
                if actual != expected.name() {
                    let why = st
                        .reason
                        .as_ref()
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default();
                    problems.push((
                        format!(
                            "{here}: expected outcome {}, got {actual}{why}",
                            expected.name()
                        ),
                        outcome_excusable,
                    ));
                }
            }
            if let Some(expected) = &step.expect_steps
                && st.ended.is_some()
            {
                let actual = restrict_to_families(&st.labels, expected);
                if &actual != expected {
                    // Concurrent requests (P39/P43 fan out) arrive in the
                    // order latency decides: a reordering is the seed's doing.
                    let reordered = {
                        let (mut a, mut e) = (actual.clone(), expected.clone());
                        a.sort();
                        e.sort();
                        a == e
                    };
                    problems.push((
                        format!(
                            "{here}: expected steps [{}], got [{}]",
                            labels(expected),
                            labels(&actual)
                        ),
                        detail_excusable || (swarm && reordered),
                    ));
                }
            }
            if let Some(expected) = &step.expect_sources
                && st.ended.is_some()
            {
                let mut e = expected.clone();
                e.sort();
                let mut a = st.sources.clone();
                a.sort();
                if e != a {
                    problems.push((
                        format!(
                            "{here}: expected sources [{}], got [{}]",
                            e.join(", "),
                            a.join(", ")
                        ),
                        detail_excusable,
                    ));
                }
            }
            let pass = problems.is_empty();
            for (message, excusable) in problems {
                let f = Failure {
                    step: Some(step.number),
                    line: Some(step.line),
                    message,
                };
                if excusable {
                    tolerated.push(f);
                    cascade = true;
                } else {
                    failures.push(f);
                }
            }
            results.push(StepResult {
                number: step.number,
                line: step.line,
                action: step.action.to_string(),
                concurrent: step.concurrent,
                started_at: st.started,
                ended_at: st.ended,
                expected: step.expect.map(|o| o.name().to_string()),
                actual: st.actual.clone(),
                reason: st.reason.clone(),
                expected_steps: step
                    .expect_steps
                    .as_ref()
                    .map(|v| v.iter().map(|s| s.label().to_string()).collect()),
                steps: st.labels.iter().map(|s| s.label().to_string()).collect(),
                expected_sources: step.expect_sources.clone(),
                sources: st.sources.clone(),
                pass,
            });
        }
        let mut finals = Vec::new();
        for f in &sc.expect_final {
            let Some(uid) = self.node(&f.user) else {
                continue;
            };
            let actual = self.world.user_final(uid);
            let here = format!("expect_final (line {}) for {}", f.line, f.user);
            let mut problems = Vec::new();
            if let Some(c) = f.certificate
                && c != actual.certificate
            {
                problems.push(format!(
                    "{here}: certificate expected {}, got {}",
                    status(c),
                    status(actual.certificate)
                ));
            }
            for (what, expected, got) in [
                ("ca_services", &f.ca_services, &actual.ca_services),
                ("service_tables", &f.service_tables, &actual.service_tables),
            ] {
                if let Some(expected) = expected {
                    let mut e = expected.clone();
                    e.sort();
                    if &e != got {
                        problems.push(format!(
                            "{here}: {what} expected [{}], got [{}]",
                            e.join(", "),
                            got.join(", ")
                        ));
                    }
                }
            }
            let pass = problems.is_empty();
            for message in problems {
                let fl = Failure {
                    step: None,
                    line: Some(f.line),
                    message,
                };
                if foreign_seed || swarm && (any_fault || raced_so_far) {
                    tolerated.push(fl);
                } else {
                    failures.push(fl);
                }
            }
            finals.push(FinalResult {
                user: f.user.clone(),
                line: f.line,
                actual,
                pass,
            });
        }
        for v in self.violations.iter().filter(|v| !v.expected) {
            let step = v
                .step
                .map(|s| format!(", caused by step {s}"))
                .unwrap_or_default();
            // A finding the file declares faults may show, under injected faults.
            let declared = sc
                .expect_under_faults
                .iter()
                .any(|p| p.name() == v.property);
            // A workload's own lossy network is its faults: a declared finding
            // is tolerated once a message was lost or an operation timed out.
            let workload_fault =
                sc.workload.is_some() && self.first_fault.is_some_and(|t| t <= v.time) && declared;
            let bucket = if swarm && any_fault && declared || workload_fault {
                &mut tolerated
            } else {
                &mut failures
            };
            bucket.push(Failure {
                step: v.step,
                line: v
                    .step
                    .and_then(|s| sc.steps.get(s.wrapping_sub(1)))
                    .map(|s| s.line),
                message: format!(
                    "invariant {} violated at event {} (t={}ms{step}), not expected",
                    v.property, v.event, v.time
                ),
            });
        }
        for (i, e) in &self.script_errors {
            failures.push(Failure {
                step: Some(i + 1),
                line: sc.steps.get(*i).map(|s| s.line),
                message: format!("step {}: {e}", i + 1),
            });
        }
        // A label recorded without its effect, or durable state a crash lost
        // because no handler persisted it, is a fault of the model itself.
        for fault in &self.world.label_faults {
            failures.push(Failure {
                step: None,
                line: None,
                message: format!("step label without its effect: {fault}"),
            });
        }
        for fault in &self.world.lost_at_crash {
            failures.push(Failure {
                step: None,
                line: None,
                message: format!("crash lost unpersisted state: {fault}"),
            });
        }
        for p in &sc.expect_violations {
            if !self.violations.iter().any(|v| v.property == p.name()) {
                let f = Failure {
                    step: None,
                    line: None,
                    message: format!(
                        "invariant {} was expected to be violated but held throughout",
                        p.name()
                    ),
                };
                if foreign_seed || swarm && (any_fault || raced_so_far) {
                    tolerated.push(f);
                } else {
                    failures.push(f);
                }
            }
        }
        // A workload's PKI is a million certificates: not exported.
        let pki = sc.workload.is_none().then(|| {
            let (users, crls) = self.world.pki_material();
            Pki {
                root: self.world.system.ca_root().clone(),
                users,
                crls,
            }
        });
        let end = self.now();
        let metrics = sc.workload.as_ref().map(|_| {
            self.metrics
                .summary(end, |n| self.world.system.dir.name(Id::from(n)).to_string())
        });
        let parties = self
            .world
            .system
            .dir
            .parties
            .iter()
            .map(|p| p.name.to_string())
            .collect();
        let names = |n: usize| self.name(Id::from(n));
        let profile = profile.map(|p| p.describe(names));
        let trace = std::mem::take(&mut self.trace);
        Run {
            name: sc.name.clone(),
            description: sc.description.clone(),
            file: sc.file.clone(),
            seed: opts.seed,
            profile,
            pass: failures.is_empty(),
            events: trace.len(),
            trace_hash: trace.fingerprint(),
            steps: results,
            violations: self.violations,
            finals,
            failures,
            tolerated,
            parties,
            trace,
            pki,
            metrics,
            timing: Timing::default(),
        }
    }
}

fn labels(v: &[Label]) -> String {
    v.iter().map(|s| s.label()).collect::<Vec<_>>().join(", ")
}

fn status(c: commoncert_model::world::CertificateStatus) -> &'static str {
    use commoncert_model::world::CertificateStatus as S;
    match c {
        S::Valid => "valid",
        S::Invalidated => "invalidated",
        S::None => "none",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timer_fires_only_at_its_latest_setting_and_not_once_cancelled_or_forgotten() {
        let (a, b) = (Id::from(1), Id::from(7)); // 7: past the list, grown on demand
        let mut timers = Timers::new(2);
        timers.set(a, Timer::Timeout(1), 10);
        timers.set(a, Timer::Retry, 11);
        timers.set(a, Timer::Timeout(1), 12); // set again: 10 is stale
        timers.set(b, Timer::Timeout(1), 13);
        assert!(!timers.fire(a, &Timer::Timeout(1), 10));
        assert!(timers.fire(a, &Timer::Timeout(1), 12));
        assert!(!timers.fire(a, &Timer::Timeout(1), 12), "fires once");
        timers.cancel(b, &Timer::Timeout(1));
        assert!(!timers.fire(b, &Timer::Timeout(1), 13));
        timers.forget(a);
        assert!(!timers.fire(a, &Timer::Retry, 11));
        timers.set(a, Timer::Retry, 14);
        assert!(
            timers.fire(a, &Timer::Retry, 14),
            "a restarted node sets timers anew"
        );
    }

    #[test]
    fn generated_users_numbered_in_order_are_a_range_and_others_a_list_both_ways() {
        let ids = |v: &[usize]| v.iter().copied().map(Id::from).collect::<Vec<_>>();
        let range = Users::new(ids(&[9, 10, 11]));
        assert!(matches!(range, Users::Consecutive { first: 9, n: 3 }));
        assert_eq!(range.get(2), Some(Id::from(11)));
        assert_eq!(range.get(3), None);
        let list = Users::new(ids(&[9, 11, 10]));
        assert!(matches!(list, Users::Listed(..)));
        assert_eq!(list.get(1), Some(Id::from(11)));
        assert_eq!(list.get(3), None);
        // And back, from a node to its index; other nodes are no user's.
        for users in [&range, &list] {
            for i in 0..3 {
                let id = users.get(i).expect("a user");
                assert_eq!(users.index_of(id), Some(i));
            }
            assert_eq!(users.index_of(Id::from(8)), None);
            assert_eq!(users.index_of(Id::from(12)), None);
        }
        assert_eq!(Users::new(Vec::new()).get(0), None);
    }
}
