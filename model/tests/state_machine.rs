//! State-machine property test of the Fig. 5-7 tables against an independent
//! oracle.
//!
//! The oracle (`Patent`) is written from the patent text
//! (`../shared/seed/*.txt`) and the step catalogue `../shared/flows.md`, not
//! from the implementation. Its state is the patent's own tables: Fig. 5
//! (serial -> name, address, e-mail), Fig. 6 (serial -> service IDs), each
//! service's Fig. 7 (user ID, password, name, address, serial or empty), and
//! the certificate on each user's terminal. Its transitions are the figures'
//! flows, one function per figure, to be read next to flows.md:
//! `fig8_issue_or_invalidate`, `fig9_qualify_or_prohibit`, `fig4_use`,
//! `fig3b_invalidate`, `fig11_statement`; each line cites the step (P1..P46,
//! S1..S20-4) it realises. It was written without reading the implementation's
//! `service.rs`, `ca.rs` or `user.rs`; the harness uses their public API only.
//! Serial numbers are not shared either: the oracle numbers its certificates
//! itself and the harness maps each to the serial the real CA chose.
//!
//! The system under test is the real actors of `commoncert-model`, driven by
//! `world::FifoDriver` (FIFO delivery, no loss, no time). After every
//! operation the test asserts the outcome and statement sources, the CA's
//! Fig. 5/6 rows (subject and services), every service's Fig. 7 row (user ID,
//! name, address, the serial and whether S8 or S19 wrote it; under passwords,
//! that the password column still admits the account's password),
//! `World::user_final` for every user, and that `World::violated` is exactly
//! what the oracle predicts.
//!
//! Readings where the patent is silent or ambiguous (each stated where used):
//! - S4/S16 No returns to the login screen; the user gives up: bad-credentials.
//! - S5 consults only the issuing service's own Fig. 7, so a second service
//!   issues a second certificate: `one-certificate-per-user` is violated while
//!   Fig. 5 names one user twice. A finding about the patent, kept visible.
//! - The terminal keeps the newest certificate; an invalidated one stays on
//!   it (P14 presents it after P13).
//! - Invalidating by password where S5 finds no serial: no-certificate (no S6).
//! - S10 deletes the serial and says invalidated whatever the CA answers,
//!   also for a serial the CA already deleted.
//! - A use is Fig. 9 up to S13; at S13 Yes the user declines S20-1 and Fig. 4
//!   (P23/P24) checks with the CA. The CA's NG for an unregistered serial is
//!   P15 at whichever service asks: it deletes the serial; "revoked".
//! - After a prohibition S13 finds nothing, S14-S16 log in and S17/S18 qualify
//!   the service again: a prohibition is undone by the service's password.
//! - S17 for a serial the CA no longer has: NG, no S19; "revoked".
//! - S20-3 for such a serial: "revoked"; S20-2's deletion stands.
//! - Prohibiting where S13 finds nothing: "not-qualified" (no S14).
//! - P12 with a certificate is Fig. 4's method (P21: ask the CA), then P13.
//! - Statement: at a service other than the portal, "not-qualified"; an NG at
//!   P33 as P15; P38 draws a region per Fig. 6 service other than the portal,
//!   and each shows its statement after its own P40/P41 check.
//! - With no certificate on the terminal: "no-certificate", nothing sent.
//! - V2: a user always presents its own template at each service; no
//!   prediction depends on whether templates differ per service. T1 and V3
//!   change no table and no outcome.
//!
//! Documented disagreements with the implementation. Each is shown by a named
//! deterministic test on a minimal sequence; the property tolerates exactly
//! that outcome in exactly that situation (`Tolerated`), never a table:
//! - `p12_invalidate_by_certificate_certifies_by_the_own_table`: the
//!   implementation certifies a certificate at P12 by the service's own Fig. 7
//!   instead of asking the CA, so it says "no-certificate" where the oracle
//!   says "not-qualified" or "revoked", and "invalidated" for a certificate
//!   already invalidated elsewhere. The patent's "predetermined certificating
//!   method" leaves room for that; a documented reading decides.
//!
//! Fixed after the oracle found it: `p32_the_portal_asks_the_ca_before_refusing_a_statement`
//! (the portal refused with "not-qualified" without P32/P33 when its own
//! Fig. 7 lacked the serial; it now asks the CA, and a dead certificate is
//! answered NG, "revoked").
//!
//! Configuration: online revocation with proof of possession; M users (1-3),
//! N services (2-4, the first a portal), with T1 (merged CA table), V2
//! (biometric primary authentication) and V3 (CA inside the portal) drawn at
//! random.
//!
//! `deliberately_broken_ca_check_is_caught_and_shrinks` flips the
//! `skip_ca_check` defect in and asserts that the same property fails, with a
//! counterexample that shrinks to a handful of operations.
//!
//! Case counts: `PROPTEST_CASES` if set, otherwise the defaults below.

use commoncert_model::config::{Credential, PrimaryAuth};
use commoncert_model::node::{Choice, NodeState};
use commoncert_model::properties::Property;
use commoncert_model::system::{credential, standard_spec};
use commoncert_model::tables::Link;
use commoncert_model::user::{Command, Outcome, Using};
use commoncert_model::world::{CertificateStatus, FifoDriver, UserFinal};
use proptest::prelude::*;
use proptest::test_runner::{
    Config as ProptestConfig, FileFailurePersistence, RngAlgorithm, TestError, TestRng, TestRunner,
};
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest, prop_state_machine};
use stateright::actor::Id;
use std::collections::{BTreeMap, BTreeSet};

/// Cases when `PROPTEST_CASES` is unset.
const DEFAULT_CASES: u32 = 512;

/// `PROPTEST_CASES` (and every other `PROPTEST_*` variable) honoured;
/// `default_cases` only when the variable is unset. Failures are persisted
/// under `model/proptest-regressions/`.
fn config(default_cases: u32, file: &'static str) -> ProptestConfig {
    let mut c = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = default_cases;
    }
    c.failure_persistence = Some(Box::new(FileFailurePersistence::Direct(file)));
    c
}

const SERVICE_NAMES: [&str; 4] = ["A", "B", "C", "D"];

fn service_name(s: usize) -> &'static str {
    SERVICE_NAMES.get(s).copied().unwrap_or("?")
}

// ---------------------------------------------------------------------------
// The oracle: the patent's tables and steps
// ---------------------------------------------------------------------------
//
// Written from the patent text (`../shared/seed/*.txt`) and `../shared/flows.md`
// only. Every line that realises a step names it; every choice the patent
// leaves open says "silent" and gives the reading.

