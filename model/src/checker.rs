//! The stateright model: a `CheckConfig` becomes an `ActorModel` of the real
//! actors (`into_model`), checked with the shared properties, step coverage
//! and step-labelled counterexamples.
//!
//! Time is abstract here: the virtual clock stays at zero (certificates are
//! valid and CRLs current for the whole run) unless `clock_jumps` lets it
//! jump forward a bounded number of times (`clock.rs`); then the time is
//! part of the checked state and every transition runs at it. Every other
//! input is the real one, including the DER certificates and CRLs.

use crate::config::{
    Defects, Directory, Hardening, Modes, Presentation, PrimaryAuth, Revocation, Serials,
};
use crate::counterexample::{Line, explain};
use crate::effects::Timer;
use crate::explore::{Ended, Explored, Limits, Progress, explore, fingerprint, property_targets};
use crate::hashed::Hashed;
use crate::liveness::{Awaits, EdgeClass};
use crate::msg::Msg;
use crate::node::{Choice, Node, NodeState};
use crate::properties::{History, Liveness, Milestone, Property, holds};
use crate::step::Step;
use crate::symmetry::Symmetry;
use crate::system::{BuildError, System, SystemSpec, standard_spec};
use serde::{Deserialize, Serialize};
use stateright::actor::{
    Actor, ActorModel, ActorModelAction, ActorModelState, Envelope, Id, LossyNetwork, Network, Out,
};
use stateright::{Checker, Expectation, Model};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

/// Network semantics, as stateright offers them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NetworkKind {
    /// Per-pair FIFO.
    Ordered,
    /// Any order, each message once.
    #[default]
    Unordered,
    /// Any order, any number of times.
    Duplicating,
}

/// A model-checking configuration: the parameters researchers vary.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct CheckConfig {
    /// Services (>= 2); with `portal`, the first is a portal and the rest banks.
    pub services: usize,
    pub users: usize,
    pub portal: bool,
    pub revocation: Revocation,
    pub presentation: Presentation,
    /// How the CA numbers certificates (`config::Serials`): random, as real
    /// CAs do, unless sequential is asked for; serials are drawn from the
    /// system's seed, so a run is the same every time.
    pub serials: Serials,
    pub network: NetworkKind,
    pub lossy: bool,
    /// At most this many nodes crashed at once (tables durable, sessions lost).
    pub crashes: usize,
    pub attacker: bool,
    /// The attacker is a network attacker (`--attacker network`): it holds
    /// a genuine certificate of its own and presents it as well as what it
    /// saw, and the network drops (lossy) and reorders at its will.
    pub network_attacker: bool,
    /// Operations each user chooses nondeterministically.
    pub actions: u8,
    /// Operations a user may have in flight at once.
    pub concurrency: u8,
    /// Variant T1: Fig. 5 and Fig. 6 as one table.
    pub merged_tables: bool,
    /// Variant V2: biometric primary authentication (one template per user).
    pub biometric: bool,
    /// Variant V3: the CA inside the portal's node (implies `portal`).
    pub ca_in_portal: bool,
    /// Service A is honest but curious: it replays the credentials users
    /// give it at B (shows V2's risk).
    pub curious_service: bool,
    /// The service (by index: 0 is `A`) that is malicious (`malicious.rs`):
    /// it probes the CA on serials it was never shown, relays presentations
    /// and replays credentials, within the `actions` budget.
    pub malicious_service: Option<usize>,
    /// The malicious service is an outsider: no user holds an account there,
    /// so it is never issuing or qualified for anyone's certificate.
    pub outsider: bool,
    /// Hardening options (`config::Hardening`; none: the patent as written).
    pub harden: Hardening,
    /// Deliberate defects (all off in the standard matrix).
    pub defects: Defects,
    /// Stop exploring below this depth (None: exhaustive).
    pub depth: Option<usize>,
    /// Stop cleanly after this many unique states (verdicts then `unknown`).
    pub max_states: Option<usize>,
    /// Stop cleanly when resident memory exceeds this many bytes.
    pub max_memory: Option<u64>,
    pub symmetry: bool,
    pub threads: usize,
    /// Also check the liveness properties (`liveness.rs`): fair cycles over
    /// the whole state graph, without symmetry.
    pub liveness: bool,
    /// How many times the clock may jump forward (`clock::Jump`): past
    /// every CRL's nextUpdate (under `crl-freshness`) or past every
    /// certificate's notAfter. 0: time stands still, as it always did.
    pub clock_jumps: u8,
    /// Users' timers longer than any round trip: a user's operation times
    /// out only when nothing of it is still in flight (its request or an
    /// answer was lost, or a party crashed). Off, a timer may fire at any
    /// time, as a timer shorter than the network's delay can. The patent
    /// says nothing about timeouts; this separates a lost answer from a
    /// premature timeout.
    pub patient_timers: bool,
}

impl Default for CheckConfig {
    fn default() -> Self {
        CheckConfig {
            services: 2,
            users: 1,
            portal: false,
            revocation: Revocation::Online,
            presentation: Presentation::ProofOfPossession,
            serials: Serials::Random,
            network: NetworkKind::Unordered,
            lossy: false,
            crashes: 0,
            attacker: false,
            network_attacker: false,
            actions: 2,
            concurrency: 1,
            merged_tables: false,
            biometric: false,
            ca_in_portal: false,
            curious_service: false,
            malicious_service: None,
            outsider: false,
            harden: Hardening::default(),
            defects: Defects::default(),
            depth: None,
            max_states: None,
            max_memory: None,
            symmetry: false,
            threads: 1,
            liveness: false,
            clock_jumps: 0,
            patient_timers: false,
        }
    }
}

/// How many explored transitions realised each step label.
#[derive(Debug, Default)]
pub struct Coverage {
    counts: Vec<AtomicU64>,
    frozen: AtomicBool,
}

impl Coverage {
    fn new() -> Self {
        Coverage {
            counts: Step::ALL.iter().map(|_| AtomicU64::new(0)).collect(),
            frozen: AtomicBool::new(false),
        }
    }

