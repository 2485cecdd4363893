//! Workloads (`[workload]`): determinism, the common prefix of a small and a
//! large run, refusals that name their place, combination with steps, and
//! the figures V1 predicts (online: nothing stale; push under loss: windows
//! that stay open).

use commoncert_sim::scenario::parse;
use commoncert_sim::sim::{Options, Run, run};
use std::path::Path;

fn file(revocation: &str, loss: f64, users: usize, extra: &str) -> String {
    format!(
        r#"
name = "workload {revocation} {loss}"
seed = 7
[config]
revocation = "{revocation}"
[config.network]
latency_ms = [1, 20]
loss = {loss}
[workload]
users = {users}
services = 4
accounts = 2
rate = 40.0
duration_ms = 30000
keep_events = 1000000
{extra}
[expect]
under_faults = ["revoked-never-accepted", "one-certificate-per-user"]
"#
    )
}

fn simulate(text: &str, seed: u64) -> Run {
    let sc = parse(Path::new("workload.toml"), text).expect("the workload parses");
    run(
        &sc,
        Options {
            seed,
            ..Options::default()
        },
    )
    .expect("the system builds")
}

#[test]
fn the_same_file_and_seed_give_the_same_trace() {
    let text = file("push", 0.05, 40, "");
    let (a, b) = (simulate(&text, 3), simulate(&text, 3));
    assert_eq!(a.trace_hash, b.trace_hash);
    assert_eq!(a.trace.canonical(), b.trace.canonical());
    assert_eq!(a.metrics, b.metrics);
    assert!(a.metrics.as_ref().is_some_and(|m| m.ops.started > 500));
    assert_ne!(a.trace_hash, simulate(&text, 4).trace_hash);
}

#[test]
fn a_small_run_is_a_prefix_of_a_large_one() {
    // The same file and seed; the large run goes on for ten times as many
    // operations. Until the first arrival the small run does not have, both
    // runs are the same events.
    let small = simulate(&file("push", 0.02, 40, "ops = 100"), 1);
    let large = simulate(&file("push", 0.02, 40, "ops = 1000"), 1);
    assert!(small.trace.is_complete() && large.trace.is_complete());
    let starts = |r: &Run| {
        r.trace
            .events
            .iter()
            .filter(|e| e.what.starts_with("workload: "))
            .count()
    };
    assert!(starts(&small) <= 100 && starts(&large) > starts(&small));
    // The 101st arrival of the large run: the small one never has it.
    let cut = large
        .trace
        .events
        .iter()
        .filter(|e| e.what.starts_with("workload: "))
        .nth(starts(&small))
        .map(|e| e.index)
        .expect("the large run has more arrivals");
    let common = small
        .trace
        .events
        .iter()
        .zip(&large.trace.events)
        .take_while(|(a, b)| a == b)
        .count();
    assert!(
        common >= cut,
        "the runs part at event {common}, before the small run's last arrival ended (event {cut})"
    );
    assert!(common < large.trace.len());
}

#[test]
fn online_checking_leaves_nothing_stale() {
    let r = simulate(&file("online", 0.1, 40, ""), 2);
    let m = r.metrics.expect("a workload has figures");
    assert!(m.staleness.invalidated > 10, "{:?}", m.staleness);
    assert_eq!(m.staleness.grants_after, 0);
    assert_eq!(m.staleness.percentiles.max, 0);
    assert_eq!(
        (m.staleness.notifications, m.staleness.exposure.max),
        (0, 0)
    );
    assert!(m.ca_load.messages > 0);
    assert!(r.pass, "{:?}", r.failures);
}

#[test]
fn a_lost_push_leaves_a_window_open_to_the_end() {
    let r = simulate(&file("push", 0.1, 40, ""), 3);
    let m = r.metrics.expect("a workload has figures");
    let s = &m.staleness;
    assert!(s.notifications_lost > 0, "{s:?}");
    // An open window is measured to the run's end: longer than any latency.
    assert!(s.exposure.max > 1_000, "{s:?}");
    // Without loss, every window closes within a latency.
    let r = simulate(&file("push", 0.0, 40, ""), 2);
    let s = r.metrics.expect("figures").staleness;
    assert!(s.notifications > 0);
    assert_eq!(s.notifications_lost, 0);
    assert!(s.exposure.max <= 20, "{s:?}");
}

