//! Scenario files: the contract of `../shared/scenario-format.md`, parsed and
//! checked before anything runs.
//!
//! Parsing is two-staged. serde reads the TOML into `Raw*` structs that deny
//! unknown keys and keep the byte spans of everything a later check may need
//! to point at; `check` then resolves ids, `do`s, outcomes and step labels
//! and turns the file into a [`Scenario`]. Every refusal is a [`Refused`]
//! naming `file:line:column` and what was expected, so an author can go
//! straight to the offending character.
//!
//! Project additions to the format (documented in `scenarios/README.md`):
//! - `[config]` `merged_ca_table = true` (variant T1), `primary_auth =
//!   "biometric"` (V2; one template per user, the same at every service),
//!   `ca_in_portal = true` (V3; `"CA"` in `crash`/`restart`/`partition` names
//!   the portal's node), `validity_ms` (certificate validity, virtual ms) and
//!   `[config.defects] skip_ca_check = true` (a deliberately broken service);
//! - user `name`, `address`, `email` default to the id, `""` and
//!   `<id>@example.org`; `invalidate` without `using` means `"password"`;
//! - `expect_steps` is allowed on every operation step, not only `use`;
//! - an operation may also end in an outcome the contract's table omits but
//!   the model can produce (`issue`: rejected; `prohibit`: revoked, rejected;
//!   `invalidate`: rejected, not-qualified; `statement`: not-qualified).

use crate::workload::{Mix, OpKind, Workload};
use commoncert_model::config::Subject;
use commoncert_model::config::{Defects, Hardening};
use commoncert_model::config::{Modes, Presentation, PrimaryAuth, Revocation, Serials};
use commoncert_model::effects::Timer;
use commoncert_model::msg::Request;
use commoncert_model::properties::Property;
use commoncert_model::step::Step as Label;
use commoncert_model::system::{ServiceSpec, SystemSpec, UserSpec};
use commoncert_model::user::{Outcome, Using};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// A scenario file refused before anything ran.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}:{column}: {message}", file.display())]
pub struct Refused {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// The network of `[config.network]`.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct NetworkConfig {
    /// Inclusive range of one message's delay, in virtual ms.
    pub latency_ms: (u64, u64),
    pub loss: f64,
    pub duplicate: f64,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            latency_ms: (1, 20),
            loss: 0.0,
            duplicate: 0.0,
        }
    }
}

/// One scenario, checked: every id it names exists.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: String,
    /// The line of `name = ...`, for duplicate-name errors.
    pub name_line: usize,
    pub description: String,
    pub file: PathBuf,
    pub seed: u64,
    /// `seed_dependent = true` (project addition): the steps' expectations
    /// hold for this file's own seed only (its losses and latencies decide
    /// them). Under another seed, mismatches are tolerated, never an
    /// unexpected invariant violation.
    pub seed_dependent: bool,
    pub timeout_ms: u64,
    pub network: NetworkConfig,
    /// The system, with `seed` still to be set by the run.
    pub spec: SystemSpec,
    pub steps: Vec<Step>,
    pub expect_final: Vec<FinalExpectation>,
    pub expect_violations: Vec<Property>,
    /// `[expect] under_faults`: known findings that injected faults (swarm:
    /// loss, duplication, latency, partitions) may show in this scenario; a
    /// swarm run with faults tolerates them, a plain run does not.
    pub expect_under_faults: Vec<Property>,
    /// Timed (latencies) or scripted (steps deliver every message).
    pub schedule: Schedule,
    /// Service id -> its display `name` (`@nifty`), where given.
    pub display_names: BTreeMap<String, String>,
    /// `[workload]`: a generated population and its operations.
    pub workload: Option<Workload>,
}

/// One `[[step]]`.
#[derive(Clone, Debug)]
pub struct Step {
    /// 1-based, as authors count.
    pub number: usize,
    /// The line of the step's `[[step]]` table.
    pub line: usize,
    pub action: Action,
    pub concurrent: bool,
    pub delay_ms: u64,
    pub expect: Option<Outcome>,
    pub expect_steps: Option<Vec<Label>>,
    pub expect_sources: Option<Vec<String>>,
}

/// What a step does, with the party ids it names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Issue {
        user: String,
        service: String,
        password: Option<String>,
    },
    Use {
        user: String,
        service: String,
        login: bool,
        password: Option<String>,
    },
    Prohibit {
        user: String,
        service: String,
    },
    Invalidate {
        user: String,
        service: String,
        using: Using,
        password: Option<String>,
    },
    Statement {
        user: String,
        service: String,
    },
    Impersonate {
        attacker: String,
        victim: String,
        service: String,
    },
    /// The malicious `service` sends `request` about `serial` to the CA.
    Probe {
        service: String,
        request: Request,
        serial: u64,
    },
    /// The malicious `service` presents its operator's own certificate at
    /// `to` and logs in with a credential `victim` gave it.
    Bind {
        service: String,
        victim: String,
        to: String,
    },
    /// The malicious `service` presents a presentation `victim` made to it
    /// at `to`: the one of certificate `serial` if given (emitted scenarios
    /// give it), else the last in the order of its set of presentations.
    Relay {
        service: String,
        victim: String,
        to: String,
        serial: Option<u64>,
    },
    /// The malicious `service` asks the CA to qualify it with a
    /// presentation `victim` made to it (of certificate `serial` if given,
    /// else the last in the order of its set).
    Requalify {
        service: String,
        victim: String,
        serial: Option<u64>,
    },
    /// The malicious `service` asks the CA to invalidate `victim`'s
    /// certificate, or to withdraw it from it (`request`), which it issued
    /// or was shown, though `victim` said no Yes (the insider's abuse).
    Revoke {
        service: String,
        victim: String,
        request: Request,
    },
    /// The malicious `service` asks the CA to certify `victim`'s key, which
    /// it learned (at an issuance through it, or in a presentation), for a
    /// subject of its own.
    Substitute {
        service: String,
        victim: String,
    },
    Partition {
        nodes: Vec<String>,
    },
    Heal,
    Crash {
        node: String,
    },
    Restart {
        node: String,
    },
    Wait {
        ms: u64,
    },
    /// Scripted schedule: deliver the held message `from` -> `to` whose text
    /// is `message` (and whose operation is `op`, if given); with
    /// `duplicate`, deliver a copy and keep it held.
    Deliver {
        from: String,
        to: String,
        message: String,
        op: Option<u32>,
        duplicate: bool,
    },
    /// Scripted schedule: lose that held message.
    Drop {
        from: String,
        to: String,
        message: String,
        op: Option<u32>,
    },
    /// Scripted schedule: fire `node`'s timeout for its operation `op`, or,
    /// without `op`, one of the CA's background timers: `timer` names it
    /// (the retransmission timer of `push-ack`, the publication timer of
    /// `crl-freshness`); without it, the first the CA holds.
    Timeout {
        node: String,
        op: Option<u32>,
        timer: Option<Background>,
    },
}

/// A CA's background timer, as a scripted `timeout` step names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Background {
    /// `push-ack`'s retransmission timer (`timer = "retransmission"`).
    Retransmission,
    /// `crl-freshness`'s publication timer (`timer = "publication"`).
    Publication,
}