    fn count(&self, steps: &[Step]) {
        if self.frozen.load(Ordering::Relaxed) {
            return;
        }
        for s in steps {
            if let Some(i) = Step::ALL.iter().position(|x| x == s) {
                self.counts[i].fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Stop counting (path reconstruction re-runs transitions).
    pub(crate) fn freeze(&self) {
        self.frozen.store(true, Ordering::Relaxed);
    }

    /// Count again (a swarm member's shrinking is done).
    pub(crate) fn thaw(&self) {
        self.frozen.store(false, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> BTreeMap<Step, u64> {
        Step::ALL
            .iter()
            .zip(&self.counts)
            .map(|(s, c)| (*s, c.load(Ordering::Relaxed)))
            .collect()
    }
}

/// A node as the checker runs it: the real actor, counting step coverage.
#[derive(Clone, Debug)]
pub struct Checked {
    pub node: Node,
    coverage: Arc<Coverage>,
}

impl Actor for Checked {
    type Msg = Msg;
    type Timer = Timer;
    /// Each party's state remembers its hash until it changes, so that a
    /// state's fingerprint rehashes only the party a transition changed.
    type State = Hashed<NodeState>;
    /// Shared, so that cloning a state does not copy every durable table,
    /// and hashed once per save.
    type Storage = Arc<Hashed<crate::node::Storage>>;
    type Random = Choice;

    fn on_start(
        &self,
        id: Id,
        storage: &Option<Self::Storage>,
        o: &mut Out<Self>,
    ) -> Hashed<NodeState> {
        let (state, fx) = self.node.start(id, storage.as_deref().map(|s| &**s));
        self.coverage.count(&fx.steps);
        self.node.apply_to(&state, fx, o);
        Hashed::new(state)
    }

    fn on_msg(
        &self,
        id: Id,
        state: &mut Cow<Hashed<NodeState>>,
        src: Id,
        msg: Msg,
        o: &mut Out<Self>,
    ) {
        let st = state.to_mut();
        let fx = self.node.on_message(id, st, src, msg);
        self.coverage.count(&fx.steps);
        self.node.apply_to(st, fx, o);
    }

    fn on_timeout(
        &self,
        id: Id,
        state: &mut Cow<Hashed<NodeState>>,
        timer: &Timer,
        o: &mut Out<Self>,
    ) {
        let st = state.to_mut();
        let fx = self.node.on_timer(id, st, timer);
        self.coverage.count(&fx.steps);
        self.node.apply_to(st, fx, o);
    }

    fn on_random(
        &self,
        id: Id,
        state: &mut Cow<Hashed<NodeState>>,
        random: &Choice,
        o: &mut Out<Self>,
    ) {
        let st = state.to_mut();
        let (fx, _) = self.node.on_choice(id, st, random);
        self.coverage.count(&fx.steps);
        self.node.apply_to(st, fx, o);
    }
}

/// What the model's properties and history hook can see.
#[derive(Clone, Debug)]
pub struct ModelCfg {
    pub system: System,
}

/// The history is shared between states until an observation changes it,
/// so that a transition copies no history it did not change.
pub type Actors = ActorModel<Checked, ModelCfg, Arc<Hashed<History>>>;
pub type CcState = ActorModelState<Checked, Arc<Hashed<History>>>;
pub type CcAction = ActorModelAction<Msg, Timer, Choice>;

/// The checked model: stateright's `ActorModel` of the real actors (read
/// through `Deref`), its properties, and with `--clock-jumps` the time.
/// The time lives in the clock actor's state, so it is hashed, renamed and
/// compared with the rest of a state; every transition (and every replay
/// of one, `stepping`) runs with the handlers' clock reading it.
#[derive(Clone)]
pub struct CcModel {
    inner: Actors,
    /// The clock actor's index, with `--clock-jumps`.
    clock: Option<usize>,
    /// `--patient-timers`: a user's timeout waits until nothing of its
    /// operation is in flight.
    patient: bool,
    properties: Vec<stateright::Property<CcModel>>,
}

impl std::ops::Deref for CcModel {
    type Target = Actors;
    fn deref(&self) -> &Actors {
        &self.inner
    }
}

impl std::ops::DerefMut for CcModel {
    fn deref_mut(&mut self) -> &mut Actors {
        &mut self.inner
    }
}

impl CcModel {
    /// The checked time of `s` (None: the clock stands still at zero).
    pub fn now(&self, s: &CcState) -> Option<crate::x509::VirtualTime> {
        let clock = s.actor_states.get(self.clock?)?;
        (***clock).clock().map(|c| c.now)
    }

    /// Run `f`, a transition from `s` or a replay of one of its handlers,
    /// with the handlers' clock reading `s`'s time.
    pub fn stepping<R>(&self, s: &CcState, f: impl FnOnce() -> R) -> R {
        match self.now(s) {
            Some(now) => crate::clock::stepping(now, f),
            None => f(),
        }
    }
}

impl Model for CcModel {
    type State = CcState;
    type Action = CcAction;

    fn init_states(&self) -> Vec<CcState> {
        match self.clock {
            Some(_) => crate::clock::stepping(0, || self.inner.init_states()),
            None => self.inner.init_states(),
        }
    }

    fn actions(&self, s: &CcState, actions: &mut Vec<CcAction>) {
        self.inner.actions(s, actions);
        if let Some(clock) = self.clock {
            // Time is the environment's: the clock never crashes.
            actions
                .retain(|a| !matches!(a, ActorModelAction::Crash(id) if usize::from(*id) == clock));
        }
        if self.patient {
            actions.retain(|a| match a {
                ActorModelAction::Timeout(user, crate::effects::Timer::Timeout(op)) => {
                    !operation_in_flight(&s.network, *user, *op)
                }
                _ => true,
            });
        }
    }

    fn next_state(&self, s: &CcState, action: CcAction) -> Option<CcState> {
        self.stepping(s, || self.inner.next_state(s, action))
    }

    fn format_action(&self, action: &CcAction) -> String {
        self.inner.format_action(action)
    }

    fn format_step(&self, s: &CcState, action: CcAction) -> Option<String> {
        self.stepping(s, || self.inner.format_step(s, action))
    }

    fn as_svg(&self, path: stateright::Path<CcState, CcAction>) -> Option<String> {
        self.inner.as_svg(path)
    }

    fn properties(&self) -> Vec<stateright::Property<CcModel>> {
        self.properties.clone()
    }

    fn within_boundary(&self, s: &CcState) -> bool {
        Model::within_boundary(&self.inner, s)
    }
}

/// Whether a message of `user`'s operation `op` is in flight: sent by or
/// to the user, or between a service and the CA in the session the
/// service opened for it.
fn operation_in_flight(
    network: &stateright::actor::Network<Msg>,
    user: Id,
    op: crate::msg::OpId,
) -> bool {
    in_flight(network).into_iter().any(|env| {
        env.msg.op() == Some(op)
            && (env.src == user || env.dst == user || env.msg.session_peer() == Some(user))
    })
}

/// `push-ack`'s and `crl-freshness`'s bound: at most one copy of each
/// notification (or published CRL) and of each acknowledgement in flight.
/// The CA's retransmission and publication timers may fire while a copy
/// is still on its way, and a network that kept every copy would grow
/// without end; a state with a second copy of the same envelope is outside
/// the checked space (`within_boundary`). This is a bound, not a
/// reduction: a retransmission or publication sends to several services in
/// one transition, so while one of them still has its copy in flight the
/// copies to the others wait too, until that copy is delivered or dropped
/// (which fairness guarantees, so liveness verdicts keep their meaning).
/// Verdicts hold within this bound. Without either option it always holds.
fn one_copy_in_flight(cfg: &ModelCfg, state: &CcState) -> bool {
    let h = cfg.system.dir.hardening;
    if !h.push_ack && !h.crl_freshness {
        return true;
    }
    let mut seen = BTreeSet::new();
    in_flight(&state.network)
        .into_iter()
        .all(|env| match env.msg {
            Msg::Revocation { crl } => seen.insert((env.src, env.dst, *crl, false)),
            Msg::RevocationAck { crl } => seen.insert((env.src, env.dst, *crl, true)),
            _ => true,
        })
}

/// Every message in flight, once per copy. stateright 0.31's
/// `Network::iter_all` yields an envelope held n > 1 times n + 1 times,
/// and never ends on an ordered channel that holds two messages or more.
pub fn in_flight(network: &Network<Msg>) -> Vec<Envelope<&Msg>> {
    fn borrowed(e: &Envelope<Msg>) -> Envelope<&Msg> {
        Envelope {
            src: e.src,
            dst: e.dst,
            msg: &e.msg,
        }
    }
    match network {
        Network::UnorderedDuplicating(set, _) => set.iter().map(borrowed).collect(),
        Network::UnorderedNonDuplicating(copies) => copies
            .iter()
            .flat_map(|(e, n)| std::iter::repeat_n(borrowed(e), *n))
            .collect(),
        Network::Ordered(channels) => channels
            .iter()
            .flat_map(|(&(src, dst), msgs)| msgs.iter().map(move |msg| Envelope { src, dst, msg }))
            .collect(),
    }
}

fn states(s: &CcState) -> impl Iterator<Item = &NodeState> {
    s.actor_states.iter().map(|a| &***a)
}

macro_rules! always {
    ($p:expr) => {
        stateright::Property::always($p.name(), |_: &CcModel, s: &CcState| {
            holds($p, &s.history, states(s))
        })
    };
}

macro_rules! sometimes {
    ($m:expr) => {
        stateright::Property::sometimes($m.name(), |_: &CcModel, s: &CcState| {
            $m.reached(&s.history, states(s))
        })
    };
}

impl CheckConfig {
    pub fn modes(&self) -> Modes {
        Modes {
            revocation: self.revocation,
            presentation: self.presentation,
            primary_auth: if self.biometric {
                PrimaryAuth::Biometric
            } else {
                PrimaryAuth::Password
            },
            merged_ca_table: self.merged_tables,
            ca_in_portal: self.ca_in_portal,
            serials: self.serials,
            ..Modes::default()
        }
    }

    /// Which `sometimes` milestones this configuration can reach at all.
    pub fn milestones(&self) -> Vec<Milestone> {
        Milestone::ALL
            .iter()
            .copied()
            .filter(|m| match m {
                // issue, qualify at a bank, qualify at another, statement
                Milestone::StatementTwoSources => {
                    (self.portal || self.ca_in_portal) && self.services >= 3 && self.actions >= 4
                }
                // issue, qualify, prohibit
                Milestone::Prohibition => self.actions >= 3,
                // issue, then use elsewhere / invalidate
                Milestone::GrantAfterQualification | Milestone::Invalidation => self.actions >= 2,
                // one login at the curious service
                Milestone::ReplayedCredentialAccepted => self.curious_service,
                // issue, (the clock jumps past notAfter,) use
                Milestone::ExpiredRefused => self.clock_jumps > 0 && self.actions >= 2,
                // issue at A, (a CRL reaches A, the clock jumps past its
                // nextUpdate,) use at A
                Milestone::StaleCrlAsksCa => {
                    self.clock_jumps > 0
                        && self.revocation == Revocation::Push
                        && self.harden.crl_freshness
                        && self.actions >= 2
                }
            })
            .collect()
    }

    /// The `check` flags of a configuration, for the description.
    pub fn flags(&self) -> String {
        let c = self;
        let d = CheckConfig::default();
        let mut f = vec![format!("--services {}", c.services)];
        if c.users != d.users {
            f.push(format!("--users {}", c.users));
        }
        if c.portal {
            f.push("--portal".into());
        }
        if c.revocation == Revocation::Push {
            f.push("--revocation push".into());
        }
        if c.presentation == Presentation::Bearer {
            f.push("--presentation bearer".into());
        }
        if c.serials != d.serials {
            f.push(format!("--serials {}", c.serials.name()));
        }
        match c.network {
            NetworkKind::Ordered => f.push("--network ordered".into()),
            NetworkKind::Duplicating => f.push("--network duplicating".into()),
            NetworkKind::Unordered => {}
        }
        if c.lossy {
            f.push("--lossy".into());
        }
        if c.crashes > 0 {
            f.push(format!("--crashes {}", c.crashes));
        }
        if c.network_attacker {
            f.push("--attacker network".into());
        } else if c.attacker {
            f.push("--attacker".into());
        }
        f.push(format!("--actions {}", c.actions));
        if c.concurrency > 1 {
            f.push(format!("--concurrency {}", c.concurrency));
        }
        if c.merged_tables {
            f.push("--merged-tables".into());
        }
        if c.biometric {
            f.push("--biometric".into());
        }
        if c.ca_in_portal {
            f.push("--ca-in-portal".into());
        }
        if c.curious_service {
            f.push("--curious-service".into());
        }
        if let Some(m) = c.malicious_service {
            f.push(format!(
                "--malicious-service {}",
                crate::system::SERVICE_NAMES.get(m).unwrap_or(&"?")
            ));
            if c.outsider {
                f.push("--outsider".into());
            }
        }
        if !c.harden.is_empty() {
            f.push(format!("--harden {}", c.harden));
        }
        // A search option, but one that decides which verdicts exist: a
        // liveness verdict is reproduced only with it.
        if c.liveness {
            f.push("--liveness".into());
        }
        if c.patient_timers {
            f.push("--patient-timers".into());
        }
        if c.clock_jumps > 0 {
            f.push(format!("--clock-jumps {}", c.clock_jumps));
        }
        let defects = toml::Table::try_from(c.defects).unwrap_or_default();
        for (k, v) in &defects {
            if v.as_bool() == Some(true) {
                f.push(format!("--defect {k}"));
            }
        }
        f.join(" ")
    }

    /// Whether messages may be lost: `lossy`, or a network attacker drops them.
    pub fn is_lossy(&self) -> bool {
        self.lossy || self.network_attacker
    }

    /// The system this configuration checks (the simulator's emitted
    /// scenarios describe the same one).
    pub fn spec(&self) -> Result<SystemSpec, BuildError> {
        let mut spec = standard_spec(
            self.services.max(2),
            self.users.max(1),
            self.portal || self.ca_in_portal,
        );
        spec.modes = self.modes();
        spec.attacker = (self.attacker || self.network_attacker).then(|| "mallory".to_string());
        spec.network_attacker = self.network_attacker;
        spec.autonomous_actions = Some(self.actions);
        spec.concurrency = self.concurrency.max(1);
        spec.defects = self.defects;
        if self.curious_service
            && let Some(a) = spec.services.first_mut()
        {
            a.curious = true;
        }
        if let Some(m) = self.malicious_service {
            let n = spec.services.len();
            let service = spec
                .services
                .get_mut(m)
                .ok_or(BuildError::NoSuchService(m, n))?;
            service.malicious = true;
            // `check`'s malicious service also replays credentials.
            service.curious = true;
            let name = service.name.clone();
            if self.outsider {
                for u in &mut spec.users {
                    u.accounts.remove(&name);
                }
            }
        }
        spec.hardening = self.harden;
        spec.timeouts = self.is_lossy() || self.crashes > 0;
        spec.clock_jumps = self.clock_jumps;
        Ok(spec)
    }

    /// The stateright model of this configuration, with its coverage counter.
    pub fn into_model(&self) -> Result<(CcModel, Arc<Coverage>), BuildError> {
        let spec = self.spec()?;
        let system = spec.build()?;
        let history = History::new(&system.dir);
        let coverage = Arc::new(Coverage::new());
        let actors: Vec<Checked> = system
            .nodes
            .iter()
            .map(|node| Checked {
                node: node.clone(),
                coverage: coverage.clone(),
            })
            .collect();
        let network = match self.network {
            NetworkKind::Ordered => Network::new_ordered([]),
            NetworkKind::Unordered => Network::new_unordered_nonduplicating([]),
            NetworkKind::Duplicating => Network::new_unordered_duplicating([]),
        };
        if self.clock_jumps > 0 {
            system.clock.follow_states();
        }
        let clock = system
            .nodes
            .iter()
            .position(|n| matches!(n, Node::Clock(_)));
        let inner = ActorModel::new(ModelCfg { system }, Arc::new(Hashed::new(history)))
            .actors(actors)
            .init_network(network)
            .lossy_network(if self.is_lossy() {
                LossyNetwork::Yes
            } else {
                LossyNetwork::No
            })
            .max_crashes(self.crashes)
            .within_boundary(one_copy_in_flight)
            .record_msg_out(|cfg, history, env| {
                if !History::may_change(env.msg) {
                    return None;
                }
                let mut next = History::clone(history);
                let now = cfg.system.clock.now();
                next.observe(&cfg.system.dir, env.src, env.dst, env.msg, now);
                (next != ***history).then(|| Arc::new(Hashed::new(next)))
            })
            .record_msg_in(|cfg, history, env| {
                if !History::may_change_on_delivery(env.msg) {
                    return None;
                }
                let mut next = History::clone(history);
                next.observe_delivery(&cfg.system.dir, env.src, env.dst, env.msg);
                (next != ***history).then(|| Arc::new(Hashed::new(next)))
            });
        let model = CcModel {
            inner,
            clock,
            patient: self.patient_timers,
            properties: self.properties(),
        };
        Ok((model, coverage))
    }

    /// The safety properties and the milestones this configuration can
    /// reach. `expired-never-accepted` only where time passes: without
    /// jumps nothing expires and it would hold vacuously.
    fn properties(&self) -> Vec<stateright::Property<CcModel>> {
        let mut p = vec![
            always!(Property::RevokedNeverAccepted),
            always!(Property::OnlyQualifiedServices),
            always!(Property::PasswordStaysHome),
            always!(Property::CredentialStaysHome),
            always!(Property::NoImpersonation),
            always!(Property::UniqueSerials),
            always!(Property::OneCertificatePerUser),
            always!(Property::NoUnauthorisedRevocation),
            always!(Property::NoRelay),
            always!(Property::ServiceListPrivate),
            always!(Property::LinkMatchesSubject),
            always!(Property::NoUnauthorisedQualification),
            always!(Property::KeyBoundByHolder),
            always!(Property::PushWindowOnly),
        ];
        if self.clock_jumps > 0 {
            p.push(always!(Property::ExpiredNeverAccepted));
        }
        let reachable = self.milestones();
        let milestone = |m: Milestone| reachable.contains(&m);
        if milestone(Milestone::GrantAfterQualification) {
            p.push(sometimes!(Milestone::GrantAfterQualification));
        }
        if milestone(Milestone::Invalidation) {
            p.push(sometimes!(Milestone::Invalidation));
        }
        if milestone(Milestone::Prohibition) {
            p.push(sometimes!(Milestone::Prohibition));
        }
        if milestone(Milestone::StatementTwoSources) {
            p.push(sometimes!(Milestone::StatementTwoSources));
        }
        if milestone(Milestone::ReplayedCredentialAccepted) {
            p.push(sometimes!(Milestone::ReplayedCredentialAccepted));
        }
        if milestone(Milestone::ExpiredRefused) {
            p.push(sometimes!(Milestone::ExpiredRefused));
        }
        if milestone(Milestone::StaleCrlAsksCa) {
            p.push(sometimes!(Milestone::StaleCrlAsksCa));
        }
        p
    }
}

/// A verdict of one property.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Holds,
    Violated,
    /// The search stopped (a depth, state or memory bound) before it could tell.
    Unknown,
}

#[derive(Clone, Debug, Serialize)]
pub struct PropertyResult {
    pub name: String,
    pub kind: &'static str,
    pub verdict: Verdict,
    /// For a violated `always`: a shortest path to the violation, ending at
    /// the event that breaks it; for a found `sometimes`: a shortest example.
    pub counterexample: Vec<Line>,
    /// What was still in flight when that path ended.
    pub in_flight: Vec<String>,
    /// The path's actions, for replaying it elsewhere (the simulator).
    #[serde(skip)]
    pub actions: Vec<CcAction>,
    /// Every safety property violated in some state of the path (the one
    /// this path is for, and any found on the way), as the simulator flags
    /// them when it replays the path: a property judged on states
    /// (`link-matches-subject`) may hold again by the path's end.
    pub violated_on_path: Vec<String>,
    /// For a violated `eventually`: the counterexample is a lasso, and its
    /// loop starts at this line (the lines before are the stem). Equal to
    /// the number of lines when the run stays in the last state forever
    /// (nothing weakly fair is enabled there).
    pub loop_from: Option<usize>,
}

/// Everything a check found.
#[derive(Clone, Debug, Serialize)]
pub struct CheckReport {
    pub config: CheckConfig,
    pub unique_states: usize,
    /// Transitions explored (every state reached, with repeats).
    pub total_states: usize,
    pub max_depth: usize,
    pub seconds: f64,
    pub states_per_second: f64,
    pub properties: Vec<PropertyResult>,
    pub coverage: BTreeMap<Step, u64>,
    /// Whether every reachable state within the bounds was explored.
    pub complete: bool,
    /// Why the search ended.
    pub ended: Ended,
    /// The bound a verdict holds within, in words.
    pub bound: String,
    /// The checked system's directory: its names, and the arena the
    /// counterexamples' certificate handles refer to.
    #[serde(skip)]
    pub dir: Arc<Directory>,
    /// With `--liveness`: the liveness pass's own search.
    pub liveness: Option<LivenessStats>,
}

impl CheckReport {
    /// Every `always` holds and every `sometimes` was found.
    pub fn passed(&self) -> bool {
        self.properties.iter().all(|p| p.verdict == Verdict::Holds)
    }

    pub fn verdict(&self, name: &str) -> Option<Verdict> {
        self.properties
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.verdict)
    }

    /// The properties found violated (an `always` broken, a `sometimes` never
    /// reached), by name.
    pub fn violated(&self) -> Vec<&str> {
        self.properties
            .iter()
            .filter(|p| p.verdict == Verdict::Violated)
            .map(|p| p.name.as_str())
            .collect()
    }

    /// A verdict in words: `holds (complete for ...)`, `VIOLATED`, `unknown
    /// (why)`; for `sometimes`, `found` / `NOT FOUND`.
    pub fn verdict_text(&self, p: &PropertyResult) -> String {
        if self.ended == Ended::Swarm {
            // A swarm's bound is printed once, above the verdicts.
            return match (p.kind, p.verdict) {
                ("sometimes", Verdict::Holds) => "found".into(),
                ("sometimes", _) => "not reached (which proves nothing)".into(),
                (_, Verdict::Violated) => "VIOLATED".into(),
                (_, _) => "none found (which proves nothing)".into(),
            };
        }
        match (p.kind, p.verdict) {
            ("sometimes", Verdict::Holds) => "found".into(),
            ("sometimes", Verdict::Violated) => format!("NOT FOUND ({})", self.bound),
            (_, Verdict::Holds) => format!("holds ({})", self.bound),
            (_, Verdict::Violated) => "VIOLATED".into(),
            (_, Verdict::Unknown) => format!("unknown ({})", self.bound),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("services must be at least 2 (got {0})")]
    TooFewServices(usize),
    #[error("users must be at least 1")]
    NoUsers,
    #[error("--max-memory needs --threads 1 (stateright's parallel checker cannot be stopped)")]
    MemoryLimitNeedsOneThread,
    #[error(
        "--symmetry needs interchangeable users (accounts at the same services), no malicious service or network attacker (their moves and certificates are not renamed) and no pop-binding (its consents are not re-signed)"
    )]
    NotSymmetric,
    #[error(
        "--liveness explores the whole graph without --symmetry (a renamed state is not the state a loop returns to)"
    )]
    LivenessWithSymmetry,
    #[error(
        "--liveness needs the whole graph: a fair cycle may pass below any --depth (use --max-states to bound it; verdicts are then unknown)"
    )]
    LivenessWithDepth,
    #[error("--shard {0}/{1}: the index must be below the count, and the count at least 1")]
    BadShard(u64, u64),
    #[error(
        "the swarm's counterexample for {0} does not replay on a fresh copy of the model (the members are meant to be deterministic)"
    )]
    SwarmReplay(String),
    #[error(transparent)]
    Build(#[from] BuildError),
}

