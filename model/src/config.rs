//! The protocol's modes and the system's directory of parties.
//!
//! A `Modes` value says which reading of the patent runs (online check or the
//! V1 push variant, bearer certificates or proof of possession, T1, V2, V3);
//! a `Directory` says who is on the network. Both are shared, read-only, by
//! every actor, the checker and the simulator.

use crate::x509::{Arena, CertId};
use compact_str::CompactString;
use serde::{Deserialize, Serialize};
use stateright::actor::Id;
use std::collections::BTreeMap;
use std::sync::Arc;

/// How a service learns that a certificate was invalidated.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Revocation {
    /// Fig. 4: the service asks the CA at every presentation (P21, P23).
    #[default]
    Online,
    /// Variant V1: no check at use; the CA pushes a signed CRL to every
    /// service of an invalidated certificate, fire-and-forget.
    Push,
}

/// What a user shows a service.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Presentation {
    /// The user signs a service-chosen challenge with the certificate's key.
    #[default]
    ProofOfPossession,
    /// The certificate alone, as the patent literally reads.
    Bearer,
}

/// The primary authentication a service uses before a certificate exists
/// (P1, P5, S3, S15).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum PrimaryAuth {
    /// ID and password, as in the figures.
    #[default]
    Password,
    /// Variant V2: a biometric template match (fingerprint, voice print, picture).
    Biometric,
}

/// How the CA numbers the certificates it issues.
///
/// The patent is silent on serial numbers. RFC 5280 (4.1.2.2) asks only
/// that they be positive and unique per CA, which a counter satisfies; the
/// CA/Browser Forum's Baseline Requirements (7.1) ask more of a real CA:
/// greater than zero, with at least 64 bits of CSPRNG output, so that a
/// serial cannot be predicted. The project reads the patent as a real CA
/// runs it (`Random`, the default) and keeps the counter (`Sequential`)
/// to show what counting gives away: a service that guesses serials
/// 1, 2, ... it was never shown (`malicious::Move::Probe`).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Serials {
    /// 1, 2, 3, ... in order of issuance.
    Sequential,
    /// A nonzero 64-bit number from the run's seeded ChaCha stream, drawn
    /// at the position of the issuance (`ca::random_serial`).
    #[default]
    Random,
}

impl Serials {
    /// The name flags and scenario files use.
    pub fn name(self) -> &'static str {
        match self {
            Serials::Sequential => "sequential",
            Serials::Random => "random",
        }
    }

    /// The mode named `name`, or the names there are.
    pub fn from_name(name: &str) -> Result<Serials, String> {
        match name {
            "sequential" => Ok(Serials::Sequential),
            "random" => Ok(Serials::Random),
            other => Err(format!(
                "unknown serials `{other}`: expected \"sequential\" or \"random\""
            )),
        }
    }
}

/// Which reading of the patent runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct Modes {
    pub revocation: Revocation,
    pub presentation: Presentation,
    pub primary_auth: PrimaryAuth,
    /// Variant T1: the CA keeps Fig. 5 and Fig. 6 as one table.
    pub merged_ca_table: bool,
    /// Variant V3: the CA function runs inside the portal service's node.
    pub ca_in_portal: bool,
    /// Validity of an issued certificate, in virtual milliseconds.
    pub certificate_validity_ms: u64,
    /// How the CA numbers certificates (random unless asked otherwise).
    pub serials: Serials,
}

impl Default for Modes {
    fn default() -> Self {
        Modes {
            revocation: Revocation::Online,
            presentation: Presentation::ProofOfPossession,
            primary_auth: PrimaryAuth::Password,
            merged_ca_table: false,
            ca_in_portal: false,
            certificate_validity_ms: 365 * 24 * 3600 * 1000,
            serials: Serials::Random,
        }
    }
}

/// What a party is.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Ca,
    Service {
        portal: bool,
        /// What this service shows in a statement (P42).
        statement: Option<String>,
    },
    /// A service node that also hosts the CA (variant V3).
    PortalCa {
        statement: Option<String>,
    },
    User,
    Attacker,
    /// The checker's clock (`--clock-jumps`, `clock::Jumps`): not on the
    /// network and not a party of the patent's; listed so that ids and
    /// names cover every actor.
    Clock,
}

