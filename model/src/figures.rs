//! One test per patent figure: drive the real actors with the FIFO driver and
//! assert the exact step sequence and the final tables.

use crate::attacker::Replay;
use crate::config::{Presentation, PrimaryAuth, Revocation};
use crate::node::{Choice, NodeState};
use crate::properties::Property;
use crate::step::Step::{self, *};
use crate::system::{System, SystemSpec, standard_spec};
use crate::tables::Link;
use crate::user::{Command, Outcome, Using};
use crate::world::FifoDriver;
use stateright::actor::Id;

/// CA = 0, services from 1, then users.
fn driver(spec: SystemSpec) -> (FifoDriver, System) {
    let system = spec.build().expect("the standard system builds");
    (FifoDriver::new(system.clone()), system)
}

fn id(system: &System, name: &str) -> Id {
    system.dir.by_name(name).expect("known party")
}

fn run(d: &mut FifoDriver, who: Id, cmd: Command) -> (Outcome, Vec<Step>) {
    d.clear_log();
    let done = d.run(who, Choice::User(cmd)).expect("the operation ends");
    assert!(
        d.world.label_faults.is_empty(),
        "labels without their effect: {:?}",
        d.world.label_faults
    );
    (done.outcome, d.steps())
}

fn issue(s: Id) -> Command {
    Command::Issue {
        service: s,
        credential: None,
    }
}

fn use_at(s: Id) -> Command {
    Command::Use {
        service: s,
        login: true,
        credential: None,
    }
}

fn ca_services(d: &FifoDriver, system: &System) -> Vec<Vec<String>> {
    let ca = d
        .world
        .state(id(system, "CA"))
        .and_then(NodeState::ca)
        .expect("CA up");
    ca.tables
        .rows()
        .into_iter()
        .map(|(_, _, services)| {
            services
                .iter()
                .map(|s| system.dir.name(*s).to_string())
                .collect()
        })
        .collect()
}

fn linked(d: &FifoDriver, system: &System, service: &str) -> Vec<(u64, Link)> {
    let st = d
        .world
        .state(id(system, service))
        .and_then(NodeState::service)
        .expect("service up");
    st.durable
        .table
        .rows
        .values()
        .filter_map(|r| r.serial)
        .collect()
}

/// The serial of `user`'s certificate (random unless the spec says
/// otherwise, so the tables are compared with it, not with a number).
fn serial_of(d: &FifoDriver, system: &System, user: &str) -> u64 {
    d.world
        .state(id(system, user))
        .and_then(NodeState::user)
        .and_then(|s| s.certificate)
        .and_then(|c| system.dir.arena.serial_of(c))
        .expect("the user holds a certificate")
}

#[test]
fn fig3a_issue_through_a_then_qualify_at_b() {
    let (mut d, sys) = driver(standard_spec(2, 1, false));
    let (u, a, b) = (id(&sys, "u0"), id(&sys, "A"), id(&sys, "B"));
    let (out, steps) = run(&mut d, u, issue(a));
    assert_eq!(out, Outcome::Issued);
    assert_eq!(steps, vec![S1, S2, S3, S4, S5, S6, P1, S7, P2, S8]);
    let (out, steps) = run(&mut d, u, use_at(b));
    assert_eq!(out, Outcome::Granted);
    assert_eq!(
        steps,
        vec![S11, S12, S13, P3, P4, S14, S15, P5, S16, S17, S18, S19, P6]
    );
    assert_eq!(
        ca_services(&d, &sys),
        vec![vec!["A".to_string(), "B".to_string()]]
    );
    let serial = serial_of(&d, &sys, "u0");
    assert_eq!(linked(&d, &sys, "A"), vec![(serial, Link::Issued)]);
    assert_eq!(linked(&d, &sys, "B"), vec![(serial, Link::Qualified)]);
    assert!(d.world.violated().is_empty());
}

