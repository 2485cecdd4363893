//! The patent's step labels (`../shared/flows.md`), the project's vocabulary.
//!
//! Every handler that realises a step records its label, so any run (a model
//! checker path, a simulator trace, a test) yields its step sequence. A reader
//! goes from a figure to the code by grepping the label (`P13`, `S20-3`).
//!
//! Where a label lands is a choice the patent leaves open; the rules are:
//! - a label is recorded once, by the event where its principal action happens;
//! - a check by the CA (P21/P23, P14, P33, P41, P45) is recorded when its answer
//!   reaches the service, because which figure the check belongs to (Fig. 4's
//!   use or Fig. 3B's refusal) depends on that answer;
//! - one event may carry several labels, in the order the code realises them
//!   (P4 is S13 No + S14).
//!
//! # What each label stands for
//!
//! A label is recorded only by an event after which its effect holds; the
//! table below is checked on every event by `step_effects::check` (in the
//! simulator through `World::label_faults`, in the checker's tests over every
//! transition of the first 40,000 states of lossy, crashing, push, portal,
//! concurrent, curious and T1/V2/V3 configurations). "Sent" means the event put the message on the
//! wire; a lost message does not undo a label whose effect is the sending.
//!
//! | label | recorded by | effect at that event |
//! |---|---|---|
//! | S1 | user starts issue/invalidate by password | `Access` sent to the service |
//! | S2 | service, on `Access` | a login screen sent and a session awaiting login (never for a failed login the user gives up on) |
//! | S3, P5, S15 | user, on a login screen | `Login` (ID and password, or V2 sample) sent |
//! | S4, S16 | service, on `Login` | the service received the credential (S4/S16 No sends the screen back; no S2/S14 is recorded for it) |
//! | S5 | service, on a matching `Login` | the table was looked up and answered (no failed-login reply) |
//! | P1, S6 | service, S5 No | `IssueRequest` sent; the session awaits the CA |
//! | P2, S7 | CA, on `IssueRequest` | the CA has the Fig. 5 row and a Fig. 6 row with the asking service |
//! | S8 | service, on `Issued` | the certificate sent to the user and its serial in the service's Fig. 7 |
//! | S9 | service, S5 Yes | `AskInvalidate` sent |
//! | P11 | user | a password login or the certificate sent for invalidation |
//! | P12 | service | the user authenticated: `AskInvalidate` or a no-certificate answer sent |
//! | P13 | CA, on `Invalidate` | the CA deleted the serial's rows and answers OK (recorded even when the answer is lost; a lost request records nothing) |
//! | S10 | service, on the CA's OK to `Invalidate` (password path) | the CA has no row for the serial, the service's Fig. 7 lacks it, `Invalidated` sent |
//! | S11 | user starts use/prohibit | `Access` or (bearer) `Present` sent |
//! | S12 | user | the certificate presented for use or prohibition |
//! | S13 | service, on `Present` | a presented certificate received and looked up |
//! | P3 | service, S13 No | the certificate was presented for use |
//! | P4, S14 | service, S13 No | a login screen sent and a session awaiting login |
//! | S17 | service, S16 Yes | `Qualify` sent |
//! | S18 | CA, on `Qualify` | Fig. 6 lists the asking service |
//! | P6, S19 | service, on the CA's OK to `Qualify` | the serial in the service's Fig. 7, the user served |
//! | P14 | service, on the CA's answer to `Check` | the answer is NG (only a validity check, never a refused qualification) |
//! | P15 | service, same event | the service's Fig. 7 lacks the serial, `Refused(revoked)` sent |
//! | P21, P23, P33, P41, P45 | service, on the CA's answer to `Check` | the answer is OK |
//! | P22, P24 | service, on the CA's OK to `Check` | `Granted` sent on that OK (the patent's trigger: "on OK from the CA") |
//! | V1 | service, S13 Yes under V1 | `Granted` sent from the own table alone (the patent's V1 omits the check, so P21-P24 do not happen; the project records the variant's own step) |
//! | S20-1 | service, S13 Yes | `AskProhibit` sent |
//! | S20-2 | service, on the user's Yes | the service's Fig. 7 lacks the serial |
//! | S20-3 | service, same event | `Withdraw` sent |
//! | S20-4 | CA, on `Withdraw` | Fig. 6 lacks the asking service |
//! | P31 | user | the certificate presented to the portal |
//! | P32, P40, P44 | service | `Check` sent |
//! | P34 | portal | the member menu sent |
//! | P35 | user | statement display selected |
//! | P36 | portal | `ListServices` sent |
//! | P37 | CA | the service IDs sent |
//! | P38 | portal | layout data sent |
//! | P39, P43 | user | the certificate presented to a bank |
//! | P42, P46 | bank | the statement sent |

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