/// A primary credential as a user holds it and a service's table checks it.
///
/// Its strings are shared (`Arc<str>`): the same login and password are held
/// by the directory, the user and the service's table, and a workload has
/// millions of accounts.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Credential {
    Password {
        login: Arc<str>,
        password: Arc<str>,
    },
    /// V2: a biometric sample; it matches a stored template within a small
    /// Hamming distance, as a real matcher tolerates noise.
    Biometric {
        login: Arc<str>,
        sample: [u8; 16],
    },
}

impl Credential {
    pub fn login(&self) -> &str {
        match self {
            Credential::Password { login, .. } | Credential::Biometric { login, .. } => login,
        }
    }

    /// The same secret under another login (login IDs are not secret).
    pub fn with_login(&self, login: &str) -> Credential {
        match self {
            Credential::Password { password, .. } => Credential::Password {
                login: login.into(),
                password: password.clone(),
            },
            Credential::Biometric { sample, .. } => Credential::Biometric {
                login: login.into(),
                sample: *sample,
            },
        }
    }

    /// Whether this account's verifier accepts `other`'s secret presented
    /// under this account's login: login IDs are not secret, so a party that
    /// holds `other` can present its secret with any login.
    pub fn accepts_secret_of(&self, other: &Credential) -> bool {
        crate::tables::Verifier::enrol(self).accepts(&other.with_login(self.login()))
    }
}

impl std::fmt::Debug for Credential {
    // Never print a secret in a trace or a counterexample.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::Password { login, .. } => write!(f, "Password({login}, ***)"),
            Credential::Biometric { login, .. } => write!(f, "Biometric({login}, ***)"),
        }
    }
}

/// A user's identity as the CA records it (Fig. 5) and services hold it (Fig. 7).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Subject {
    pub name: String,
    pub address: String,
    pub email: String,
}

/// A genuine certificate an adversary holds for its own identity: the
/// network attacker's, or a malicious service's operator's (a business is
/// also a customer). The CA issued it before the run and registered it with
/// one service, so it verifies and checks like any user's. Its serial is
/// `OWN_SERIAL_BASE` + the holder's id, apart from the users' sequential
/// 1, 2, ... (a fixed number under random serials too: only its holder
/// ever names it, and a random draw that lands on it is drawn again).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct OwnCertificate {
    pub serial: u64,
    pub subject: Subject,
    pub certificate: crate::x509::CertId,
    /// The service it was issued through (Fig. 6's first service).
    pub registered_at: Id,
}

/// Where adversaries' own serials start.
pub const OWN_SERIAL_BASE: u64 = 1_000_000;

/// One party on the network.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Party {
    pub id: Id,
    /// The id scenario files and traces use (`A`, `bank-a`, `u31`, `CA`).
    /// Inline when it fits 24 bytes (every generated name does): traces
    /// write a party's name on every event, and at a million users a name
    /// on the heap is a cache miss of its own beside the party's entry.
    pub name: CompactString,
    pub role: Role,
}

/// Everyone on the network, their accounts, and the modes in force.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Directory {
    pub modes: Modes,
    /// The hardening options in force (all off: the patent as written).
    pub hardening: Hardening,
    /// Adversaries' own genuine certificates, by holder.
    pub own: BTreeMap<Id, OwnCertificate>,
    /// The parties that act against the others: the network attacker and
    /// the curious or malicious services. The properties judge what the
    /// users, the CA and honest services disclose or suffer: an adversary
    /// handing out its own secret harms nobody but itself.
    pub adversaries: std::collections::BTreeSet<Id>,
    pub parties: Vec<Party>,
    /// Each user's identity, shared with the rows of every service where
    /// the user has an account (one copy per person, not per account).
    pub subjects: BTreeMap<Id, Arc<Subject>>,
    /// (user, service) -> the credential the user was given by that service;
    /// the service's table holds its check value.
    pub accounts: BTreeMap<(Id, Id), Credential>,
    /// The run's certificates, CRLs and proofs by handle, and the verdicts
    /// on them (`x509::arena`): shared by every party, compared by identity.
    #[serde(skip)]
    pub arena: Arena,
    /// Derived indexes, so that lookups on every event cost O(log n) at
    /// 100,000 users (built by `Directory::new`).
    #[serde(skip)]
    index: Index,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