fn invalidate(s: Id, using: Using) -> Command {
    Command::Invalidate {
        service: s,
        using,
        credential: None,
    }
}

/// Issue at A and qualify at B: the start of most figures.
fn issued_and_qualified(spec: SystemSpec) -> (FifoDriver, System, Id, Id, Id) {
    let (mut d, sys) = driver(spec);
    let (u, a, b) = (id(&sys, "u0"), id(&sys, "A"), id(&sys, "B"));
    assert_eq!(run(&mut d, u, issue(a)).0, Outcome::Issued);
    assert_eq!(run(&mut d, u, use_at(b)).0, Outcome::Granted);
    (d, sys, u, a, b)
}

#[test]
fn fig3b_invalidate_by_password_then_b_learns_ng_from_the_ca() {
    let (mut d, sys, u, a, b) = issued_and_qualified(standard_spec(2, 1, false));
    let serial = serial_of(&d, &sys, "u0");
    let (out, steps) = run(&mut d, u, invalidate(a, Using::Password));
    assert_eq!(out, Outcome::Invalidated);
    assert_eq!(steps, vec![S1, S2, S3, P11, S4, P12, S5, S9, P13, S10]);
    assert!(ca_services(&d, &sys).is_empty(), "the CA deleted both rows");
    assert!(linked(&d, &sys, "A").is_empty());
    assert_eq!(
        linked(&d, &sys, "B"),
        vec![(serial, Link::Qualified)],
        "B learns only at P14/P15"
    );
    let (out, steps) = run(&mut d, u, use_at(b));
    assert_eq!(out, Outcome::Revoked);
    assert_eq!(steps, vec![S11, S12, S13, P14, P15]);
    assert!(
        linked(&d, &sys, "B").is_empty(),
        "P15: B deleted the serial"
    );
    assert!(d.world.violated().is_empty());
}

#[test]
fn fig3b_invalidate_by_certificate() {
    let (mut d, sys, u, a, _) = issued_and_qualified(standard_spec(2, 1, false));
    let (out, steps) = run(&mut d, u, invalidate(a, Using::Certificate));
    assert_eq!(out, Outcome::Invalidated);
    assert_eq!(steps, vec![P11, P12, P13]);
    assert!(ca_services(&d, &sys).is_empty());
}

#[test]
fn fig4_use_at_a_and_b_asks_the_ca_each_time() {
    let (mut d, _, u, a, b) = issued_and_qualified(standard_spec(2, 1, false));
    let (out, steps) = run(&mut d, u, use_at(a));
    assert_eq!(out, Outcome::Granted);
    assert_eq!(steps, vec![S11, S12, S13, P21, P22]);
    let (out, steps) = run(&mut d, u, use_at(b));
    assert_eq!(out, Outcome::Granted);
    assert_eq!(steps, vec![S11, S12, S13, P23, P24]);
    assert!(
        d.log.iter().any(|r| r.what.starts_with("Check")),
        "online: a CA check"
    );
}

#[test]
fn fig4_push_variant_v1_grants_from_the_table_and_pushes_a_signed_crl() {
    let mut spec = standard_spec(3, 1, false);
    spec.modes.revocation = Revocation::Push;
    let (mut d, sys, u, a, b) = issued_and_qualified(spec);
    let (out, steps) = run(&mut d, u, use_at(b));
    assert_eq!(out, Outcome::Granted);
    assert_eq!(steps, vec![S11, S12, S13, V1]);
    assert!(
        !d.log.iter().any(|r| r.what.starts_with("Check")),
        "V1: no CA check"
    );
    assert_eq!(
        run(&mut d, u, invalidate(a, Using::Password)).0,
        Outcome::Invalidated
    );
    for service in [a, b] {
        assert!(
            d.log
                .iter()
                .any(|r| r.what.starts_with("Revocation") && r.to == service),
            "V1: the CA pushed a CRL to every service of the certificate, the requester included"
        );
    }
    assert!(
        linked(&d, &sys, "B").is_empty(),
        "B deleted the serial on the CRL"
    );
    let (out, steps) = run(&mut d, u, use_at(b));
    assert_eq!(
        out,
        Outcome::Revoked,
        "B no longer knows the serial (NG for the certificate alone); the CA refuses S18"
    );
    // Not P14/P15: those are the CA's answer to a validity check, and V1 has none.
    assert_eq!(steps, vec![S11, S12, S13, P3, P4, S14, S15, P5, S16, S17]);
    assert!(d.world.violated().is_empty());
}

