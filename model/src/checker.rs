//! The stateright model: a `CheckConfig` becomes an `ActorModel` of the real
//! actors (`into_model`), checked with the shared properties, step coverage
//! and step-labelled counterexamples.
//!
//! Time is abstract here (the virtual clock stays at zero: certificates are
//! valid for the whole run); every other input is the real one, including
//! the DER certificates and CRLs.

use crate::config::{Defects, Modes, Presentation, PrimaryAuth, Revocation};
use crate::effects::{Effects, Timer};
use crate::msg::Msg;
use crate::node::{Choice, Node, NodeState};
use crate::properties::{History, Milestone, Property, holds};
use crate::step::Step;
use crate::system::{BuildError, System, standard_spec};
use serde::{Deserialize, Serialize};
use stateright::actor::{
    Actor, ActorModel, ActorModelAction, ActorModelState, Id, LossyNetwork, Network, Out,
};
use stateright::{Checker, Expectation, Model};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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
    pub network: NetworkKind,
    pub lossy: bool,
    /// At most this many nodes crashed at once (tables durable, sessions lost).
    pub crashes: usize,
    pub attacker: bool,
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
    /// Deliberate defects (all off in the standard matrix).
    pub defects: Defects,
    /// Stop exploring below this depth (None: exhaustive).
    pub depth: Option<usize>,
    pub symmetry: bool,
    pub threads: usize,
}