/// The portal (@nifty server 43, Fig. 10) is service 0 of `standard_spec`.
const PORTAL: usize = 0;

/// One operation, by user and service index (service 0 is the portal).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Op {
    /// Fig. 8 S1-S8, S9 answered No; `right` = the account's own password.
    Issue {
        user: usize,
        service: usize,
        right: bool,
    },
    /// Fig. 9 S11-S19 and, at S13 Yes, Fig. 4; `login` = answer S14's login screen.
    Use {
        user: usize,
        service: usize,
        login: bool,
        right: bool,
    },
    /// Fig. 9 S11-S13, S20-1 answered Yes, S20-2..S20-4.
    Prohibit { user: usize, service: usize },
    /// Fig. 3B P11-P13 with ID and password (= Fig. 8 S1-S5, S9 Yes, S10).
    InvalidateByPassword {
        user: usize,
        service: usize,
        right: bool,
    },
    /// Fig. 3B P11-P13 with the certificate.
    InvalidateByCertificate { user: usize, service: usize },
    /// Fig. 11 P31-P46 (at a service other than the portal: see `fig11_statement`).
    Statement { user: usize, service: usize },
}

impl Op {
    fn user(&self) -> usize {
        match self {
            Op::Issue { user, .. }
            | Op::Use { user, .. }
            | Op::Prohibit { user, .. }
            | Op::InvalidateByPassword { user, .. }
            | Op::InvalidateByCertificate { user, .. }
            | Op::Statement { user, .. } => *user,
        }
    }

    fn service(&self) -> usize {
        match self {
            Op::Issue { service, .. }
            | Op::Use { service, .. }
            | Op::Prohibit { service, .. }
            | Op::InvalidateByPassword { service, .. }
            | Op::InvalidateByCertificate { service, .. }
            | Op::Statement { service, .. } => *service,
        }
    }
}

/// "Identification information (for example, a serial number)" of a common
/// certificate (P2). The patent does not say how the CA numbers them; the
/// oracle numbers its certificates 1, 2, ... in the order it issues them and
/// the harness maps each to whatever serial the real CA chose (`Sut::serials`).
type Serial = u64;

/// Fig. 5, the certificate management table: one row per certificate (also
/// who each user is: "the user information" S7 records).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Fig5Row {
    name: String,
    address: String,
    email: String,
}

/// Which step wrote the serial into a Fig. 7 row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Written {
    /// S8 (P2): the certificate was issued through this service.
    S8,
    /// S19 (P6): the certificate was qualified at this service.
    S19,
}

/// Fig. 7, the user information management table: one row per user.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Fig7Row {
    user_id: String,
    /// What S4/S16 compares the presented secret with (under V2 the secret
    /// the enrolled template stands for: the user always presents its own).
    password: String,
    name: String,
    address: String,
    /// "A serial number of a common certificate", empty until one is linked.
    serial: Option<Serial>,
    written: Option<Written>,
}

/// The CA's answer to "is this serial good for service s?" (P21, P23, P33, P41).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CaAnswer {
    /// Registered in Fig. 5 and s among its services in Fig. 6.
    Ok,
    /// NG: the serial is not registered (P15).
    NgUnregistered,
    /// NG: registered, but s is not among its services.
    NgNotAvailable,
}

/// What the user came to Fig. 9's service for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fig9Wish {
    /// Use (or first qualify) the service; `login`/`right`: its S14/S15 answer.
    Use { login: bool, right: bool },
    /// Prohibit use of the service with the certificate (S20-1 Yes).
    Prohibit,
}

/// A documented disagreement: the outcome the implementation gives where the
/// oracle's reading of the patent gives another. Only the outcome; the tables
/// are compared strictly all the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Tolerated {
    outcome: Outcome,
    /// The `#[test]` that shows the disagreement on a minimal sequence.
    shown_by: &'static str,
}

/// What the oracle predicts for the last operation.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Prediction {
    outcome: Outcome,
    /// For a statement: the services (indices) whose statement is shown.
    sources: Vec<usize>,
    /// The documented disagreement this operation falls under, if any.
    tolerated: Option<Tolerated>,
}

impl Prediction {
    fn plain(outcome: Outcome) -> Self {
        Prediction {
            outcome,
            sources: Vec::new(),
            tolerated: None,
        }
    }
}

/// The patent's state: the CA's certificate management DB 35 (Fig. 5, Fig. 6),
/// each service's user information management table (Fig. 7), and the
/// certificate each user's terminal holds.
#[derive(Clone, Debug)]
struct Patent {
    services: usize,
    users: usize,
    merged_ca_table: bool,
    biometric: bool,
    ca_in_portal: bool,
    /// Who each user is (name, address, e-mail), as the services enrolled it.
    people: Vec<Fig5Row>,
    next_serial: Serial,
    /// Fig. 5: serial -> name, address, e-mail.
    fig5: BTreeMap<Serial, Fig5Row>,
    /// Fig. 6: serial -> the IDs of the services the certificate may be used for.
    fig6: BTreeMap<Serial, BTreeSet<usize>>,
    /// Fig. 7 of each service: `fig7[service][user]`.
    fig7: Vec<Vec<Fig7Row>>,
    /// The certificate on each user's terminal. flows.md: a user holds at
    /// most one. The patent is silent on a second issue; the reading: the
    /// terminal keeps the newest. An invalidated certificate stays on the
    /// terminal: P14 has the user present it after P13.
    terminal: Vec<Option<Serial>>,
    last: Option<Prediction>,
    /// Set while an operation runs into a documented disagreement.
    tolerated: Option<Tolerated>,
    /// V2: some user has given its template to a service (see `typed`).
    template_handed_out: bool,
}

impl Patent {
    fn new(
        users: usize,
        services: usize,
        merged_ca_table: bool,
        biometric: bool,
        ca_in_portal: bool,
    ) -> Self {
        // The parties and accounts of the configuration (not its behaviour).
        let spec = standard_spec(services, users, true);
        let people: Vec<Fig5Row> = spec
            .users
            .iter()
            .map(|u| Fig5Row {
                name: u.subject.name.clone(),
                address: u.subject.address.clone(),
                email: u.subject.email.clone(),
            })
            .collect();
        let fig7 = (0..services)
            .map(|s| {
                spec.users
                    .iter()
                    .map(|u| {
                        let (user_id, password) =
                            u.accounts.get(service_name(s)).cloned().unwrap_or_default();
                        Fig7Row {
                            user_id,
                            password,
                            name: u.subject.name.clone(),
                            address: u.subject.address.clone(),
                            serial: None,
                            written: None,
                        }
                    })
                    .collect()
            })
            .collect();
        Patent {
            services,
            users,
            merged_ca_table,
            biometric,
            ca_in_portal,
            people,
            next_serial: 1,
            fig5: BTreeMap::new(),
            fig6: BTreeMap::new(),
            fig7,
            terminal: vec![None; users],
            last: None,
            tolerated: None,
            template_handed_out: false,
        }
    }

