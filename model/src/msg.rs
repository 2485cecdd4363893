//! Everything that crosses the network, in one enum.
//!
//! Variant docs name the step(s) whose message it is. Messages carry no ghost
//! state except where marked: `Basis` on a grant says what the service rested
//! it on, which a real service would write to its audit log; the properties
//! read it.

use crate::config::{Credential, Subject};
use crate::rejection::Rejection;
use crate::tables::Serial;
use crate::x509::{CertId, CrlId, CsrId, SigId};
use serde::{Deserialize, Serialize};
use stateright::actor::Id;
use std::fmt;
use std::sync::Arc;

/// A user's operation number; replies carry it so stale ones are ignored.
pub type OpId = u32;

/// A service's session with a presenter: who, and which of their operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Session {
    pub peer: Id,
    pub op: OpId,
}

/// Why a user accesses a service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Purpose {
    /// Fig. 8 S1-S8: log in and get a certificate.
    Issue,
    /// Fig. 8 S9-S10 / Fig. 3B P11-P13 with the password.
    InvalidateByPassword,
    /// Fig. 3B P11-P13 with the certificate.
    InvalidateByCertificate,
    /// Fig. 4 / Fig. 9: use the service with the certificate.
    Use,
    /// Fig. 9 S20: prohibit use of this service with the certificate.
    Prohibit,
    /// Fig. 11 P31: the portal's member menu and statement display.
    Statement,
    /// Fig. 11 P39/P43: a bank's statement for layout region `region`.
    StatementSource { region: u32 },
}

impl Purpose {
    /// The purpose as `pop-binding` proofs sign it (part of the signed
    /// bytes: fixed). `QUALIFY` is the holder's consent to S17.
    pub fn tag(self) -> &'static str {
        match self {
            Purpose::Issue => "issue",
            Purpose::InvalidateByPassword | Purpose::InvalidateByCertificate => "invalidate",
            Purpose::Use => "use",
            Purpose::Prohibit => "prohibit",
            Purpose::Statement | Purpose::StatementSource { .. } => "statement",
        }
    }

    pub const QUALIFY: &'static str = "qualify";
    /// `holder-consent`: the holder's signed Yes to an invalidation (S9,
    /// P12) and to a prohibition (S20-1). Apart from the presentation
    /// purposes, so that a proof made to present a certificate is never
    /// taken for a consent.
    pub const CONSENT_INVALIDATE: &'static str = "consent-invalidate";
    pub const CONSENT_PROHIBIT: &'static str = "consent-prohibit";

    /// Whether this purpose presents a certificate (rather than logging in first).
    pub fn presents_certificate(self) -> bool {
        !matches!(self, Purpose::Issue | Purpose::InvalidateByPassword)
    }
}

/// A certificate as shown to a service, with the proof of possession if any.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Shown {
    pub certificate: CertId,
    /// Under proof of possession: the challenge nonce answered and the
    /// signature over `x509::challenge_bytes(service, nonce)`.
    pub proof: Option<(u64, SigId)>,
}

/// What a service rested a grant on (ghost data for the properties).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Basis {
    /// The CA's answer to this session's request.
    CaAnswer,
    /// The service's own Fig. 7 table (variant V1).
    OwnTable,
}

/// The CA's answer about a serial for the asking service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// OK: registered, and (for a check) the service is among its services.
    Ok,
    /// NG: the serial is not registered (P15).
    NotRegistered,
    /// The serial is registered but the service is not among its services
    /// (or, under `ca-authz`, the service may not act on it).
    NotQualified,
    /// `one-per-subject`: the subject holds another valid certificate.
    AlreadyIssued,
    /// `csr`: the issue request's certification request is missing, does
    /// not verify, or asks for another subject or key.
    BadRequest(Rejection),
}

