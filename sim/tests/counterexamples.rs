//! Every counterexample replays: the checker's shortest path to a violation,
//! written as a scripted scenario (`commoncert::emit`), makes the simulator
//! reach the same violation, with the same keys and certificates.
//!
//! This test replays the counterexamples of every configuration of the
//! standard matrix small enough for a debug build (under 8,000 states);
//! `cargo run --release` (`commoncert verify`) replays them all.

use commoncert_model::checker::{CheckConfig, check};
use commoncert_model::verify::standard_matrix;
use commoncert_sim::emit::replay_counterexamples;

/// Check `config` and replay each violated property's counterexample.
fn replay(name: &str, config: &CheckConfig) -> (usize, Vec<String>) {
    let report = check(config, |_| {}).expect("a valid configuration");
    replay_counterexamples(name, &report)
}

#[test]
fn every_small_matrix_counterexample_replays_to_the_same_violation() {
    let mut replayed = 0;
    let mut failures = Vec::new();
    for (name, config) in standard_matrix() {
        // Cheap configurations only in a debug build; see the module doc.
        let probe = CheckConfig {
            max_states: Some(12_000),
            ..config.clone()
        };
        if check(&probe, |_| {}).map(|r| !r.complete).unwrap_or(true) {
            continue;
        }
        let (n, f) = replay(&name, &config);
        replayed += n;
        failures.extend(f);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(replayed >= 20, "only {replayed} counterexamples replayed");
}

#[test]
fn lossy_crashing_and_duplicating_paths_replay_too() {
    for config in [
        CheckConfig {
            lossy: true,
            actions: 3,
            revocation: commoncert_model::config::Revocation::Push,
            ..CheckConfig::default()
        },
        CheckConfig {
            crashes: 1,
            actions: 2,
            ..CheckConfig::default()
        },
        // A duplicating network's state space is unbounded in practice: a
        // depth bound keeps the search small; the one-certificate finding
        // lies within it.
        CheckConfig {
            network: commoncert_model::checker::NetworkKind::Duplicating,
            actions: 2,
            depth: Some(13),
            ..CheckConfig::default()
        },
        CheckConfig {
            defects: commoncert_model::config::Defects {
                skip_proof_check: true,
                ..Default::default()
            },
            attacker: true,
            ..CheckConfig::default()
        },
    ] {
        let (n, failures) = replay("probe", &config);
        assert!(n > 0);
        assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    }
}

#[test]
fn a_path_with_a_timeout_replays_with_it() {
    // Under V1 with loss and three actions, the shortest path to accepting a
    // revoked certificate lets a use time out, and its presentation, still
    // in flight, reaches A while A's invalidation is at the CA.
    let config = CheckConfig {
        lossy: true,
        actions: 3,
        revocation: commoncert_model::config::Revocation::Push,
        ..CheckConfig::default()
    };
    let report = check(&config, |_| {}).expect("runs");
    let p = report
        .properties
        .iter()
        .find(|p| p.name == "revoked-never-accepted")
        .expect("listed");
    let text =
        commoncert_sim::emit::counterexample_scenario(&config, &report.dir, "late-presentation", p);
    assert!(text.contains("do = \"timeout\""), "{text}");
    let (n, failures) = replay_counterexamples("late-presentation", &report);
    assert!(n > 0 && failures.is_empty(), "{failures:?}");
}

/// `push-ack`'s retransmission timer as a scripted step: the shortest path
/// on which the CA's timer fires and the CRL it pushes again reaches a
/// service is written as a scenario (`do = "timeout"` on the CA, no `op`)
/// and the simulator replays it to the same delivery.
#[test]
fn a_path_through_the_cas_retransmission_replays_with_it() {
    use commoncert_model::checker::{PropertyResult, Verdict};
    use commoncert_model::effects::Timer;
    use commoncert_model::explore::fingerprint;
    use commoncert_model::msg::Msg;
    use stateright::Model;
    use stateright::actor::ActorModelAction as A;
    use std::collections::{HashSet, VecDeque};

    let config = CheckConfig {
        lossy: true,
        actions: 3,
        revocation: commoncert_model::config::Revocation::Push,
        harden: commoncert_model::config::Hardening::parse(["push-ack"]).expect("a name"),
        ..CheckConfig::default()
    };
    let (model, _) = config.into_model().expect("builds");
    // Breadth-first over (state, retransmitted yet), keeping each path.
    let mut queue: VecDeque<_> = model
        .init_states()
        .into_iter()
        .map(|s| (s, false, Vec::new()))
        .collect();
    let mut seen = HashSet::new();
    let mut found = None;
    'search: while let Some((state, retried, path)) = queue.pop_front() {
        let mut actions = Vec::new();
        model.actions(&state, &mut actions);
        for a in actions {
            let now_retried = retried || matches!(a, A::Timeout(_, Timer::Retry));
            let delivers_again = retried
                && matches!(
                    &a,
                    A::Deliver {
                        msg: Msg::Revocation { .. },
                        ..
                    }
                );
            let Some(next) = model.next_state(&state, a.clone()) else {
                continue;
            };
            let mut path = path.clone();
            path.push(a);
            if delivers_again {
                found = Some(path);
                break 'search;
            }
            if Model::within_boundary(&model, &next)
                && seen.insert((fingerprint(&next), now_retried))
            {
                queue.push_back((next, now_retried, path));
            }
        }
    }
    let actions = found.expect("a retransmission is reachable");
    let report = check(
        &CheckConfig {
            max_states: Some(1),
            ..config.clone()
        },
        |_| {},
    )
    .expect("runs");
    let path = PropertyResult {
        name: "retransmission".into(),
        kind: "sometimes",
        verdict: Verdict::Holds,
        counterexample: Vec::new(),
        in_flight: Vec::new(),
        actions,
        violated_on_path: Vec::new(),
        loop_from: None,
    };
    let text = commoncert_sim::emit::counterexample_scenario(
        &config,
        &report.dir,
        "retransmission",
        &path,
    );
    assert!(
        text.contains("do = \"timeout\"\nnode = \"CA\"\ntimer = \"retransmission\"\n\n"),
        "the CA's timer is a step without `op`, naming the timer:\n{text}"
    );
    let sc = commoncert_sim::scenario::parse(std::path::Path::new("retransmission.toml"), &text)
        .expect("the emitted scenario parses");
    let run = commoncert_sim::sim::run(&sc, commoncert_sim::sim::Options::default()).expect("runs");
    assert!(run.failures.is_empty(), "{:?}", run.failures);
    let what: Vec<String> = run.trace.events.iter().map(|e| e.what.clone()).collect();
    let timer = what
        .iter()
        .position(|w| w == "retransmission timer")
        .expect("the timer fired");
    assert!(
        what[timer..].iter().any(|w| w.starts_with("Revocation(")),
        "{what:?}"
    );
}