/// A property's kind as reports name it.
pub fn kind_name(e: &Expectation) -> &'static str {
    match e {
        Expectation::Always => "always",
        Expectation::Sometimes => "sometimes",
        Expectation::Eventually => "eventually",
    }
}

/// Run the checker: the project's breadth-first search (`explore`), whose
/// counterexamples are shortest paths, calling `progress` every few seconds.
/// With `threads > 1` stateright's parallel depth-first search gives the
/// verdicts (it keeps fingerprints, not states, so it fits large spaces in
/// little memory) and a second, breadth-first search that stops when every
/// discovery is found gives each its shortest path. `--symmetry` applies
/// the users' representative (`symmetry.rs`) before fingerprinting in
/// either search.
pub fn check(
    config: &CheckConfig,
    progress: impl FnMut(&Progress),
) -> Result<CheckReport, CheckError> {
    if config.services < 2 {
        return Err(CheckError::TooFewServices(config.services));
    }
    if config.users == 0 {
        return Err(CheckError::NoUsers);
    }
    if config.threads > 1 && config.max_memory.is_some() {
        return Err(CheckError::MemoryLimitNeedsOneThread);
    }
    if config.liveness && config.symmetry {
        return Err(CheckError::LivenessWithSymmetry);
    }
    if config.liveness && config.depth.is_some() {
        return Err(CheckError::LivenessWithDepth);
    }
    let (model, coverage) = config.into_model()?;
    let targets = property_targets(&model);
    let limits = Limits {
        max_depth: config.depth,
        max_states: config.max_states,
        max_memory: config.max_memory,
    };
    // Coverage counts the search's transitions only, not the replays that
    // rebuild counterexample paths.
    let freeze = || coverage.freeze();
    let symmetry = if config.symmetry {
        Some(Arc::new(
            Symmetry::of(&model.cfg.system).ok_or(CheckError::NotSymmetric)?,
        ))
    } else {
        None
    };
    let explored = if config.threads > 1 {
        parallel(config, &model, limits, progress, freeze, symmetry)
    } else if let Some(symmetry) = symmetry {
        explore(
            &model,
            &targets,
            limits,
            false,
            |s| symmetry.representative(s),
            progress,
            freeze,
        )
    } else {
        explore(
            &model,
            &targets,
            limits,
            false,
            Clone::clone,
            progress,
            freeze,
        )
    };
    coverage.freeze();
    let mut report = report(config, &model, &coverage, explored);
    if config.liveness {
        check_liveness(config, &model, &mut report);
    }
    Ok(report)
}

