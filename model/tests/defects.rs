//! Every safety property can fail: one deliberate defect each, found by a
//! property test over random operation sequences and shrunk to a handful of
//! operations.
//!
//! The checker finds the same defects exhaustively
//! (`checker::tests::every_safety_property_has_a_defect_the_checker_finds`);
//! here the real actors run under `FifoDriver`, operations are drawn at
//! random, and after each one `World::violated()` (the checker's own
//! property code) must stay clean. With the defect flipped in, proptest must
//! find a sequence that breaks the named property and shrink it.
//!
//! `one-certificate-per-user` has no defect: the patent's S5 breaks it as
//! written (`state_machine.rs` shows it). `ignore-expiry` breaks
//! `expired-never-accepted` only in a run where time passes (`Op::Expire`). `forget-link-persist` is the crash
//! semantics' defect: it breaks no property, but a crash then loses state no
//! handler persisted (`World::lost_at_crash`).
//!
//! Case counts: `PROPTEST_CASES` if set (at least the default here, since a
//! defect must be found), otherwise 1000 per defect.

use commoncert_model::config::{Defects, Revocation};
use commoncert_model::node::Choice;
use commoncert_model::properties::Property;
use commoncert_model::system::{SystemSpec, standard_spec};
use commoncert_model::user::{Command, Using};
use commoncert_model::world::FifoDriver;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestError, TestRng, TestRunner};
use stateright::actor::Id;

/// One operation, by user and service index.
#[derive(Clone, Debug)]
enum Op {
    Issue(usize, usize),
    Use(usize, usize),
    Prohibit(usize, usize),
    Invalidate(usize, usize),
    /// The attacker replays what it saw of user `.0`'s certificate at `.1`.
    Replay(usize, usize),
    /// Service `.0` crashes and restarts from its storage.
    CrashRestart(usize),
    /// Time passes every certificate's notAfter (the checker's
    /// `clock::Jump::PastNotAfter`).
    Expire,
}

fn ops(users: usize, services: usize) -> impl Strategy<Value = Vec<Op>> {
    let op = (0..7usize, 0..users, 0..services).prop_map(|(k, u, s)| match k {
        0 => Op::Issue(u, s),
        1 => Op::Use(u, s),
        2 => Op::Prohibit(u, s),
        3 => Op::Invalidate(u, s),
        4 => Op::Replay(u, s),
        5 => Op::CrashRestart(s),
        _ => Op::Expire,
    });
    prop::collection::vec(op, 1..16)
}

/// What a run found: the properties broken and whether a crash lost state.
fn replay(spec: &SystemSpec, ops: &[Op]) -> (Vec<Property>, bool) {
    let system = spec.build().expect("the standard system builds");
    let users: Vec<Id> = system.dir.users().collect();
    let services: Vec<Id> = system.dir.services().collect();
    let attacker = system.dir.attacker();
    let mut d = FifoDriver::new(system);
    for op in ops {
        let cmd = |u: usize, c: Command| (users[u], Choice::User(c));
        let run = match op {
            Op::Issue(u, s) => Some(cmd(
                *u,
                Command::Issue {
                    service: services[*s],
                    credential: None,
                },
            )),
            Op::Use(u, s) => Some(cmd(
                *u,
                Command::Use {
                    service: services[*s],
                    login: true,
                    credential: None,
                },
            )),
            Op::Prohibit(u, s) => Some(cmd(
                *u,
                Command::Prohibit {
                    service: services[*s],
                },
            )),
            Op::Invalidate(u, s) => Some(cmd(
                *u,
                Command::Invalidate {
                    service: services[*s],
                    using: Using::Password,
                    credential: None,
                },
            )),
            Op::Replay(u, s) => attacker.and_then(|a| {
                d.world
                    .attacker_replay(a, users[*u], services[*s])
                    .map(|c| (a, c))
            }),
            Op::CrashRestart(s) => {
                d.world.crash(services[*s]);
                d.world.restart(services[*s]);
                None
            }
            Op::Expire => {
                let clock = &d.world.system.clock;
                let by = commoncert_model::clock::Jump::PastNotAfter.by(&d.world.system.dir);
                clock.set(clock.now() + by);
                None
            }
        };
        if let Some((who, choice)) = run {
            d.run(who, choice);
        }
    }
    (d.world.violated(), !d.world.lost_at_crash.is_empty())
}