    fn held(&self, u: usize) -> Option<Serial> {
        self.terminal.get(u).copied().flatten()
    }

    /// The secret user `u` types at service `s`: its own, or a wrong one.
    fn typed(&mut self, s: usize, u: usize, right: bool) -> String {
        // V2: the patent's "finger print information" belongs to the person,
        // so every service enrolled the same template. The reading: once the
        // user has handed its own template to one service, that service holds
        // a credential every other service accepts (`credential-stays-home`).
        if right && self.biometric && self.services > 1 {
            self.template_handed_out = true;
        }
        if right {
            self.fig7[s][u].password.clone()
        } else {
            "not the password".to_string()
        }
    }

    /// S4 / S16 (P1, P5, P12): the service references its Fig. 7 table and
    /// checks the ID and password; the user's row if they match.
    fn s4_check(&self, s: usize, id: &str, password: &str) -> Option<usize> {
        self.fig7[s]
            .iter()
            .position(|row| row.user_id == id && row.password == password)
    }

    /// S13: the row of service `s` whose serial is `serial`, if any.
    fn s13_row(&self, s: usize, serial: Serial) -> Option<usize> {
        self.fig7[s].iter().position(|r| r.serial == Some(serial))
    }

    /// P13, P15, S10, S20-2: the service deletes `serial` from its Fig. 7 table.
    fn delete_serial(&mut self, s: usize, serial: Serial) {
        for row in self.fig7[s].iter_mut() {
            if row.serial == Some(serial) {
                row.serial = None;
                row.written = None;
            }
        }
    }

    /// S8 / S19: the service records `serial` in user `u`'s row. Fig. 7 has one
    /// serial column: a serial already there is overwritten (the patent is
    /// silent; only S19 can meet one, for a user holding a newer certificate).
    fn record_serial(&mut self, s: usize, u: usize, serial: Serial, by: Written) {
        let row = &mut self.fig7[s][u];
        row.serial = Some(serial);
        row.written = Some(by);
    }

    /// P21 / P23 / P33 / P41: the CA references the certificate management DB
    /// 35: OK when the serial is registered and `s` can be used.
    fn ca_check(&self, serial: Serial, s: usize) -> CaAnswer {
        match (self.fig5.contains_key(&serial), self.fig6.get(&serial)) {
            (true, Some(services)) if services.contains(&s) => CaAnswer::Ok,
            (true, _) => CaAnswer::NgNotAvailable,
            (false, _) => CaAnswer::NgUnregistered,
        }
    }

    /// The CA's NG at service `s`, as P15 handles it.
    fn ng(&mut self, s: usize, serial: Serial, answer: CaAnswer) -> Outcome {
        match answer {
            CaAnswer::NgUnregistered => {
                // P15: the service deletes the serial from its Fig. 7 table
                // and notifies the user of the invalidity. The patent shows
                // this NG only at B after P14; the reading: any service that
                // asks the CA (P12 via P21, P23, P33) handles it as P15 does,
                // and the user is told the certificate is dead: "revoked".
                self.delete_serial(s, serial);
                Outcome::Revoked
            }
            // The patent is silent on an NG for a registered certificate not
            // qualified for the asking service (P4 only says the user is
            // asked for B's password, which Fig. 9 does at S14). The reading:
            // "not-qualified", no table changes. (In these runs it cannot
            // follow S13 Yes: a service's table and Fig. 6 move together.)
            CaAnswer::NgNotAvailable => Outcome::NotQualified,
            CaAnswer::Ok => unreachable!("an OK is not handled as an NG"),
        }
    }

    /// Fig. 8 at service `a`: issue (Fig. 3A P1/P2) or, when the user answers
    /// S9 with Yes, invalidate (Fig. 3B P11-P13 with ID and password).
    fn fig8_issue_or_invalidate(&mut self, u: usize, a: usize, right: bool, s9: bool) -> Outcome {
        // S1: the user accesses A.  S2: A displays a login screen.
        // S3 (P1, P11): the user inputs the ID and password for A.
        let id = self.fig7[a][u].user_id.clone();
        let password = self.typed(a, u, right);
        // S4 (P1, P12): A references Fig. 7 and checks them.
        let Some(row) = self.s4_check(a, &id, &password) else {
            // S4 No: A repeats from S2. The reading: the user gives up this
            // time; a retry is the user's next operation.
            return Outcome::BadCredentials;
        };
        // S5: has a certificate been issued to the user, i.e. does the user's
        // row in A's own Fig. 7 hold a serial? Nothing else is consulted: not
        // the CA, not the user's terminal, not another service.
        match self.fig7[a][row].serial {
            None if s9 => {
                // The patent is silent on a user who came to invalidate but
                // whose row holds no serial (Fig. 8 would go on to S6 and
                // issue). The reading: A says there is none to invalidate
                // ("no-certificate"); nothing is issued, nothing changes.
                Outcome::NoCertificate
            }
            None => {
                // S6 (P1): A requests the CA to issue a common certificate.
                let serial = self.next_serial;
                self.next_serial += 1;
                // S7 (P2): the CA generates the certificate management table
                // (serial, the user information) ... The patent is silent on
                // where Fig. 5's e-mail comes from (Fig. 7 has no such
                // column); the reading: the user's registered name, address
                // and e-mail, whichever service asks.
                self.fig5.insert(serial, self.people[u].clone());
                // S7 (P2): ... and the available service management table
                // (serial, the ID of service A).
                self.fig6.insert(serial, BTreeSet::from([a]));
                // S8 (P2): A delivers the certificate to the user ...
                self.terminal[u] = Some(serial);
                // S8 (P2): ... and records its serial in Fig. 7.
                self.record_serial(a, row, serial, Written::S8);
                Outcome::Issued
            }
            Some(_) if !s9 => {
                // S9: A says a certificate has been issued and asks whether to
                // invalidate it; the user (come to issue) answers No: the end.
                Outcome::AlreadyIssued
            }
            Some(serial) => {
                // S9 Yes, S10 (P13): A notifies the CA of the serial in its
                // table and requests invalidation; the CA deletes the
                // certificate management table ...
                self.fig5.remove(&serial);
                // S10 (P13): ... and the available service management table.
                self.fig6.remove(&serial);
                // S10 (P13): A deletes the serial from Fig. 7 and tells the
                // user. The patent does not make this depend on the CA's
                // answer: for a serial the CA had already deleted (invalidated
                // elsewhere) the reading is the same "invalidated".
                self.delete_serial(a, serial);
                Outcome::Invalidated
            }
        }
    }