/// The symmetry of the parallel search under way. stateright's checkers
/// take their representative as a plain `fn`, which cannot carry a
/// system's identities, so the one symmetric parallel search at a time
/// (`PARALLEL_SYMMETRY_TURN`) leaves its symmetry here.
static PARALLEL_SYMMETRY: RwLock<Option<Arc<Symmetry>>> = RwLock::new(None);
static PARALLEL_SYMMETRY_TURN: Mutex<()> = Mutex::new(());

fn parallel_representative(s: &CcState) -> CcState {
    let current = PARALLEL_SYMMETRY
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    match current {
        Some(symmetry) => symmetry.representative(s),
        None => s.clone(),
    }
}

/// Clears `PARALLEL_SYMMETRY` when the search ends, even by a panic.
struct SymmetryInUse;

impl Drop for SymmetryInUse {
    fn drop(&mut self) {
        *PARALLEL_SYMMETRY
            .write()
            .unwrap_or_else(PoisonError::into_inner) = None;
    }
}

/// stateright's parallel DFS for the verdicts, then the shortest path to
/// each discovery by a breadth-first search that stops when all are found;
/// both with `symmetry`'s representative if given.
fn parallel(
    config: &CheckConfig,
    model: &CcModel,
    limits: Limits,
    mut progress: impl FnMut(&Progress),
    freeze: impl FnOnce(),
    symmetry: Option<Arc<Symmetry>>,
) -> Explored<CcModel> {
    let start = Instant::now();
    let mut builder = model.clone().checker().threads(config.threads);
    let _turn = symmetry.is_some().then(|| {
        PARALLEL_SYMMETRY_TURN
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    });
    let _in_use = symmetry.as_ref().map(|s| {
        *PARALLEL_SYMMETRY
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(s.clone());
        SymmetryInUse
    });
    if symmetry.is_some() {
        builder = builder.symmetry_fn(parallel_representative);
    }
    if let Some(d) = config.depth {
        // stateright counts the initial states as depth 1; `explore` as 0.
        builder = builder.target_max_depth(d + 1);
    }
    if let Some(n) = config.max_states {
        builder = builder.target_state_count(n);
    }
    let checker = builder.spawn_dfs();
    let mut last = Instant::now();
    while !checker.is_done() {
        std::thread::sleep(Duration::from_millis(50));
        if last.elapsed() >= crate::explore::PROGRESS_EVERY {
            last = Instant::now();
            progress(&Progress {
                unique_states: checker.unique_state_count(),
                transitions: checker.state_count(),
                depth: checker.max_depth(),
                resident_bytes: crate::explore::resident_bytes(),
                elapsed: start.elapsed(),
            });
        }
    }
    let checker = checker.join();
    freeze();
    // `Target` holds a boxed predicate and is not `Clone`: make the set anew.
    let mut wanted = property_targets(model);
    wanted.retain(|t| checker.discovery(t.name).is_some());
    let representative = |s: &CcState| match &symmetry {
        Some(sym) => sym.representative(s),
        None => s.clone(),
    };
    let paths = explore(model, &wanted, limits, true, representative, |_| {}, || {});
    let unique = checker.unique_state_count();
    // stateright stops at `target_state_count` counting every state
    // generated, repeats included.
    let ended = if config
        .max_states
        .is_some_and(|n| checker.state_count() >= n || unique >= n)
    {
        Ended::MaxStates
    } else if config.depth.is_some_and(|d| checker.max_depth() >= d) {
        Ended::DepthBound
    } else {
        Ended::Complete
    };
    Explored {
        unique_states: unique,
        transitions: checker.state_count(),
        max_depth: checker.max_depth(),
        ended,
        seconds: start.elapsed().as_secs_f64(),
        found: paths.found,
    }
}