/// Run the property "nothing breaks" with `defects` on `spec`; it must fail,
/// and the shrunk sequence must be short. Returns the minimal sequence.
fn must_fail(
    mut spec: SystemSpec,
    defects: Defects,
    broken: impl Fn(&[Property], bool) -> bool,
) -> Vec<Op> {
    spec.defects = defects;
    let cfg = Config {
        failure_persistence: None,
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(1000)
            .max(1000),
        ..Config::default()
    };
    let users = spec.users.len();
    let services = spec.services.len();
    let mut runner =
        TestRunner::new_with_rng(cfg, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let result = runner.run(&ops(users, services), |ops| {
        let (violated, lost) = replay(&spec, &ops);
        prop_assert!(
            !broken(&violated, lost),
            "{violated:?}, lost at crash: {lost}"
        );
        Ok(())
    });
    match result {
        Err(TestError::Fail(_, minimal)) => minimal,
        Err(e) => panic!("unexpected runner error: {e}"),
        Ok(()) => panic!("the defect {defects:?} went unnoticed"),
    }
}

fn spec(f: impl FnOnce(&mut SystemSpec)) -> SystemSpec {
    let mut s = standard_spec(2, 1, false);
    f(&mut s);
    s
}

/// A correct system breaks nothing the defects below break (only the
/// patent's own `one-certificate-per-user` finding may show).
#[test]
fn without_defects_nothing_breaks_but_the_patents_own_finding() {
    let mut runner = TestRunner::new_with_rng(
        Config::with_cases(300),
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    for revocation in [Revocation::Online, Revocation::Push] {
        let s = spec(|s| {
            s.modes.revocation = revocation;
            s.attacker = Some("mallory".into());
        });
        runner
            .run(&ops(1, 2), |ops| {
                let (violated, lost) = replay(&s, &ops);
                prop_assert!(!lost);
                for p in violated {
                    prop_assert!(
                        p == Property::OneCertificatePerUser
                            || (revocation == Revocation::Push
                                && p == Property::RevokedNeverAccepted),
                        "{p:?}"
                    );
                }
                Ok(())
            })
            .expect("nothing breaks");
    }
}

#[test]
fn skip_ca_check_breaks_revoked_never_accepted_and_shrinks() {
    let min = must_fail(
        spec(|_| {}),
        Defects {
            skip_ca_check: true,
            ..Defects::default()
        },
        |v, _| v.contains(&Property::RevokedNeverAccepted),
    );
    // issue at one service, qualify at the other, invalidate at the first,
    // use at the second (the invalidating service deleted its own row)
    assert!(min.len() <= 4, "{min:?}");
}

#[test]
fn keep_row_on_prohibit_breaks_only_qualified_services_alone_and_shrinks() {
    let min = must_fail(
        spec(|s| s.modes.revocation = Revocation::Push),
        Defects {
            keep_row_on_prohibit: true,
            ..Defects::default()
        },
        |v, _| v.contains(&Property::OnlyQualifiedServices),
    );
    // issue at A, prohibit at A, use at A
    assert!(min.len() <= 3, "{min:?}");
    let (violated, _) = replay(
        &spec(|s| {
            s.modes.revocation = Revocation::Push;
            s.defects.keep_row_on_prohibit = true;
        }),
        &min,
    );
    assert_eq!(violated, vec![Property::OnlyQualifiedServices]);
}

#[test]
fn one_password_everywhere_breaks_both_stays_home_properties_and_shrinks() {
    let min = must_fail(
        spec(|_| {}),
        Defects {
            one_password_everywhere: true,
            ..Defects::default()
        },
        |v, _| {
            v.contains(&Property::PasswordStaysHome) && v.contains(&Property::CredentialStaysHome)
        },
    );
    // one login at the second service
    assert_eq!(min.len(), 1, "{min:?}");
}

#[test]
fn skip_proof_check_breaks_no_impersonation_and_shrinks() {
    let min = must_fail(
        spec(|s| s.attacker = Some("mallory".into())),
        Defects {
            skip_proof_check: true,
            ..Defects::default()
        },
        |v, _| v.contains(&Property::NoImpersonation),
    );
    // issue, use (the attacker sees it), replay
    assert!(min.len() <= 3, "{min:?}");
}

#[test]
fn reuse_serials_breaks_unique_serials_and_shrinks() {
    // Two users: one user's second certificate with a reused serial is
    // byte-identical to the first (same subject, key and time), which is
    // the same certificate, not a second one with that serial; unless time
    // passed between the two (`Op::Expire`), which stamps another one.
    let min = must_fail(
        spec(|s| *s = standard_spec(2, 2, false)),
        Defects {
            reuse_serials: true,
            ..Defects::default()
        },
        |v, _| v.contains(&Property::UniqueSerials),
    );
    // two issues (by two users, or by one with time passing between)
    let issues = min.iter().filter(|op| matches!(op, Op::Issue(..))).count();
    assert!(issues == 2 && min.len() <= 3, "{min:?}");
}

#[test]
fn ignore_expiry_breaks_expired_never_accepted_only_once_time_passes_and_shrinks() {
    let min = must_fail(
        spec(|_| {}),
        Defects {
            ignore_expiry: true,
            ..Defects::default()
        },
        |v, _| v.contains(&Property::ExpiredNeverAccepted),
    );
    // issue, time passes notAfter, use
    assert!(min.len() <= 3, "{min:?}");
    assert!(min.iter().any(|op| matches!(op, Op::Expire)), "{min:?}");
}

#[test]
fn forget_link_persist_loses_the_link_at_a_crash_and_shrinks() {
    let min = must_fail(
        spec(|s| s.modes.presentation = commoncert_model::config::Presentation::Bearer),
        Defects {
            forget_link_persist: true,
            ..Defects::default()
        },
        |_, lost| lost,
    );
    // issue at A, crash A
    assert!(min.len() <= 2, "{min:?}");
}