    /// Fig. 3B at service `a`: P11-P13 with ID and password (Fig. 8's S9/S10
    /// branch) or with the common certificate.
    fn fig3b_invalidate(&mut self, u: usize, a: usize, using: Using, right: bool) -> Outcome {
        if using == Using::Password {
            // P11 with ID and password, P12 by table, P13 = Fig. 8 S1-S5, S9 Yes, S10.
            return self.fig8_issue_or_invalidate(u, a, right, true);
        }
        // P11: the user sends the common certificate to A. (Silent: a user
        // holding none has nothing to send: "no-certificate".)
        let Some(serial) = self.held(u) else {
            return Outcome::NoCertificate;
        };
        // P12: A "certifies the user in a predetermined certificating method
        // (that will be described later)": the reading is Fig. 4's, the one
        // later described for a certificate: P21, A asks the CA.
        let answer = self.ca_check(serial, a);
        if answer != CaAnswer::Ok {
            // Documented disagreement, shown by
            // `p12_invalidate_by_certificate_certifies_by_the_own_table`: the
            // implementation certifies at P12 by A's own Fig. 7 (S13's lookup,
            // V1's method) and never asks the CA: a serial A does not hold is
            // "no-certificate"; a (stale) one it holds goes on to P13, whose
            // NG from the CA it reports as "invalidated". Either way A ends
            // without the serial, so the tables agree.
            let own_table = match self.s13_row(a, serial) {
                Some(_) => Outcome::Invalidated,
                None => Outcome::NoCertificate,
            };
            // P12: A notifies the user of the (NG) result; no P13.
            let outcome = self.ng(a, serial, answer);
            self.tolerate(
                outcome,
                own_table,
                "p12_invalidate_by_certificate_certifies_by_the_own_table",
            );
            return outcome;
        }
        // P13: A notifies the CA of the serial; the CA deletes the
        // certificate's information from DB 35 (Fig. 5 and Fig. 6) ...
        self.fig5.remove(&serial);
        self.fig6.remove(&serial);
        // P13: ... and A deletes the serial from its Fig. 7 table.
        self.delete_serial(a, serial);
        Outcome::Invalidated
    }

    /// Fig. 4 at service `s`, after S13 found the serial: P21/P23 and P22/P24,
    /// or P14/P15 when the certificate was invalidated in the meantime.
    fn fig4_use(&mut self, s: usize, serial: Serial) -> Outcome {
        // P21/P23 (P14): the service notifies the CA of the serial and asks
        // for a check; the CA references Fig. 5 and Fig. 6.
        match self.ca_check(serial, s) {
            // P22/P24: on OK the service provides its service.
            CaAnswer::Ok => Outcome::Granted,
            // P15 (or the silent not-available NG).
            answer => self.ng(s, serial, answer),
        }
    }

    /// Fig. 9 at service `b`: qualify (Fig. 3A P3-P6) or prohibit.
    fn fig9_qualify_or_prohibit(&mut self, u: usize, b: usize, wish: Fig9Wish) -> Outcome {
        // S11: the user accesses B.  S12 (P3): the user presents the
        // certificate. (Silent: without one: "no-certificate".)
        let Some(serial) = self.held(u) else {
            return Outcome::NoCertificate;
        };
        // S13: does B's Fig. 7 table contain the presented serial?
        if self.s13_row(b, serial).is_some() {
            // S20-1: B asks whether the user wants to prohibit use of B.
            let Fig9Wish::Prohibit = wish else {
                // S20-1 No ends Fig. 9. The patent is silent on how the two
                // flows meet; the reading: a user come to use B answers No and
                // is served by Fig. 4 (P23/P24), which checks with the CA.
                return self.fig4_use(b, serial);
            };
            // S20-2: B deletes the serial from its Fig. 7 table.
            self.delete_serial(b, serial);
            // S20-3: B requests the CA to delete B from the certificate's
            // available services.
            return match self.fig6.get_mut(&serial) {
                Some(services) => {
                    // S20-4: the CA deletes B's ID from Fig. 6 and answers; B
                    // notifies the user that use of B is prohibited.
                    services.remove(&b);
                    Outcome::Prohibited
                }
                // The patent is silent on S20-3 for a serial the CA no longer
                // has (invalidated elsewhere; S13 consults only B's table).
                // The reading: the CA answers NG as at P15, so the user is
                // told the certificate is invalid ("revoked"); S20-2's
                // deletion stands.
                None => Outcome::Revoked,
            };
        }
        // S13 No.
        let Fig9Wish::Use { login, right } = wish else {
            // The patent is silent on a user who came to prohibit B where B
            // does not hold the serial (Fig. 9 would go on to S14 and qualify
            // it). The reading: there is nothing to prohibit; B says the
            // certificate is not qualified for B ("not-qualified").
            return Outcome::NotQualified;
        };
        // S14 (P4): B displays a login screen (requests B's ID and password).
        if !login {
            // The reading: the user does not answer; "login-required".
            return Outcome::LoginRequired;
        }
        // S15 (P5): the user inputs the ID and password for B.
        let id = self.fig7[b][u].user_id.clone();
        let password = self.typed(b, u, right);
        // S16 (P6): B references Fig. 7 and checks them.
        let Some(row) = self.s4_check(b, &id, &password) else {
            // S16 No: back to S14; the reading as at S4.
            return Outcome::BadCredentials;
        };
        // S17: B notifies the CA of the serial and requests it to validate
        // the use of B with the certificate.
        let Some(services) = self.fig6.get_mut(&serial) else {
            // The patent is silent on S17 for a serial the CA no longer has.
            // The reading: the CA has no available service management table
            // to add B to, answers NG as at P15, and B does not reach S19:
            // "revoked", no table changes.
            return Outcome::Revoked;
        };
        // S18 (P6): the CA adds B's ID to the certificate's Fig. 6 row and
        // notifies B of the validity.
        services.insert(b);
        // S19 (P6): B records the serial in Fig. 7 ...
        self.record_serial(b, row, serial, Written::S19);
        // P6: ... and provides service B to the user.
        Outcome::Granted
    }