impl Background {
    pub const NAMES: &'static str = "retransmission, publication";

    pub fn from_name(name: &str) -> Option<Background> {
        match name {
            "retransmission" => Some(Background::Retransmission),
            "publication" => Some(Background::Publication),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Background::Retransmission => "retransmission",
            Background::Publication => "publication",
        }
    }

    /// The model's timer this names.
    pub fn timer(self) -> Timer {
        match self {
            Background::Retransmission => Timer::Retry,
            Background::Publication => Timer::NextUpdate,
        }
    }

    /// The name of a background timer (None for an operation's timeout).
    pub fn of(timer: &Timer) -> Option<Background> {
        [Background::Retransmission, Background::Publication]
            .into_iter()
            .find(|b| b.timer() == *timer)
    }
}

impl Action {
    /// The `do` value.
    pub fn verb(&self) -> &'static str {
        match self {
            Action::Issue { .. } => "issue",
            Action::Use { .. } => "use",
            Action::Prohibit { .. } => "prohibit",
            Action::Invalidate { .. } => "invalidate",
            Action::Statement { .. } => "statement",
            Action::Impersonate { .. } => "impersonate",
            Action::Probe { .. } => "probe",
            Action::Relay { .. } => "relay",
            Action::Bind { .. } => "bind",
            Action::Requalify { .. } => "requalify",
            Action::Substitute { .. } => "substitute",
            Action::Revoke { .. } => "revoke",
            Action::Partition { .. } => "partition",
            Action::Heal => "heal",
            Action::Crash { .. } => "crash",
            Action::Restart { .. } => "restart",
            Action::Wait { .. } => "wait",
            Action::Deliver { .. } => "deliver",
            Action::Drop { .. } => "drop",
            Action::Timeout { .. } => "timeout",
        }
    }

    /// Whether the step is an operation with an outcome (rather than a fault or a wait).
    pub fn is_operation(&self) -> bool {
        matches!(
            self,
            Action::Issue { .. }
                | Action::Use { .. }
                | Action::Prohibit { .. }
                | Action::Invalidate { .. }
                | Action::Statement { .. }
                | Action::Impersonate { .. }
                | Action::Probe { .. }
                | Action::Relay { .. }
                | Action::Bind { .. }
                | Action::Requalify { .. }
                | Action::Substitute { .. }
                | Action::Revoke { .. }
        )
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Action::Issue { user, service, .. } => write!(f, "issue {user} at {service}"),
            Action::Use { user, service, .. } => write!(f, "use {user} at {service}"),
            Action::Prohibit { user, service } => write!(f, "prohibit {user} at {service}"),
            Action::Invalidate {
                user,
                service,
                using,
                ..
            } => write!(
                f,
                "invalidate {user} at {service} using {}",
                match using {
                    Using::Password => "password",
                    Using::Certificate => "certificate",
                }
            ),
            Action::Statement { user, service } => write!(f, "statement {user} at {service}"),
            Action::Impersonate {
                attacker,
                victim,
                service,
            } => write!(f, "impersonate {victim} by {attacker} at {service}"),
            Action::Probe {
                service,
                request,
                serial,
            } => write!(
                f,
                "probe by {service}: {} #{serial}",
                request_name(*request)
            ),
            Action::Relay {
                service,
                victim,
                to,
                ..
            } => write!(f, "relay {victim}'s presentation by {service} to {to}"),
            Action::Bind {
                service,
                victim,
                to,
            } => write!(
                f,
                "bind {service}'s certificate at {to} with {victim}'s credential"
            ),
            Action::Requalify {
                service, victim, ..
            } => write!(f, "requalify {service} with {victim}'s presentation"),
            Action::Substitute { service, victim } => {
                write!(f, "substitute {victim}'s key at {service}")
            }
            Action::Revoke {
                service,
                victim,
                request,
            } => write!(
                f,
                "{service} asks the CA to {} {victim}'s certificate unasked",
                request_name(*request)
            ),
            Action::Partition { nodes } => write!(f, "partition [{}]", nodes.join(", ")),
            Action::Heal => f.write_str("heal"),
            Action::Crash { node } => write!(f, "crash {node}"),
            Action::Restart { node } => write!(f, "restart {node}"),
            Action::Wait { ms } => write!(f, "wait {ms} ms"),
            Action::Deliver {
                from,
                to,
                message,
                duplicate,
                ..
            } => write!(
                f,
                "deliver {from} -> {to}: {message}{}",
                if *duplicate { " (a copy)" } else { "" }
            ),
            Action::Drop {
                from, to, message, ..
            } => {
                write!(f, "drop {from} -> {to}: {message}")
            }
            Action::Timeout {
                node, op: Some(op), ..
            } => write!(f, "timeout of {node}'s op {op}"),
            Action::Timeout {
                node,
                op: None,
                timer,
            } => match timer {
                Some(t) => write!(f, "{node}'s {} timer", t.name()),
                None => write!(f, "{node}'s background timer"),
            },
        }
    }
}

/// One `[[expect_final]]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FinalExpectation {
    pub line: usize,
    pub user: String,
    pub certificate: Option<commoncert_model::world::CertificateStatus>,
    pub ca_services: Option<Vec<String>>,
    pub service_tables: Option<Vec<String>>,
}

// ---------------------------------------------------------------------------
// Raw serde shapes
// ---------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: Spanned<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    seed: Option<u64>,
    #[serde(default)]
    seed_dependent: bool,
    #[serde(default)]
    config: Option<Spanned<RawConfig>>,
    #[serde(default)]
    service: Vec<Spanned<RawService>>,
    #[serde(default)]
    user: Vec<Spanned<RawUser>>,
    #[serde(default)]
    attacker: Vec<Spanned<RawAttacker>>,
    #[serde(default)]
    step: Vec<Spanned<RawStep>>,
    #[serde(default)]
    expect_final: Vec<Spanned<RawFinal>>,
    #[serde(default)]
    expect: Option<RawExpect>,
    #[serde(default)]
    workload: Option<Spanned<RawWorkload>>,
}

/// `[workload]` (project addition, issue 13).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWorkload {
    users: Spanned<u64>,
    services: Spanned<u64>,
    #[serde(default)]
    accounts: Option<Spanned<u64>>,
    rate: Spanned<f64>,
    duration_ms: Spanned<u64>,
    #[serde(default)]
    ops: Option<Spanned<u64>>,
    #[serde(default)]
    mix: Option<Spanned<BTreeMap<String, Spanned<u32>>>>,
    #[serde(default)]
    keep_events: Option<u64>,
    #[serde(default)]
    invalidate_using: Option<Using>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    revocation: Option<Revocation>,
    presentation: Option<Presentation>,
    timeout_ms: Option<Spanned<u64>>,
    network: Option<RawNetwork>,
    merged_ca_table: Option<bool>,
    primary_auth: Option<PrimaryAuth>,
    ca_in_portal: Option<Spanned<bool>>,
    validity_ms: Option<Spanned<u64>>,
    defects: Option<Defects>,
    schedule: Option<Schedule>,
    harden: Option<Names>,
    serials: Option<Spanned<String>>,
}