struct Index {
    by_name: BTreeMap<CompactString, Id>,
    ca: Option<Id>,
    attacker: Option<Id>,
    /// password -> the services holding an account with it.
    /// (password, service): a set rather than a map of vectors, one entry
    /// per account and no allocation beyond the password's own.
    services_of_password: std::collections::BTreeSet<(Arc<str>, Id)>,
    /// login -> service -> the user with that login there (a sorted
    /// vector per login: a login is at a few services).
    by_login: BTreeMap<Arc<str>, crate::small_map::SmallMap<Id, Id>>,
}

impl Directory {
    /// A directory whose parties are numbered 0..n in order.
    pub fn new(
        modes: Modes,
        parties: Vec<Party>,
        subjects: BTreeMap<Id, Arc<Subject>>,
        accounts: BTreeMap<(Id, Id), Credential>,
        arena: Arena,
    ) -> Self {
        let mut index = Index {
            by_name: parties.iter().map(|p| (p.name.clone(), p.id)).collect(),
            ca: parties
                .iter()
                .find(|p| matches!(p.role, Role::Ca | Role::PortalCa { .. }))
                .map(|p| p.id),
            attacker: parties
                .iter()
                .find(|p| p.role == Role::Attacker)
                .map(|p| p.id),
            services_of_password: Default::default(),
            by_login: BTreeMap::new(),
        };
        // Built from lists, so that the maps' nodes are packed full.
        let mut logins: Vec<(Arc<str>, Id, Id)> = Vec::with_capacity(accounts.len());
        let mut passwords = Vec::new();
        for ((user, service), credential) in &accounts {
            let login = match credential {
                Credential::Password { login, .. } | Credential::Biometric { login, .. } => login,
            };
            logins.push((login.clone(), *service, *user));
            if let Credential::Password { password, .. } = credential {
                passwords.push((password.clone(), *service));
            }
        }
        logins.sort();
        let mut by_login: Vec<(Arc<str>, crate::small_map::SmallMap<Id, Id>)> = Vec::new();
        for (login, service, user) in logins {
            match by_login.last_mut() {
                Some((l, m)) if *l == login => {
                    m.insert(service, user);
                }
                _ => by_login.push((login, [(service, user)].into_iter().collect())),
            }
        }
        index.by_login = by_login.into_iter().collect();
        index.services_of_password = passwords.into_iter().collect();
        Directory {
            arena,
            modes,
            hardening: Hardening::default(),
            own: BTreeMap::new(),
            adversaries: Default::default(),
            parties,
            subjects,
            accounts,
            index,
        }
    }

    /// The node that holds the CA role (its own node, or the portal under V3).
    pub fn ca(&self) -> Option<Id> {
        self.index.ca
    }

    pub fn party(&self, id: Id) -> Option<&Party> {
        self.parties
            .get(usize::from(id))
            .filter(|p| p.id == id)
            .or_else(|| self.parties.iter().find(|p| p.id == id))
    }

    /// The bytes a presenter signs to answer `service`'s challenge `nonce`
    /// with `certificate`, for `purpose` (`Purpose::tag`, or `"qualify"`
    /// for a consent to S17). As the patent reads (the project's reading):
    /// the service and the nonce only. Under `pop-binding` also the
    /// certificate (the SHA-256 of its DER) and the purpose, under another
    /// domain tag. Every signer and every verifier asks here, so the two
    /// always agree.
    pub fn challenge(
        &self,
        service: Id,
        nonce: u64,
        certificate: CertId,
        purpose: &str,
    ) -> Vec<u8> {
        if !self.hardening.pop_binding {
            return crate::x509::challenge_bytes(self.name(service), nonce);
        }
        let digest = match self.arena.der(certificate.0) {
            Some(der) => ring::digest::digest(&ring::digest::SHA256, der.as_bytes())
                .as_ref()
                .to_vec(),
            // A handle the arena never saw (a forged one): its own bytes,
            // which no genuine certificate's digest equals.
            None => certificate.0.to_be_bytes().to_vec(),
        };
        crate::x509::bound_challenge_bytes(self.name(service), nonce, &digest, purpose)
    }

    pub fn name(&self, id: Id) -> &str {
        self.party(id).map(|p| p.name.as_str()).unwrap_or("?")
    }

    pub fn by_name(&self, name: &str) -> Option<Id> {
        self.index.by_name.get(name).copied()
    }

