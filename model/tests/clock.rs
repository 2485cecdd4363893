//! Time passing in the checker (`check --clock-jumps K`): without jumps the
//! model is the one before the clock existed; with them an expired
//! certificate is refused everywhere, `crl-freshness`'s fallback to the CA
//! is reached, symmetry keeps its verdicts, and the liveness pass reads
//! expiry as the end of what `invalidation-reaches-all` awaits without
//! forcing a jump.

use commoncert_model::checker::{CheckConfig, CheckReport, PropertyResult, Verdict, check};
use commoncert_model::config::{Hardening, Presentation, Revocation};
use commoncert_model::counterexample::Event;
use commoncert_model::node::{Choice, NodeState};
use commoncert_model::properties::Liveness;
use stateright::Model;
use stateright::actor::ActorModelAction;

fn run(config: CheckConfig) -> CheckReport {
    check(&config, |_| {}).expect("checks")
}

fn result<'a>(report: &'a CheckReport, name: &str) -> &'a PropertyResult {
    report
        .properties
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("{name} is checked"))
}

/// Whether a path's line is a clock jump.
fn jumps(p: &PropertyResult) -> Vec<String> {
    p.counterexample
        .iter()
        .filter(|l| l.from == "clock" && l.event == Event::Choice)
        .map(|l| l.message.clone())
        .collect()
}

/// `--clock-jumps 0`, the default, is the model before the clock: the
/// same unique states as the matrix rows had (`reports/verification.md`
/// before the option existed), no clock party, and no new property.
#[test]
fn without_jumps_the_state_counts_and_properties_are_the_old_ones() {
    let rows = [
        // online-pop-reliable-honest-n2
        (
            CheckConfig {
                actions: 4,
                ..CheckConfig::default()
            },
            8043,
        ),
        // push-pop-c2-n2
        (
            CheckConfig {
                revocation: Revocation::Push,
                concurrency: 2,
                actions: 3,
                ..CheckConfig::default()
            },
            20337,
        ),
        // online-pop-crash-liveness-n2, the liveness pass included
        (
            CheckConfig {
                crashes: 1,
                actions: 2,
                liveness: true,
                ..CheckConfig::default()
            },
            10755,
        ),
    ];
    for (config, states) in rows {
        assert_eq!(config.clock_jumps, 0);
        let r = run(config);
        assert_eq!(r.unique_states, states, "{}", r.config.flags());
        assert!(r.dir.by_name("clock").is_none());
        for new in [
            "expired-never-accepted",
            "expired-refused",
            "stale-crl-asks-ca",
        ] {
            assert!(r.verdict(new).is_none(), "{new} without jumps");
        }
        if let Some(l) = &r.liveness {
            assert_eq!(l.unique_states, states);
        }
    }
}

/// With jumps, online and under V1: a certificate presented after the
/// clock passed its notAfter is refused with the existing reason
/// (`expired`), before any table lookup or CA check, and no service ever
/// grants on one (`expired-never-accepted` holds exhaustively).
#[test]
fn with_jumps_an_expired_certificate_is_refused_everywhere() {
    for revocation in [Revocation::Online, Revocation::Push] {
        let r = run(CheckConfig {
            revocation,
            actions: 2,
            clock_jumps: 1,
            ..CheckConfig::default()
        });
        assert_eq!(r.verdict("expired-never-accepted"), Some(Verdict::Holds));
        let witness = result(&r, "expired-refused");
        assert_eq!(witness.verdict, Verdict::Holds, "found");
        assert_eq!(
            jumps(witness),
            ["jumps past every certificate's notAfter (+365 d 1 s)"]
        );
        let last = witness.counterexample.last().expect("a path");
        assert!(last.message.starts_with("Present(Use"), "{last}");
        assert!(
            last.sent
                .iter()
                .any(|s| s.ends_with("Refused(Rejected(Expired))")),
            "{:?}",
            last.sent
        );
        assert!(last.steps.is_empty(), "refused at S11-S12: {last}");
    }
}

