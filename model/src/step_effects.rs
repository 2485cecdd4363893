//! What each step label stands for, checked at the event that records it.
//!
//! The table in `step.rs` says, for every label, the effect that must hold
//! when an event records it; `check` is that table as code. Both drivers call
//! it on every event (the checker's tests over every explored transition, the
//! simulator after every event, `World::label_faults`), so a label recorded
//! without its behaviour (P13 when the invalidation was lost, P14/P15 for a
//! refused qualification, S2 for a login screen nobody saw) is a failure
//! naming the label and the event.

use crate::config::Directory;
use crate::msg::{Basis, Msg, Purpose, Refusal, Request, Session, Verdict};
use crate::node::NodeState;
use crate::service::Stage;
use crate::step::Step;
use crate::tables::{Link, Serial};
use stateright::actor::Id;

/// One event as the drivers saw it.
pub struct Event<'a> {
    pub dir: &'a Directory,
    /// The node the event ran at.
    pub node: Id,
    /// The message delivered, with its sender (None for a choice or a timer).
    pub input: Option<(Id, &'a Msg)>,
    /// What the event sent.
    pub sends: &'a [(Id, Msg)],
    /// A node's state after the event (None: down).
    pub after: &'a dyn Fn(Id) -> Option<&'a NodeState>,
}

impl<'a> Event<'a> {
    fn state(&self, id: Id) -> Option<&'a NodeState> {
        (self.after)(id)
    }

    fn me(&self) -> Option<&'a NodeState> {
        self.state(self.node)
    }

    fn sent(&self, pred: impl Fn(&Msg) -> bool) -> bool {
        self.sends.iter().any(|(_, m)| pred(m))
    }

    /// The first sent message `f` picks something from.
    fn sent_find<T>(&self, f: impl Fn(&Msg) -> Option<T>) -> Option<T> {
        self.sends.iter().find_map(|(_, m)| f(m))
    }

    fn input(&self) -> Option<&'a Msg> {
        self.input.map(|(_, m)| m)
    }

    /// The CA's tables after the event, if the CA is up.
    fn ca_registered(&self, serial: Serial) -> Option<bool> {
        let ca = self.state(self.dir.ca()?)?.ca()?;
        Some(ca.tables.is_registered(serial))
    }

    fn ca_lists(&self, serial: Serial, service: Id) -> Option<bool> {
        let ca = self.state(self.dir.ca()?)?.ca()?;
        Some(
            ca.tables
                .services(serial)
                .is_some_and(|s| s.contains(&service)),
        )
    }

    fn my_table_holds(&self, serial: Serial) -> Option<bool> {
        Some(self.me()?.service()?.durable.table.holds(serial))
    }

    /// Whether this service's session `session` is at `stage`.
    fn session_at(&self, session: Session, stage: &Stage) -> bool {
        self.me()
            .and_then(NodeState::service)
            .and_then(|s| s.sessions.get(&session))
            .is_some_and(|x| x.stage == *stage)
    }

    /// How this service's Fig. 7 links `serial`: issued here (S8) or
    /// qualified (S19).
    fn my_link(&self, serial: Serial) -> Option<Link> {
        self.me()?
            .service()?
            .durable
            .table
            .by_serial(serial)?
            .serial
            .map(|(_, link)| link)
    }
}

fn need(ok: bool, what: &str) -> Result<(), String> {
    if ok { Ok(()) } else { Err(what.to_string()) }
}

/// A CA-side condition. The labels that use it are recorded by an event at
/// the CA, so the CA is up after it; a missing CA state fails the check.
fn need_ca(v: Option<bool>, what: &str) -> Result<(), String> {
    need(v.unwrap_or(false), what)
}

fn answer(m: &Msg) -> Option<(Serial, Request, Verdict)> {
    match m {
        Msg::Answer {
            serial,
            request,
            verdict,
            ..
        } => Some((*serial, *request, *verdict)),
        _ => None,
    }
}