#[test]
fn fig8_wrong_password_ends_at_s4_for_a_user_who_gives_up_and_an_existing_certificate_is_offered_for_invalidation()
 {
    let (mut d, sys) = driver(standard_spec(2, 1, false));
    let (u, a) = (id(&sys, "u0"), id(&sys, "A"));
    let wrong = Command::Issue {
        service: a,
        credential: Some(std::sync::Arc::new(crate::system::credential(
            PrimaryAuth::Password,
            "u0-A",
            "wrong",
        ))),
    };
    let (out, steps) = run(&mut d, u, wrong);
    assert_eq!(out, Outcome::BadCredentials);
    // S4 No sends the screen back; the user gives up, so no second S2 is shown.
    assert_eq!(steps, vec![S1, S2, S3, S4]);
    assert_eq!(run(&mut d, u, issue(a)).0, Outcome::Issued);
    let (out, steps) = run(&mut d, u, issue(a));
    assert_eq!(out, Outcome::AlreadyIssued);
    assert_eq!(steps, vec![S1, S2, S3, S4, S5, S9]);
    assert_eq!(ca_services(&d, &sys).len(), 1, "S9 No: nothing issued");
}

#[test]
fn fig9_prohibit_then_use_again_requalifies() {
    let (mut d, sys, u, _, b) = issued_and_qualified(standard_spec(2, 1, false));
    let (out, steps) = run(&mut d, u, Command::Prohibit { service: b });
    assert_eq!(out, Outcome::Prohibited);
    assert_eq!(steps, vec![S11, S12, S13, S20_1, S20_2, S20_3, S20_4]);
    assert_eq!(ca_services(&d, &sys), vec![vec!["A".to_string()]]);
    assert!(linked(&d, &sys, "B").is_empty());
    let (out, steps) = run(&mut d, u, Command::Prohibit { service: b });
    assert_eq!((out, steps), (Outcome::NotQualified, vec![S11, S12, S13]));
    let (out, steps) = run(&mut d, u, use_at(b));
    assert_eq!(out, Outcome::Granted);
    assert_eq!(
        steps,
        vec![S11, S12, S13, P3, P4, S14, S15, P5, S16, S17, S18, S19, P6]
    );
}

#[test]
fn fig11_portal_statement_from_every_qualified_bank() {
    let (mut d, sys) = driver(standard_spec(3, 1, true));
    let (u, portal, b, c) = (id(&sys, "u0"), id(&sys, "A"), id(&sys, "B"), id(&sys, "C"));
    assert_eq!(run(&mut d, u, issue(portal)).0, Outcome::Issued);
    assert_eq!(run(&mut d, u, use_at(b)).0, Outcome::Granted);
    assert_eq!(run(&mut d, u, use_at(c)).0, Outcome::Granted);
    d.clear_log();
    let done = d
        .run(u, Choice::User(Command::Statement { portal }))
        .expect("the statement ends");
    assert_eq!(done.outcome, Outcome::Statement);
    assert_eq!(done.sources, vec!["B".to_string(), "C".to_string()]);
    // Proof of possession interleaves the banks' challenges; FIFO delivery
    // makes the order deterministic: both banks are asked before either answers.
    assert_eq!(
        d.steps(),
        vec![
            P31, P32, P33, P34, P35, P36, P37, P38, P39, P43, P40, P44, P41, P42, P45, P46
        ]
    );
    assert!(
        d.world
            .history
            .reached
            .contains(&crate::properties::Milestone::StatementTwoSources)
    );
}

