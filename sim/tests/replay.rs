//! Replays: determinism, the shipped scenarios, and the behaviours the
//! scenario contract promises (Fig. 3A labels, V1 stale acceptance, a CA
//! crash that loses nothing).

mod common;

use common::{data, load, load_at, run, swarm_run};
use commoncert_sim::sim::{Options, run as simulate};
use std::path::Path;

#[test]
fn same_file_and_seed_give_the_same_trace_hash() {
    for f in ["fig3a.toml", "lossy.toml", "push-stale.toml"] {
        let sc = load(f);
        let a = run(&sc, sc.seed);
        let b = run(&load(f), sc.seed);
        assert_eq!(a.trace_hash, b.trace_hash, "{f}");
        assert_eq!(a.trace.canonical(), b.trace.canonical(), "{f}");
    }
}

#[test]
fn a_different_seed_on_a_lossy_network_gives_a_different_trace() {
    let sc = load("lossy.toml");
    let a = run(&sc, 0);
    let b = run(&sc, 1);
    assert_ne!(a.trace_hash, b.trace_hash);
}

#[test]
fn swarm_runs_are_deterministic_too() {
    let sc = load("push-stale.toml");
    for seed in 0..5 {
        let trace = || {
            let opts = Options {
                seed,
                swarm: true,
                ..Options::default()
            };
            simulate(&sc, opts).map(|r| r.trace_hash).ok()
        };
        assert_eq!(trace(), trace());
    }
}

/// `sim scenarios/ --seed N` exits 0: the shipped files mean the same under
/// other seeds (a `seed_dependent` file's mismatches are tolerated).
#[test]
fn every_shipped_scenario_passes_under_other_seeds() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let scenarios = commoncert_sim::cli::load_all(&[dir])
        .unwrap_or_else(|e| panic!("scenarios refused:\n{}", e.join("\n")));
    let mut failed = Vec::new();
    for seed in [1, 3, 9] {
        for sc in &scenarios {
            let r = run(sc, seed);
            if !r.pass {
                failed.push(commoncert_sim::cli::run_lines(&r));
            }
        }
    }
    assert!(failed.is_empty(), "{}", failed.join(""));
}

#[test]
fn every_shipped_scenario_passes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let scenarios = commoncert_sim::cli::load_all(&[dir])
        .unwrap_or_else(|e| panic!("scenarios refused:\n{}", e.join("\n")));
    assert!(!scenarios.is_empty(), "no scenario under scenarios/");
    let mut failed = Vec::new();
    for sc in &scenarios {
        let r = run(sc, sc.seed);
        if !r.pass {
            failed.push(commoncert_sim::cli::run_lines(&r));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join(""));
}

#[test]
fn every_test_scenario_passes() {
    let scenarios = commoncert_sim::cli::load_all(&[data("")])
        .unwrap_or_else(|e| panic!("refused:\n{}", e.join("\n")));
    assert!(scenarios.len() >= 4);
    for sc in &scenarios {
        let r = run(sc, sc.seed);
        assert!(r.pass, "{}", commoncert_sim::cli::run_lines(&r));
    }
}

#[test]
fn fig3a_realises_the_patent_sequence_step_by_step() {
    let r = run(&load("fig3a.toml"), 7);
    assert!(r.pass, "{}", commoncert_sim::cli::run_lines(&r));
    let p: Vec<&str> = r.steps[1]
        .steps
        .iter()
        .map(String::as_str)
        .filter(|s| s.starts_with('P'))
        .collect();
    assert_eq!(p, ["P3", "P4", "P5", "P6"]);
    assert!(r.violations.is_empty());
}

#[test]
fn fig3a_with_a_wrong_expectation_fails_naming_the_step_line() {
    let text = std::fs::read_to_string(data("fig3a.toml")).unwrap_or_default();
    let wrong = text.replace("\"S18\", \"S19\", \"P6\"]", "\"S19\", \"S18\", \"P6\"]");
    assert_ne!(text, wrong);
    let sc = commoncert_sim::scenario::parse(Path::new("wrong.toml"), &wrong)
        .unwrap_or_else(|e| panic!("{e}"));
    let r = run(&sc, 7);
    assert!(!r.pass);
    let msg = &r.failures[0].message;
    assert!(msg.contains("step 2 (line 25"), "{msg}");
    assert!(msg.contains("expected steps"), "{msg}");
    let lines = commoncert_sim::cli::run_lines(&r);
    assert!(lines.starts_with("FAIL test-fig3a seed=7"), "{lines}");
    assert!(
        lines.contains("replay: commoncert sim wrong.toml --seed 7"),
        "{lines}"
    );
}