/// How events are ordered (project addition).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Schedule {
    /// Messages arrive after a latency drawn from the seed, timers after
    /// `timeout_ms`; a step starts when the one before it has ended.
    #[default]
    Timed,
    /// Time stays at zero; every message and timer waits until a `deliver`,
    /// `drop` or `timeout` step names it, and each step starts as soon as
    /// the one before it was applied. This replays a model checker's
    /// counterexample exactly (`commoncert check --emit-scenarios`).
    Scripted,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawNetwork {
    latency_ms: Option<Spanned<Vec<u64>>>,
    loss: Option<Spanned<f64>>,
    duplicate: Option<Spanned<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawService {
    id: Spanned<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    portal: bool,
    #[serde(default)]
    statement: Option<String>,
    #[serde(default)]
    curious: bool,
    #[serde(default)]
    malicious: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUser {
    id: Spanned<String>,
    name: Option<Spanned<String>>,
    address: Option<String>,
    email: Option<String>,
    #[serde(default)]
    accounts: BTreeMap<String, Spanned<RawAccount>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccount {
    login: String,
    password: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAttacker {
    id: Spanned<String>,
    /// A network attacker: it also holds a genuine certificate of its own.
    #[serde(default)]
    network: bool,
}

type Names = Spanned<Vec<Spanned<String>>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    #[serde(rename = "do")]
    action: Spanned<String>,
    user: Option<Spanned<String>>,
    service: Option<Spanned<String>>,
    expect: Option<Spanned<String>>,
    expect_steps: Option<Names>,
    expect_sources: Option<Names>,
    password: Option<Spanned<String>>,
    login: Option<Spanned<bool>>,
    using: Option<Spanned<Using>>,
    attacker: Option<Spanned<String>>,
    victim: Option<Spanned<String>>,
    nodes: Option<Names>,
    node: Option<Spanned<String>>,
    ms: Option<Spanned<u64>>,
    concurrent: Option<Spanned<bool>>,
    delay_ms: Option<Spanned<u64>>,
    from: Option<Spanned<String>>,
    to: Option<Spanned<String>>,
    message: Option<Spanned<String>>,
    op: Option<Spanned<u32>>,
    duplicate: Option<Spanned<bool>>,
    request: Option<Spanned<String>>,
    serial: Option<Spanned<u64>>,
    timer: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFinal {
    user: Spanned<String>,
    certificate: Option<commoncert_model::world::CertificateStatus>,
    ca_services: Option<Names>,
    service_tables: Option<Names>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawExpect {
    #[serde(default)]
    violations: Vec<Spanned<String>>,
    #[serde(default)]
    under_faults: Vec<Spanned<String>>,
}

// ---------------------------------------------------------------------------
// Loading and checking
// ---------------------------------------------------------------------------

/// Line and column (both 1-based, column in characters) of byte `offset`.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = text[line_start..offset].chars().count() + 1;
    (line, column)
}

struct Checker<'a> {
    file: &'a Path,
    text: &'a str,
}

impl Checker<'_> {
    fn at(&self, span: Range<usize>, message: impl Into<String>) -> Refused {
        let (line, column) = line_column(self.text, span.start);
        Refused {
            file: self.file.to_path_buf(),
            line,
            column,
            message: message.into(),
        }
    }

    fn line(&self, span: &Range<usize>) -> usize {
        line_column(self.text, span.start).0
    }
}

/// Read and check the scenario file at `path`.
pub fn load(path: &Path) -> Result<Scenario, Refused> {
    let text = std::fs::read(path).map_err(|e| Refused {
        file: path.to_path_buf(),
        line: 1,
        column: 1,
        message: format!("cannot read the file: {e}"),
    })?;
    let text = String::from_utf8(text).map_err(|e| {
        let (line, column) = line_column(
            &String::from_utf8_lossy(e.as_bytes()),
            e.utf8_error().valid_up_to(),
        );
        Refused {
            file: path.to_path_buf(),
            line,
            column,
            message: "expected UTF-8 text (TOML files are UTF-8)".to_string(),
        }
    })?;
    parse(path, &text)
}

/// Check scenario `text`, reported as coming from `file`.
pub fn parse(file: &Path, text: &str) -> Result<Scenario, Refused> {
    let c = Checker { file, text };
    if text.trim().is_empty() {
        return Err(c.at(
            0..0,
            "empty scenario: expected at least `name = \"...\"` and some `[[step]]`s",
        ));
    }
    let raw: RawScenario = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        c.at(span, e.message().trim().to_string())
    })?;
    check(&c, raw)
}

const OP_COMMON: &[&str] = &["do", "concurrent", "delay_ms", "expect", "expect_steps"];
const OTHER_COMMON: &[&str] = &["do", "concurrent", "delay_ms"];

/// The keys beside the common ones that each `do` accepts, and the outcomes it may expect
/// (`crashed`: the party running the operation crashed or was restarted under it).
fn grammar(verb: &str) -> Option<(&'static [&'static str], &'static [&'static str])> {
    Some(match verb {
        "issue" => (
            &["user", "service", "password"],
            &[
                "issued",
                "already-issued",
                "bad-credentials",
                "rejected",
                "timeout",
                "crashed",
            ],
        ),
        "use" => (
            &["user", "service", "login", "password"],
            &[
                "granted",
                "login-required",
                "bad-credentials",
                "revoked",
                "not-qualified",
                "rejected",
                "no-certificate",
                "timeout",
                "crashed",
            ],
        ),
        "prohibit" => (
            &["user", "service"],
            &[
                "prohibited",
                "not-qualified",
                "no-certificate",
                "revoked",
                "rejected",
                "timeout",
                "crashed",
            ],
        ),
        "invalidate" => (
            &["user", "service", "using", "password"],
            &[
                "invalidated",
                "bad-credentials",
                "no-certificate",
                "rejected",
                "not-qualified",
                "timeout",
                "crashed",
            ],
        ),
        "statement" => (
            &["user", "service", "expect_sources"],
            &[
                "statement",
                "revoked",
                "rejected",
                "no-certificate",
                "not-qualified",
                "timeout",
                "crashed",
            ],
        ),
        "impersonate" => (
            &["attacker", "victim", "service"],
            &["granted", "rejected", "timeout", "crashed"],
        ),
        "probe" => (
            &["service", "request", "serial", "expect_sources"],
            &[
                "invalidated",
                "prohibited",
                "granted",
                "statement",
                "revoked",
                "not-qualified",
                "timeout",
                "crashed",
            ],
        ),
        "relay" => (
            &["service", "victim", "to", "serial"],
            &["granted", "rejected", "timeout", "crashed"],
        ),
        "bind" => (
            &["service", "victim", "to"],
            &["granted", "rejected", "timeout", "crashed"],
        ),
        "requalify" => (
            &["service", "victim", "serial"],
            &["granted", "not-qualified", "revoked", "timeout", "crashed"],
        ),
        "substitute" => (
            &["service", "victim"],
            &["issued", "rejected", "timeout", "crashed"],
        ),
        "revoke" => (
            &["service", "victim", "request"],
            &[
                "invalidated",
                "prohibited",
                "revoked",
                "not-qualified",
                "timeout",
                "crashed",
            ],
        ),
        "partition" => (&["nodes"], &[]),
        "heal" => (&[], &[]),
        "crash" | "restart" => (&["node"], &[]),
        "wait" => (&["ms"], &[]),
        "deliver" => (&["from", "to", "message", "op", "duplicate"], &[]),
        "drop" => (&["from", "to", "message", "op"], &[]),
        "timeout" => (&["node", "op", "timer"], &[]),
        _ => return None,
    })
}