    /// The services holding an account with `password` (for
    /// `password-stays-home`: a password is judged by its secret, whatever
    /// login it is sent with).
    pub fn services_of_password(&self, password: &str) -> Vec<Id> {
        let password: Arc<str> = password.into();
        let key = |id: usize| (password.clone(), Id::from(id));
        self.index
            .services_of_password
            .range(key(0)..=key(usize::MAX))
            .map(|(_, s)| *s)
            .collect()
    }

    /// The services other than `at` that accept `credential`'s secret for
    /// the person it claims: the user whose account has its login (at `at`
    /// first, else anywhere), checked against that user's account at each
    /// other service, as its verifier would (`credential-stays-home`).
    pub fn accepted_elsewhere(&self, credential: &Credential, at: Id) -> Vec<Id> {
        let Some(person) = self.person_of(credential, at) else {
            return Vec::new();
        };
        self.accounts
            .range((person, Id::from(0))..=(person, Id::from(usize::MAX)))
            .filter(|((_, service), _)| *service != at)
            .filter(|(_, account)| account.accepts_secret_of(credential))
            .map(|((_, service), _)| *service)
            .collect()
    }

    /// The user a credential presented at `at` claims to be: the one with
    /// its login there, else the one with its login anywhere.
    pub fn person_of(&self, credential: &Credential, at: Id) -> Option<Id> {
        self.index
            .by_login
            .get(credential.login())
            .and_then(|by_service| {
                by_service
                    .get(&at)
                    .or_else(|| by_service.values().next())
                    .copied()
            })
    }

    /// Whether `id` is an adversary (`Directory::adversaries`).
    pub fn is_adversary(&self, id: Id) -> bool {
        self.adversaries.contains(&id)
    }

    pub fn is_service(&self, id: Id) -> bool {
        matches!(
            self.party(id).map(|p| &p.role),
            Some(Role::Service { .. } | Role::PortalCa { .. })
        )
    }

    /// `crl-freshness` in force: the hardening is on and revocation is V1's
    /// push (online revocation has no CRLs to keep fresh).
    pub fn keeps_crls_fresh(&self) -> bool {
        self.hardening.crl_freshness && self.modes.revocation == Revocation::Push
    }

    pub fn is_portal(&self, id: Id) -> bool {
        matches!(
            self.party(id).map(|p| &p.role),
            Some(Role::Service { portal: true, .. } | Role::PortalCa { .. })
        )
    }

    pub fn services(&self) -> impl Iterator<Item = Id> + '_ {
        self.parties
            .iter()
            .filter(|p| matches!(p.role, Role::Service { .. } | Role::PortalCa { .. }))
            .map(|p| p.id)
    }

    pub fn users(&self) -> impl Iterator<Item = Id> + '_ {
        self.parties
            .iter()
            .filter(|p| p.role == Role::User)
            .map(|p| p.id)
    }

    pub fn attacker(&self) -> Option<Id> {
        self.index.attacker
    }

    pub fn statement_of(&self, id: Id) -> Option<&str> {
        match &self.party(id)?.role {
            Role::Service { statement, .. } | Role::PortalCa { statement } => statement.as_deref(),
            _ => None,
        }
    }
}