    /// Fig. 11 at service `p` (P31-P46): the portal's statement display.
    fn fig11_statement(&mut self, u: usize, p: usize) -> Prediction {
        // P31: the user accesses the portal with the common certificate.
        // (Silent: without one: "no-certificate".)
        let Some(serial) = self.held(u) else {
            return Prediction::plain(Outcome::NoCertificate);
        };
        if p != PORTAL {
            // The patent is silent on asking a service other than the portal
            // (Fig. 10's @nifty server 43) for the statement display: only the
            // portal has the member menu (P34) and the layout DB 64 (P38).
            // The reading: "not-qualified", nothing asked, nothing changed.
            return Prediction::plain(Outcome::NotQualified);
        }
        // P32: the portal notifies the CA of the serial.
        // P33: the CA references Fig. 6: OK if the portal is among the services.
        let answer = self.ca_check(serial, p);
        if answer != CaAnswer::Ok {
            // The patent is silent after an NG at P33; the reading: as P15.
            return Prediction::plain(self.ng(p, serial, answer));
        }
        // P34: the member menu.  P35: the user selects statement display.
        // P36: the portal asks the CA for the certificate's available services.
        // P37: the CA answers with the service IDs of Fig. 6.
        let listed: BTreeSet<usize> = self.fig6.get(&serial).cloned().unwrap_or_default();
        // P38: layout data with a display region per received service ID.
        // The portal's own data (charging DB 65) is drawn by the portal, not
        // by P39-P46; the reading: a region per listed service other than the
        // portal, and only those count as statement sources.
        let regions = listed.into_iter().filter(|r| *r != p);
        // P39/P43: the terminal asks each region's service with the
        // certificate; P40/P44: it notifies the CA of the serial; P41/P45:
        // the CA checks Fig. 6 for that service; P42/P46: on OK it sends its
        // statement. No step consults the service's own Fig. 7 here.
        let sources = regions
            .filter(|r| self.ca_check(serial, *r) == CaAnswer::Ok)
            .collect();
        Prediction {
            outcome: Outcome::Statement,
            sources,
            tolerated: None,
        }
    }

    /// Note that the implementation answers `theirs` where the oracle
    /// answers `ours`, as the test `shown_by` demonstrates.
    fn tolerate(&mut self, ours: Outcome, theirs: Outcome, shown_by: &'static str) {
        if ours != theirs {
            self.tolerated = Some(Tolerated {
                outcome: theirs,
                shown_by,
            });
        }
    }

    /// One operation, as the patent's figures run it.
    fn step(&mut self, op: &Op) -> Prediction {
        self.tolerated = None;
        let mut prediction = self.figure(op);
        prediction.tolerated = self.tolerated.take();
        prediction
    }

    fn figure(&mut self, op: &Op) -> Prediction {
        let (u, s) = (op.user(), op.service());
        let outcome = match *op {
            Op::Issue { right, .. } => self.fig8_issue_or_invalidate(u, s, right, false),
            Op::Use { login, right, .. } => {
                self.fig9_qualify_or_prohibit(u, s, Fig9Wish::Use { login, right })
            }
            Op::Prohibit { .. } => self.fig9_qualify_or_prohibit(u, s, Fig9Wish::Prohibit),
            Op::InvalidateByPassword { right, .. } => {
                self.fig3b_invalidate(u, s, Using::Password, right)
            }
            Op::InvalidateByCertificate { .. } => {
                self.fig3b_invalidate(u, s, Using::Certificate, true)
            }
            Op::Statement { .. } => return self.fig11_statement(u, s),
        };
        Prediction::plain(outcome)
    }

    /// What `World::user_final` must say for user `u`.
    fn user_final(&self, u: usize, real: impl Fn(Serial) -> u64) -> UserFinal {
        let serial = self.held(u);
        let certificate = match serial {
            None => CertificateStatus::None,
            Some(x) if self.fig5.contains_key(&x) => CertificateStatus::Valid,
            Some(_) => CertificateStatus::Invalidated,
        };
        let mut ca_services: Vec<String> = serial
            .and_then(|x| self.fig6.get(&x))
            .map(|set| set.iter().map(|s| service_name(*s).to_string()).collect())
            .unwrap_or_default();
        ca_services.sort();
        let mut service_tables: Vec<String> = (0..self.services)
            .filter(|s| serial.is_some_and(|x| self.s13_row(*s, x).is_some()))
            .map(|s| service_name(s).to_string())
            .collect();
        service_tables.sort();
        UserFinal {
            certificate,
            serial: serial.map(real),
            ca_services,
            service_tables,
        }
    }

    /// The patent claims "one certificate instead of a password per service",
    /// but S5 consults only the issuing service's own table, so a user can get
    /// a second certificate through a second service: `one-certificate-per-user`
    /// is violated exactly while Fig. 5 names one user in two rows.
    fn expected_violations(&self) -> Vec<Property> {
        let mut per_user: BTreeMap<&Fig5Row, usize> = BTreeMap::new();
        for row in self.fig5.values() {
            *per_user.entry(row).or_default() += 1;
        }
        let mut violated = Vec::new();
        if self.template_handed_out {
            violated.push(Property::CredentialStaysHome);
        }
        if per_user.values().any(|n| *n > 1) {
            violated.push(Property::OneCertificatePerUser);
        }
        violated
    }
}

struct Tables;

impl ReferenceStateMachine for Tables {
    type State = Patent;
    type Transition = Op;

    fn init_state() -> BoxedStrategy<Patent> {
        (
            1..=3usize,
            2..=4usize,
            any::<bool>(),
            prop::bool::weighted(0.25),
            prop::bool::weighted(0.25),
        )
            .prop_map(|(users, services, merged, biometric, ca_in_portal)| {
                Patent::new(users, services, merged, biometric, ca_in_portal)
            })
            .boxed()
    }

    fn transitions(state: &Patent) -> BoxedStrategy<Op> {
        let u = 0..state.users;
        let s = 0..state.services;
        let right = || prop::bool::weighted(0.9);
        prop_oneof![
            3 => (u.clone(), s.clone(), right())
                .prop_map(|(user, service, right)| Op::Issue { user, service, right }),
            5 => (u.clone(), s.clone(), prop::bool::weighted(0.9), right()).prop_map(
                |(user, service, login, right)| Op::Use { user, service, login, right }
            ),
            1 => (u.clone(), s.clone())
                .prop_map(|(user, service)| Op::Prohibit { user, service }),
            1 => (u.clone(), s.clone(), right()).prop_map(|(user, service, right)| {
                Op::InvalidateByPassword { user, service, right }
            }),
            1 => (u.clone(), s.clone())
                .prop_map(|(user, service)| Op::InvalidateByCertificate { user, service }),
            2 => (u, prop_oneof![4 => Just(PORTAL), 1 => s])
                .prop_map(|(user, service)| Op::Statement { user, service }),
        ]
        .boxed()
    }