impl Default for CheckConfig {
    fn default() -> Self {
        CheckConfig {
            services: 2,
            users: 1,
            portal: false,
            revocation: Revocation::Online,
            presentation: Presentation::ProofOfPossession,
            network: NetworkKind::Unordered,
            lossy: false,
            crashes: 0,
            attacker: false,
            actions: 2,
            concurrency: 1,
            merged_tables: false,
            biometric: false,
            ca_in_portal: false,
            curious_service: false,
            defects: Defects::default(),
            depth: None,
            symmetry: false,
            threads: 1,
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
    fn freeze(&self) {
        self.frozen.store(true, Ordering::Relaxed);
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
    type State = NodeState;
    type Storage = crate::node::Storage;
    type Random = Choice;

    fn on_start(&self, id: Id, storage: &Option<Self::Storage>, o: &mut Out<Self>) -> NodeState {
        let (state, fx) = self.node.start(id, storage.as_ref());
        self.coverage.count(&fx.steps);
        self.node.apply_to(&state, fx, o);
        state
    }

    fn on_msg(&self, id: Id, state: &mut Cow<NodeState>, src: Id, msg: Msg, o: &mut Out<Self>) {
        let st = state.to_mut();
        let fx = self.node.on_message(id, st, src, msg);
        self.coverage.count(&fx.steps);
        self.node.apply_to(st, fx, o);
    }

    fn on_timeout(&self, id: Id, state: &mut Cow<NodeState>, timer: &Timer, o: &mut Out<Self>) {
        let st = state.to_mut();
        let fx = self.node.on_timer(id, st, timer);
        self.coverage.count(&fx.steps);
        self.node.apply_to(st, fx, o);
    }

    fn on_random(&self, id: Id, state: &mut Cow<NodeState>, random: &Choice, o: &mut Out<Self>) {
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

pub type CcModel = ActorModel<Checked, ModelCfg, History>;
pub type CcState = ActorModelState<Checked, History>;
pub type CcAction = ActorModelAction<Msg, Timer, Choice>;

fn states(s: &CcState) -> impl Iterator<Item = &NodeState> {
    s.actor_states.iter().map(|a| &**a)
}

macro_rules! always {
    ($model:expr, $p:expr) => {
        $model.property(Expectation::Always, $p.name(), |_, s| {
            holds($p, &s.history, states(s))
        })
    };
}

macro_rules! sometimes {
    ($model:expr, $m:expr) => {
        $model.property(Expectation::Sometimes, $m.name(), |_, s| {
            s.history.reached.contains(&$m)
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
            })
            .collect()
    }

    /// The stateright model of this configuration, with its coverage counter.
    pub fn into_model(&self) -> Result<(CcModel, Arc<Coverage>), BuildError> {
        let mut spec = standard_spec(
            self.services.max(2),
            self.users.max(1),
            self.portal || self.ca_in_portal,
        );
        spec.modes = self.modes();
        spec.attacker = self.attacker.then(|| "mallory".to_string());
        spec.autonomous_actions = Some(self.actions);
        spec.concurrency = self.concurrency.max(1);
        spec.defects = self.defects;
        if self.curious_service
            && let Some(a) = spec.services.first_mut()
        {
            a.curious = true;
        }
        spec.timeouts = self.lossy || self.crashes > 0;
        let system = spec.build()?;
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
        let mut model = ActorModel::new(ModelCfg { system }, History::default())
            .actors(actors)
            .init_network(network)
            .lossy_network(if self.lossy {
                LossyNetwork::Yes
            } else {
                LossyNetwork::No
            })
            .max_crashes(self.crashes)
            .record_msg_out(|cfg, history, env| {
                let mut next = history.clone();
                next.observe(&cfg.system.dir, env.src, env.dst, env.msg);
                (next != *history).then_some(next)
            });
        model = always!(model, Property::RevokedNeverAccepted);
        model = always!(model, Property::OnlyQualifiedServices);
        model = always!(model, Property::PasswordStaysHome);
        model = always!(model, Property::CredentialStaysHome);
        model = always!(model, Property::NoImpersonation);
        model = always!(model, Property::UniqueSerials);
        model = always!(model, Property::OneCertificatePerUser);
        let reachable = self.milestones();
        if reachable.contains(&Milestone::GrantAfterQualification) {
            model = sometimes!(model, Milestone::GrantAfterQualification);
        }
        if reachable.contains(&Milestone::Invalidation) {
            model = sometimes!(model, Milestone::Invalidation);
        }
        if reachable.contains(&Milestone::Prohibition) {
            model = sometimes!(model, Milestone::Prohibition);
        }
        if reachable.contains(&Milestone::StatementTwoSources) {
            model = sometimes!(model, Milestone::StatementTwoSources);
        }
        if reachable.contains(&Milestone::ReplayedCredentialAccepted) {
            model = sometimes!(model, Milestone::ReplayedCredentialAccepted);
        }
        Ok((model, coverage))
    }
}

/// A verdict of one property.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Holds,
    Violated,
    /// The search stopped (depth bound) before it could tell.
    Unknown,
}

/// One line of a counterexample.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Line {
    pub from: String,
    pub to: String,
    pub message: String,
    pub steps: Vec<Step>,
}

impl std::fmt::Display for Line {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} -> {}: {}", self.from, self.to, self.message)?;
        if !self.steps.is_empty() {
            let labels: Vec<&str> = self.steps.iter().map(|s| s.label()).collect();
            write!(f, "  [{}]", labels.join(", "))?;
        }
        Ok(())
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct PropertyResult {
    pub name: String,
    pub kind: &'static str,
    pub verdict: Verdict,
    /// For a violated `always`: the path to the violation; for a found
    /// `sometimes`: the example that reaches it.
    pub counterexample: Vec<Line>,
}

/// Everything a check found.
#[derive(Clone, Debug, Serialize)]
pub struct CheckReport {
    pub config: CheckConfig,
    pub unique_states: usize,
    pub total_states: usize,
    pub max_depth: usize,
    pub seconds: f64,
    pub states_per_second: f64,
    pub properties: Vec<PropertyResult>,
    pub coverage: BTreeMap<Step, u64>,
    /// Whether the search was complete (no depth bound hit).
    pub complete: bool,
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
}

/// Progress while checking.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    pub total_states: usize,
    pub unique_states: usize,
    pub max_depth: usize,
    pub elapsed: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("services must be at least 2 (got {0})")]
    TooFewServices(usize),
    #[error("users must be at least 1")]
    NoUsers,
    #[error(transparent)]
    Build(#[from] BuildError),
}

/// Run the checker, calling `progress` every few tens of milliseconds.
/// With `symmetry`, the search is depth-first (stateright's requirement).
pub fn check(
    config: &CheckConfig,
    progress: impl FnMut(Progress),
) -> Result<CheckReport, CheckError> {
    if config.services < 2 {
        return Err(CheckError::TooFewServices(config.services));
    }
    if config.users == 0 {
        return Err(CheckError::NoUsers);
    }
    let (model, coverage) = config.into_model()?;
    let start = Instant::now();
    let mut builder = model.clone().checker().threads(config.threads.max(1));
    if let Some(d) = config.depth {
        builder = builder.target_max_depth(d);
    }
    // stateright applies symmetry only under depth-first search.
    if config.symmetry {
        let checker = builder
            .symmetry_fn(crate::symmetry::representative)
            .spawn_dfs();
        Ok(finish(checker, config, &model, &coverage, start, progress))
    } else {
        Ok(finish(
            builder.spawn_bfs(),
            config,
            &model,
            &coverage,
            start,
            progress,
        ))
    }
}

/// Wait for a running checker, then turn what it found into a report.
fn finish(
    checker: impl Checker<CcModel>,
    config: &CheckConfig,
    model: &CcModel,
    coverage: &Coverage,
    start: Instant,
    mut progress: impl FnMut(Progress),
) -> CheckReport {
    while !checker.is_done() {
        std::thread::sleep(Duration::from_millis(20));
        progress(Progress {
            total_states: checker.state_count(),
            unique_states: checker.unique_state_count(),
            max_depth: checker.max_depth(),
            elapsed: start.elapsed(),
        });
    }
    let checker = checker.join();
    let seconds = start.elapsed().as_secs_f64();
    coverage.freeze();
    let complete = config.depth.is_none_or(|d| checker.max_depth() < d);
    let discoveries = checker.discoveries();
    let properties = model
        .properties()
        .into_iter()
        .map(|p| {
            let found = discoveries.get(p.name);
            let (kind, verdict) = match p.expectation {
                Expectation::Always => (
                    "always",
                    match (found, complete) {
                        (Some(_), _) => Verdict::Violated,
                        (None, true) => Verdict::Holds,
                        (None, false) => Verdict::Unknown,
                    },
                ),
                Expectation::Sometimes => (
                    "sometimes",
                    match (found, complete) {
                        (Some(_), _) => Verdict::Holds,
                        (None, true) => Verdict::Violated,
                        (None, false) => Verdict::Unknown,
                    },
                ),
                Expectation::Eventually => ("eventually", Verdict::Unknown),
            };
            let counterexample = found
                .map(|path| {
                    // Cut the path at the first state where the discovery shows: the
                    // search may have reached it through a longer continuation.
                    let mut steps = path.clone().into_vec();
                    if let Some(first) = steps.iter().position(|(s, _)| match p.expectation {
                        Expectation::Always => !(p.condition)(model, s),
                        _ => (p.condition)(model, s),
                    }) {
                        steps.truncate(first + 1);
                        if let Some(last) = steps.last_mut() {
                            last.1 = None;
                        }
                    }
                    label_path(model, steps)
                })
                .unwrap_or_default();
            PropertyResult {
                name: p.name.to_string(),
                kind,
                verdict,
                counterexample,
            }
        })
        .collect();
    let total = checker.state_count();
    CheckReport {
        config: config.clone(),
        unique_states: checker.unique_state_count(),
        total_states: total,
        max_depth: checker.max_depth(),
        seconds,
        states_per_second: if seconds > 0.0 {
            total as f64 / seconds
        } else {
            0.0
        },
        properties,
        coverage: coverage.snapshot(),
        complete,
    }
}

/// What a transition's handler did: re-run it on a copy of the state
/// before it (handlers are pure). None for actions that run no handler.
pub fn effects_of(model: &CcModel, state: &CcState, action: &CcAction) -> Option<Effects> {
    let node_of = |id: Id| model.actors.get(usize::from(id)).map(|c| &c.node);
    let state_of = |id: Id| {
        state
            .actor_states
            .get(usize::from(id))
            .map(|s| (**s).clone())
    };
    match action {
        ActorModelAction::Deliver { src, dst, msg } => {
            let (node, mut st) = (node_of(*dst)?, state_of(*dst)?);
            Some(node.on_message(*dst, &mut st, *src, msg.clone()))
        }
        ActorModelAction::Timeout(id, timer) => {
            let (node, mut st) = (node_of(*id)?, state_of(*id)?);
            Some(node.on_timer(*id, &mut st, timer))
        }
        ActorModelAction::SelectRandom { actor, random, .. } => {
            let (node, mut st) = (node_of(*actor)?, state_of(*actor)?);
            Some(node.on_choice(*actor, &mut st, random).0)
        }
        ActorModelAction::Drop(_) | ActorModelAction::Crash(_) | ActorModelAction::Recover(_) => {
            None
        }
    }
}

/// The labels of one transition recorded without their effect
/// (`step_effects`), judged on the state after it.
pub fn label_faults(
    model: &CcModel,
    state: &CcState,
    action: &CcAction,
    next: &CcState,
) -> Vec<String> {
    let Some(fx) = effects_of(model, state, action) else {
        // A restart records no label (the model's on_start records none).
        return Vec::new();
    };
    if fx.steps.is_empty() {
        return Vec::new();
    }
    let (node, input) = match action {
        ActorModelAction::Deliver { src, dst, msg } => (*dst, Some((*src, msg))),
        ActorModelAction::Timeout(id, _) => (*id, None),
        ActorModelAction::SelectRandom { actor, .. } => (*actor, None),
        _ => return Vec::new(),
    };
    let after = |id: Id| {
        let i = usize::from(id);
        if next.crashed.get(i).copied().unwrap_or(false) {
            return None;
        }
        next.actor_states.get(i).map(|s| &**s)
    };
    let ev = crate::step_effects::Event {
        dir: &model.cfg.system.dir,
        node,
        input,
        sends: &fx.sends,
        after: &after,
    };
    crate::step_effects::check_all(&fx.steps, &ev)
}

/// Turn a checker path into step-labelled lines by re-running each
/// transition's handler on the state before it (handlers are pure).
pub fn label_path(model: &CcModel, path: Vec<(CcState, Option<CcAction>)>) -> Vec<Line> {
    let dir = &model.cfg.system.dir;
    let name = |id: Id| dir.name(id).to_string();
    let mut lines = Vec::new();
    for (state, action) in path {
        let Some(action) = action else { continue };
        let steps = effects_of(model, &state, &action)
            .map(|fx| fx.steps)
            .unwrap_or_default();
        let line = match action {
            ActorModelAction::Deliver { src, dst, msg } => Line {
                from: name(src),
                to: name(dst),
                message: msg.to_string(),
                steps,
            },
            ActorModelAction::Drop(env) => Line {
                from: name(env.src),
                to: name(env.dst),
                message: format!("{} (lost)", env.msg),
                steps: Vec::new(),
            },
            ActorModelAction::Timeout(id, timer) => Line {
                from: name(id),
                to: name(id),
                message: format!("{timer:?} fires"),
                steps,
            },
            ActorModelAction::Crash(id) => Line {
                from: name(id),
                to: name(id),
                message: "crashes".into(),
                steps: Vec::new(),
            },
            ActorModelAction::Recover(id) => Line {
                from: name(id),
                to: name(id),
                message: "restarts from storage".into(),
                steps: Vec::new(),
            },
            ActorModelAction::SelectRandom { actor, random, .. } => Line {
                from: name(actor),
                to: name(actor),
                message: describe_choice(dir, &random),
                steps,
            },
        };
        lines.push(line);
    }
    lines
}

fn describe_choice(dir: &crate::config::Directory, c: &Choice) -> String {
    use crate::user::Command;
    match c {
        Choice::User(Command::Issue { service, .. }) => {
            format!("chooses issue at {}", dir.name(*service))
        }
        Choice::User(Command::Use { service, .. }) => {
            format!("chooses use at {}", dir.name(*service))
        }
        Choice::User(Command::Prohibit { service }) => {
            format!("chooses prohibit at {}", dir.name(*service))
        }
        Choice::User(Command::Invalidate { service, using, .. }) => {
            format!("chooses invalidate at {} by {using:?}", dir.name(*service))
        }
        Choice::User(Command::Statement { portal }) => {
            format!("chooses statement at {}", dir.name(*portal))
        }
        Choice::Attacker(r) => format!(
            "replays certificate {} at {}",
            r.shown.certificate.fingerprint(),
            dir.name(r.service)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
                Step::P6 | Step::P22 | Step::P24 | Step::P34 | Step::P42 | Step::P46
            )
        })
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
        let changed = changed_by(small(|c| c.attacker = true), |d| d.skip_proof_check = true);
        assert_eq!(changed, vec!["no-impersonation".to_string()]);
        // unique-serials: the CA's counter stuck.
        let changed = changed_by(small(|_| {}), |d| d.reuse_serials = true);
        assert!(
            changed.contains(&"unique-serials".to_string()),
            "{changed:?}"
        );
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
        crate::bfs::walk_transitions(&model, 50_000, |s, a, _| {
            if let ActorModelAction::Crash(id) = a {
                let i = usize::from(*id);
                if let (Some(actor), Some(live)) = (model.actors.get(i), s.actor_states.get(i))
                    && actor
                        .node
                        .loses_at_crash(*id, live, s.actor_storages[i].as_ref())
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

    /// The races issue 8 names, as predicates on a state.
    fn races(model: &CcModel, s: &CcState) -> Vec<&'static str> {
        use crate::user::Command;
        let dir = &model.cfg.system.dir;
        let users: Vec<&crate::user::UserState> =
            s.actor_states.iter().filter_map(|a| a.user()).collect();
        let ca_has = |serial: u64| {
            s.actor_states
                .iter()
                .filter_map(|a| a.ca())
                .any(|c| c.tables.is_registered(serial))
        };
        let mut found = Vec::new();
        for u in &users {
            let cmds: Vec<&Command> = u.pending.values().map(|p| &p.command).collect();
            let serial = u
                .certificate
                .as_ref()
                .and_then(|c| crate::world::certificate_serial(c.as_ref()));
            let any = |f: &dyn Fn(&Command) -> bool| cmds.iter().any(|c| f(c));
            let using = |c: &Command| matches!(c, Command::Use { .. });
            if any(&using)
                && any(&|c| matches!(c, Command::Invalidate { .. }))
                && serial.is_some_and(|x| !ca_has(x))
            {
                // the CA already deleted the rows; the use is still under way
                found.push("use racing invalidation");
            }
            for c in &cmds {
                if let Command::Prohibit { service } = c
                    && any(&|d| matches!(d, Command::Use { service: s2, .. } if s2 == service))
                {
                    found.push("prohibition racing use");
                }
            }
            let issuing: std::collections::BTreeSet<Id> = cmds
                .iter()
                .filter_map(|c| match c {
                    Command::Issue { service, .. } => Some(*service),
                    _ => None,
                })
                .collect();
            if issuing.len() >= 2 {
                found.push("issue at two services at once");
            }
        }
        for svc in dir.services() {
            let peers: std::collections::BTreeSet<Id> = s.actor_states[usize::from(svc)]
                .service()
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
            crate::bfs::walk_transitions(&model, 300_000, |_, _, n| {
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
    fn symmetry_over_users_keeps_every_verdict() {
        let plain = run(small(|c| c.users = 2));
        let reduced = run(small(|c| {
            c.users = 2;
            c.symmetry = true;
        }));
        // Sound, but with real certificates no two users' states are ever
        // permutations of each other (names and keys are inside the DER), so
        // the classes are singletons: the same count. See symmetry.rs.
        assert_eq!(reduced.unique_states, plain.unique_states);
        for p in &plain.properties {
            assert_eq!(reduced.verdict(&p.name), Some(p.verdict), "{}", p.name);
        }
        // One user: nothing to permute, the same state space (under DFS).
        let one = run(small(|c| c.symmetry = true));
        assert_eq!(one.unique_states, run(small(|_| {})).unique_states);
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
        crate::bfs::walk_transitions(&model, max_states, |s, a, n| {
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
        ] {
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
        crate::bfs::walk_transitions(&model, 20_000, |s, a, n| {
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
            let after = |id: Id| n.actor_states.get(usize::from(id)).map(|s| &**s);
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