#[test]
fn fig11_under_bearer_presentation_reads_in_patent_order_per_bank() {
    let mut spec = standard_spec(2, 1, true);
    spec.modes.presentation = Presentation::Bearer;
    let (mut d, sys) = driver(spec);
    let (u, portal, b) = (id(&sys, "u0"), id(&sys, "A"), id(&sys, "B"));
    run(&mut d, u, issue(portal));
    run(&mut d, u, use_at(b));
    d.clear_log();
    let done = d
        .run(u, Choice::User(Command::Statement { portal }))
        .expect("ends");
    assert_eq!(done.sources, vec!["B".to_string()]);
    assert_eq!(
        d.steps(),
        vec![P31, P32, P33, P34, P35, P36, P37, P38, P39, P40, P41, P42]
    );
}

#[test]
fn variant_t1_merged_table_runs_the_same_flows() {
    let mut spec = standard_spec(2, 1, false);
    spec.modes.merged_ca_table = true;
    let (mut d, sys, u, a, _) = issued_and_qualified(spec);
    let ca = d.world.ca_state().expect("CA up");
    assert!(ca.tables.is_merged());
    assert_eq!(
        ca_services(&d, &sys),
        vec![vec!["A".to_string(), "B".to_string()]]
    );
    assert_eq!(
        run(&mut d, u, invalidate(a, Using::Password)).0,
        Outcome::Invalidated
    );
    assert!(ca_services(&d, &sys).is_empty());
}

#[test]
fn variant_v2_biometric_primary_authentication() {
    let mut spec = standard_spec(2, 1, false);
    spec.modes.primary_auth = PrimaryAuth::Biometric;
    let (mut d, sys, u, a, _) = issued_and_qualified(spec);
    let login = d
        .log
        .iter()
        .find(|r| r.what.starts_with("Login"))
        .map(|r| r.what.clone());
    assert!(login.is_some());
    let other_finger = Command::Invalidate {
        service: a,
        using: Using::Password,
        credential: Some(std::sync::Arc::new(crate::system::credential(
            PrimaryAuth::Biometric,
            "u0-A",
            "someone else",
        ))),
    };
    assert_eq!(run(&mut d, u, other_finger).0, Outcome::BadCredentials);
    assert_eq!(ca_services(&d, &sys).len(), 1);
}

#[test]
fn variant_v3_ca_inside_the_portal() {
    let mut spec = standard_spec(3, 1, true);
    spec.modes.ca_in_portal = true;
    let (mut d, sys) = driver(spec);
    assert!(sys.dir.by_name("CA").is_none(), "no independent CA node");
    let (u, portal, b) = (id(&sys, "u0"), id(&sys, "A"), id(&sys, "B"));
    assert_eq!(sys.dir.ca(), Some(portal));
    assert_eq!(run(&mut d, u, issue(portal)).0, Outcome::Issued);
    assert_eq!(run(&mut d, u, use_at(b)).0, Outcome::Granted);
    let done = d
        .run(u, Choice::User(Command::Statement { portal }))
        .expect("ends");
    assert_eq!(
        (done.outcome, done.sources),
        (Outcome::Statement, vec!["B".to_string()])
    );
    assert!(d.world.violated().is_empty());
}

fn with_attacker(presentation: Presentation) -> (FifoDriver, System, Id, Id, Id) {
    let mut spec = standard_spec(2, 1, false);
    spec.modes.presentation = presentation;
    spec.attacker = Some("mallory".into());
    let (mut d, sys, u, a, b) = issued_and_qualified(spec);
    // The victim's use at A puts a presentation on the wire.
    assert_eq!(run(&mut d, u, use_at(a)).0, Outcome::Granted);
    let m = id(&sys, "mallory");
    (d, sys, u, b, m)
}