    /// Shrinking may drop users or services from the initial state: an
    /// operation naming one that no longer exists is dropped with it.
    fn preconditions(state: &Patent, op: &Op) -> bool {
        op.user() < state.users && op.service() < state.services
    }

    fn apply(mut state: Patent, op: &Op) -> Patent {
        let p = state.step(op);
        state.last = Some(p);
        state
    }
}

// ---------------------------------------------------------------------------
// The system under test
// ---------------------------------------------------------------------------

struct Sut {
    driver: FifoDriver,
    services: Vec<Id>,
    users: Vec<Id>,
    primary_auth: PrimaryAuth,
    /// The oracle's serial -> the serial the real CA gave the same certificate.
    serials: BTreeMap<Serial, u64>,
}

impl Sut {
    fn real(&self, serial: Serial) -> u64 {
        *self
            .serials
            .get(&serial)
            .expect("every certificate the oracle issued was issued for real")
    }

    /// After an issue (S7) both sides agree on: remember which serial the
    /// real CA chose for the oracle's new certificate.
    fn map_serial(&mut self, model: &Patent, op: &Op, ours: Outcome, theirs: Outcome) {
        if ours != Outcome::Issued || theirs != Outcome::Issued {
            return;
        }
        let serial = model.held(op.user()).expect("S8 delivered it");
        let real = self
            .driver
            .world
            .user_final(self.users[op.user()])
            .serial
            .expect("the real user holds the certificate it was issued");
        assert!(
            !self.serials.values().any(|r| *r == real),
            "the real CA reused serial {real}"
        );
        self.serials.insert(serial, real);
    }

    /// The command the real user runs for `op`.
    fn command(&self, model: &Patent, op: &Op) -> Command {
        let (u, s) = (op.user(), op.service());
        let sid = self.services[s];
        let wrong = |right: bool| {
            (!right).then(|| {
                credential(
                    self.primary_auth,
                    model.fig7[s][u].user_id.as_str(),
                    "not the password",
                )
            })
        };
        match *op {
            Op::Issue { right, .. } => Command::Issue {
                service: sid,
                credential: wrong(right).map(std::sync::Arc::new),
            },
            Op::Use { login, right, .. } => Command::Use {
                service: sid,
                login,
                credential: wrong(right).map(std::sync::Arc::new),
            },
            Op::Prohibit { .. } => Command::Prohibit { service: sid },
            Op::InvalidateByPassword { right, .. } => Command::Invalidate {
                service: sid,
                using: Using::Password,
                credential: wrong(right).map(std::sync::Arc::new),
            },
            Op::InvalidateByCertificate { .. } => Command::Invalidate {
                service: sid,
                using: Using::Certificate,
                credential: None,
            },
            Op::Statement { .. } => Command::Statement { portal: sid },
        }
    }
}

/// The real actors; `SKIP_CA_CHECK` flips the deliberate defect in.
struct Real<const SKIP_CA_CHECK: bool>;

impl<const SKIP_CA_CHECK: bool> StateMachineTest for Real<SKIP_CA_CHECK> {
    type SystemUnderTest = Sut;
    type Reference = Tables;

    fn init_test(model: &Patent) -> Sut {
        let mut spec = standard_spec(model.services, model.users, true);
        spec.modes.merged_ca_table = model.merged_ca_table;
        spec.modes.ca_in_portal = model.ca_in_portal;
        if model.biometric {
            spec.modes.primary_auth = PrimaryAuth::Biometric;
        }
        spec.defects.skip_ca_check = SKIP_CA_CHECK;
        let primary_auth = spec.modes.primary_auth;
        let system = spec.build().expect("the standard system builds");
        let by_name = |n: &str| system.dir.by_name(n).expect("a party of the standard spec");
        let services = (0..model.services)
            .map(|s| by_name(service_name(s)))
            .collect();
        let users = spec.users.iter().map(|u| by_name(&u.name)).collect();
        Sut {
            driver: FifoDriver::new(system),
            services,
            users,
            primary_auth,
            serials: BTreeMap::new(),
        }
    }

    fn apply(mut sut: Sut, model: &Patent, op: Op) -> Sut {
        let uid = sut.users[op.user()];
        let command = sut.command(model, &op);
        let done = sut
            .driver
            .run(uid, Choice::User(command))
            .expect("every operation ends under FIFO delivery without loss");
        let predicted = model
            .last
            .clone()
            .expect("the oracle predicted this operation");
        // A documented disagreement: the implementation's outcome is the one
        // the named test shows (the oracle's own is accepted too: a fix).
        let documented: Option<&str> = predicted
            .tolerated
            .filter(|t| t.outcome == done.outcome)
            .map(|t| t.shown_by);
        if documented.is_none() {
            assert_eq!(done.outcome, predicted.outcome, "outcome of {op:?}");
        }
        assert_eq!(
            done.reason, None,
            "no presentation of an honest user is rejected"
        );
        let mut sources = done.sources.clone();
        sources.sort();
        let mut expected: Vec<String> = predicted
            .sources
            .iter()
            .map(|r| service_name(*r).to_string())
            .collect();
        expected.sort();
        assert_eq!(sources, expected, "statement sources of {op:?}");
        sut.map_serial(model, &op, predicted.outcome, done.outcome);
        sut
    }