/// What a service asked the CA; sessions wait for the answer to exactly this,
/// so a duplicated or late answer to an earlier question is never taken for
/// the answer to a later one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Request {
    Issue,
    Check,
    Qualify,
    Withdraw,
    Invalidate,
    ListServices,
}

/// Why a service refused an operation; each maps to a scenario outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Refusal {
    BadCredentials,
    Revoked,
    NotQualified,
    NoCertificate,
    /// `one-per-subject`: the CA holds another valid certificate for the subject.
    AlreadyIssued,
    Rejected(Rejection),
}

/// A message between parties.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Msg {
    // ---- user -> service ----
    /// S1 / S11: access; the service answers with a login screen or a challenge.
    Access { op: OpId, purpose: Purpose },
    /// S3 / S15 (P1, P5, P11): ID and password (or, V2, a biometric sample).
    /// `public_key` is the key to certify, sent with an issue login.
    Login {
        op: OpId,
        /// Shared: an envelope in flight is cloned with every checker state.
        credential: Arc<Credential>,
        public_key: Option<[u8; 32]>,
        /// `pop-binding`: at S15, the holder's consent to the service's
        /// qualification (S17): a proof for the purpose `qualify` over the
        /// nonce of the challenge this session answered. None otherwise.
        consent: Option<SigId>,
        /// `csr`: with `public_key` at S3 for an issuance, a PKCS#10 request
        /// for the user's subject signed with that key. None otherwise.
        csr: Option<CsrId>,
    },
    /// S12 / P3 / P11 / P31 / P39 / P43: the certificate, with its proof.
    Present {
        op: OpId,
        purpose: Purpose,
        shown: Shown,
    },
    /// The user's Yes to S9 (invalidate) or S20-1 (prohibit). Under
    /// `holder-consent` it carries the holder's signature, by the
    /// certificate's key, over the request it agrees to (serial, purpose,
    /// asking service, the service's fresh nonce). None otherwise.
    Confirm { op: OpId, consent: Option<SigId> },
    /// P35: select statement display from the member menu.
    SelectStatement { op: OpId },

    // ---- service -> user ----
    /// S2 / S14: a login screen; `failed` after S4/S16 said No.
    LoginForm { op: OpId, failed: bool },
    /// Proof of possession: sign this nonce.
    Challenge { op: OpId, nonce: u64 },
    /// S8: the issued certificate.
    /// `existing`: the certificate the user already had, handed back
    /// under `one-per-subject` (outcome `already-issued`).
    Certificate {
        op: OpId,
        certificate: CertId,
        existing: bool,
    },
    /// S9 / P12: a certificate exists; invalidate it? Under
    /// `holder-consent` with the nonce the holder's consent must sign.
    AskInvalidate { op: OpId, nonce: Option<u64> },
    /// S20-1: prohibit use of this service with the certificate? Under
    /// `holder-consent` with the nonce the holder's consent must sign.
    AskProhibit { op: OpId, nonce: Option<u64> },
    /// P6 / P22 / P24: the service serves the user as `subject`.
    Granted {
        op: OpId,
        serial: Serial,
        subject: String,
        basis: Basis,
    },
    /// P34: the portal's member menu (a grant of the portal).
    MemberMenu {
        op: OpId,
        serial: Serial,
        subject: String,
        basis: Basis,
    },
    /// P38: layout data with a region per available service.
    Layout { op: OpId, regions: Vec<String> },
    /// P42 / P46: a bank's statement for a layout region (a grant of the bank).
    Balance {
        op: OpId,
        region: u32,
        serial: Serial,
        subject: String,
        basis: Basis,
        text: Arc<str>,
    },
    /// S10 / P13 done.
    Invalidated { op: OpId },
    /// S20-4 done.
    Prohibited { op: OpId },
    /// The operation is refused.
    Refused { op: OpId, refusal: Refusal },

    // ---- service -> CA ----
    /// S6 / P1: issue a certificate for this subject and key.
    IssueRequest {
        session: Session,
        subject: Arc<Subject>,
        public_key: [u8; 32],
        /// `csr`: the holder's certification request, forwarded from its
        /// login; the CA checks it names `subject` and `public_key`.
        csr: Option<CsrId>,
    },
    /// P21 / P23 / P14 / P32 / P40 / P44: is `serial` valid for me?
    Check { session: Session, serial: Serial },
    /// S17: add me to `serial`'s available services. Under `ca-authz` it
    /// carries the holder's presentation to this service (certificate and
    /// proof), which the CA verifies before it adds anyone.
    Qualify {
        session: Session,
        serial: Serial,
        holder: Option<Shown>,
    },
    /// S20-3: delete me from `serial`'s available services. `consent`:
    /// under `holder-consent`, the holder's signed Yes (nonce, signature).
    Withdraw {
        session: Session,
        serial: Serial,
        consent: Option<(u64, SigId)>,
    },
    /// S10 / P13: invalidate `serial`. `consent` as for `Withdraw`.
    Invalidate {
        session: Session,
        serial: Serial,
        consent: Option<(u64, SigId)>,
    },
    /// P36: which services may `serial` be used for?
    ListServices { session: Session, serial: Serial },

    // ---- CA -> service ----
    /// S7 / P2.
    Issued {
        session: Session,
        serial: Serial,
        certificate: CertId,
        /// `one-per-subject`: the subject's certificate issued earlier, for
        /// another request, handed back (no new issuance).
        existing: bool,
    },
    /// The answer to `Check`, `Qualify`, `Withdraw` or `Invalidate`.
    Answer {
        session: Session,
        serial: Serial,
        request: Request,
        verdict: Verdict,
    },
    /// P37: the available services (names), or None if not registered.
    Services {
        session: Session,
        serial: Serial,
        services: Option<Vec<String>>,
    },
    /// V1: a CA-signed CRL pushed to every service of an invalidated certificate.
    Revocation { crl: CrlId },
    /// `push-ack`: a service has acted on the pushed CRL `crl`. Not in the
    /// patent, whose V1 notification is fire-and-forget; the CA retransmits
    /// a notification until its service answers with this.
    RevocationAck { crl: CrlId },

    // ---- the wire, to the attacker ----
    /// An eavesdropped presentation (a copy the network shows the attacker).
    Observed { shown: Shown },
}