#[test]
fn push_mode_grants_after_invalidation_when_the_crl_push_is_lost() {
    let r = run(&load("push-stale.toml"), 7);
    assert!(r.pass, "{}", commoncert_sim::cli::run_lines(&r));
    assert_eq!(r.steps[5].actual.as_deref(), Some("granted"));
    assert!(
        r.violations
            .iter()
            .any(|v| v.property == "revoked-never-accepted" && v.step == Some(6))
    );
    assert!(r.trace.events.iter().any(
        |e| e.what.starts_with("Revocation") && e.kind == commoncert_sim::trace::Kind::Dropped
    ));
}

#[test]
fn push_mode_without_the_partition_refuses_after_invalidation() {
    let text = std::fs::read_to_string(data("push-stale.toml")).unwrap_or_default();
    let healed = text
        .replace(
            "do = \"partition\"\nnodes = [\"B\"]",
            "do = \"wait\"\nms = 1",
        )
        .replace(
            "service = \"B\"\nexpect = \"granted\"\nexpect_steps = [\"S11\", \"S12\", \"S13\"]",
            "service = \"B\"\nexpect = \"login-required\"\nlogin = false",
        );
    let sc = commoncert_sim::scenario::parse(Path::new("healed.toml"), &healed)
        .unwrap_or_else(|e| panic!("{e}"));
    let r = run(&sc, 7);
    assert_eq!(r.steps[5].actual.as_deref(), Some("login-required"));
    assert!(r.violations.is_empty(), "{:?}", r.violations);
}

#[test]
fn a_ca_crash_between_issue_and_use_loses_nothing() {
    let r = run(&load("ca-crash.toml"), 7);
    assert!(r.pass, "{}", commoncert_sim::cli::run_lines(&r));
    assert!(
        r.trace
            .events
            .iter()
            .any(|e| e.kind == commoncert_sim::trace::Kind::Crash)
    );
    assert_eq!(r.finals[0].actual.ca_services, ["A", "B"]);
}

#[test]
fn messages_to_a_crashed_node_are_dropped() {
    let text = std::fs::read_to_string(data("ca-crash.toml")).unwrap_or_default();
    // Use while the CA is down: A's check is dropped and the user times out.
    let down = text.replacen(
        "[[step]]\ndo = \"wait\"\nms = 500",
        "[[step]]\ndo = \"use\"\nuser = \"u31\"\nservice = \"A\"\nexpect = \"timeout\"",
        1,
    );
    let sc = commoncert_sim::scenario::parse(Path::new("down.toml"), &down)
        .unwrap_or_else(|e| panic!("{e}"));
    let r = run(&sc, 7);
    assert!(r.pass, "{}", commoncert_sim::cli::run_lines(&r));
    assert!(
        r.trace
            .events
            .iter()
            .any(|e| e.reason == Some(commoncert_sim::network::DropReason::Crashed))
    );
}

/// One crash semantics: the shipped scenario keeps B's Fig. 7 link across a
/// crash; with the `forget-link-persist` defect the simulator loses it, as
/// the checker does, and the run fails on both the lost state and the
/// changed steps.
#[test]
fn a_forgotten_persist_of_the_fig7_link_fails_the_crash_scenario() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/crash-keeps-the-fig7-link.toml");
    let sc = commoncert_sim::scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let ok = run(&sc, sc.seed);
    assert!(ok.pass, "{:?}", ok.failures);
    let mut broken = sc.clone();
    broken.spec.defects.forget_link_persist = true;
    let r = run(&broken, sc.seed);
    assert!(!r.pass);
    assert!(
        r.failures
            .iter()
            .any(|f| f.message.contains("crash lost unpersisted state")),
        "{:?}",
        r.failures
    );
}