/// Hardening options: each closes one finding of `reports/findings.md`
/// without changing the patent mode it runs in. All off is the patent as
/// written (the project's reading of it); the names are part of the
/// interface (`--harden NAME[,NAME]`, a scenario's `harden = [...]`).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(try_from = "Vec<String>", into = "Vec<String>")]
pub struct Hardening {
    /// `ca-authz`: the CA acts on a serial only for a service where it was
    /// issued or is qualified; S17's qualification must carry the holder's
    /// presentation (certificate and proof), which the CA verifies; the
    /// service list (P36) is given to a qualified portal only. The patent's
    /// CA checks only that the sender is some service (DB 52).
    pub ca_authz: bool,
    /// `one-per-subject`: the CA refuses a second valid certificate for a
    /// subject; a request for the same subject and key gets the certificate
    /// already issued (idempotent; the asking service is added to its
    /// services). The patent's S5 consults only the asking service's table.
    pub one_per_subject: bool,
    /// `subject-match`: at S16 the service compares the logged-in account's
    /// subject with the certificate's and refuses a mismatch, so S19 links
    /// a certificate only to its own subject's account. The patent's S16
    /// checks only the password.
    pub subject_match: bool,
    /// `push-ack`: under V1 every service acknowledges a pushed CRL, and
    /// the CA pushes it again on a timer until each service it went to has
    /// (durably, across a CA crash). The patent's V1 notification is sent
    /// once, so a lost one leaves the serial accepted until expiry.
    pub push_ack: bool,
    /// `pop-binding`: a proof of possession signs the service, the nonce,
    /// the certificate and the purpose (`Directory::challenge`), and a
    /// qualification (S17) carries the holder's consent: a proof for the
    /// purpose `qualify`, made at S15 when the service asks to be
    /// qualified, which the CA (under `ca-authz`) accepts once. The
    /// patent's proof (the project's reading) signs the service and the
    /// nonce only, so any proof a service was ever given vouches for it.
    pub pop_binding: bool,
    /// `csr`: at S3 the user's login for an issuance carries a PKCS#10
    /// request for its subject signed with its key (`x509::csr`); the
    /// service forwards it at S6 and the CA issues only if the request
    /// verifies and names the subject and key it is asked to certify. The
    /// patent's issuance takes a bare public key, so a service can have
    /// any key certified for any subject, a key its holder never offered
    /// for that subject included.
    pub csr: bool,
    /// `crl-freshness`: under V1 the CA's CRLs are complete (every serial
    /// revoked so far, under the CA's CRL number), and besides each
    /// invalidation's notification the CA publishes the current one to
    /// every service on its publication timer (`Timer::NextUpdate`), before
    /// the last one's nextUpdate. A service keeps the newest it has (number
    /// and nextUpdate, durably), ignores an older one (a late or replayed
    /// copy), and checks with the CA (Fig. 4) instead of its own table
    /// while it holds no CRL whose nextUpdate is still ahead. The patent's
    /// V1 sends one notification per invalidation and services take it at
    /// face value, so one lost, or overtaken by a qualification answered
    /// before the invalidation, is never made good.
    pub crl_freshness: bool,
    /// `holder-consent`: an invalidation (P13/S10) and a withdrawal
    /// (S20-3) carry the holder's signature, by the certificate's key, over
    /// the request: the serial's certificate, the purpose, the asking
    /// service and a fresh nonce that service chose (sent with S9/P12's or
    /// S20-1's question). The CA verifies it and refuses without it, and
    /// accepts each consent once. The patent gives the holder no signature
    /// on these requests, so its CA cannot tell a request the user said Yes
    /// to from one a service made up about a serial it issued or was shown.
    /// The cost: a user who lost the certificate's key can no longer
    /// invalidate it by password (S9-S10).
    pub holder_consent: bool,
}

impl Hardening {
    /// Every option's name, in the order documented.
    pub const NAMES: &'static [&'static str] = &[
        "ca-authz",
        "one-per-subject",
        "subject-match",
        "push-ack",
        "pop-binding",
        "csr",
        "crl-freshness",
        "holder-consent",
    ];

    /// Each option's name with its switch, in `NAMES` order: the one table
    /// both `enable` and `names` read.
    fn switches(&mut self) -> [(&'static str, &mut bool); 8] {
        [
            ("ca-authz", &mut self.ca_authz),
            ("one-per-subject", &mut self.one_per_subject),
            ("subject-match", &mut self.subject_match),
            ("push-ack", &mut self.push_ack),
            ("pop-binding", &mut self.pop_binding),
            ("csr", &mut self.csr),
            ("crl-freshness", &mut self.crl_freshness),
            ("holder-consent", &mut self.holder_consent),
        ]
    }

    /// Turn on the option called `name`.
    pub fn enable(&mut self, name: &str) -> Result<(), String> {
        if let Some((_, on)) = self.switches().into_iter().find(|(n, _)| *n == name) {
            *on = true;
            return Ok(());
        }
        Err(format!(
            "unknown hardening `{name}` (expected one of: {})",
            Self::NAMES.join(", ")
        ))
    }

    /// The options named in `names` (comma-separated lists allowed).
    pub fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Hardening, String> {
        let mut h = Hardening::default();
        for name in names.into_iter().flat_map(|n| n.split(',')) {
            let name = name.trim();
            if !name.is_empty() {
                h.enable(name)?;
            }
        }
        Ok(h)
    }

    /// The names of the options on, in `NAMES` order.
    pub fn names(&self) -> Vec<&'static str> {
        let mut copy = *self;
        copy.switches()
            .into_iter()
            .filter(|(_, on)| **on)
            .map(|(n, _)| n)
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.names().is_empty()
    }
}