impl Msg {
    /// The credential this message carries, if any (for `password-stays-home`).
    pub fn credential(&self) -> Option<&Credential> {
        match self {
            Msg::Login { credential, .. } => Some(credential.as_ref()),
            _ => None,
        }
    }

    /// The certificate serial this message is about, if it names one.
    pub fn serial(&self) -> Option<Serial> {
        match self {
            Msg::Granted { serial, .. }
            | Msg::MemberMenu { serial, .. }
            | Msg::Balance { serial, .. }
            | Msg::Check { serial, .. }
            | Msg::Qualify { serial, .. }
            | Msg::Withdraw { serial, .. }
            | Msg::Invalidate { serial, .. }
            | Msg::ListServices { serial, .. }
            | Msg::Issued { serial, .. }
            | Msg::Answer { serial, .. }
            | Msg::Services { serial, .. } => Some(*serial),
            _ => None,
        }
    }

    /// If this message is a service serving a presenter: (serial, subject, basis).
    pub fn grant(&self) -> Option<(Serial, &str, Basis)> {
        match self {
            Msg::Granted {
                serial,
                subject,
                basis,
                ..
            }
            | Msg::MemberMenu {
                serial,
                subject,
                basis,
                ..
            }
            | Msg::Balance {
                serial,
                subject,
                basis,
                ..
            } => Some((*serial, subject, *basis)),
            _ => None,
        }
    }