/// Under `crl-freshness` the clock can pass a CRL's nextUpdate while the
/// certificates stay valid; a service holding only that stale CRL then
/// checks with the CA (S13) instead of its table. The fallback is
/// reached, and every safety property that holds without time holds with
/// it (the patent's S5 finding aside).
#[test]
fn crl_freshness_asks_the_ca_once_its_crl_is_stale() {
    let config = CheckConfig {
        revocation: Revocation::Push,
        harden: Hardening::parse(["crl-freshness"]).expect("a name"),
        actions: 2,
        clock_jumps: 1,
        ..CheckConfig::default()
    };
    let r = run(config.clone());
    let witness = result(&r, "stale-crl-asks-ca");
    assert_eq!(witness.verdict, Verdict::Holds, "found");
    assert_eq!(
        jumps(witness),
        ["jumps past every CRL's nextUpdate (+1 d 1 s)"]
    );
    assert!(
        witness
            .counterexample
            .iter()
            .any(|l| l.message.starts_with("Revocation(CRL")),
        "the service held a CRL before it went stale"
    );
    let last = witness.counterexample.last().expect("a path");
    assert!(last.steps.iter().any(|s| s.label() == "S13"), "{last}");
    assert!(
        last.sent.iter().any(|s| s.contains("-> CA: Check(")),
        "{:?}",
        last.sent
    );
    for p in r.properties.iter().filter(|p| p.kind == "always") {
        let expected = if p.name == "one-certificate-per-user" {
            Verdict::Violated
        } else {
            Verdict::Holds
        };
        assert_eq!(p.verdict, expected, "{}", p.name);
    }
    // stateright's parallel search steps states on several threads, each
    // with the handlers' clock at its own state's time: the same classes.
    let parallel = run(CheckConfig {
        threads: 2,
        ..config.clone()
    });
    assert_eq!(parallel.unique_states, r.unique_states);
    for p in &r.properties {
        assert_eq!(parallel.verdict(&p.name), Some(p.verdict), "{}", p.name);
    }
    // Without jumps a held CRL never goes stale: the milestone is not
    // reachable, and not asked for.
    let still = CheckConfig {
        clock_jumps: 0,
        ..config
    };
    assert!(
        !still
            .milestones()
            .iter()
            .any(|m| m.name() == "stale-crl-asks-ca")
    );
}

/// Symmetry renames users, never the time: with jumps it keeps every
/// verdict and still reduces.
#[test]
fn symmetry_keeps_its_verdicts_when_time_passes() {
    let config = CheckConfig {
        users: 2,
        actions: 1,
        clock_jumps: 1,
        presentation: Presentation::Bearer,
        ..CheckConfig::default()
    };
    let plain = run(config.clone());
    let reduced = run(CheckConfig {
        symmetry: true,
        ..config
    });
    for p in &plain.properties {
        assert_eq!(reduced.verdict(&p.name), Some(p.verdict), "{}", p.name);
    }
    assert!(reduced.unique_states < plain.unique_states);
}

/// V1's lost notification under `--liveness` with jumps: a jump is the
/// environment's choice, never forced by weak fairness, so the lasso is
/// the one without time (the run stays where the clock stands, short of
/// notAfter), and `invalidation-reaches-all` stays violated. A jump past
/// notAfter from the lasso's last state ends what is awaited: the service
/// still holds the revoked serial, but its certificate has expired and
/// every service refuses it.
#[test]
fn a_jump_is_never_forced_and_expiry_ends_what_invalidation_awaits() {
    let r = run(CheckConfig {
        revocation: Revocation::Push,
        lossy: true,
        actions: 2,
        liveness: true,
        clock_jumps: 1,
        ..CheckConfig::default()
    });
    let lasso = result(&r, "invalidation-reaches-all");
    assert_eq!(lasso.verdict, Verdict::Violated);
    assert!(jumps(lasso).is_empty(), "no jump in the lasso");
    assert!(
        lasso
            .counterexample
            .iter()
            .any(|l| l.event == Event::Lost && l.message.starts_with("Revocation")),
        "the notification is lost"
    );
    assert_eq!(r.verdict("expired-never-accepted"), Some(Verdict::Holds));
    // Replay the lasso's stem to where it stutters, then jump.
    let (model, _) = r.config.into_model().expect("builds");
    let dir = model.cfg.system.dir.clone();
    let mut state = model.init_states().remove(0);
    for a in &lasso.actions {
        state = model.next_state(&state, a.clone()).unwrap_or(state);
    }
    let pending = |s: &commoncert_model::checker::CcState| {
        Liveness::InvalidationReachesAll.pending(&dir, s.actor_states.iter().map(|a| &***a))
    };
    assert!(pending(&state));
    let mut offered = Vec::new();
    model.actions(&state, &mut offered);
    let jump = offered
        .into_iter()
        .find(|a| {
            matches!(
                a,
                ActorModelAction::SelectRandom {
                    random: Choice::Jump(_),
                    ..
                }
            )
        })
        .expect("the clock may still jump");
    let after = model.next_state(&state, jump).expect("time passes");
    let holds_revoked = after.actor_states.iter().any(|a| match &***a {
        NodeState::Service(s) => s.durable.table.linked_rows().next().is_some(),
        _ => false,
    });
    assert!(holds_revoked, "the row is still there");
    assert!(!pending(&after), "but nothing is awaited any more");
}

/// A clock that could outlive the CA's root is refused with the reason.
#[test]
fn too_many_jumps_are_refused_by_name() {
    let e = check(
        &CheckConfig {
            clock_jumps: 30,
            ..CheckConfig::default()
        },
        |_| {},
    )
    .expect_err("refused");
    let text = e.to_string();
    assert!(text.contains("--clock-jumps 30"), "{text}");
    assert!(text.contains("at most 20"), "{text}");
}