#[test]
fn workloads_and_steps_combine() {
    let text = r#"
name = "steps beside a workload"
seed = 1
[workload]
users = 20
services = 2
rate = 5.0
duration_ms = 10000

[[service]]
id = "A"

[[user]]
id = "taro"
accounts.A = { login = "taro", password = "pw" }

[[step]]
do = "issue"
user = "taro"
service = "A"
expect = "issued"
expect_steps = ["S1", "S2", "S3", "S4", "S5", "S6", "P1", "S7", "P2", "S8"]

[[step]]
do = "use"
user = "taro"
service = "A"
expect = "granted"
"#;
    let r = simulate(text, 1);
    assert!(r.pass, "{:?}", r.failures);
    assert!(r.metrics.is_some_and(|m| m.ops.started > 10));
}

#[test]
fn a_crashed_users_operation_ends_crashed_and_its_timers_die_with_it() {
    // Two users and many arrivals, so that each is nearly always busy: the
    // crash of u1 ends the operation it has in flight as `crashed`, its
    // timeout never fires while it is down, and once restarted its
    // arrivals start operations again.
    let text = r#"
name = "a workload user crashes"
seed = 1
[workload]
users = 2
services = 2
rate = 100.0
duration_ms = 20000
keep_events = 1000000

[[step]]
do = "wait"
ms = 5000

[[step]]
do = "crash"
node = "u1"

[[step]]
do = "wait"
ms = 5000

[[step]]
do = "restart"
node = "u1"

[expect]
# A user restarted without its certificate asks for another: the finding
# `one-certificate-per-user`, tolerated here as in the other workloads.
under_faults = ["one-certificate-per-user", "revoked-never-accepted"]
"#;
    let r = simulate(text, 1);
    assert!(r.pass, "{:?}", r.failures);
    assert!(r.trace.is_complete());
    let m = r.metrics.as_ref().expect("a workload has figures");
    let crashed: u64 = m.outcomes.values().filter_map(|o| o.get("crashed")).sum();
    assert_eq!(crashed, 1, "{:?}", m.outcomes);
    let at = |kind: &str| {
        r.trace
            .events
            .iter()
            .find(|e| e.kind.name() == kind && e.to == "u1")
            .map(|e| e.time)
            .expect("the step ran")
    };
    let (down, up) = (at("crash"), at("restart"));
    assert!(down < up);
    let u1 = |e: &&commoncert_sim::trace::Event| e.from == "u1" || e.to == "u1";
    assert!(
        !r.trace
            .events
            .iter()
            .filter(u1)
            .any(|e| e.kind.name() == "timer" && (down..up).contains(&e.time)),
        "a timer fired at u1 while it was down"
    );
    assert!(
        r.trace
            .events
            .iter()
            .filter(u1)
            .any(|e| e.time > up && e.what.starts_with("workload: ")),
        "u1 starts operations again after its restart"
    );
}

#[test]
fn a_bad_workload_is_refused_with_its_place() {
    let cases = [
        ("users = 0", "expected `users` between 1"),
        ("rate = -1.0", "expected `rate`"),
        ("accounts = 9", "expected `accounts` between 1 and 4"),
        ("[workload.mix]\nfly = 3", "unknown operation `fly`"),
        ("[workload.mix]\nuse = 0", "at least one positive weight"),
        ("colour = 1", "unknown field `colour`"),
    ];
    for (change, message) in cases {
        let base = "users = 10\nservices = 4\nrate = 1.0\nduration_ms = 1000\n";
        let body = if change.starts_with('[') {
            format!("{base}{change}")
        } else {
            let key = change.split(' ').next().unwrap_or_default();
            let kept: String = base
                .lines()
                .filter(|l| !l.starts_with(key))
                .map(|l| format!("{l}\n"))
                .collect();
            format!("{kept}{change}\n")
        };
        let text = format!("name = \"x\"\n[workload]\n{body}");
        let err = parse(Path::new("w.toml"), &text)
            .err()
            .unwrap_or_else(|| panic!("`{change}` must be refused"));
        assert!(err.message.contains(message), "{change}: {err}");
        assert!(err.line >= 2, "{change}: {err}");
    }
    // A generated id that clashes with a declared party.
    let text = "name = \"x\"\n[[service]]\nid = \"s1\"\n[workload]\nusers = 1\nservices = 1\nrate = 1.0\nduration_ms = 10\n";
    let err = parse(Path::new("w.toml"), text).expect_err("s1 clashes");
    assert!(err.message.contains("`s1`"), "{err}");
}