    /// The operation this message belongs to: a user's op, or the op of the
    /// session a CA request or answer is for (None for CRLs and taps).
    pub fn op(&self) -> Option<OpId> {
        if let Some(op) = self.reply_op() {
            return Some(op);
        }
        match self {
            Msg::Access { op, .. }
            | Msg::Login { op, .. }
            | Msg::Present { op, .. }
            | Msg::Confirm { op, .. }
            | Msg::SelectStatement { op } => Some(*op),
            _ => self.session().map(|s| s.op),
        }
    }

    /// The peer of the session a service-CA message belongs to.
    pub fn session_peer(&self) -> Option<Id> {
        self.session().map(|s| s.peer)
    }

    /// The session a service-CA message belongs to.
    pub fn session(&self) -> Option<Session> {
        match self {
            Msg::IssueRequest { session, .. }
            | Msg::Check { session, .. }
            | Msg::Qualify { session, .. }
            | Msg::Withdraw { session, .. }
            | Msg::Invalidate { session, .. }
            | Msg::ListServices { session, .. }
            | Msg::Issued { session, .. }
            | Msg::Answer { session, .. }
            | Msg::Services { session, .. } => Some(*session),
            _ => None,
        }
    }

    /// The user's operation a service-to-user message answers.
    pub fn reply_op(&self) -> Option<OpId> {
        match self {
            Msg::LoginForm { op, .. }
            | Msg::Challenge { op, .. }
            | Msg::Certificate { op, .. }
            | Msg::AskInvalidate { op, .. }
            | Msg::AskProhibit { op, .. }
            | Msg::Granted { op, .. }
            | Msg::MemberMenu { op, .. }
            | Msg::Layout { op, .. }
            | Msg::Balance { op, .. }
            | Msg::Invalidated { op }
            | Msg::Prohibited { op }
            | Msg::Refused { op, .. } => Some(*op),
            _ => None,
        }
    }

    /// The CA session inside this message, to rewrite under symmetry.
    pub fn ca_session_mut(&mut self) -> Option<&mut Session> {
        match self {
            Msg::IssueRequest { session, .. }
            | Msg::Check { session, .. }
            | Msg::Qualify { session, .. }
            | Msg::Withdraw { session, .. }
            | Msg::Invalidate { session, .. }
            | Msg::ListServices { session, .. }
            | Msg::Issued { session, .. }
            | Msg::Answer { session, .. }
            | Msg::Services { session, .. } => Some(session),
            _ => None,
        }
    }

    /// Whether the CA role handles this message (used by the V3 node).
    pub fn is_for_ca(&self) -> bool {
        matches!(
            self,
            Msg::IssueRequest { .. }
                | Msg::Check { .. }
                | Msg::Qualify { .. }
                | Msg::Withdraw { .. }
                | Msg::Invalidate { .. }
                | Msg::ListServices { .. }
                | Msg::RevocationAck { .. }
        )
    }

    /// The variant's name, for traces and coverage.
    pub fn kind(&self) -> &'static str {
        match self {
            Msg::Access { .. } => "Access",
            Msg::Login { .. } => "Login",
            Msg::Present { .. } => "Present",
            Msg::Confirm { .. } => "Confirm",
            Msg::SelectStatement { .. } => "SelectStatement",
            Msg::LoginForm { .. } => "LoginForm",
            Msg::Challenge { .. } => "Challenge",
            Msg::Certificate { .. } => "Certificate",
            Msg::AskInvalidate { .. } => "AskInvalidate",
            Msg::AskProhibit { .. } => "AskProhibit",
            Msg::Granted { .. } => "Granted",
            Msg::MemberMenu { .. } => "MemberMenu",
            Msg::Layout { .. } => "Layout",
            Msg::Balance { .. } => "Balance",
            Msg::Invalidated { .. } => "Invalidated",
            Msg::Prohibited { .. } => "Prohibited",
            Msg::Refused { .. } => "Refused",
            Msg::IssueRequest { .. } => "IssueRequest",
            Msg::Check { .. } => "Check",
            Msg::Qualify { .. } => "Qualify",
            Msg::Withdraw { .. } => "Withdraw",
            Msg::Invalidate { .. } => "Invalidate",
            Msg::ListServices { .. } => "ListServices",
            Msg::Issued { .. } => "Issued",
            Msg::Answer { .. } => "Answer",
            Msg::Services { .. } => "Services",
            Msg::Revocation { .. } => "Revocation",
            Msg::RevocationAck { .. } => "RevocationAck",
            Msg::Observed { .. } => "Observed",
        }
    }
}