/// Files write the options as a list of names: `harden = ["ca-authz"]`.
impl TryFrom<Vec<String>> for Hardening {
    type Error = String;
    fn try_from(names: Vec<String>) -> Result<Self, String> {
        Hardening::parse(names.iter().map(String::as_str))
    }
}

impl From<Hardening> for Vec<String> {
    fn from(h: Hardening) -> Self {
        h.names().iter().map(|n| n.to_string()).collect()
    }
}

impl std::fmt::Display for Hardening {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = self.names();
        if names.is_empty() {
            f.write_str("none")
        } else {
            f.write_str(&names.join(","))
        }
    }
}

/// Deliberate defects, one per safety property (and one for crash
/// semantics), for showing that the checker, the simulator and the property
/// tests catch what each property is about. All off in a correct system.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct Defects {
    /// Services, under online revocation: grant from the own table without
    /// asking the CA (breaks `revoked-never-accepted`).
    #[serde(alias = "skip_ca_check")]
    pub skip_ca_check: bool,
    /// Services: S20-2 forgotten, the serial stays in Fig. 7 after a
    /// prohibition (breaks `only-qualified-services` under push, where the
    /// own table decides).
    #[serde(alias = "keep_row_on_prohibit")]
    pub keep_row_on_prohibit: bool,
    /// Services: accept a presentation without checking the proof of
    /// possession (breaks `no-impersonation` with an eavesdropper).
    #[serde(alias = "skip_proof_check")]
    pub skip_proof_check: bool,
    /// The CA: S7 does not advance the serial counter (breaks `unique-serials`).
    #[serde(alias = "reuse_serials")]
    pub reuse_serials: bool,
    /// Users: type the password of their account at the first service at
    /// every service (breaks `password-stays-home` and `credential-stays-home`).
    #[serde(alias = "one_password_everywhere")]
    pub one_password_everywhere: bool,
    /// Services: S8/S19 link the serial in Fig. 7 without persisting it, so
    /// a crash loses the link (caught by crash tests in both drivers).
    #[serde(alias = "forget_link_persist")]
    pub forget_link_persist: bool,
    /// Services: at S5 Yes for an issue login, invalidate the certificate
    /// found without asking (S9's question skipped; breaks
    /// `no-unauthorised-revocation`).
    #[serde(alias = "invalidate_without_yes")]
    pub invalidate_without_yes: bool,
    /// Services, under V1: a CRL deletes nothing from Fig. 7, so the own
    /// table grants a serial after its notification arrived (breaks
    /// `push-window-only`).
    #[serde(alias = "keep_row_on_crl")]
    pub keep_row_on_crl: bool,
    /// Services: verify a certificate as if its notAfter had not passed
    /// (breaks `expired-never-accepted`, which only a run where time
    /// passes can show: `check --clock-jumps`).
    #[serde(alias = "ignore_expiry")]
    pub ignore_expiry: bool,
}

#[cfg(test)]
mod tests {
    use super::Hardening;

    #[test]
    fn hardening_names_parse_and_bad_ones_are_refused_by_name() {
        let h = Hardening::parse(["ca-authz,one-per-subject", "subject-match"]).expect("parses");
        assert!(h.ca_authz && h.one_per_subject && h.subject_match);
        assert_eq!(h.names(), ["ca-authz", "one-per-subject", "subject-match"]);
        assert_eq!(h.to_string(), "ca-authz,one-per-subject,subject-match");
        // `NAMES` (for messages and help) is the switch table's names.
        let mut all = Hardening::default();
        let table: Vec<&str> = all.switches().into_iter().map(|(n, _)| n).collect();
        assert_eq!(table, Hardening::NAMES);
        let e = Hardening::parse(["ca-auth"]).expect_err("unknown");
        assert!(e.contains("unknown hardening `ca-auth`"), "{e}");
        let files: Hardening = toml::from_str::<toml::Table>("h = [\"one-per-subject\"]")
            .expect("toml")["h"]
            .clone()
            .try_into()
            .expect("a list of names");
        assert!(files.one_per_subject && !files.ca_authz);
    }
}