macro_rules! steps {
    ($($variant:ident => $label:literal: $doc:literal,)*) => {
        /// One step of the patent's flows.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(into = "&'static str", try_from = "String")]
        pub enum Step {
            $(#[doc = $doc] $variant,)*
        }

        impl Step {
            /// Every label of flows.md, in catalogue order.
            pub const ALL: &'static [Step] = &[$(Step::$variant,)*];

            /// The label as flows.md writes it (`P13`, `S20-3`).
            pub fn label(self) -> &'static str {
                match self {
                    $(Step::$variant => $label,)*
                }
            }

            /// The sentence of flows.md this label stands for.
            pub fn description(self) -> &'static str {
                match self {
                    $(Step::$variant => $doc,)*
                }
            }
        }

        impl FromStr for Step {
            type Err = UnknownStep;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($label => Ok(Step::$variant),)*
                    _ => Err(UnknownStep(s.to_string())),
                }
            }
        }
    };
}

steps! {
    P1 => "P1": "Fig. 3A: user sends ID and password for A to A; A checks its table and asks the CA to issue.",
    P2 => "P2": "Fig. 3A: CA issues the certificate (Fig. 5 and Fig. 6 rows with A).",
    P3 => "P3": "Fig. 3A: user presents the certificate to B.",
    P4 => "P4": "Fig. 3A: B finds the certificate not yet valid for B and asks for B's ID and password.",
    P5 => "P5": "Fig. 3A: user sends B's ID and password.",
    P6 => "P6": "Fig. 3A: B checks; the CA adds B; B records the serial and serves the user.",
    P11 => "P11": "Fig. 3B: user sends A's ID and password, or the certificate, to A.",
    P12 => "P12": "Fig. 3B: A authenticates the user and says OK.",
    P13 => "P13": "Fig. 3B: user asks A to invalidate; A sends the serial to the CA; rows are deleted.",
    P14 => "P14": "Fig. 3B: B sends the serial of a later presentation to the CA and asks whether it is valid.",
    P15 => "P15": "Fig. 3B: CA answers NG; B deletes the serial and tells the user the certificate is invalid.",
    P21 => "P21": "Fig. 4: A asks the CA to check the serial; the CA answers OK.",
    P22 => "P22": "Fig. 4: on OK, A serves the user.",
    P23 => "P23": "Fig. 4: B asks the CA to check the serial; the CA answers OK.",
    P24 => "P24": "Fig. 4: on OK, B serves the user.",
    P31 => "P31": "Fig. 11: user accesses the portal with the certificate.",
    P32 => "P32": "Fig. 11: portal sends the serial to the CA.",
    P33 => "P33": "Fig. 11: CA finds the portal among the certificate's services: OK.",
    P34 => "P34": "Fig. 11: portal shows the member menu.",
    P35 => "P35": "Fig. 11: user selects statement display.",
    P36 => "P36": "Fig. 11: portal asks the CA for the certificate's available services.",
    P37 => "P37": "Fig. 11: CA answers with the available service IDs.",
    P38 => "P38": "Fig. 11: portal sends layout data with a region per service.",
    P39 => "P39": "Fig. 11: terminal asks bank A for its statement, presenting the certificate.",
    P40 => "P40": "Fig. 11: bank A sends the serial to the CA.",
    P41 => "P41": "Fig. 11: CA finds bank A among the services: OK.",
    P42 => "P42": "Fig. 11: bank A sends the balance, shown in its region.",
    P43 => "P43": "Fig. 11: terminal asks bank B (or any further bank) for its statement.",
    P44 => "P44": "Fig. 11: bank B sends the serial to the CA.",
    P45 => "P45": "Fig. 11: CA finds bank B among the services: OK.",
    P46 => "P46": "Fig. 11: bank B sends the balance, shown in its region.",
    S1 => "S1": "Fig. 8: user accesses A.",
    S2 => "S2": "Fig. 8: A shows a login screen.",
    S3 => "S3": "Fig. 8: user inputs ID and password.",
    S4 => "S4": "Fig. 8: A checks ID and password (No: back to S2).",
    S5 => "S5": "Fig. 8: A checks whether its table already holds a serial for the user.",
    S6 => "S6": "Fig. 8: A asks the CA to issue.",
    S7 => "S7": "Fig. 8: CA issues, creating the Fig. 5 and Fig. 6 rows.",
    S8 => "S8": "Fig. 8: A delivers the certificate and records its serial.",
    S9 => "S9": "Fig. 8: A says a certificate exists and asks whether to invalidate it.",
    S10 => "S10": "Fig. 8: A sends the serial to the CA; rows deleted; A deletes the serial and tells the user.",
    S11 => "S11": "Fig. 9: user accesses B.",
    S12 => "S12": "Fig. 9: user presents the certificate.",
    S13 => "S13": "Fig. 9: B checks whether its table holds the serial.",
    S14 => "S14": "Fig. 9: No at S13: B shows a login screen.",
    S15 => "S15": "Fig. 9: user inputs B's ID and password.",
    S16 => "S16": "Fig. 9: B checks them (No: back to S14).",
    S17 => "S17": "Fig. 9: B asks the CA to validate the certificate for B.",
    S18 => "S18": "Fig. 9: CA adds B to the certificate's available services and answers.",
    S19 => "S19": "Fig. 9: B records the serial in its table.",
    S20_1 => "S20-1": "Fig. 9: Yes at S13: B asks whether to prohibit use of B with the certificate.",
    S20_2 => "S20-2": "Fig. 9: B deletes the serial from its table.",
    S20_3 => "S20-3": "Fig. 9: B asks the CA to delete B from the certificate's services.",
    S20_4 => "S20-4": "Fig. 9: CA deletes B and answers; B tells the user use of B is prohibited.",
    V1 => "V1": "Variant V1: the checking step omitted; the service serves the user on its own Fig. 7 table alone.",
}