const VERBS: &str = "issue, use, prohibit, invalidate, statement, impersonate, probe, relay, bind, requalify, substitute, revoke, partition, heal, crash, restart, wait, deliver, drop, timeout";

/// The keys a raw step sets, with the span of each value.
fn present_keys(s: &RawStep) -> Vec<(&'static str, Range<usize>)> {
    let mut keys = Vec::new();
    let mut add = |name: &'static str, span: Option<Range<usize>>| {
        if let Some(span) = span {
            keys.push((name, span));
        }
    };
    add("user", s.user.as_ref().map(Spanned::span));
    add("service", s.service.as_ref().map(Spanned::span));
    add("expect", s.expect.as_ref().map(Spanned::span));
    add("expect_steps", s.expect_steps.as_ref().map(Spanned::span));
    add(
        "expect_sources",
        s.expect_sources.as_ref().map(Spanned::span),
    );
    add("password", s.password.as_ref().map(Spanned::span));
    add("login", s.login.as_ref().map(Spanned::span));
    add("using", s.using.as_ref().map(Spanned::span));
    add("attacker", s.attacker.as_ref().map(Spanned::span));
    add("victim", s.victim.as_ref().map(Spanned::span));
    add("nodes", s.nodes.as_ref().map(Spanned::span));
    add("node", s.node.as_ref().map(Spanned::span));
    add("ms", s.ms.as_ref().map(Spanned::span));
    add("concurrent", s.concurrent.as_ref().map(Spanned::span));
    add("delay_ms", s.delay_ms.as_ref().map(Spanned::span));
    add("from", s.from.as_ref().map(Spanned::span));
    add("to", s.to.as_ref().map(Spanned::span));
    add("message", s.message.as_ref().map(Spanned::span));
    add("op", s.op.as_ref().map(Spanned::span));
    add("duplicate", s.duplicate.as_ref().map(Spanned::span));
    add("request", s.request.as_ref().map(Spanned::span));
    add("serial", s.serial.as_ref().map(Spanned::span));
    add("timer", s.timer.as_ref().map(Spanned::span));
    keys
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Service,
    User,
    Attacker,
}