/// Turn what a search found into verdicts, counterexamples and coverage.
fn report(
    config: &CheckConfig,
    model: &CcModel,
    coverage: &Coverage,
    x: Explored<CcModel>,
) -> CheckReport {
    let exhaustive = x.ended.exhaustive();
    let properties = model
        .properties()
        .into_iter()
        .map(|p| {
            let found = x.found.get(p.name);
            let (kind, verdict) = match p.expectation {
                Expectation::Always => (
                    "always",
                    match (found, exhaustive) {
                        (Some(_), _) => Verdict::Violated,
                        (None, true) => Verdict::Holds,
                        (None, false) => Verdict::Unknown,
                    },
                ),
                Expectation::Sometimes => (
                    "sometimes",
                    match (found, exhaustive) {
                        (Some(_), _) => Verdict::Holds,
                        (None, true) => Verdict::Violated,
                        (None, false) => Verdict::Unknown,
                    },
                ),
                Expectation::Eventually => ("eventually", Verdict::Unknown),
            };
            let explained = found
                .map(|path| explain(model, path.clone()))
                .unwrap_or_default();
            let actions = found
                .map(|path| path.iter().filter_map(|(_, a)| a.clone()).collect())
                .unwrap_or_default();
            let violated_on_path = found
                .map(|path| violated_along(path.iter().map(|(s, _)| s)))
                .unwrap_or_default();
            PropertyResult {
                name: p.name.to_string(),
                kind,
                verdict,
                counterexample: explained.lines,
                in_flight: explained.in_flight,
                actions,
                violated_on_path,
                loop_from: None,
            }
        })
        .collect();
    let bound = match x.ended {
        Ended::Complete | Ended::AllFound => format!(
            "complete for <= {} actions per user, {} user{}, {} in flight, depth {}",
            config.actions,
            config.users,
            if config.users == 1 { "" } else { "s" },
            config.concurrency.max(1),
            x.max_depth
        ),
        Ended::DepthBound => format!(
            "depth bound {} reached: states below it were not explored",
            config.depth.unwrap_or(0)
        ),
        Ended::MaxStates => format!(
            "stopped at --max-states {} before the search was complete",
            config.max_states.unwrap_or(0)
        ),
        Ended::MaxMemory => format!(
            "stopped at --max-memory {} MiB before the search was complete",
            config.max_memory.unwrap_or(0) >> 20
        ),
        // `swarm.rs` writes its own bound.
        Ended::Swarm => "a swarm: not exhaustive".to_string(),
    };
    CheckReport {
        config: config.clone(),
        unique_states: x.unique_states,
        total_states: x.transitions,
        max_depth: x.max_depth,
        seconds: x.seconds,
        states_per_second: if x.seconds > 0.0 {
            x.unique_states as f64 / x.seconds
        } else {
            0.0
        },
        properties,
        coverage: coverage.snapshot(),
        complete: exhaustive,
        ended: x.ended,
        bound,
        dir: model.cfg.system.dir.clone(),
        liveness: None,
    }
}

/// Every safety property broken in `s`, by name.
/// The safety properties violated in some state of `path`, in
/// `Property::ALL`'s order.
pub(crate) fn violated_along<'a>(path: impl Iterator<Item = &'a CcState>) -> Vec<String> {
    let states: Vec<&CcState> = path.collect();
    Property::ALL
        .iter()
        .filter(|q| {
            states
                .iter()
                .any(|s| !holds(**q, &s.history, self::states(s)))
        })
        .map(|q| q.name().to_string())
        .collect()
}

/// What the liveness pass explored and kept.
#[derive(Clone, Debug, Serialize)]
pub struct LivenessStats {
    pub unique_states: usize,
    pub edges: usize,
    pub seconds: f64,
    /// The graph's bytes per state: edges (class, task, successor) and the
    /// per-state columns (fingerprint, parent, depth, offset, predicates).
    pub graph_bytes_per_state: f64,
    /// Whether the whole graph was explored (else every liveness verdict
    /// without a lasso is unknown).
    pub complete: bool,
}

/// An action's class and task for fairness: deliveries and timeouts are
/// weakly fair, each message and timer its own task; drops, crashes,
/// restarts and choices are not. A clock jump (`--clock-jumps`) is the
/// clock's choice, so not fair either: the environment may jump, a bounded
/// number of times, and is never made to, so a run may keep the time short
/// of any notAfter for ever. (Were a bounded jump fair, a lasso would just
/// spend its jumps before the certificate it is about was issued.)
fn classify(a: &CcAction) -> (EdgeClass, u64) {
    match a {
        ActorModelAction::Deliver { src, dst, msg } => {
            (EdgeClass::Deliver, fingerprint(&(src, dst, msg)))
        }
        ActorModelAction::Timeout(id, timer) => (EdgeClass::Timeout, fingerprint(&(id, timer))),
        ActorModelAction::Drop(_) => (EdgeClass::Drop, 0),
        ActorModelAction::Crash(_) => (EdgeClass::Crash, 0),
        ActorModelAction::Recover(_) => (EdgeClass::Restart, 0),
        ActorModelAction::SelectRandom { .. } => (EdgeClass::Choice, 0),
    }
}

/// Which liveness properties a configuration checks: `issue-eventually-
/// succeeds` only under a reliable network without crashes, as it reads
/// (exactly the configurations without timeouts, where users keep the ghost
/// `UserState::issue_failed` it needs).
pub fn liveness_properties(config: &CheckConfig) -> Vec<Liveness> {
    Liveness::ALL
        .iter()
        .copied()
        .filter(|l| {
            *l != Liveness::IssueEventuallySucceeds || (!config.is_lossy() && config.crashes == 0)
        })
        .collect()
}

/// The liveness pass: fair lassos over the whole graph (`liveness.rs`).
fn check_liveness(config: &CheckConfig, model: &CcModel, report: &mut CheckReport) {
    let dir = model.cfg.system.dir.clone();
    let wanted = liveness_properties(config);
    let awaits: Vec<Awaits<CcModel>> = wanted
        .iter()
        .map(|l| {
            let (l, dir) = (*l, dir.clone());
            Awaits {
                name: l.name(),
                pending: Box::new(move |s: &CcState| l.pending(&dir, states(s))),
            }
        })
        .collect();
    let checked = crate::liveness::check(model, &awaits, classify, config.max_states);
    let complete = checked.ended == Ended::Complete;
    for (name, lasso) in checked.violations {
        let no_lasso = |verdict| PropertyResult {
            name: name.to_string(),
            kind: "eventually",
            verdict,
            counterexample: Vec::new(),
            in_flight: Vec::new(),
            actions: Vec::new(),
            violated_on_path: Vec::new(),
            loop_from: None,
        };
        let result = match lasso {
            Err(why) => {
                // Never a silent "holds": the search found something it
                // could not show.
                eprintln!("warning: liveness {name}: {why}; verdict unknown");
                no_lasso(Verdict::Unknown)
            }
            Ok(None) if complete => no_lasso(Verdict::Holds),
            Ok(None) => no_lasso(Verdict::Unknown),
            Ok(Some(l)) => {
                let loop_from = Some(l.stem.len().saturating_sub(1));
                // The stem up to the loop's first state, around the loop,
                // and back to that state.
                let mut path = l.stem;
                let entry = path.pop().map(|(s, _)| s);
                path.extend(l.cycle.into_iter().map(|(s, a)| (s, Some(a))));
                if let Some(entry) = entry {
                    path.push((entry, None));
                }
                let actions = path.iter().filter_map(|(_, a)| a.clone()).collect();
                let violated_on_path = violated_along(path.iter().map(|(s, _)| s));
                let explained = explain(model, path);
                PropertyResult {
                    verdict: Verdict::Violated,
                    counterexample: explained.lines,
                    in_flight: explained.in_flight,
                    actions,
                    violated_on_path,
                    loop_from,
                    ..no_lasso(Verdict::Violated)
                }
            }
        };
        report.properties.push(result);
    }
    report.liveness = Some(LivenessStats {
        unique_states: checked.unique_states,
        edges: checked.edges,
        seconds: checked.seconds,
        graph_bytes_per_state: checked.graph_bytes_per_state,
        complete,
    });
}

/// Helpers for tests elsewhere in the crate.
#[cfg(test)]
pub(crate) mod tests_support {
    use super::{CheckConfig, Verdict, check};
    use std::collections::BTreeMap;