/// Found by the 1,000-seed Slurm sweep (`tests/slurm/run.sh`): under swarm,
/// a duplicated copy of a wrong-password login that arrives after its step
/// ended repeats S4 in that step's labels. That repeat is the duplicate's
/// doing and is tolerated, as a duplicate delivered during the step is; the
/// step's outcome is still judged.
#[test]
fn a_late_duplicate_repeats_its_steps_label_and_is_tolerated() {
    let sc = load_at("../scenarios/fig8-wrong-password-and-already-issued.toml");
    let r = swarm_run(&sc, 637);
    assert!(r.pass, "{:?}", r.failures);
    assert!(
        r.tolerated
            .iter()
            .any(|f| f.message.contains("got [S1, S2, S3, S4, S4]")),
        "{:?}",
        r.tolerated
    );
}

/// The run of the file at `path` (relative to this crate) at its own seed,
/// which must pass.
fn passes_at(path: &str) -> commoncert_sim::sim::Run {
    let sc = load_at(path);
    let r = run(&sc, sc.seed);
    assert!(r.pass, "{path}: {:?}", r.failures);
    r
}

/// `push-ack`: the CA retransmits until every service acknowledges, so a
/// service cut off for good keeps its timer going for ever. The run still
/// settles (no runaway past the horizon) once nothing but retransmissions
/// that cannot arrive is left; with the partition healed by a step they
/// arrive (`scenarios/findings/push-notification-lost-push-ack.toml`).
#[test]
fn a_push_ack_run_settles_when_only_hopeless_retransmissions_are_left() {
    // Not under tests/data: that folder is a fixed set other tests count.
    // Passing means: it ended before the horizon, and B still holds the
    // serial (`expect_final`).
    passes_at("tests/settle/push-ack-cut-off.toml");
    // Healed by a step, the same run delivers the retransmission.
    let r = passes_at("../scenarios/findings/push-notification-lost-push-ack.toml");
    assert!(
        r.trace
            .events
            .iter()
            .any(|e| e.what == "retransmission timer"),
        "the CA retransmitted after the heal"
    );
}

/// `crl-freshness`: the CA publishes its CRL for ever. A run settles once
/// only publications are left and none can change anything (every service
/// holding a revoked serial is cut off); while a reachable service holds
/// one, it goes on until a publication deletes it
/// (`scenarios/findings/push-notification-lost-crl-freshness.toml`).
#[test]
fn a_crl_freshness_run_settles_only_when_publications_can_change_nothing() {
    passes_at("tests/settle/crl-freshness-cut-off.toml");
    let r = passes_at("../scenarios/findings/push-notification-lost-crl-freshness.toml");
    let events = &r.trace.events;
    let last_publication = events
        .iter()
        .rposition(|e| e.what == "CRL publication timer");
    let heal = events
        .iter()
        .position(|e| e.kind == commoncert_sim::trace::Kind::Heal);
    assert!(
        last_publication > heal && heal.is_some(),
        "the CA published after the heal: {last_publication:?} {heal:?}"
    );
}

/// Regression (swarm seed 195): under `ca-authz` a duplicated withdrawal
/// (S20-3) used to be answered "not qualified" (the service was no longer
/// on the list); when that answer overtook the OK, the user's prohibition
/// failed. A withdrawal deletes only the asking service, so the duplicate
/// is now answered as the first request was, and the step's outcome holds.
#[test]
fn a_duplicated_withdrawal_under_ca_authz_is_answered_alike() {
    for file in [
        "../scenarios/findings/kept-presentation-qualifies.toml",
        "../scenarios/findings/kept-presentation-qualifies-pop-binding.toml",
    ] {
        let r = swarm_run(&load_at(file), 195);
        assert!(r.pass, "{file}: {:?}", r.failures);
        assert!(
            r.trace
                .events
                .iter()
                .any(|e| e.kind == commoncert_sim::trace::Kind::Duplicated
                    && e.what.starts_with("Withdraw(")),
            "{file}: seed 195 no longer duplicates the withdrawal"
        );
    }
}