fn check(c: &Checker<'_>, raw: RawScenario) -> Result<Scenario, Refused> {
    let name = raw.name.get_ref().trim().to_string();
    if name.is_empty() {
        return Err(c.at(raw.name.span(), "expected a non-empty scenario `name`"));
    }

    // [config]
    let (config_span, config) = match raw.config {
        Some(s) => {
            let span = s.span();
            (span, s.into_inner())
        }
        None => (0..0, RawConfig::default()),
    };
    let mut modes = Modes::default();
    if let Some(r) = config.revocation {
        modes.revocation = r;
    }
    if let Some(p) = config.presentation {
        modes.presentation = p;
    }
    if let Some(a) = config.primary_auth {
        modes.primary_auth = a;
    }
    modes.merged_ca_table = config.merged_ca_table.unwrap_or(false);
    if let Some(n) = &config.serials {
        modes.serials = Serials::from_name(n.get_ref())
            .map_err(|e| c.at(n.span(), format!("in `[config]`: {e}")))?;
    }
    let schedule = config.schedule.unwrap_or_default();
    let scripted = schedule == Schedule::Scripted;
    if let Some(v) = &config.validity_ms {
        if *v.get_ref() == 0 {
            return Err(c.at(v.span(), "expected a positive `validity_ms`"));
        }
        modes.certificate_validity_ms = *v.get_ref();
    }
    let timeout_ms = match &config.timeout_ms {
        Some(t) if *t.get_ref() == 0 => {
            return Err(c.at(t.span(), "expected a positive `timeout_ms`"));
        }
        Some(t) => *t.get_ref(),
        None => 1000,
    };
    let defects = config.defects.unwrap_or_default();
    let mut hardening = Hardening::default();
    if let Some(names) = &config.harden {
        for n in names.get_ref() {
            hardening
                .enable(n.get_ref())
                .map_err(|e| c.at(n.span(), format!("in `harden`: {e}")))?;
        }
    }
    let mut network = NetworkConfig::default();
    if let Some(n) = &config.network {
        if let Some(l) = &n.latency_ms {
            match l.get_ref().as_slice() {
                [lo, hi] if lo <= hi && *hi <= 86_400_000 => network.latency_ms = (*lo, *hi),
                _ => {
                    return Err(c.at(
                        l.span(),
                        "expected `latency_ms = [low, high]` with 0 <= low <= high <= 86400000",
                    ));
                }
            }
        }
        for (key, value, slot) in [
            ("loss", &n.loss, &mut network.loss),
            ("duplicate", &n.duplicate, &mut network.duplicate),
        ] {
            if let Some(v) = value {
                let p = *v.get_ref();
                if !(0.0..=1.0).contains(&p) {
                    return Err(c.at(
                        v.span(),
                        format!("expected `{key}` to be a probability between 0.0 and 1.0"),
                    ));
                }
                *slot = p;
            }
        }
    }

    // Parties.
    let mut ids: BTreeMap<String, Kind> = BTreeMap::new();
    let mut claim = |id: &Spanned<String>, kind: Kind| -> Result<String, Refused> {
        let name = id.get_ref().clone();
        if name.is_empty() {
            return Err(c.at(id.span(), "expected a non-empty id"));
        }
        if name == "CA" {
            return Err(c.at(
                id.span(),
                "the id `CA` is reserved for the certificate authority",
            ));
        }
        if ids.insert(name.clone(), kind).is_some() {
            return Err(c.at(
                id.span(),
                format!(
                    "duplicate id `{name}`: ids must be unique among services, users and attackers"
                ),
            ));
        }
        Ok(name)
    };
    let mut services = Vec::new();
    let mut display_names = BTreeMap::new();
    for s in &raw.service {
        let s = s.get_ref();
        let id = claim(&s.id, Kind::Service)?;
        if let Some(n) = &s.name {
            display_names.insert(id.clone(), n.clone());
        }
        services.push(ServiceSpec {
            name: id,
            portal: s.portal,
            statement: s.statement.clone(),
            curious: s.curious,
            malicious: s.malicious,
        });
    }
    let workload = match &raw.workload {
        Some(w) => Some(workload(c, w)?),
        None => None,
    };
    if let Some(w) = &workload {
        let span = raw.workload.as_ref().map_or(0..0, Spanned::span);
        for j in 0..w.services {
            let name = Workload::service_name(j);
            claim(&Spanned::new(span.clone(), name.clone()), Kind::Service).map_err(|e| {
                c.at(
                    span.clone(),
                    format!("the workload's service `{name}`: {}", e.message),
                )
            })?;
            services.push(ServiceSpec {
                name,
                portal: j == 0,
                statement: Some(format!("balance at s{}", j + 1)),
                curious: false,
                malicious: false,
            });
        }
    }
    if services.is_empty() {
        return Err(c.at(
            0..0,
            "expected at least one `[[service]]` or a `[workload]`",
        ));
    }
    let malicious: BTreeSet<String> = services
        .iter()
        .filter(|s| s.malicious)
        .map(|s| s.name.clone())
        .collect();
    modes.ca_in_portal = config.ca_in_portal.as_ref().is_some_and(|v| *v.get_ref());
    if modes.ca_in_portal && !services.iter().any(|s| s.portal) {
        let span = config
            .ca_in_portal
            .as_ref()
            .map_or(config_span, Spanned::span);
        return Err(c.at(
            span,
            "`ca_in_portal = true` (V3) needs a service with `portal = true`",
        ));
    }
    let mut attacker = None;
    let network_attacker = raw.attacker.iter().any(|a| a.get_ref().network);
    for a in &raw.attacker {
        let id = claim(&a.get_ref().id, Kind::Attacker)?;
        if attacker.is_some() {
            return Err(c.at(a.span(), "expected at most one `[[attacker]]`"));
        }
        attacker = Some(id);
    }
    let mut users = Vec::new();
    let mut subject_names = BTreeSet::new();
    for u in &raw.user {
        let u = u.get_ref();
        let id = claim(&u.id, Kind::User)?;
        let subject_name = u.name.as_ref().map_or(id.clone(), |n| n.get_ref().clone());
        if !subject_names.insert(subject_name.clone()) {
            let span = u.name.as_ref().map_or(u.id.span(), Spanned::span);
            return Err(c.at(span, format!("duplicate user name `{subject_name}`: certificates name their subject, so names must be unique")));
        }
        let mut accounts = BTreeMap::new();
        for (service, account) in &u.accounts {
            if !services.iter().any(|s| &s.name == service) {
                return Err(c.at(
                    account.span(),
                    format!("unknown service `{service}` in the accounts of user `{id}`: expected one of {}", list(services.iter().map(|s| s.name.as_str()))),
                ));
            }
            let a = account.get_ref();
            accounts.insert(service.clone(), (a.login.clone(), a.password.clone()));
        }
        users.push(UserSpec {
            name: id.clone(),
            subject: Subject {
                name: subject_name,
                address: u.address.clone().unwrap_or_default(),
                email: u
                    .email
                    .clone()
                    .unwrap_or_else(|| format!("{id}@example.org")),
            },
            accounts,
        });
    }
    // The workload's users are claimed here, so that a clash with a
    // declared party is refused with its place, but generated only when a
    // run builds its system (`Workload::user_specs`): a million specs are
    // not kept beside the scenario.
    if let Some(w) = &workload {
        let span = raw.workload.as_ref().map_or(0..0, Spanned::span);
        for i in 0..w.users {
            let id = Workload::user_name(i);
            if ids.contains_key(&id) || subject_names.contains(&id) {
                return Err(c.at(
                    span,
                    format!(
                        "the workload's user `{id}` has the id or name of a party the file declares"
                    ),
                ));
            }
            ids.insert(id, Kind::User);
        }
    }
    let names_of = |kind: Kind| {
        list(
            ids.iter()
                .filter(|(_, k)| **k == kind)
                .map(|(n, _)| n.as_str()),
        )
    };
    let resolve =
        |value: &Spanned<String>, kind: Kind, what: &str, step: &str| -> Result<String, Refused> {
            let v = value.get_ref();
            if ids.get(v) == Some(&kind) {
                Ok(v.clone())
            } else {
                Err(c.at(
                    value.span(),
                    format!(
                        "{step}unknown {what} `{v}`: expected one of {}",
                        names_of(kind)
                    ),
                ))
            }
        };
    let resolve_node = |value: &Spanned<String>, step: &str| -> Result<String, Refused> {
        let v = value.get_ref();
        if v == "CA" || ids.contains_key(v) {
            Ok(v.clone())
        } else {
            Err(c.at(
                value.span(),
                format!(
                    "{step}unknown node `{v}`: expected `CA` or one of {}",
                    list(ids.keys().map(String::as_str))
                ),
            ))
        }
    };

    // Steps.
    let mut steps = Vec::new();
    for (i, spanned) in raw.step.iter().enumerate() {
        let number = i + 1;
        let line = c.line(&spanned.span());
        let here = format!("step {number} (line {line}): ");
        let s = spanned.get_ref();
        let verb = s.action.get_ref().as_str();
        let Some((keys, outcomes)) = grammar(verb) else {
            return Err(c.at(
                s.action.span(),
                format!("{here}unknown `do = \"{verb}\"`: expected one of {VERBS}"),
            ));
        };
        let is_op = !outcomes.is_empty();
        let common = if is_op { OP_COMMON } else { OTHER_COMMON };
        for (key, span) in present_keys(s) {
            if !keys.contains(&key) && !common.contains(&key) {
                let allowed: Vec<&str> = common.iter().chain(keys.iter()).copied().collect();
                return Err(c.at(
                    span,
                    format!(
                        "{here}`{key}` does not belong to `do = \"{verb}\"`: expected only {}",
                        allowed.join(", ")
                    ),
                ));
            }
        }
        let need = |v: &Option<Spanned<String>>, key: &str| -> Result<Spanned<String>, Refused> {
            v.clone().ok_or_else(|| {
                c.at(
                    spanned.span(),
                    format!("{here}`do = \"{verb}\"` needs `{key}`"),
                )
            })
        };
        let user = || resolve(&need(&s.user, "user")?, Kind::User, "user", &here);
        let service = || {
            resolve(
                &need(&s.service, "service")?,
                Kind::Service,
                "service",
                &here,
            )
        };
        // The steps only a malicious service runs: its `service` must be one.
        let malicious_service = || {
            let service = service()?;
            if !malicious.contains(&service) {
                return Err(c.at(
                    spanned.span(),
                    format!("{here}`do = \"{verb}\"` needs a service with `malicious = true`; `{service}` is not"),
                ));
            }
            Ok(service)
        };
        let password = s.password.as_ref().map(|p| p.get_ref().clone());
        let action = match verb {
            "issue" => Action::Issue {
                user: user()?,
                service: service()?,
                password,
            },
            "use" => Action::Use {
                user: user()?,
                service: service()?,
                login: s.login.as_ref().is_none_or(|l| *l.get_ref()),
                password,
            },
            "prohibit" => Action::Prohibit {
                user: user()?,
                service: service()?,
            },
            "invalidate" => Action::Invalidate {
                user: user()?,
                service: service()?,
                using: s.using.as_ref().map_or(Using::Password, |u| *u.get_ref()),
                password,
            },
            "statement" => Action::Statement {
                user: user()?,
                service: service()?,
            },
            "impersonate" => {
                let attacker = resolve(
                    &need(&s.attacker, "attacker")?,
                    Kind::Attacker,
                    "attacker",
                    &here,
                )?;
                let victim = need(&s.victim, "victim")?;
                // A network attacker names itself to present its own certificate.
                let victim = if network_attacker && victim.get_ref() == &attacker {
                    attacker.clone()
                } else {
                    resolve(&victim, Kind::User, "user", &here)?
                };
                Action::Impersonate {
                    attacker,
                    victim,
                    service: service()?,
                }
            }
            "probe" => {
                let service = malicious_service()?;
                let request = need(&s.request, "request")?;
                let parsed = REQUESTS
                    .iter()
                    .find(|r| request_name(**r) == request.get_ref())
                    .copied()
                    .ok_or_else(|| {
                        c.at(
                            request.span(),
                            format!(
                                "{here}unknown request `{}`: expected one of {}",
                                request.get_ref(),
                                list(REQUESTS.iter().map(|r| request_name(*r)))
                            ),
                        )
                    })?;
                let serial = s.serial.clone().ok_or_else(|| {
                    c.at(
                        spanned.span(),
                        format!("{here}`do = \"probe\"` needs `serial`"),
                    )
                })?;
                if *serial.get_ref() == 0 {
                    return Err(c.at(serial.span(), format!("{here}expected a positive `serial`")));
                }
                // A probe names a serial its sender was never shown: a guess,
                // which only counted serials allow (`malicious::Move::Probe`).
                if modes.serials != Serials::Sequential {
                    return Err(c.at(
                        serial.span(),
                        format!(
                            "{here}a `probe` guesses its `serial`, which needs `serials = \"sequential\"` in `[config]` (random serials, the default, cannot be guessed)"
                        ),
                    ));
                }
                Action::Probe {
                    service,
                    request: parsed,
                    serial: *serial.get_ref(),
                }
            }
            "relay" | "bind" => {
                let service = malicious_service()?;
                let victim = resolve(&need(&s.victim, "victim")?, Kind::User, "user", &here)?;
                let to = resolve(&need(&s.to, "to")?, Kind::Service, "service", &here)?;
                if verb == "relay" {
                    Action::Relay {
                        service,
                        victim,
                        to,
                        serial: s.serial.as_ref().map(|n| *n.get_ref()),
                    }
                } else {
                    Action::Bind {
                        service,
                        victim,
                        to,
                    }
                }
            }
            "requalify" => {
                let service = malicious_service()?;
                Action::Requalify {
                    service,
                    victim: resolve(&need(&s.victim, "victim")?, Kind::User, "user", &here)?,
                    serial: s.serial.as_ref().map(|n| *n.get_ref()),
                }
            }
            "revoke" => {
                let service = malicious_service()?;
                let request = need(&s.request, "request")?;
                let parsed = [Request::Invalidate, Request::Withdraw]
                    .into_iter()
                    .find(|r| request_name(*r) == request.get_ref())
                    .ok_or_else(|| {
                        c.at(
                            request.span(),
                            format!(
                                "{here}unknown request `{}`: expected invalidate or withdraw",
                                request.get_ref()
                            ),
                        )
                    })?;
                Action::Revoke {
                    service,
                    victim: resolve(&need(&s.victim, "victim")?, Kind::User, "user", &here)?,
                    request: parsed,
                }
            }
            "substitute" => {
                let service = malicious_service()?;
                Action::Substitute {
                    service,
                    victim: resolve(&need(&s.victim, "victim")?, Kind::User, "user", &here)?,
                }
            }
            "partition" => {
                let Some(nodes) = &s.nodes else {
                    return Err(c.at(
                        spanned.span(),
                        format!("{here}`do = \"partition\"` needs `nodes = [ids]`"),
                    ));
                };
                let nodes = nodes
                    .get_ref()
                    .iter()
                    .map(|n| resolve_node(n, &here))
                    .collect::<Result<Vec<_>, _>>()?;
                Action::Partition { nodes }
            }
            "heal" => Action::Heal,
            "crash" => Action::Crash {
                node: resolve_node(&need(&s.node, "node")?, &here)?,
            },
            "restart" => Action::Restart {
                node: resolve_node(&need(&s.node, "node")?, &here)?,
            },
            "deliver" | "drop" | "timeout" if !scripted => {
                return Err(c.at(
                    s.action.span(),
                    format!(
                        "{here}`do = \"{verb}\"` needs `[config] schedule = \"scripted\"` (messages and timers then wait for such steps)"
                    ),
                ));
            }
            "deliver" => Action::Deliver {
                from: resolve_node(&need(&s.from, "from")?, &here)?,
                to: resolve_node(&need(&s.to, "to")?, &here)?,
                message: need(&s.message, "message")?.get_ref().clone(),
                op: s.op.as_ref().map(|o| *o.get_ref()),
                duplicate: s.duplicate.as_ref().is_some_and(|d| *d.get_ref()),
            },
            "drop" => Action::Drop {
                from: resolve_node(&need(&s.from, "from")?, &here)?,
                to: resolve_node(&need(&s.to, "to")?, &here)?,
                message: need(&s.message, "message")?.get_ref().clone(),
                op: s.op.as_ref().map(|o| *o.get_ref()),
            },
            "timeout" => {
                // Without `op`: the CA's retransmission timer (`push-ack`)
                // or publication timer (`crl-freshness`), as `timer` says;
                // naming a node that holds no such timer is a script error
                // when the step runs, like any timer that is not there.
                let timer = match &s.timer {
                    None => None,
                    Some(_) if s.op.is_some() => {
                        return Err(c.at(
                            spanned.span(),
                            format!(
                                "{here}`timer` names a background timer: give it or `op`, not both"
                            ),
                        ));
                    }
                    Some(t) => Some(Background::from_name(t.get_ref()).ok_or_else(|| {
                        c.at(
                            t.span(),
                            format!(
                                "{here}unknown timer `{}` (expected one of: {})",
                                t.get_ref(),
                                Background::NAMES
                            ),
                        )
                    })?),
                };
                Action::Timeout {
                    node: resolve_node(&need(&s.node, "node")?, &here)?,
                    op: s.op.as_ref().map(|o| *o.get_ref()),
                    timer,
                }
            }
            _ => Action::Wait {
                ms: match &s.ms {
                    Some(ms) => *ms.get_ref(),
                    None => {
                        return Err(
                            c.at(spanned.span(), format!("{here}`do = \"wait\"` needs `ms`"))
                        );
                    }
                },
            },
        };
        let expect = match &s.expect {
            Some(e) => {
                let word = e.get_ref().as_str();
                if !outcomes.contains(&word) {
                    return Err(c.at(
                        e.span(),
                        format!("{here}unknown outcome `{word}` for `do = \"{verb}\"`: expected one of {}", outcomes.join(", ")),
                    ));
                }
                Some(
                    parse_outcome(word)
                        .ok_or_else(|| c.at(e.span(), format!("{here}unknown outcome `{word}`")))?,
                )
            }
            None if is_op && !scripted => {
                return Err(c.at(
                    spanned.span(),
                    format!(
                        "{here}`do = \"{verb}\"` needs `expect`: one of {}",
                        outcomes.join(", ")
                    ),
                ));
            }
            None => None,
        };
        let expect_steps = match &s.expect_steps {
            Some(labels) => Some(
                labels
                    .get_ref()
                    .iter()
                    .map(|l| {
                        l.get_ref()
                            .parse::<Label>()
                            .map_err(|e| c.at(l.span(), format!("{here}{e}")))
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            None => None,
        };
        let expect_sources = match &s.expect_sources {
            Some(names) => Some(
                names
                    .get_ref()
                    .iter()
                    .map(|n| resolve(n, Kind::Service, "service", &here))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            None => None,
        };
        steps.push(Step {
            number,
            line,
            action,
            concurrent: s.concurrent.as_ref().is_some_and(|b| *b.get_ref()) && i > 0,
            delay_ms: s.delay_ms.as_ref().map_or(0, |d| *d.get_ref()),
            expect,
            expect_steps,
            expect_sources,
        });
    }

    // Expectations.
    let mut expect_final = Vec::new();
    for f in &raw.expect_final {
        let line = c.line(&f.span());
        let here = format!("expect_final (line {line}): ");
        let r = f.get_ref();
        let services = |names: &Option<Names>| -> Result<Option<Vec<String>>, Refused> {
            names
                .as_ref()
                .map(|n| {
                    n.get_ref()
                        .iter()
                        .map(|s| resolve(s, Kind::Service, "service", &here))
                        .collect::<Result<Vec<_>, _>>()
                })
                .transpose()
        };
        expect_final.push(FinalExpectation {
            line,
            user: resolve(&r.user, Kind::User, "user", &here)?,
            certificate: r.certificate,
            ca_services: services(&r.ca_services)?,
            service_tables: services(&r.service_tables)?,
        });
    }
    let (violations, under_faults) = raw
        .expect
        .map(|e| (e.violations, e.under_faults))
        .unwrap_or_default();
    let properties = |names: Vec<Spanned<String>>| -> Result<Vec<Property>, Refused> {
        let mut out = Vec::new();
        for v in names {
            let Some(p) = Property::from_name(v.get_ref()) else {
                return Err(c.at(
                    v.span(),
                    format!(
                        "unknown invariant `{}`: expected one of {}",
                        v.get_ref(),
                        list(Property::ALL.iter().map(|p| p.name()))
                    ),
                ));
            };
            if !out.contains(&p) {
                out.push(p);
            }
        }
        Ok(out)
    };
    let expect_violations = properties(violations)?;
    let expect_under_faults = properties(under_faults)?;

    Ok(Scenario {
        name_line: c.line(&raw.name.span()),
        name,
        description: raw.description.unwrap_or_default(),
        file: c.file.to_path_buf(),
        seed: raw.seed.unwrap_or(0),
        seed_dependent: raw.seed_dependent,
        timeout_ms,
        network,
        spec: SystemSpec {
            seed: raw.seed.unwrap_or(0),
            modes,
            services,
            users,
            attacker,
            defects,
            autonomous_actions: None,
            concurrency: 1,
            timeouts: true,
            memo: commoncert_model::x509::Memo::On,
            hardening,
            network_attacker,
            clock_jumps: 0,
        },
        steps,
        expect_final,
        expect_violations,
        expect_under_faults,
        schedule,
        display_names,
        workload,
    })
}

/// The most operations a workload may name; beyond this a run would not fit
/// the simulator's event budget in memory.
const MAX_POPULATION: u64 = 10_000_000;

/// Check `[workload]`.
fn workload(c: &Checker<'_>, raw: &Spanned<RawWorkload>) -> Result<Workload, Refused> {
    let line = c.line(&raw.span());
    let w = raw.get_ref();
    let count = |v: &Spanned<u64>, key: &str, lo: u64, hi: u64| -> Result<usize, Refused> {
        let n = *v.get_ref();
        if n < lo || n > hi {
            return Err(c.at(
                v.span(),
                format!("expected `{key}` between {lo} and {hi}, found {n}"),
            ));
        }
        Ok(n as usize)
    };
    let users = count(&w.users, "users", 1, MAX_POPULATION)?;
    let services = count(&w.services, "services", 1, 1000)?;
    let accounts = match &w.accounts {
        Some(a) => count(a, "accounts", 1, services as u64)?,
        None => services,
    };
    let rate = *w.rate.get_ref();
    if !(rate.is_finite() && rate > 0.0 && rate <= 1e7) {
        return Err(c.at(
            w.rate.span(),
            "expected `rate` (operations per second of virtual time) above 0 and at most 10000000",
        ));
    }
    let duration_ms = *w.duration_ms.get_ref();
    if duration_ms == 0 || duration_ms > 365 * 86_400_000 {
        return Err(c.at(
            w.duration_ms.span(),
            "expected a positive `duration_ms` of at most a year",
        ));
    }
    let ops = match &w.ops {
        Some(o) => Some(count(o, "ops", 1, 100 * MAX_POPULATION)? as u64),
        None => None,
    };
    let mut mix = Mix::default();
    if let Some(m) = &w.mix {
        mix.weights = [0; 5];
        for (key, weight) in m.get_ref() {
            let Some(kind) = OpKind::ALL.iter().find(|k| k.name() == key) else {
                return Err(c.at(
                    weight.span(),
                    format!(
                        "unknown operation `{key}` in `[workload.mix]`: expected one of {}",
                        list(OpKind::ALL.iter().map(|k| k.name()))
                    ),
                ));
            };
            mix.weights[*kind as usize] = *weight.get_ref();
        }
        if mix.weights.iter().all(|w| *w == 0) {
            return Err(c.at(
                m.span(),
                "expected at least one positive weight in `[workload.mix]`",
            ));
        }
    }
    Ok(Workload {
        line,
        users,
        services,
        accounts,
        rate,
        duration_ms,
        ops,
        mix,
        invalidate_using: w.invalidate_using.unwrap_or(Using::Certificate),
        keep_events: w.keep_events.map_or(10_000, |k| k as usize),
    })
}

/// The requests a malicious service's `probe` step may make.
const REQUESTS: [Request; 5] = commoncert_model::malicious::PROBES;

/// A request's name in scenario files (`list-services`, ...).
pub fn request_name(r: Request) -> &'static str {
    match r {
        Request::Issue => "issue",
        Request::Check => "check",
        Request::Qualify => "qualify",
        Request::Withdraw => "withdraw",
        Request::Invalidate => "invalidate",
        Request::ListServices => "list-services",
    }
}

fn parse_outcome(word: &str) -> Option<Outcome> {
    Outcome::deserialize(serde::de::value::StrDeserializer::<serde::de::value::Error>::new(word))
        .ok()
}

fn list<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let v: Vec<String> = names.map(|n| format!("`{n}`")).collect();
    if v.is_empty() {
        "(none declared)".to_string()
    } else {
        v.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = r#"
name = "t"
seed = 3

[config]
timeout_ms = 500

[[service]]
id = "A"

[[service]]
id = "B"

[[user]]
id = "u"
name = "U"
accounts = { A = { login = "u", password = "pa" }, B = { login = "ub", password = "pb" } }

[[step]]
do = "issue"
user = "u"
service = "A"
expect = "issued"

[[step]]
do = "use"
user = "u"
service = "B"
expect = "granted"
expect_steps = ["P3", "P4", "P5", "P6"]
"#;

    fn refused(text: &str) -> Refused {
        match parse(Path::new("t.toml"), text) {
            Ok(_) => panic!("expected a refusal"),
            Err(e) => e,
        }
    }

    #[test]
    fn a_valid_file_parses_with_step_lines() {
        let s = parse(Path::new("t.toml"), OK).expect("valid");
        assert_eq!(s.name, "t");
        assert_eq!(s.seed, 3);
        assert_eq!(s.timeout_ms, 500);
        assert_eq!(s.steps.len(), 2);
        assert_eq!(s.steps[0].line, 19);
        assert_eq!(s.steps[1].line, 25);
        assert_eq!(s.spec.users[0].accounts.len(), 2);
    }

    #[test]
    fn adversary_steps_and_hardening_are_checked_with_their_place() {
        let malicious = OK
            .replace(
                "[[service]]\nid = \"B\"",
                "[[service]]\nid = \"B\"\nmalicious = true",
            )
            .replace(
                "timeout_ms = 500",
                "timeout_ms = 500\nserials = \"sequential\"",
            );
        let probe = |extra: &str| {
            format!(
                "{malicious}\n[[step]]\ndo = \"probe\"\nservice = \"B\"\nexpect = \"statement\"\n{extra}"
            )
        };
        let s = parse(
            Path::new("t.toml"),
            &probe("request = \"list-services\"\nserial = 1\n"),
        )
        .expect("valid");
        assert!(s.spec.services[1].malicious);
        assert!(matches!(
            s.steps[2].action,
            Action::Probe {
                request: Request::ListServices,
                serial: 1,
                ..
            }
        ));
        let e = refused(&probe("request = \"revoke\"\nserial = 1\n"));
        assert!(e.message.contains("unknown request `revoke`"), "{e}");
        assert!(e.message.contains("list-services"), "{e}");
        let e = refused(&probe("request = \"invalidate\"\nserial = 0\n"));
        assert!(e.message.contains("positive `serial`"), "{e}");
        let e = refused(&probe("request = \"invalidate\"\n"));
        assert!(e.message.contains("needs `serial`"), "{e}");
        // Only a malicious service probes or relays.
        let e = refused(&format!(
            "{OK}\n[[step]]\ndo = \"relay\"\nservice = \"A\"\nvictim = \"u\"\nto = \"B\"\nexpect = \"rejected\"\n"
        ));
        assert!(e.message.contains("`malicious = true`; `A` is not"), "{e}");
        let e = refused(&OK.replace(
            "timeout_ms = 500",
            "timeout_ms = 500\nharden = [\"ca-authz\", \"nonsense\"]",
        ));
        assert_eq!(e.line, 7, "{e}");
        assert!(e.message.contains("unknown hardening `nonsense`"), "{e}");
        let s = parse(
            Path::new("t.toml"),
            &OK.replace(
                "timeout_ms = 500",
                "timeout_ms = 500\nharden = [\"one-per-subject\"]",
            ),
        )
        .expect("valid");
        assert!(s.spec.hardening.one_per_subject);
    }

    /// `serials` takes "sequential" or "random" (the default), and a bad
    /// value is refused at its place; a `probe` guesses its serial, so it
    /// needs sequential serials.
    #[test]
    fn serials_are_read_and_a_bad_value_or_a_guess_under_random_is_refused() {
        assert_eq!(
            parse(Path::new("t.toml"), OK)
                .expect("valid")
                .spec
                .modes
                .serials,
            Serials::Random
        );
        let s = parse(
            Path::new("t.toml"),
            &OK.replace(
                "timeout_ms = 500",
                "timeout_ms = 500\nserials = \"sequential\"",
            ),
        )
        .expect("valid");
        assert_eq!(s.spec.modes.serials, Serials::Sequential);
        let e = refused(&OK.replace(
            "timeout_ms = 500",
            "timeout_ms = 500\nserials = \"counted\"",
        ));
        assert_eq!((e.line, e.column), (7, 11), "{e}");
        assert!(e.message.contains("`[config]`"), "{e}");
        assert!(e.message.contains("unknown serials `counted`"), "{e}");
        assert!(e.message.contains("\"sequential\" or \"random\""), "{e}");
        let probe = OK.replace(
            "[[service]]\nid = \"B\"",
            "[[service]]\nid = \"B\"\nmalicious = true",
        ) + "\n[[step]]\ndo = \"probe\"\nservice = \"B\"\nrequest = \"check\"\nserial = 1\n";
        let e = refused(&probe);
        assert!(e.message.contains("step 3"), "{e}");
        assert!(e.message.contains("`serials = \"sequential\"`"), "{e}");
    }

    #[test]
    fn unknown_user_names_the_step_and_its_line() {
        let e = refused(&OK.replace(
            "user = \"u\"\nservice = \"B\"",
            "user = \"nobody\"\nservice = \"B\"",
        ));
        assert_eq!(e.line, 27, "{e}");
        assert!(e.message.contains("step 2 (line 25)"), "{e}");
        assert!(e.message.contains("unknown user `nobody`"), "{e}");
    }

    #[test]
    fn unknown_key_is_refused_at_its_line() {
        let e = refused(&OK.replace("timeout_ms = 500", "timeout_ms = 500\ncolour = 1"));
        assert_eq!(e.line, 7, "{e}");
        assert!(e.message.contains("colour"), "{e}");
    }

    #[test]
    fn key_of_another_do_is_refused() {
        let e = refused(&OK.replace("do = \"issue\"", "do = \"issue\"\nms = 4"));
        assert_eq!(e.line, 21, "{e}");
        assert!(e.message.contains("`ms` does not belong"), "{e}");
    }

    #[test]
    fn unknown_outcome_and_do_are_refused() {
        let e = refused(&OK.replace("expect = \"issued\"", "expect = \"fine\""));
        assert_eq!(e.line, 23, "{e}");
        let e = refused(&OK.replace("do = \"issue\"", "do = \"dance\""));
        assert_eq!(e.line, 20, "{e}");
        assert!(e.message.contains("unknown `do"), "{e}");
    }

    #[test]
    fn empty_and_wrongly_typed_files_are_refused() {
        assert_eq!(refused("").line, 1);
        assert_eq!(refused("  \n").line, 1);
        let e = refused(&OK.replace("seed = 3", "seed = \"three\""));
        assert_eq!(e.line, 3, "{e}");
        let e = refused("name = 1");
        assert_eq!(e.line, 1, "{e}");
    }

    #[test]
    fn line_column_counts_characters() {
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
        assert_eq!(line_column("é\nx", 1), (1, 1));
        assert_eq!(line_column("", 9), (1, 1));
    }
}