    /// Every property's verdict for `config` (which must check).
    pub fn verdicts(config: &CheckConfig) -> BTreeMap<String, Verdict> {
        check(config, |_| {})
            .expect("checks")
            .properties
            .into_iter()
            .map(|p| (p.name, p.verdict))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The liveness pass on the protocol: V1's fire-and-forget push does
    /// not converge under loss (a lost notification leaves the service
    /// holding the serial forever) and does without loss; a lasso's loop
    /// returns to the state it starts from.
    #[test]
    fn v1_under_loss_never_converges_and_the_lasso_is_a_real_loop() {
        let run = |lossy: bool, actions: u8| {
            check(
                &CheckConfig {
                    liveness: true,
                    revocation: Revocation::Push,
                    lossy,
                    actions,
                    ..CheckConfig::default()
                },
                |_| {},
            )
            .expect("checks")
        };
        let reliable = run(false, 4);
        assert_eq!(
            reliable.verdict("invalidation-reaches-all"),
            Some(Verdict::Holds)
        );
        assert_eq!(reliable.verdict("operations-end"), Some(Verdict::Holds));
        let lossy = run(true, 3);
        let p = lossy
            .properties
            .iter()
            .find(|p| p.name == "invalidation-reaches-all")
            .expect("checked");
        assert_eq!(p.verdict, Verdict::Violated);
        assert!(
            p.counterexample
                .iter()
                .any(|l| l.event == crate::counterexample::Event::Lost
                    && l.message.starts_with("Revocation")),
            "the stem loses a notification"
        );
        // Crashes are not fair: a user that never restarts leaves its
        // operation pending; the loop is replayed and must close.
        let crash = check(
            &CheckConfig {
                liveness: true,
                crashes: 1,
                actions: 2,
                ..CheckConfig::default()
            },
            |_| {},
        )
        .expect("checks");
        let p = crash
            .properties
            .iter()
            .find(|p| p.name == "operations-end")
            .expect("checked");
        assert_eq!(p.verdict, Verdict::Violated);
        let from = p.loop_from.expect("a lasso");
        let (model, _) = crash.config.into_model().expect("builds");
        let mut state = model.init_states().remove(0);
        let mut at_loop = None;
        for (i, a) in p.actions.iter().enumerate() {
            if i == from {
                at_loop = Some(crate::explore::fingerprint(&state));
            }
            state = model.next_state(&state, a.clone()).unwrap_or(state);
        }
        let at_loop = at_loop.unwrap_or_else(|| crate::explore::fingerprint(&state));
        assert_eq!(
            crate::explore::fingerprint(&state),
            at_loop,
            "the loop closes"
        );
        assert!(matches!(
            check(
                &CheckConfig {
                    liveness: true,
                    symmetry: true,
                    users: 2,
                    ..CheckConfig::default()
                },
                |_| {}
            ),
            Err(CheckError::LivenessWithSymmetry)
        ));
    }
    use crate::counterexample::{effects_of, label_faults};
    use std::ops::ControlFlow;

    fn run(cfg: CheckConfig) -> CheckReport {
        check(&cfg, |_| {}).expect("valid configuration")
    }

    fn small(f: impl FnOnce(&mut CheckConfig)) -> CheckConfig {
        let mut c = CheckConfig::default();
        f(&mut c);
        c
    }

    fn serves(line: &Line) -> bool {
        line.steps.iter().any(|s| {
            matches!(
                s,
                Step::P6 | Step::P22 | Step::P24 | Step::V1 | Step::P34 | Step::P42 | Step::P46
            )
        })
    }

    /// An outsider guesses serials only when they count: under sequential
    /// serials it probes serials it was never shown; under random ones
    /// (the default) no probe is ever offered, over the whole state space,
    /// though the CA issues a certificate it could have aimed at.
    #[test]
    fn an_outsider_guesses_serials_only_when_they_count() {
        let probes = |serials| {
            let (model, _) = small(|c| {
                c.malicious_service = Some(1);
                c.outsider = true;
                c.actions = 1;
                c.serials = serials;
            })
            .into_model()
            .expect("builds");
            let (mut probes, mut issued) = (0, 0);
            let walked = crate::explore::walk_transitions(&model, 200_000, |_, a, n| {
                if let ActorModelAction::SelectRandom {
                    random: Choice::Malicious(crate::malicious::Move::Probe { .. }),
                    ..
                } = a
                {
                    probes += 1;
                }
                let registered = n
                    .actor_states
                    .iter()
                    .filter_map(|s| s.ca())
                    .any(|c| c.next_serial > 1);
                issued += usize::from(registered);
                ControlFlow::Continue(())
            });
            assert!(walked.complete, "{serials:?}: {walked:?}");
            assert!(issued > 0, "{serials:?}: the CA never issued");
            probes
        };
        assert!(probes(Serials::Sequential) > 0);
        assert_eq!(probes(Serials::Random), 0);
        assert_eq!(CheckConfig::default().serials, Serials::Random);
        let flags = small(|c| c.serials = Serials::Sequential).flags();
        assert!(flags.contains("--serials sequential"), "{flags}");
        assert!(!CheckConfig::default().flags().contains("--serials"));
    }

    #[test]
    fn online_revocation_keeps_every_security_property_on_a_small_configuration() {
        let r = run(small(|c| c.actions = 3));
        assert!(r.complete);
        for p in [
            "revoked-never-accepted",
            "only-qualified-services",
            "password-stays-home",
            "no-impersonation",
            "unique-serials",
        ] {
            assert_eq!(r.verdict(p), Some(Verdict::Holds), "{p}");
        }
        for m in ["grant-after-qualification", "invalidation", "prohibition"] {
            assert_eq!(r.verdict(m), Some(Verdict::Holds), "{m} must be reachable");
        }
    }

    #[test]
    fn push_revocation_accepts_an_invalidated_certificate_and_the_counterexample_ends_in_a_grant() {
        let r = run(small(|c| {
            c.revocation = Revocation::Push;
            c.actions = 4;
        }));
        assert_eq!(r.verdict("revoked-never-accepted"), Some(Verdict::Violated));
        let p = r
            .properties
            .iter()
            .find(|p| p.name == "revoked-never-accepted")
            .expect("listed");
        let last = p.counterexample.last().expect("a counterexample");
        assert!(serves(last), "ends in a grant: {last}");
        assert!(
            p.counterexample
                .iter()
                .any(|l| l.steps.contains(&Step::P13)),
            "an invalidation happened on the way"
        );
    }

    #[test]
    fn bearer_certificates_let_the_eavesdropper_in_and_proof_of_possession_does_not() {
        let bearer = run(small(|c| {
            c.presentation = Presentation::Bearer;
            c.attacker = true;
        }));
        assert_eq!(bearer.verdict("no-impersonation"), Some(Verdict::Violated));
        let p = bearer
            .properties
            .iter()
            .find(|p| p.name == "no-impersonation")
            .expect("listed");
        let last = p.counterexample.last().expect("a counterexample");
        assert!(serves(last), "ends in a grant: {last}");
        assert!(
            p.counterexample.iter().any(|l| l.from == "mallory"),
            "the attacker acts"
        );
        let pop = run(small(|c| c.attacker = true));
        assert_eq!(pop.verdict("no-impersonation"), Some(Verdict::Holds));
    }

    /// The safety properties that hold without the defect and break with it.
    fn changed_by(cfg: CheckConfig, defect: impl FnOnce(&mut Defects)) -> Vec<String> {
        let plain = run(cfg.clone());
        let mut broken = cfg;
        defect(&mut broken.defects);
        let broken = run(broken);
        plain
            .properties
            .iter()
            .filter(|p| p.kind == "always" && p.verdict == Verdict::Holds)
            .filter(|p| broken.verdict(&p.name) == Some(Verdict::Violated))
            .map(|p| p.name.clone())
            .collect()
    }

    #[test]
    fn every_safety_property_has_a_defect_the_checker_finds() {
        // revoked-never-accepted: a service that trusts its own table.
        let changed = changed_by(small(|c| c.actions = 4), |d| d.skip_ca_check = true);
        assert!(
            changed.contains(&"revoked-never-accepted".to_string()),
            "{changed:?}"
        );
        // only-qualified-services, alone: S20-2 forgotten under V1, so B
        // grants from its table after the CA withdrew it.
        let changed = changed_by(
            small(|c| {
                c.revocation = Revocation::Push;
                c.actions = 4;
            }),
            |d| d.keep_row_on_prohibit = true,
        );
        assert_eq!(changed, vec!["only-qualified-services".to_string()]);
        // password-stays-home and credential-stays-home: A's password typed at B.
        let changed = changed_by(small(|c| c.actions = 1), |d| {
            d.one_password_everywhere = true
        });
        assert_eq!(
            changed,
            vec![
                "password-stays-home".to_string(),
                "credential-stays-home".to_string()
            ]
        );
        // no-impersonation: the proof of possession not checked.
        // (The replay is at a service the user never presented to, so
        // no-relay breaks with it.)
        let changed = changed_by(small(|c| c.attacker = true), |d| d.skip_proof_check = true);
        assert_eq!(
            changed,
            vec!["no-impersonation".to_string(), "no-relay".to_string()]
        );
        // unique-serials: the CA's counter stuck. Two users: one user's
        // second certificate under a reused serial is byte-identical to
        // the first (same subject, key and time), the same certificate.
        let changed = changed_by(small(|c| c.users = 2), |d| d.reuse_serials = true);
        assert!(
            changed.contains(&"unique-serials".to_string()),
            "{changed:?}"
        );
        // no-unauthorised-revocation: S9's question skipped, so an issue
        // login at a service holding the user's serial invalidates it.
        let changed = changed_by(small(|c| c.actions = 2), |d| {
            d.invalidate_without_yes = true
        });
        assert_eq!(changed, vec!["no-unauthorised-revocation".to_string()]);
        // push-window-only: under V1 a CRL that deletes nothing, so B's own
        // table grants the serial after its notification arrived (issue at
        // A, qualify at B, invalidate at A, use at B).
        let changed = changed_by(
            small(|c| {
                c.revocation = Revocation::Push;
                c.actions = 4;
            }),
            |d| d.keep_row_on_crl = true,
        );
        assert!(
            changed.contains(&"push-window-only".to_string()),
            "{changed:?}"
        );
        // expired-never-accepted: services that take a certificate past its
        // notAfter; only a run in which the clock jumps shows it (without
        // jumps the defect changes nothing, and the property is not judged).
        let changed = changed_by(small(|c| c.clock_jumps = 1), |d| d.ignore_expiry = true);
        assert_eq!(changed, vec!["expired-never-accepted".to_string()]);
        assert!(changed_by(small(|_| {}), |d| d.ignore_expiry = true).is_empty());
        // one-certificate-per-user needs no defect: the patent's S5 breaks it.
        assert_eq!(
            run(small(|_| {})).verdict("one-certificate-per-user"),
            Some(Verdict::Violated)
        );
    }

    /// Crash transitions of `cfg` whose node loses unpersisted durable state.
    fn crashes_that_lose_state(cfg: &CheckConfig) -> usize {
        let (model, _) = cfg.into_model().expect("builds");
        let mut lost = 0;
        crate::explore::walk_transitions(&model, 50_000, |s, a, _| {
            if let ActorModelAction::Crash(id) = a {
                let i = usize::from(*id);
                if let (Some(actor), Some(live)) = (model.actors.get(i), s.actor_states.get(i))
                    && actor.node.loses_at_crash(
                        *id,
                        live,
                        s.actor_storages[i].as_deref().map(|s| &**s),
                    )
                {
                    lost += 1;
                }
            }
            ControlFlow::Continue(())
        });
        lost
    }

    #[test]
    fn only_persisted_state_survives_a_crash_and_a_forgotten_persist_is_caught() {
        let cfg = small(|c| {
            c.crashes = 1;
            c.actions = 2;
        });
        assert_eq!(crashes_that_lose_state(&cfg), 0);
        let mut broken = cfg;
        broken.defects.forget_link_persist = true;
        assert!(crashes_that_lose_state(&broken) > 0);
    }

    /// The races issue 8 names, as predicates on a state: each holds only
    /// once the interleaving that matters has happened, not merely when two
    /// operations were chosen.
    fn races(model: &CcModel, s: &CcState) -> Vec<&'static str> {
        use crate::service::Stage;
        use crate::user::Command;
        let dir = &model.cfg.system.dir;
        let service = |id: Id| s.actor_states[usize::from(id)].service();
        let ca_has = |serial: u64| {
            s.actor_states
                .iter()
                .filter_map(|a| a.ca())
                .any(|c| c.tables.is_registered(serial))
        };
        let mut found = Vec::new();
        for u in s.actor_states.iter().filter_map(|a| a.user()) {
            let cmds: Vec<&Command> = u.pending.values().map(|p| &p.command).collect();
            let serial = u
                .certificate
                .as_ref()
                .and_then(|c| model.cfg.system.dir.arena.serial_of(*c));
            // A use at one service still under way while the CA has already
            // deleted the rows for an invalidation at another.
            for c in &cmds {
                if let Command::Use { service: at, .. } = c
                    && cmds.iter().any(
                        |d| matches!(d, Command::Invalidate { service: other, .. } if other != at),
                    )
                    && serial.is_some_and(|x| !ca_has(x))
                {
                    found.push("use racing invalidation");
                }
            }
            // A use at S under way after S20-2 deleted the serial at S for a
            // prohibition still waiting for the CA (S20-3 sent).
            for c in &cmds {
                if let Command::Prohibit { service: at } = c
                    && cmds
                        .iter()
                        .any(|d| matches!(d, Command::Use { service: s2, .. } if s2 == at))
                    && service(*at).is_some_and(|st| {
                        st.sessions
                            .values()
                            .any(|x| x.stage == Stage::AwaitCa(crate::msg::Request::Withdraw))
                            && serial.is_some_and(|x| !st.durable.table.holds(x))
                    })
                {
                    found.push("prohibition racing use");
                }
            }
        }
        // Two services past S5 with no serial, both waiting for the CA to issue.
        let issuing = dir
            .services()
            .filter(|svc| {
                service(*svc).is_some_and(|st| {
                    st.sessions
                        .values()
                        .any(|x| x.stage == Stage::AwaitCa(crate::msg::Request::Issue))
                })
            })
            .count();
        if issuing >= 2 {
            found.push("issue at two services at once");
        }
        for svc in dir.services() {
            let peers: std::collections::BTreeSet<Id> = service(svc)
                .map(|st| st.sessions.keys().map(|k| k.peer).collect())
                .unwrap_or_default();
            if peers
                .iter()
                .filter(|p| dir.users().any(|u| u == **p))
                .count()
                >= 2
            {
                found.push("two users at one service");
            }
        }
        found
    }