/// A guessed serial replays: an outsider's probe under sequential serials
/// is written with `serials = "sequential"` (else the file would not even
/// parse: a probe needs it), and a file under the default says nothing.
#[test]
fn an_outsiders_guess_replays_under_the_serials_it_was_found_with() {
    use commoncert_model::config::Serials;
    let outsider = |serials| CheckConfig {
        services: 3,
        malicious_service: Some(2),
        outsider: true,
        actions: 2,
        serials,
        ..CheckConfig::default()
    };
    let report = check(&outsider(Serials::Sequential), |_| {}).expect("valid");
    let guess = report
        .properties
        .iter()
        .find(|p| p.name == "no-unauthorised-revocation")
        .expect("the property");
    let text =
        commoncert_sim::emit::counterexample_scenario(&report.config, &report.dir, "guess", guess);
    assert!(text.contains("serials = \"sequential\""), "{text}");
    assert!(text.contains("do = \"probe\""), "{text}");
    let (n, failures) = replay("guess", &outsider(Serials::Sequential));
    assert!(n > 0);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    let report = check(&outsider(Serials::Random), |_| {}).expect("valid");
    let any = report
        .properties
        .iter()
        .find(|p| p.name == "one-certificate-per-user")
        .expect("the property");
    assert!(
        !any.counterexample.is_empty(),
        "a second certificate is issued"
    );
    let text = commoncert_sim::emit::counterexample_scenario(&report.config, &report.dir, "x", any);
    assert!(!text.contains("serials ="), "{text}");
}

/// A clock jump as a scripted step: with services that ignore expiry
/// (`ignore-expiry`), the checker's shortest path to granting an expired
/// certificate jumps past its notAfter; it is written as a `wait` of the
/// jump's length, which moves the scripted simulator's clock as far, and
/// the simulator reaches the same violation (with the X.509 memo and
/// concretely).
#[test]
fn a_path_through_a_clock_jump_replays_as_a_wait() {
    let config = CheckConfig {
        actions: 2,
        clock_jumps: 1,
        defects: commoncert_model::config::Defects {
            ignore_expiry: true,
            ..Default::default()
        },
        ..CheckConfig::default()
    };
    let report = check(&config, |_| {}).expect("runs");
    let p = report
        .properties
        .iter()
        .find(|p| p.name == "expired-never-accepted")
        .expect("listed");
    let text =
        commoncert_sim::emit::counterexample_scenario(&config, &report.dir, "expired-granted", p);
    assert!(text.contains("do = \"wait\"\nms = 31536001000"), "{text}");
    let (n, failures) = replay_counterexamples("expired-granted", &report);
    assert!(n >= 2 && failures.is_empty(), "{failures:?}");
}