#[test]
fn bearer_certificates_let_an_eavesdropper_impersonate() {
    let (mut d, _, u, b, m) = with_attacker(Presentation::Bearer);
    let replay = d
        .world
        .attacker_replay(m, u, b)
        .expect("mallory saw the certificate");
    let done = d.run(m, replay).expect("ends");
    assert_eq!(done.outcome, Outcome::Granted);
    assert_eq!(d.world.violated(), vec![Property::NoImpersonation]);
}

#[test]
fn proof_of_possession_refuses_a_replayed_presentation() {
    let (mut d, _, u, b, m) = with_attacker(Presentation::ProofOfPossession);
    let replay = d
        .world
        .attacker_replay(m, u, b)
        .expect("mallory saw the certificate");
    let done = d.run(m, replay).expect("ends");
    assert_eq!(done.outcome, Outcome::Rejected);
    // B handed out that nonce number before (to the victim): a replay.
    assert_eq!(
        done.reason,
        Some(crate::rejection::Rejection::ReplayedChallenge)
    );
    assert!(d.world.violated().is_empty());
    // At the service whose challenge the victim signed, the same.
    let a = Id::from(1);
    let Some(Choice::Attacker(Replay { shown, .. })) = d.world.attacker_replay(m, u, a) else {
        panic!("seen")
    };
    let done = d
        .run(m, Choice::Attacker(Replay { shown, service: a }))
        .expect("ends");
    assert_eq!(
        done.reason,
        Some(crate::rejection::Rejection::ReplayedChallenge)
    );
}

#[test]
fn a_second_service_issues_a_second_certificate_the_patent_s5_checks_only_its_own_table() {
    let (mut d, sys, u, _, b) = issued_and_qualified(standard_spec(2, 1, false));
    let _ = sys;
    // B's table holds the serial (qualified), so S5 says Yes there:
    assert_eq!(run(&mut d, u, issue(b)).0, Outcome::AlreadyIssued);
    // ...but a service that never saw the certificate issues another one.
    let (mut d, sys) = driver(standard_spec(2, 1, false));
    let (u, a, b) = (id(&sys, "u0"), id(&sys, "A"), id(&sys, "B"));
    run(&mut d, u, issue(a));
    assert_eq!(run(&mut d, u, issue(b)).0, Outcome::Issued);
    assert_eq!(d.world.violated(), vec![Property::OneCertificatePerUser]);
}

#[test]
fn a_service_with_the_ca_check_skipped_breaks_only_qualified_services() {
    let mut spec = standard_spec(2, 1, false);
    spec.defects.skip_ca_check = true;
    let (mut d, _, u, a, b) = issued_and_qualified(spec);
    assert_eq!(
        run(&mut d, u, invalidate(a, Using::Password)).0,
        Outcome::Invalidated
    );
    assert_eq!(
        run(&mut d, u, use_at(b)).0,
        Outcome::Granted,
        "B never asks the CA"
    );
    let v = d.world.violated();
    assert!(v.contains(&Property::RevokedNeverAccepted), "{v:?}");
}