    #[test]
    fn concurrency_reaches_every_named_race_without_a_timeout() {
        let mut seen = std::collections::BTreeSet::new();
        for (cfg, wanted) in [
            // one user, two operations at once, enough to issue, qualify and race
            (
                small(|c| {
                    c.concurrency = 2;
                    c.actions = 4;
                }),
                3,
            ),
            (
                small(|c| {
                    c.users = 2;
                    c.concurrency = 2;
                    c.actions = 2;
                }),
                4,
            ),
        ] {
            assert!(!cfg.lossy && cfg.crashes == 0, "no timeouts in these runs");
            let (model, _) = cfg.into_model().expect("builds");
            crate::explore::walk_transitions(&model, 300_000, |_, _, n| {
                seen.extend(races(&model, n));
                if seen.len() >= wanted {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            });
        }
        for race in [
            "use racing invalidation",
            "prohibition racing use",
            "issue at two services at once",
            "two users at one service",
        ] {
            assert!(seen.contains(race), "{race} not reached: {seen:?}");
        }
    }

    #[test]
    fn a_curious_service_replays_a_v2_template_with_success_and_a_password_without() {
        let v2 = run(small(|c| {
            c.biometric = true;
            c.curious_service = true;
            c.actions = 1;
        }));
        assert_eq!(
            v2.verdict("replayed-credential-accepted"),
            Some(Verdict::Holds)
        );
        let pw = run(small(|c| {
            c.curious_service = true;
            c.actions = 1;
        }));
        // A `sometimes` that is never reached: the replay is always refused.
        assert_eq!(
            pw.verdict("replayed-credential-accepted"),
            Some(Verdict::Violated)
        );
        assert_eq!(pw.verdict("credential-stays-home"), Some(Verdict::Holds));
        // The curious service itself sends A's password to B: an adversary
        // passing on what its own users typed to it discloses only what it
        // holds, which the property does not judge.
        assert_eq!(pw.verdict("password-stays-home"), Some(Verdict::Holds));
    }

    #[test]
    fn v2_templates_break_credential_stays_home_and_passwords_do_not() {
        let biometric = run(small(|c| {
            c.biometric = true;
            c.actions = 1;
        }));
        assert_eq!(
            biometric.verdict("credential-stays-home"),
            Some(Verdict::Violated)
        );
        assert_eq!(
            biometric.verdict("password-stays-home"),
            Some(Verdict::Holds)
        );
        let password = run(small(|c| c.actions = 1));
        assert_eq!(
            password.verdict("credential-stays-home"),
            Some(Verdict::Holds)
        );
    }

    #[test]
    fn a_service_that_skips_the_ca_check_is_caught() {
        // The defect is a service property; the checker's standard systems are
        // correct, so build the model by hand with the defect flipped in.
        let cfg = small(|c| c.actions = 4);
        let (mut model, _) = cfg.into_model().expect("builds");
        for actor in &mut model.actors {
            if let Node::Service(s) = &mut actor.node {
                s.defects.skip_ca_check = true;
            }
        }
        let checker = model.clone().checker().spawn_bfs().join();
        assert!(checker.discovery("revoked-never-accepted").is_some());
    }

    #[test]
    fn the_matrix_configurations_together_reach_every_step_label() {
        let mut seen = std::collections::BTreeSet::new();
        for cfg in [
            small(|c| c.actions = 4),
            small(|c| {
                c.revocation = Revocation::Push;
                c.actions = 3;
            }),
            small(|c| {
                c.portal = true;
                c.services = 3;
                c.actions = 4;
            }),
        ] {
            let r = run(cfg);
            seen.extend(r.coverage.iter().filter(|(_, n)| **n > 0).map(|(s, _)| *s));
        }
        let missing: Vec<_> = Step::ALL.iter().filter(|s| !seen.contains(s)).collect();
        assert!(missing.is_empty(), "never reached: {missing:?}");
    }

    #[test]
    fn crashes_lose_no_table_and_keep_the_search_finite() {
        // Tables, nonces and the user's bound on actions are durable; without
        // the last, a crash-and-restart loop would never end.
        let r = run(small(|c| c.crashes = 1));
        assert!(r.complete);
        for p in [
            "revoked-never-accepted",
            "only-qualified-services",
            "unique-serials",
        ] {
            assert_eq!(r.verdict(p), Some(Verdict::Holds), "{p}");
        }
        assert_eq!(r.verdict("invalidation"), Some(Verdict::Holds));
    }

    #[test]
    fn symmetry_over_users_keeps_every_verdict_and_reduces() {
        let plain = run(small(|c| c.users = 2));
        let reduced = run(small(|c| {
            c.users = 2;
            c.symmetry = true;
        }));
        for p in &plain.properties {
            assert_eq!(reduced.verdict(&p.name), Some(p.verdict), "{}", p.name);
        }
        // Two interchangeable users: nearly half the states (the classes of
        // states where both users are alike are singletons).
        assert!(
            reduced.unique_states * 10 < plain.unique_states * 6,
            "{} of {}",
            reduced.unique_states,
            plain.unique_states
        );
        assert!(reduced.unique_states * 2 >= plain.unique_states);
        // One user: nothing to permute, the same state space.
        let one = run(small(|c| c.symmetry = true));
        assert_eq!(one.unique_states, run(small(|_| {})).unique_states);
    }

    /// The parallel search reduces by the same classes as the breadth-first
    /// one, with the same verdicts and shortest counterexamples.
    #[test]
    fn symmetry_in_the_parallel_search_finds_the_same_classes() {
        let bfs = run(small(|c| {
            c.users = 2;
            c.symmetry = true;
        }));
        let dfs = run(small(|c| {
            c.users = 2;
            c.symmetry = true;
            c.threads = 2;
        }));
        assert_eq!(dfs.unique_states, bfs.unique_states);
        for p in &bfs.properties {
            assert_eq!(dfs.verdict(&p.name), Some(p.verdict), "{}", p.name);
            let len = |r: &CheckReport| {
                r.properties
                    .iter()
                    .find(|q| q.name == p.name)
                    .map(|q| q.counterexample.len())
            };
            assert_eq!(len(&dfs), len(&bfs), "{}", p.name);
        }
    }

    /// Walk `cfg`'s transitions (up to `max_states` states) and return the
    /// labels that were recorded, failing on any label without its effect.
    fn labels_have_effects(
        cfg: &CheckConfig,
        max_states: usize,
    ) -> std::collections::BTreeSet<Step> {
        let (model, _) = cfg.into_model().expect("builds");
        let mut faults = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        crate::explore::walk_transitions(&model, max_states, |s, a, n| {
            if let Some(fx) = effects_of(&model, s, a) {
                seen.extend(fx.steps.iter().copied());
            }
            for f in label_faults(&model, s, a, n) {
                if faults.len() < 5 {
                    faults.push(format!("{f} at {a:?}"));
                }
            }
            ControlFlow::Continue(())
        });
        assert!(faults.is_empty(), "{cfg:?}: {faults:#?}");
        seen
    }

    #[test]
    fn every_recorded_label_has_its_effect_under_loss_crashes_push_and_concurrency() {
        let mut seen = std::collections::BTreeSet::new();
        for cfg in [
            small(|c| {
                c.lossy = true;
                c.actions = 3;
            }),
            small(|c| {
                c.crashes = 1;
                c.actions = 3;
            }),
            small(|c| {
                c.revocation = Revocation::Push;
                c.lossy = true;
                c.actions = 3;
            }),
            small(|c| {
                c.portal = true;
                c.services = 3;
                c.actions = 4;
            }),
            small(|c| {
                c.users = 2;
                c.concurrency = 2;
                c.actions = 2;
            }),
            small(|c| {
                c.ca_in_portal = true;
                c.merged_tables = true;
                c.biometric = true;
                c.services = 3;
                c.lossy = true;
                c.actions = 3;
            }),
            // issue, qualify at B, invalidate at A, use at B: P14/P15
            small(|c| c.actions = 4),
            small(|c| {
                c.revocation = Revocation::Push;
                c.concurrency = 2;
                c.actions = 3;
            }),
            small(|c| {
                c.biometric = true;
                c.curious_service = true;
                c.actions = 2;
            }),
            // V1's own-table and CA paths under crl-freshness, and csr's
            // refused and accepted issuances beside a substituting service.
            small(|c| {
                c.revocation = Revocation::Push;
                c.concurrency = 2;
                c.actions = 3;
                c.harden = Hardening {
                    crl_freshness: true,
                    csr: true,
                    ..Hardening::default()
                };
            }),
            small(|c| {
                c.malicious_service = Some(1);
                c.actions = 2;
                c.harden = Hardening {
                    csr: true,
                    ..Hardening::default()
                };
            }),
            // Time passes: a stale CRL's check with the CA, expired refusals
            // (the labels replayed at their state's time, `effects_of`).
            small(|c| {
                c.revocation = Revocation::Push;
                c.actions = 2;
                c.clock_jumps = 1;
                c.harden = Hardening {
                    crl_freshness: true,
                    ..Hardening::default()
                };
            }),
        ] {
            // Each configuration's first 40,000 states (breadth-first): the
            // small ones entirely, the lossy and crashing ones in part.
            seen.extend(labels_have_effects(&cfg, 40_000));
        }
        let missing: Vec<_> = Step::ALL.iter().filter(|s| !seen.contains(s)).collect();
        assert!(missing.is_empty(), "labels never checked: {missing:?}");
    }

    #[test]
    fn a_label_recorded_without_its_effect_is_caught() {
        // A service that keeps the serial at S20-2 (the defect) but records
        // the label anyway, as the code did before labels followed effects.
        let (model, _) = small(|c| {
            c.actions = 3;
            c.defects.keep_row_on_prohibit = true;
        })
        .into_model()
        .expect("builds");
        let mut caught = 0;
        crate::explore::walk_transitions(&model, 20_000, |s, a, n| {
            let Some(mut fx) = effects_of(&model, s, a) else {
                return ControlFlow::Continue(());
            };
            if !fx.steps.contains(&Step::S20_3) {
                return ControlFlow::Continue(());
            }
            let ActorModelAction::Deliver { src, dst, msg } = a else {
                return ControlFlow::Continue(());
            };
            fx.steps = vec![Step::S20_2];
            let after = |id: Id| n.actor_states.get(usize::from(id)).map(|s| &***s);
            let ev = crate::step_effects::Event {
                dir: &model.cfg.system.dir,
                node: *dst,
                input: Some((*src, msg)),
                sends: &fx.sends,
                after: &after,
            };
            caught += crate::step_effects::check_all(&fx.steps, &ev).len();
            ControlFlow::Continue(())
        });
        assert!(
            caught > 0,
            "S20-2 with the serial still in Fig. 7 must be a fault"
        );
    }

    #[test]
    fn counterexamples_are_shortest_and_end_at_the_violating_event() {
        for cfg in [
            small(|c| c.actions = 3),
            small(|c| {
                c.revocation = Revocation::Push;
                c.actions = 4;
            }),
            small(|c| {
                c.presentation = Presentation::Bearer;
                c.attacker = true;
            }),
        ] {
            let r = run(cfg.clone());
            for p in r
                .properties
                .iter()
                .filter(|p| p.kind == "always" && p.verdict == Verdict::Violated)
            {
                let n = p.counterexample.len();
                let last = p.counterexample.last().expect("a path");
                assert!(
                    !last.sent.is_empty(),
                    "{}: the violating event's sends",
                    p.name
                );
                // One step less: no violation exists.
                let shorter = run(CheckConfig {
                    depth: Some(n - 1),
                    ..cfg.clone()
                });
                assert_ne!(
                    shorter.verdict(&p.name),
                    Some(Verdict::Violated),
                    "{}",
                    p.name
                );
                assert_eq!(
                    shorter.verdict(&p.name),
                    Some(Verdict::Unknown),
                    "{}",
                    p.name
                );
                let exact = run(CheckConfig {
                    depth: Some(n),
                    ..cfg.clone()
                });
                assert_eq!(
                    exact.verdict(&p.name),
                    Some(Verdict::Violated),
                    "{}",
                    p.name
                );
            }
        }
    }

    #[test]
    fn counterexamples_show_their_cause() {
        // V1: the CRL to B is still in flight when B grants.
        let push = run(small(|c| {
            c.revocation = Revocation::Push;
            c.actions = 4;
        }));
        let p = push
            .properties
            .iter()
            .find(|p| p.name == "revoked-never-accepted")
            .expect("listed");
        assert!(
            p.in_flight.iter().any(|m| m.contains("Revocation")),
            "{:?}",
            p.in_flight
        );
        assert!(
            p.counterexample
                .last()
                .expect("a path")
                .sent
                .iter()
                .any(|m| m.contains("Granted"))
        );
        // Bearer: the grant goes to mallory.
        let bearer = run(small(|c| {
            c.presentation = Presentation::Bearer;
            c.attacker = true;
        }));
        let p = bearer
            .properties
            .iter()
            .find(|p| p.name == "no-impersonation")
            .expect("listed");
        let last = p.counterexample.last().expect("a path");
        assert!(
            last.sent.iter().any(|m| m.contains("-> mallory: Granted")),
            "{:?}",
            last.sent
        );
    }

    #[test]
    fn a_state_budget_gives_unknown_not_holds() {
        let r = run(small(|c| {
            c.actions = 3;
            c.max_states = Some(50);
        }));
        assert_eq!(r.ended, Ended::MaxStates);
        assert_eq!(r.verdict("revoked-never-accepted"), Some(Verdict::Unknown));
        assert!(r.bound.contains("max-states"), "{}", r.bound);
    }

    #[test]
    fn in_flight_counts_every_copy_once_and_ends_on_ordered_channels() {
        let env = |op| Envelope {
            src: Id::from(1),
            dst: Id::from(2),
            msg: Msg::Access {
                op,
                purpose: crate::msg::Purpose::Use,
            },
        };
        let ordered = Network::new_ordered([env(1), env(2), env(3)]);
        let ops: Vec<_> = in_flight(&ordered)
            .iter()
            .filter_map(|e| e.msg.op())
            .collect();
        assert_eq!(ops, [1, 2, 3]);
        let copies = Network::new_unordered_nonduplicating([env(1), env(1), env(2)]);
        assert_eq!(in_flight(&copies).len(), 3);
        let kept = Network::new_unordered_duplicating([env(1), env(1)]);
        assert_eq!(in_flight(&kept).len(), 1);
    }

    #[test]
    fn bad_configurations_are_refused() {
        assert!(matches!(
            check(&small(|c| c.services = 1), |_| {}),
            Err(CheckError::TooFewServices(1))
        ));
        assert!(matches!(
            check(&small(|c| c.users = 0), |_| {}),
            Err(CheckError::NoUsers)
        ));
    }

    /// Measure one configuration given as JSON in CC_PROBE (development aid).
    #[test]
    #[ignore]
    fn probe() {
        let Ok(json) = std::env::var("CC_PROBE") else {
            return;
        };
        let cfg: CheckConfig = serde_json::from_str(&json).expect("a CheckConfig as JSON");
        let r = run(cfg);
        eprintln!(
            "unique {} total {} depth {} {:.2}s",
            r.unique_states, r.total_states, r.max_depth, r.seconds
        );
        for p in &r.properties {
            eprintln!("   {} {:?} {}", p.name, p.verdict, p.counterexample.len());
            if std::env::var("CC_PATHS").is_ok() && p.kind == "always" {
                for l in &p.counterexample {
                    eprintln!("        {l}");
                }
            }
        }
    }
}
