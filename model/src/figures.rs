//! One test per patent figure: drive the real actors with the FIFO driver and
//! assert the exact step sequence and the final tables.

use crate::config::{Presentation, Revocation};
use crate::node::{Choice, NodeState};
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
    let ca = d.world.state(id(system, "CA")).and_then(NodeState::ca).expect("CA up");
    ca.tables
        .rows()
        .into_iter()
        .map(|(_, _, services)| services.iter().map(|s| system.dir.name(*s).to_string()).collect())
        .collect()
}

fn linked(d: &FifoDriver, system: &System, service: &str) -> Vec<(u64, Link)> {
    let st = d.world.state(id(system, service)).and_then(NodeState::service).expect("service up");
    st.durable.table.rows.values().filter_map(|r| r.serial).collect()
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
    assert_eq!(ca_services(&d, &sys), vec![vec!["A".to_string(), "B".to_string()]]);
    assert_eq!(linked(&d, &sys, "A"), vec![(1, Link::Issued)]);
    assert_eq!(linked(&d, &sys, "B"), vec![(1, Link::Qualified)]);
    assert!(d.world.violated().is_empty());
}