/// A one-line human summary: `CheckResult(NG)`-style, no secrets, no DER dumps.
impl fmt::Display for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Msg::Access { purpose, .. } => write!(f, "Access({purpose:?})"),
            Msg::Login { credential, .. } => write!(f, "Login({})", credential.login()),
            Msg::Present { purpose, shown, .. } => write!(
                f,
                "Present({purpose:?}, cert {}{})",
                shown.certificate,
                if shown.proof.is_some() {
                    ", signed"
                } else {
                    ""
                }
            ),
            Msg::LoginForm { failed, .. } => {
                write!(f, "LoginForm{}", if *failed { "(failed)" } else { "" })
            }
            Msg::Challenge { nonce, .. } => write!(f, "Challenge({nonce})"),
            Msg::Certificate {
                certificate,
                existing,
                ..
            } => {
                let again = if *existing { ", existing" } else { "" };
                write!(f, "Certificate({certificate}{again})")
            }
            Msg::Granted { serial, basis, .. } => write!(f, "Granted(#{serial}, {basis:?})"),
            Msg::MemberMenu { serial, .. } => write!(f, "MemberMenu(#{serial})"),
            Msg::Layout { regions, .. } => write!(f, "Layout({})", regions.join(", ")),
            Msg::Balance { region, text, .. } => write!(f, "Balance({region}: {text})"),
            Msg::Refused { refusal, .. } => write!(f, "Refused({refusal:?})"),
            Msg::IssueRequest { subject, .. } => write!(f, "IssueRequest({})", subject.name),
            Msg::Check { serial, .. } => write!(f, "Check(#{serial})"),
            Msg::Qualify { serial, .. } => write!(f, "Qualify(#{serial})"),
            Msg::Withdraw {
                serial, consent, ..
            } => write!(f, "Withdraw(#{serial}{})", signed(consent)),
            Msg::Invalidate {
                serial, consent, ..
            } => write!(f, "Invalidate(#{serial}{})", signed(consent)),
            Msg::ListServices { serial, .. } => write!(f, "ListServices(#{serial})"),
            Msg::Issued {
                serial, existing, ..
            } => write!(
                f,
                "Issued(#{serial}{})",
                if *existing { ", existing" } else { "" }
            ),
            Msg::Answer {
                serial, verdict, ..
            } => write!(
                f,
                "Answer(#{serial}, {})",
                match verdict {
                    Verdict::Ok => "OK",
                    Verdict::NotRegistered => "NG",
                    Verdict::NotQualified => "not-qualified",
                    Verdict::AlreadyIssued => "already-issued",
                    Verdict::BadRequest(r) => r.code(),
                }
            ),
            Msg::Services {
                serial, services, ..
            } => match services {
                Some(s) => write!(f, "Services(#{serial}: {})", s.join(", ")),
                None => write!(f, "Services(#{serial}: NG)"),
            },
            Msg::Revocation { crl } => write!(f, "Revocation(CRL {crl})"),
            Msg::RevocationAck { crl } => write!(f, "RevocationAck(CRL {crl})"),
            Msg::Observed { shown } => write!(f, "Observed({})", shown.certificate),
            other => f.write_str(other.kind()),
        }
    }
}

/// How a request's consent shows in its text: nothing without one, so that
/// the patent's messages read as before.
fn signed<T>(consent: &Option<T>) -> &'static str {
    if consent.is_some() {
        ", holder-signed"
    } else {
        ""
    }
}