/// The figure family a label belongs to: `P` (Fig. 3A-4, 11), `S`
/// (Fig. 8-9) or `V` (the variants' own steps).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    P,
    S,
    V,
}

impl Step {
    pub fn family(self) -> Family {
        match self.label().as_bytes().first() {
            Some(b'P') => Family::P,
            Some(b'V') => Family::V,
            _ => Family::S,
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl From<Step> for &'static str {
    fn from(s: Step) -> Self {
        s.label()
    }
}

impl TryFrom<String> for Step {
    type Error = UnknownStep;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

/// A string that is not a label of flows.md.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a step label of flows.md (P1-P46, S1-S20-4)")]
pub struct UnknownStep(pub String);

/// Restrict `actual` to the families that `expected` names, so that an author
/// may assert the Fig. 9 sequence (S labels) of an event stream that also
/// carries the Fig. 3A labels (P labels), and still be held to every label of
/// the families they chose.
pub fn restrict_to_families(actual: &[Step], expected: &[Step]) -> Vec<Step> {
    let families: std::collections::BTreeSet<Family> =
        expected.iter().map(|s| s.family()).collect();
    actual
        .iter()
        .copied()
        .filter(|s| families.contains(&s.family()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip_through_display_and_parse() {
        for &s in Step::ALL {
            assert_eq!(s.to_string().parse::<Step>(), Ok(s));
        }
        assert_eq!(Step::S20_4.to_string(), "S20-4");
        assert!("P7".parse::<Step>().is_err());
    }

    #[test]
    fn catalogue_has_every_label_of_flows_md() {
        // P1-P6, P11-P15, P21-P24, P31-P46, S1-S19, S20-1..4, and V1's
        // own-table grant
        assert_eq!(Step::ALL.len(), 6 + 5 + 4 + 16 + 19 + 4 + 1);
    }

    #[test]
    fn restriction_keeps_only_named_families() {
        use Step::*;
        let actual = [S11, S12, S13, P3, P4, S14, P5, S15];
        assert_eq!(
            restrict_to_families(&actual, &[S11]),
            vec![S11, S12, S13, S14, S15]
        );
        assert_eq!(restrict_to_families(&actual, &[P3]), vec![P3, P4, P5]);
    }
}