    fn check_invariants(sut: &Sut, model: &Patent) {
        let world = &sut.driver.world;
        let dir = &world.system.dir;
        let real = |x: Serial| sut.real(x);
        // Fig. 5 + Fig. 6 (one table under T1).
        let ca = world.ca_state().expect("the CA is up");
        let mut actual: Vec<(u64, Fig5Row, Vec<String>)> = ca
            .tables
            .rows()
            .into_iter()
            .map(|(serial, subject, services)| {
                (
                    serial,
                    Fig5Row {
                        name: subject.name.clone(),
                        address: subject.address.clone(),
                        email: subject.email.clone(),
                    },
                    services.iter().map(|s| dir.name(*s).to_string()).collect(),
                )
            })
            .collect();
        actual.sort();
        let mut expected: Vec<(u64, Fig5Row, Vec<String>)> = model
            .fig5
            .iter()
            .map(|(serial, row)| {
                let services = model.fig6.get(serial).cloned().unwrap_or_default();
                (
                    real(*serial),
                    row.clone(),
                    services
                        .iter()
                        .map(|s| service_name(*s).to_string())
                        .collect(),
                )
            })
            .collect();
        expected.sort();
        assert_eq!(actual, expected, "the CA's Fig. 5/6 tables");
        assert_eq!(
            model.fig5.keys().collect::<Vec<_>>(),
            model.fig6.keys().collect::<Vec<_>>(),
            "the oracle keeps Fig. 5 and Fig. 6 for the same certificates"
        );
        // Fig. 7 at every service: user ID, password, name, address, serial.
        for (s, sid) in sut.services.iter().enumerate() {
            let st = world
                .state(*sid)
                .and_then(NodeState::service)
                .expect("the service is up");
            for want in &model.fig7[s] {
                let at = format!("Fig. 7 at {} for {}", service_name(s), want.user_id);
                let row = st
                    .durable
                    .table
                    .rows
                    .get(want.user_id.as_str())
                    .expect("every user has an account at every service");
                assert_eq!(&*row.login, want.user_id.as_str(), "{at}: user ID");
                assert_eq!(row.subject.name, want.name, "{at}: name");
                assert_eq!(row.subject.address, want.address, "{at}: address");
                if sut.primary_auth == PrimaryAuth::Password {
                    let own = Credential::Password {
                        login: want.user_id.as_str().into(),
                        password: want.password.as_str().into(),
                    };
                    assert!(row.verifier.accepts(&own), "{at}: password");
                }
                let written = |w: Written| match w {
                    Written::S8 => Link::Issued,
                    Written::S19 => Link::Qualified,
                };
                let serial = want
                    .serial
                    .map(|x| (real(x), want.written.map(written).expect("S8 or S19")));
                assert_eq!(row.serial, serial, "{at}: serial");
            }
        }
        // The end-state view scenarios assert on.
        for (u, uid) in sut.users.iter().enumerate() {
            assert_eq!(
                world.user_final(*uid),
                model.user_final(u, real),
                "user_final of user {u}"
            );
        }
        // The checker's invariants, on the real state.
        assert_eq!(
            world.violated(),
            model.expected_violations(),
            "violated invariants"
        );
    }
}

prop_state_machine! {
    #![proptest_config(config(DEFAULT_CASES, "proptest-regressions/state_machine.txt"))]

    #[test]
    fn tables_follow_the_reference_model(sequential 1..40 => Real<false>);
}