#[test]
fn every_step_label_is_realised_by_some_figure() {
    // Runs the figures above back to back in one world per mode and collects labels.
    let mut seen = std::collections::BTreeSet::new();
    for presentation in [Presentation::ProofOfPossession, Presentation::Bearer] {
        let mut spec = standard_spec(3, 1, true);
        spec.modes.presentation = presentation;
        let (mut d, sys) = driver(spec);
        let (u, a, b, c) = (id(&sys, "u0"), id(&sys, "A"), id(&sys, "B"), id(&sys, "C"));
        for cmd in [
            issue(a),
            issue(a),
            use_at(b),
            use_at(c),
            use_at(a),
            use_at(b),
            Command::Statement { portal: a },
            Command::Prohibit { service: c },
            invalidate(a, Using::Password),
            use_at(b),
        ] {
            seen.extend(run(&mut d, u, cmd).1);
        }
    }
    // V1's own-table grant.
    let mut spec = standard_spec(2, 1, false);
    spec.modes.revocation = Revocation::Push;
    let (mut d, sys) = driver(spec);
    let (u, a) = (id(&sys, "u0"), id(&sys, "A"));
    for cmd in [issue(a), use_at(a)] {
        seen.extend(run(&mut d, u, cmd).1);
    }
    let missing: Vec<_> = Step::ALL.iter().filter(|s| !seen.contains(s)).collect();
    assert!(missing.is_empty(), "never realised: {missing:?}");
}

/// V1 under `crl-freshness`: a service trusts its own table only while it
/// holds a current CRL. Before the CA's first publication a use at the
/// issuing service asks the CA (Fig. 4: P21); after it the own table
/// answers (P22 alone), as under the patent's V1. After an invalidation
/// the CA's CRLs list every serial revoked so far, and a CRL older than
/// the one a service holds changes nothing there.
#[test]
fn v1_crl_freshness_trusts_the_own_table_only_under_a_current_crl() {
    use crate::effects::Timer;
    use crate::msg::Msg;
    let mut spec = standard_spec(2, 1, false);
    spec.modes.revocation = Revocation::Push;
    spec.hardening.crl_freshness = true;
    let (mut d, system) = driver(spec);
    let (ca, a, b) = (id(&system, "CA"), id(&system, "A"), id(&system, "B"));
    let u = system.dir.users().next().expect("a user");
    assert_eq!(run(&mut d, u, issue(a)).0, Outcome::Issued);
    assert_eq!(
        run(&mut d, u, use_at(a)),
        (Outcome::Granted, vec![S11, S12, S13, P21, P22])
    );
    let held = |d: &FifoDriver, s: Id| {
        d.world
            .state(s)
            .and_then(NodeState::service)
            .and_then(|st| st.durable.crl)
    };
    assert_eq!(held(&d, a), None);
    // The CA publishes its (still empty) CRL to every service.
    d.fire(ca, &Timer::NextUpdate);
    let first = held(&d, a).expect("A holds a CRL");
    assert_eq!(held(&d, b), Some(first));
    assert_eq!(
        run(&mut d, u, use_at(a)),
        (Outcome::Granted, vec![S11, S12, S13, V1])
    );
    // An invalidation: the notification is the complete CRL, numbered on.
    assert_eq!(
        run(
            &mut d,
            u,
            Command::Invalidate {
                service: a,
                using: Using::Password,
                credential: None,
            }
        )
        .0,
        Outcome::Invalidated
    );
    let newer = held(&d, a).expect("A holds a CRL");
    assert!(newer.0 > first.0, "{newer:?} after {first:?}");
    // The first CRL again (a late or replayed copy) changes nothing.
    let old = system
        .dir
        .arena
        .crl(&system.authority, first.0, &[], 0)
        .expect("a CRL");
    let before = d.world.state(a).cloned();
    let _ = d.world.deliver(ca, a, Msg::Revocation { crl: old });
    assert_eq!(d.world.state(a).cloned(), before);
    // Past the newest CRL's nextUpdate, B no longer trusts its own table.
    assert_eq!(run(&mut d, u, issue(b)).0, Outcome::Issued);
    d.fire(ca, &Timer::NextUpdate);
    assert_eq!(
        run(&mut d, u, use_at(b)),
        (Outcome::Granted, vec![S11, S12, S13, V1])
    );
    let (_, next_update) = held(&d, b).expect("B holds a CRL");
    system.clock.set(next_update + 1);
    assert_eq!(
        run(&mut d, u, use_at(b)),
        (Outcome::Granted, vec![S11, S12, S13, P21, P22])
    );
}
