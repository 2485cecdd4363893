//! Whole random scenarios through the simulator.
//!
//! proptest builds scenario *files* (TOML text) from random parties (2-4
//! services, the first maybe a portal; 1-3 users with accounts at most
//! services; maybe an eavesdropper), random modes (online or push revocation,
//! proof of possession or bearer), a random network (latency, loss,
//! duplication) and random steps (every operation, impersonation, partitions,
//! heals, crashes, restarts, waits, concurrency, delays), optionally under a
//! swarm fault profile. Each file goes through `scenario::parse` and
//! `sim::run`, and the test asserts:
//!
//! - no invariant is violated except those the configuration may break:
//!   `one-certificate-per-user` always (users may re-issue at a service that
//!   never saw their certificate); under push also `revoked-never-accepted`
//!   and `only-qualified-services`; under bearer with an attacker also
//!   `no-impersonation`;
//! - every step ends, and ends in `timeout` (or `down`/`crashed`) only when
//!   faults (loss, partitions, crashes, restarts, swarm) are on; the run never
//!   hits the simulator's horizon or event cap;
//! - replay is deterministic: the same text and seed give the same trace hash
//!   and the same canonical trace;
//! - every step label recorded has its effect at its event (the table in
//!   `model/src/step.rs`), and no crash loses what a handler persisted.
//!
//! Case counts: `PROPTEST_CASES` if set, otherwise the default below.

use commoncert_sim::scenario::parse;
use commoncert_sim::sim::{Options, run};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, FileFailurePersistence};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

/// Cases when `PROPTEST_CASES` is unset.
const DEFAULT_CASES: u32 = 512;

fn config(default_cases: u32) -> ProptestConfig {
    let mut c = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = default_cases;
    }
    c.failure_persistence = Some(Box::new(FileFailurePersistence::Direct(
        "proptest-regressions/random_scenarios.txt",
    )));
    c
}

const SERVICES: [&str; 4] = ["A", "B", "C", "D"];

#[derive(Clone, Debug)]
enum Action {
    Issue { wrong_password: bool },
    Use { login: bool, wrong_password: bool },
    Prohibit,
    Invalidate { by_certificate: bool },
    Statement,
    Impersonate { victim: usize },
    Partition { nodes: Vec<usize> },
    Heal,
    Crash { node: usize },
    Restart { node: usize },
    Wait { ms: u64 },
}

#[derive(Clone, Debug)]
struct GenStep {
    action: Action,
    user: usize,
    service: usize,
    concurrent: bool,
    delay_ms: u64,
}

#[derive(Clone, Debug)]
struct Gen {
    seed: u64,
    swarm: bool,
    services: usize,
    portal: bool,
    users: usize,
    /// accounts[user][service]
    accounts: Vec<Vec<bool>>,
    attacker: bool,
    push: bool,
    bearer: bool,
    latency: (u64, u64),
    loss: f64,
    duplicate: f64,
    timeout_ms: u64,
    steps: Vec<GenStep>,
}

impl Gen {
    /// Node names a fault step can name: the CA, services, users.
    fn node(&self, i: usize) -> String {
        let n = 1 + self.services + self.users;
        match i % n {
            0 => "CA".to_string(),
            k if k <= self.services => SERVICES[k - 1].to_string(),
            k => format!("u{}", k - 1 - self.services),
        }
    }

    fn has_faults(&self) -> bool {
        self.swarm
            || self.loss > 0.0
            || self.steps.iter().any(|s| {
                matches!(
                    s.action,
                    Action::Partition { .. } | Action::Crash { .. } | Action::Restart { .. }
                )
            })
    }