fn presented(m: &Msg, pred: impl Fn(Purpose) -> bool) -> bool {
    matches!(m, Msg::Present { purpose, .. } if pred(*purpose))
}

/// Whether `step`'s effect holds at `ev`. The error says what is missing.
pub fn check(step: Step, ev: &Event) -> Result<(), String> {
    use Step::*;
    match step {
        // ---- sent by the user ----
        S1 => need(
            ev.sent(
                |m| matches!(m, Msg::Access { purpose, .. } if !purpose.presents_certificate()),
            ),
            "S1: the user accessed the service (Access sent)",
        ),
        S3 | P5 | S15 => need(
            ev.sent(|m| matches!(m, Msg::Login { .. })),
            "the user sent its ID and password (Login sent)",
        ),
        P11 => need(
            ev.sent(|m| {
                matches!(m, Msg::Login { .. })
                    || presented(m, |p| p == Purpose::InvalidateByCertificate)
            }),
            "P11: password or certificate sent for invalidation",
        ),
        S11 => need(
            ev.sent(|m| match m {
                Msg::Access { purpose, .. } | Msg::Present { purpose, .. } => {
                    matches!(purpose, Purpose::Use | Purpose::Prohibit)
                }
                _ => false,
            }),
            "S11: the user accessed the service to use or prohibit",
        ),
        S12 => need(
            ev.sent(|m| presented(m, |p| matches!(p, Purpose::Use | Purpose::Prohibit))),
            "S12: the certificate presented",
        ),
        P31 => need(
            ev.sent(|m| presented(m, |p| p == Purpose::Statement)),
            "P31: the certificate presented to the portal",
        ),
        P35 => need(
            ev.sent(|m| matches!(m, Msg::SelectStatement { .. })),
            "P35: statement display selected",
        ),
        P39 | P43 => need(
            ev.sent(|m| presented(m, |p| matches!(p, Purpose::StatementSource { .. }))),
            "P39/P43: the certificate presented to a bank",
        ),

        // ---- at a service, on a delivered message ----
        S4 | S16 => need(
            matches!(ev.input(), Some(Msg::Login { .. })),
            "S4/S16: the service received ID and password",
        ),
        S5 => need(
            matches!(ev.input(), Some(Msg::Login { .. }))
                && ev.sent(|m| {
                    !matches!(
                        m,
                        Msg::LoginForm { failed: true, .. }
                            | Msg::Refused {
                                refusal: Refusal::BadCredentials,
                                ..
                            }
                    )
                }),
            "S5: the login matched and the table was looked up",
        ),
        S13 => need(
            matches!(ev.input(), Some(Msg::Present { .. })),
            "S13: the service received a presented certificate",
        ),
        P3 => need(
            ev.input()
                .is_some_and(|m| presented(m, |p| matches!(p, Purpose::Use))),
            "P3: the certificate was presented for use",
        ),
        S2 | P4 | S14 => need(
            ev.sends.iter().any(|(to, m)| {
                matches!(m, Msg::LoginForm { op, failed: false }
                    if ev.session_at(Session { peer: *to, op: *op }, &Stage::AwaitLogin))
            }),
            "S2/S14/P4: a login screen sent, and that session awaits the login",
        ),
        P1 | S6 => need(
            ev.sends.iter().any(|(_, m)| {
                matches!(m, Msg::IssueRequest { session, .. }
                    if ev.session_at(*session, &Stage::AwaitCa(Request::Issue)))
            }),
            "S6/P1: the CA asked to issue, and that session awaits it",
        ),
        S8 => {
            let serial = ev.sent_find(|m| match m {
                Msg::Certificate { certificate, .. } => ev.dir.arena.serial_of(*certificate),
                _ => None,
            });
            need(
                serial.is_some_and(|s| ev.my_table_holds(s) == Some(true)),
                "S8: the certificate delivered and its serial in Fig. 7",
            )
        }
        S9 => need(
            ev.sent(|m| matches!(m, Msg::AskInvalidate { .. })),
            "S9: the user asked whether to invalidate",
        ),
        P12 => need(
            ev.sent(|m| {
                matches!(
                    m,
                    Msg::AskInvalidate { .. }
                        | Msg::Refused {
                            refusal: Refusal::NoCertificate,
                            ..
                        }
                )
            }),
            "P12: the user authenticated and answered",
        ),
        P13 => {
            let Some(Msg::Invalidate { serial, .. }) = ev.input() else {
                return Err("P13: recorded without an invalidation request at the CA".into());
            };
            need_ca(
                ev.ca_registered(*serial).map(|r| {
                    !r && ev
                        .sent(|m| answer(m) == Some((*serial, Request::Invalidate, Verdict::Ok)))
                }),
                "P13: the CA deleted the serial's rows and answers OK",
            )
        }
        S10 => {
            let Some((serial, Request::Invalidate, Verdict::Ok)) = ev.input().and_then(answer)
            else {
                return Err("S10: recorded without the CA's OK to an invalidation".into());
            };
            need(
                ev.ca_registered(serial) != Some(true)
                    && ev.my_table_holds(serial) == Some(false)
                    && ev.sent(|m| matches!(m, Msg::Invalidated { .. })),
                "S10: the CA has no row, A's Fig. 7 lacks the serial, the user is told",
            )
        }
        V1 => need(
            ev.sent(|m| {
                matches!(
                    m,
                    Msg::Granted {
                        basis: Basis::OwnTable,
                        ..
                    }
                )
            }),
            "V1: the user served from the own table alone",
        ),
        P14 => need(
            matches!(
                ev.input().and_then(answer),
                Some((_, Request::Check, Verdict::NotRegistered))
            ),
            "P14: the CA's validity answer on a presented certificate",
        ),
        P15 => {
            let Some((serial, Request::Check, Verdict::NotRegistered)) =
                ev.input().and_then(answer)
            else {
                return Err("P15: recorded without the CA's NG".into());
            };
            need(
                ev.my_table_holds(serial) == Some(false)
                    && ev.sent(|m| {
                        matches!(
                            m,
                            Msg::Refused {
                                refusal: Refusal::Revoked,
                                ..
                            }
                        )
                    }),
                "P15: B's Fig. 7 lacks the serial and the user is told",
            )
        }
        P33 | P41 | P45 => need(
            matches!(
                ev.input().and_then(answer),
                Some((_, Request::Check, Verdict::Ok))
            ),
            "P33/P41/P45: the CA answered OK to a check",
        ),
        P21 | P23 => {
            // P21 at the issuing service (A), P23 at one that qualified it (B).
            let link = if step == P21 {
                Link::Issued
            } else {
                Link::Qualified
            };
            need(
                matches!(
                    ev.input().and_then(answer),
                    Some((serial, Request::Check, Verdict::Ok))
                        if ev.my_link(serial).is_none_or(|l| l == link)
                ),
                "P21/P23: the CA answered OK to a check, at the service that issued (P21) or qualified (P23) it",
            )
        }
        P22 | P24 => {
            let link = if step == P22 {
                Link::Issued
            } else {
                Link::Qualified
            };
            let granted = ev.sent_find(|m| match m {
                Msg::Granted { serial, basis, .. } => Some((*serial, *basis)),
                _ => None,
            });
            need(
                granted.is_some_and(|(serial, basis)| {
                    // (online, a concurrent S20-2 may have deleted the row
                    // since S13 found it; the CA's OK decides)
                    // On the CA's OK to this check (Fig. 4); V1's own-table
                    // grant records V1 instead.
                    ev.my_link(serial).is_none_or(|l| l == link)
                        && basis == Basis::CaAnswer
                        && matches!(
                            ev.input().and_then(answer),
                            Some((s, Request::Check, Verdict::Ok)) if s == serial
                        )
                }),
                "P22/P24: the user served on the CA's OK (online) or the own table (V1), at the issuing (P22) or a qualified (P24) service",
            )
        }
        P6 | S19 => {
            let serial = ev.sent_find(|m| match m {
                Msg::Granted { serial, .. } => Some(*serial),
                _ => None,
            });
            need(
                matches!(
                    ev.input().and_then(answer),
                    Some((_, Request::Qualify, Verdict::Ok))
                ) && serial.is_some_and(|s| ev.my_table_holds(s) == Some(true)),
                "P6/S19: the CA qualified the service, Fig. 7 holds the serial, the user served",
            )
        }
        S17 => need(
            ev.sent(|m| matches!(m, Msg::Qualify { .. })),
            "S17: the CA asked to validate the certificate for the service",
        ),
        S20_1 => need(
            ev.sent(|m| matches!(m, Msg::AskProhibit { .. })),
            "S20-1: the user asked whether to prohibit",
        ),
        S20_2 => {
            let serial = ev.sent_find(|m| match m {
                Msg::Withdraw { serial, .. } => Some(*serial),
                _ => None,
            });
            need(
                serial.is_some_and(|s| ev.my_table_holds(s) == Some(false)),
                "S20-2: Fig. 7 lacks the serial",
            )
        }
        S20_3 => need(
            ev.sent(|m| matches!(m, Msg::Withdraw { .. })),
            "S20-3: the CA asked to delete the service",
        ),
        P32 | P40 | P44 => need(
            ev.sent(|m| matches!(m, Msg::Check { .. })),
            "P32/P40/P44: the serial sent to the CA",
        ),
        P34 => need(
            ev.sent(|m| matches!(m, Msg::MemberMenu { .. })),
            "P34: the member menu shown",
        ),
        P36 => need(
            ev.sent(|m| matches!(m, Msg::ListServices { .. })),
            "P36: the CA asked for the certificate's services",
        ),
        P38 => need(
            ev.sent(|m| matches!(m, Msg::Layout { .. })),
            "P38: layout data sent",
        ),
        P42 | P46 => need(
            ev.sent(|m| matches!(m, Msg::Balance { .. })),
            "P42/P46: the bank's statement sent",
        ),

        // ---- at the CA ----
        P2 | S7 => {
            let issued = ev.sent_find(|m| match m {
                Msg::Issued { serial, .. } => Some(*serial),
                _ => None,
            });
            let asker = ev.input.map(|(src, _)| src);
            need_ca(
                issued
                    .zip(asker)
                    .and_then(|(serial, asker)| ev.ca_lists(serial, asker)),
                "S7/P2: the CA has the Fig. 5 row and a Fig. 6 row with the asking service",
            )
        }
        S18 => match ev.input() {
            Some(Msg::Qualify { serial, .. }) => need_ca(
                ev.input.and_then(|(src, _)| ev.ca_lists(*serial, src)),
                "S18: Fig. 6 lists the asking service",
            ),
            _ => Err("S18: recorded without a Qualify request".into()),
        },
        S20_4 => match ev.input() {
            Some(Msg::Withdraw { serial, .. }) => need_ca(
                ev.input
                    .and_then(|(src, _)| ev.ca_lists(*serial, src))
                    .map(|listed| !listed),
                "S20-4: Fig. 6 lacks the asking service",
            ),
            _ => Err("S20-4: recorded without a Withdraw request".into()),
        },
        P37 => need(
            ev.sent(|m| {
                matches!(
                    m,
                    Msg::Services {
                        services: Some(_),
                        ..
                    }
                )
            }),
            "P37: the CA answered with the service IDs",
        ),
    }
}

/// Check every label an event recorded; the failures, if any.
pub fn check_all(steps: &[Step], ev: &Event) -> Vec<String> {
    steps.iter().filter_map(|s| check(*s, ev).err()).collect()
}
