//! The concretisation check (issue 10): the checker's counterexamples and the
//! shipped scenarios, replayed in the simulator with the X.509 arena's memo
//! and with freshly issued and checked DER, CRLs and proofs (`Memo::Off`),
//! give the same traces: messages, step labels, outcomes and verdicts. A
//! deliberate defect in the memo (`Memo::Stale`) makes the check fail.

use commoncert_model::checker::{CheckConfig, check};
use commoncert_model::verify::standard_matrix;
use commoncert_model::x509::Memo;
use commoncert_sim::concretise::concretise;
use commoncert_sim::emit::replay_counterexamples;
use commoncert_sim::scenario::Scenario;
use commoncert_sim::sim::Options;
use std::path::Path;

fn shipped() -> Vec<Scenario> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    commoncert_sim::cli::load_all(&[dir]).unwrap_or_else(|e| panic!("{e:?}"))
}

fn opts(sc: &Scenario, memo: Memo) -> Options {
    Options {
        seed: sc.seed,
        memo,
        ..Options::default()
    }
}

#[test]
fn every_shipped_scenario_concretises() {
    let scenarios = shipped();
    assert!(scenarios.len() >= 30, "{} scenarios", scenarios.len());
    for sc in &scenarios {
        if let Err(d) = concretise(sc, opts(sc, Memo::On)) {
            panic!("{d}");
        }
    }
}

/// The check is not vacuous: a memo that keeps a certificate's verdict past
/// its expiry is caught on the scenario that uses a certificate before and
/// after it expires, and on no scenario where time cannot matter.
#[test]
fn a_stale_memo_is_caught() {
    let scenarios = shipped();
    let caught: Vec<&str> = scenarios
        .iter()
        .filter(|sc| concretise(sc, opts(sc, Memo::Stale)).is_err())
        .map(|sc| sc.name.as_str())
        .collect();
    assert!(caught.contains(&"certificate-expiry"), "{caught:?}");
    let expiry = scenarios
        .iter()
        .find(|sc| sc.name == "certificate-expiry")
        .expect("shipped");
    let err = concretise(expiry, opts(expiry, Memo::Stale)).expect_err("caught");
    assert!(err.contains("differs from the concrete run"), "{err}");
}

fn matrix_counterexamples_concretise(max_states: Option<usize>) {
    let mut replayed = 0;
    for (name, config) in standard_matrix() {
        let config = CheckConfig {
            max_states,
            ..config
        };
        let report = check(&config, |_| {}).unwrap_or_else(|e| panic!("{name}: {e}"));
        let (n, failures) = replay_counterexamples(&name, &report);
        assert!(failures.is_empty(), "{failures:#?}");
        replayed += n;
    }
    assert!(replayed > 0);
}

/// Every counterexample the standard matrix finds within its first 20,000
/// states per configuration (the shallow ones: most violations are); the
/// whole matrix is the ignored test below and part of `cargo run --release`.
#[test]
fn matrix_counterexamples_within_20000_states_concretise() {
    matrix_counterexamples_concretise(Some(20_000));
}

/// `cargo test --release -p commoncert-sim --test concretisation -- --ignored`
#[test]
#[ignore = "the whole standard matrix: minutes; run with --release"]
fn every_counterexample_of_the_standard_matrix_concretises() {
    matrix_counterexamples_concretise(None);
}