    /// The invariants this configuration may break.
    fn allowed(&self) -> BTreeSet<&'static str> {
        let mut a = BTreeSet::from(["one-certificate-per-user"]);
        if self.push {
            a.insert("revoked-never-accepted");
            a.insert("only-qualified-services");
        }
        if self.bearer && self.attacker {
            // A replay at a service the user never presented to breaks both.
            a.insert("no-impersonation");
            a.insert("no-relay");
        }
        a
    }

    fn toml(&self) -> String {
        let mut t = String::new();
        let _ = writeln!(t, "name = \"random-{}\"", self.seed);
        let _ = writeln!(t, "seed = {}\n", self.seed);
        let _ = writeln!(t, "[config]");
        let _ = writeln!(
            t,
            "revocation = \"{}\"",
            if self.push { "push" } else { "online" }
        );
        let _ = writeln!(
            t,
            "presentation = \"{}\"",
            if self.bearer {
                "bearer"
            } else {
                "proof-of-possession"
            }
        );
        let _ = writeln!(t, "timeout_ms = {}\n", self.timeout_ms);
        let _ = writeln!(t, "[config.network]");
        let _ = writeln!(t, "latency_ms = [{}, {}]", self.latency.0, self.latency.1);
        let _ = writeln!(t, "loss = {:?}", self.loss);
        let _ = writeln!(t, "duplicate = {:?}\n", self.duplicate);
        for (i, s) in SERVICES.iter().take(self.services).enumerate() {
            let _ = writeln!(t, "[[service]]\nid = \"{s}\"");
            if i == 0 && self.portal {
                let _ = writeln!(t, "portal = true");
            }
            let _ = writeln!(t, "statement = \"balance of {s}\"\n");
        }
        for u in 0..self.users {
            let accounts: Vec<String> = SERVICES
                .iter()
                .take(self.services)
                .enumerate()
                .filter(|(s, _)| self.accounts[u][*s])
                .map(|(_, s)| {
                    format!("{s} = {{ login = \"u{u}-{s}\", password = \"pw-{u}-{s}\" }}")
                })
                .collect();
            let _ = writeln!(
                t,
                "[[user]]\nid = \"u{u}\"\nname = \"User {u}\"\naccounts = {{ {} }}\n",
                accounts.join(", ")
            );
        }
        if self.attacker {
            let _ = writeln!(t, "[[attacker]]\nid = \"mallory\"\n");
        }
        for step in &self.steps {
            let user = format!("u{}", step.user % self.users);
            let service = SERVICES[step.service % self.services];
            let _ = writeln!(t, "[[step]]");
            let op = |t: &mut String, verb: &str| {
                let _ = writeln!(
                    t,
                    "do = \"{verb}\"\nuser = \"{user}\"\nservice = \"{service}\"\nexpect = \"timeout\""
                );
            };
            match &step.action {
                Action::Issue { wrong_password } => {
                    op(&mut t, "issue");
                    if *wrong_password {
                        let _ = writeln!(t, "password = \"wrong\"");
                    }
                }
                Action::Use {
                    login,
                    wrong_password,
                } => {
                    op(&mut t, "use");
                    if !login {
                        let _ = writeln!(t, "login = false");
                    }
                    if *wrong_password {
                        let _ = writeln!(t, "password = \"wrong\"");
                    }
                }
                Action::Prohibit => op(&mut t, "prohibit"),
                Action::Invalidate { by_certificate } => {
                    op(&mut t, "invalidate");
                    let using = if *by_certificate {
                        "certificate"
                    } else {
                        "password"
                    };
                    let _ = writeln!(t, "using = \"{using}\"");
                }
                Action::Statement => op(&mut t, "statement"),
                Action::Impersonate { victim } if self.attacker => {
                    let _ = writeln!(
                        t,
                        "do = \"impersonate\"\nattacker = \"mallory\"\nvictim = \"u{}\"\nservice = \"{service}\"\nexpect = \"timeout\"",
                        victim % self.users
                    );
                }
                Action::Impersonate { .. } => op(&mut t, "use"),
                Action::Partition { nodes } => {
                    let names: Vec<String> = nodes
                        .iter()
                        .map(|n| format!("\"{}\"", self.node(*n)))
                        .collect();
                    let _ = writeln!(t, "do = \"partition\"\nnodes = [{}]", names.join(", "));
                }
                Action::Heal => {
                    let _ = writeln!(t, "do = \"heal\"");
                }
                Action::Crash { node } => {
                    let _ = writeln!(t, "do = \"crash\"\nnode = \"{}\"", self.node(*node));
                }
                Action::Restart { node } => {
                    let _ = writeln!(t, "do = \"restart\"\nnode = \"{}\"", self.node(*node));
                }
                Action::Wait { ms } => {
                    let _ = writeln!(t, "do = \"wait\"\nms = {ms}");
                }
            }
            if step.concurrent {
                let _ = writeln!(t, "concurrent = true");
            }
            if step.delay_ms > 0 {
                let _ = writeln!(t, "delay_ms = {}", step.delay_ms);
            }
            t.push('\n');
        }
        t
    }
}

fn action(faults: bool) -> BoxedStrategy<Action> {
    let ops = prop_oneof![
        4 => prop::bool::weighted(0.1).prop_map(|wrong_password| Action::Issue { wrong_password }),
        6 => (prop::bool::weighted(0.9), prop::bool::weighted(0.1))
            .prop_map(|(login, wrong_password)| Action::Use { login, wrong_password }),
        1 => Just(Action::Prohibit),
        2 => any::<bool>().prop_map(|by_certificate| Action::Invalidate { by_certificate }),
        2 => Just(Action::Statement),
        1 => (0..3usize).prop_map(|victim| Action::Impersonate { victim }),
        1 => (0..200u64).prop_map(|ms| Action::Wait { ms }),
    ];
    if !faults {
        return ops.boxed();
    }
    prop_oneof![
        8 => ops,
        1 => prop::collection::vec(0..8usize, 1..3).prop_map(|nodes| Action::Partition { nodes }),
        1 => Just(Action::Heal),
        1 => (0..8usize).prop_map(|node| Action::Crash { node }),
        1 => (0..8usize).prop_map(|node| Action::Restart { node }),
    ]
    .boxed()
}