/// The issue's "done when": a service that skips the CA check under online
/// revocation is caught by this very property, and the counterexample shrinks
/// to a short operation list (issue, qualify, invalidate, use, or shorter).
#[test]
fn deliberately_broken_ca_check_is_caught_and_shrinks() {
    let mut cfg = config(2000, "proptest-regressions/unused.txt");
    // An expected failure: never persisted, reproducible from a fixed seed.
    cfg.failure_persistence = None;
    cfg.cases = cfg.cases.max(2000);
    let mut runner = TestRunner::new_with_rng(
        cfg.clone(),
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    let result = runner.run(
        &Tables::sequential_strategy(1..40),
        |(init, transitions, seen)| {
            Real::<true>::test_sequential(cfg.clone(), init, transitions, seen);
            Ok(())
        },
    );
    match result {
        Err(TestError::Fail(reason, (_, transitions, _))) => {
            assert!(
                transitions.len() <= 6,
                "shrunk to {} operations: {transitions:?} ({reason})",
                transitions.len()
            );
            assert!(
                transitions.iter().any(|op| matches!(
                    op,
                    Op::InvalidateByPassword { .. } | Op::InvalidateByCertificate { .. }
                )),
                "the counterexample invalidates: {transitions:?}"
            );
        }
        Err(e) => panic!("unexpected runner error: {e}"),
        Ok(()) => panic!("a service that skips the CA check went unnoticed"),
    }
}

/// The oracle replays the patent's own sequences (Fig. 3A, 4, 11, 3B, then
/// P14/P15 twice), so that its readings are checked against the figures and
/// not only against the implementation.
#[test]
fn oracle_replays_the_figures() {
    let mut m = Patent::new(1, 2, false, false, false);
    let issue = Op::Issue {
        user: 0,
        service: 0,
        right: true,
    };
    let use_b = Op::Use {
        user: 0,
        service: 1,
        login: true,
        right: true,
    };
    let steps = [
        (issue.clone(), Outcome::Issued),  // P1, P2 = S1-S8
        (issue, Outcome::AlreadyIssued),   // S5 Yes, S9 No
        (use_b.clone(), Outcome::Granted), // P3-P6 = S11-S19
        (use_b.clone(), Outcome::Granted), // P23, P24
        (
            Op::Statement {
                user: 0,
                service: 0,
            },
            Outcome::Statement, // P31-P42: B's region
        ),
        (
            Op::InvalidateByPassword {
                user: 0,
                service: 0,
                right: true,
            },
            Outcome::Invalidated, // P11-P13 = S9 Yes, S10
        ),
        (use_b.clone(), Outcome::Revoked), // P14, P15
        (use_b, Outcome::Revoked),         // S13 No (P15 deleted it), S14-S16, S17 NG
    ];
    for (i, (op, want)) in steps.into_iter().enumerate() {
        let p = m.step(&op);
        assert_eq!(p.outcome, want, "step {i}: {op:?}");
        if want == Outcome::Statement {
            assert_eq!(p.sources, vec![1], "P38: one region, B's");
        }
    }
    assert!(m.fig5.is_empty() && m.fig6.is_empty());
    assert!(m.fig7.iter().flatten().all(|r| r.serial.is_none()));
    assert_eq!(m.terminal, vec![Some(1)], "P14: the user keeps it");
}

// ---------------------------------------------------------------------------
// Disagreements and readings, on minimal sequences
// ---------------------------------------------------------------------------

/// Runs `ops` for one user over `services` services (passwords, Fig. 5 and
/// Fig. 6 apart, an independent CA) through the oracle and, driving
/// `FifoDriver` directly, through the real actors. Returns each operation's
/// (oracle outcome, real outcome); the tables, `user_final` and the violated
/// invariants are compared after every operation, so a disagreement these
/// tests show is one of outcome only.
fn replay(services: usize, ops: &[Op]) -> (Vec<(Outcome, Outcome)>, Patent) {
    let mut model = Patent::new(1, services, false, false, false);
    let mut sut = Real::<false>::init_test(&model);
    let mut outcomes = Vec::new();
    for op in ops {
        model = Tables::apply(model, op);
        let command = sut.command(&model, op);
        let done = sut
            .driver
            .run(sut.users[op.user()], Choice::User(command))
            .expect("the operation ends");
        let predicted = model.last.as_ref().expect("a prediction");
        let ours = predicted.outcome;
        let mut sources = done.sources.clone();
        sources.sort();
        let expected: Vec<String> = predicted
            .sources
            .iter()
            .map(|r| service_name(*r).to_string())
            .collect();
        assert_eq!(sources, expected, "statement sources of {op:?}");
        sut.map_serial(&model, op, ours, done.outcome);
        Real::<false>::check_invariants(&sut, &model);
        outcomes.push((ours, done.outcome));
    }
    (outcomes, model)
}

fn issue(service: usize) -> Op {
    Op::Issue {
        user: 0,
        service,
        right: true,
    }
}

fn use_with_login(service: usize) -> Op {
    Op::Use {
        user: 0,
        service,
        login: true,
        right: true,
    }
}

fn invalidate_by_certificate(service: usize) -> Op {
    Op::InvalidateByCertificate { user: 0, service }
}

/// Disagreement, decided by a documented reading: Fig. 3B P12 says only that
/// A certifies a presented certificate "in a predetermined certificating
/// method (that will be described later)". The oracle reads it as Fig. 4's
/// P21 (A asks the CA), the method described for online checking; the
/// implementation reads it as a lookup in A's own Fig. 7 (S13, V1's method)
/// and never asks the CA before P13. The tables agree in every case; only
/// what the user is told differs. The property tolerates exactly these
/// outcomes (`Tolerated`, set in `fig3b_invalidate`).
#[test]
fn p12_invalidate_by_certificate_certifies_by_the_own_table() {
    // Registered, but not qualified for B: P21 NG (the oracle: "not-qualified");
    // B does not hold the serial (the implementation: "no-certificate").
    let (got, _) = replay(2, &[issue(0), invalidate_by_certificate(1)]);
    assert_eq!(got[1], (Outcome::NotQualified, Outcome::NoCertificate));
    // Invalidated, and A no longer holds it: P21 NG, P15 (the oracle:
    // "revoked"); the implementation: "no-certificate".
    let (got, _) = replay(
        2,
        &[
            issue(0),
            invalidate_by_certificate(0),
            invalidate_by_certificate(0),
        ],
    );
    assert_eq!(got[2], (Outcome::Revoked, Outcome::NoCertificate));
    // Invalidated at A while B still holds the serial: P21 NG, P15 deletes it
    // (the oracle: "revoked"); the implementation goes on to P13, the CA
    // answers NG, B deletes it and says "invalidated".
    let (got, m) = replay(
        2,
        &[
            issue(0),
            use_with_login(1),
            invalidate_by_certificate(0),
            invalidate_by_certificate(1),
        ],
    );
    assert_eq!(got[3], (Outcome::Revoked, Outcome::Invalidated));
    assert!(m.fig7.iter().flatten().all(|r| r.serial.is_none()));
}

/// Disagreement the implementation should fix: Fig. 11 P31-P33 have the
/// portal send the presented certificate's serial to the CA (P32), which
/// checks Fig. 6 (P33); no step consults the portal's Fig. 7. The
/// implementation looks the serial up in the portal's own Fig. 7 first and,
/// not finding it, refuses with "not-qualified" without P32: a certificate
/// invalidated elsewhere is never told invalid (P15's "revoked"). The tables
/// agree. The property tolerates exactly this outcome (`Tolerated`, set in
/// `fig11_statement`) until the implementation asks the CA.
#[test]
fn p32_the_portal_asks_the_ca_before_refusing_a_statement() {
    let statement = Op::Statement {
        user: 0,
        service: PORTAL,
    };
    let (got, _) = replay(2, &[issue(1), invalidate_by_certificate(1), statement]);
    assert_eq!(got[2].0, Outcome::Revoked, "the oracle: P33 NG, as P15");
    assert_eq!(
        got[2].1,
        Outcome::Revoked,
        "the implementation answers without asking the CA"
    );
}

/// The readings the issue names, decided from the patent, on which the
/// implementation agrees (so the property checks them on every run too).
#[test]
fn the_named_readings_hold_on_minimal_sequences() {
    // P14/P15: a use at B after the certificate was invalidated at A: the
    // CA answers NG, B deletes the serial from its Fig. 7: "revoked".
    let invalidate_at_a = Op::InvalidateByPassword {
        user: 0,
        service: 0,
        right: true,
    };
    let (got, m) = replay(
        2,
        &[
            issue(0),
            use_with_login(1),
            invalidate_at_a,
            use_with_login(1),
        ],
    );
    assert_eq!(got[3], (Outcome::Revoked, Outcome::Revoked));
    assert_eq!(m.fig7[1][0].serial, None, "P15 deleted it");
    // Fig. 9: after a prohibition at B, S13 finds no serial, S14-S16 log in
    // and S17/S18 qualify B again: a prohibition is undone by B's password.
    let prohibit_b = Op::Prohibit {
        user: 0,
        service: 1,
    };
    let (got, m) = replay(
        2,
        &[issue(0), use_with_login(1), prohibit_b, use_with_login(1)],
    );
    assert_eq!(got[2], (Outcome::Prohibited, Outcome::Prohibited));
    assert_eq!(got[3], (Outcome::Granted, Outcome::Granted));
    assert_eq!(m.fig6.get(&1), Some(&BTreeSet::from([0, 1])));
    // S5 consults only the issuing service's own Fig. 7: B issues a second
    // certificate to a user holding one from A; `one-certificate-per-user`
    // is violated (checked by `replay` against `World::violated`).
    let (got, m) = replay(2, &[issue(0), issue(1)]);
    assert_eq!(got[1], (Outcome::Issued, Outcome::Issued));
    assert_eq!(
        m.expected_violations(),
        vec![Property::OneCertificatePerUser]
    );
    // Fig. 11: P37 lists Fig. 6's services, P38 draws a region for each but
    // the portal, and each shows its statement after its own P41 check.
    let statement = Op::Statement {
        user: 0,
        service: PORTAL,
    };
    let (got, m) = replay(
        3,
        &[issue(0), use_with_login(1), use_with_login(2), statement],
    );
    assert_eq!(got[3], (Outcome::Statement, Outcome::Statement));
    assert_eq!(m.last.map(|p| p.sources), Some(vec![1, 2]));
}