fn step(faults: bool) -> impl Strategy<Value = GenStep> {
    (
        action(faults),
        0..3usize,
        0..4usize,
        prop::bool::weighted(0.2),
        prop_oneof![3 => Just(0u64), 1 => 0..100u64],
    )
        .prop_map(|(action, user, service, concurrent, delay_ms)| GenStep {
            action,
            user,
            service,
            concurrent,
            delay_ms,
        })
}

fn scenario() -> impl Strategy<Value = Gen> {
    let shape = (
        any::<u64>(),
        prop::bool::weighted(0.15),
        2..=4usize,
        prop::bool::weighted(0.7),
        1..=3usize,
        prop::bool::weighted(0.3),
        any::<bool>(),
        any::<bool>(),
    );
    let network = (
        1..30u64,
        0..60u64,
        prop_oneof![2 => Just(0.0), 1 => 0.0..0.3f64],
        prop_oneof![2 => Just(0.0), 1 => 0.0..0.3f64],
        prop::bool::weighted(0.4),
        0..1000u64,
    );
    (shape, network).prop_flat_map(
        |(
            (seed, swarm, services, portal, users, attacker, push, bearer),
            (lo, spread, loss, duplicate, fault_steps, extra_timeout),
        )| {
            let hi = lo + spread;
            let accounts = prop::collection::vec(
                prop::collection::vec(prop::bool::weighted(0.9), services),
                users,
            );
            let steps = prop::collection::vec(step(fault_steps), 1..14);
            (accounts, steps).prop_map(move |(accounts, steps)| Gen {
                seed,
                swarm,
                services,
                portal,
                users,
                accounts,
                attacker,
                push,
                bearer,
                latency: (lo, hi),
                loss,
                duplicate,
                // Room for the longest flow (a statement: ~16 hops in a row).
                timeout_ms: 40 * hi + 400 + extra_timeout,
                steps,
            })
        },
    )
}

proptest! {
    #![proptest_config(config(DEFAULT_CASES))]

    #[test]
    fn random_scenarios_keep_the_invariants_end_and_replay(g in scenario()) {
        let text = g.toml();
        let file = Path::new("random.toml");
        let sc = match parse(file, &text) {
            Ok(sc) => sc,
            Err(e) => return Err(TestCaseError::fail(format!("generated file refused: {e}\n{text}"))),
        };
        let opts = Options { seed: g.seed, swarm: g.swarm, ..Options::default() };
        let r = run(&sc, opts).map_err(|e| TestCaseError::fail(format!("{e}")))?;
        let allowed = g.allowed();
        for v in &r.violations {
            prop_assert!(
                allowed.contains(v.property.as_str()),
                "invariant {} violated at event {} (step {:?})\n{text}",
                v.property, v.event, v.step
            );
        }
        for f in &r.failures {
            prop_assert!(
                !f.message.contains("did not settle") && !f.message.contains("exceeded"),
                "{}\n{text}", f.message
            );
            // Every recorded label has its effect at its event (step.rs's
            // table), and a crash loses nothing a handler persisted.
            prop_assert!(
                !f.message.contains("step label without its effect")
                    && !f.message.contains("crash lost unpersisted state"),
                "{}\n{text}", f.message
            );
        }
        let faults = g.has_faults();
        for s in &r.steps {
            prop_assert!(s.started_at.is_some(), "step {} never started\n{text}", s.number);
            prop_assert!(s.ended_at.is_some(), "step {} did not end\n{text}", s.number);
            if let Some(actual) = &s.actual {
                let fault_outcome = matches!(actual.as_str(), "timeout" | "down" | "crashed");
                prop_assert!(
                    faults || !fault_outcome,
                    "step {} ({}) ended `{actual}` without faults\n{text}",
                    s.number, s.action
                );
            }
        }
        // Deterministic replay: the same text and seed, the same trace.
        let again = parse(file, &text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let r2 = run(&again, opts).map_err(|e| TestCaseError::fail(format!("{e}")))?;
        prop_assert_eq!(&r.trace_hash, &r2.trace_hash);
        prop_assert!(r.trace.canonical() == r2.trace.canonical());
    }
}
