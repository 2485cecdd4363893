//! Building a system from a description: the parties, their ids, their keys.
//!
//! The checker and the simulator both describe a system as a `SystemSpec`
//! and get the same `Node`s back, so neither assembles actors on its own.
//! Id layout: the CA first (unless V3 puts it in the portal), then services,
//! users, the attacker, and the checker's clock (`--clock-jumps`).

use crate::attacker::Attacker;
use crate::ca::Ca;
use crate::clock::Clock;
use crate::config::{
    Credential, Defects, Directory, Hardening, Modes, OWN_SERIAL_BASE, OwnCertificate, Party,
    PrimaryAuth, Role, Subject,
};
use crate::node::Node;
use crate::service::Service;
use crate::user::{Identity, User};
use crate::x509::{
    Arena, CertRequest, CertificateAuthority, Der, KeyStream, Memo, PkiError, SigningKey, key_seed,
};
use stateright::actor::Id;
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceSpec {
    pub name: String,
    pub portal: bool,
    pub statement: Option<String>,
    /// Honest but curious: it replays every credential a user gives it at
    /// another service (`service::Service::curious`).
    pub curious: bool,
    /// Malicious: it probes the CA and relays presentations (`malicious.rs`);
    /// set `curious` too for its credential replays.
    pub malicious: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserSpec {
    pub name: String,
    pub subject: Subject,
    /// service name -> (login, password). Under V2 the password is not used:
    /// every account enrols the user's one template (`biometric_template`).
    pub accounts: BTreeMap<String, (String, String)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SystemSpec {
    pub seed: u64,
    pub modes: Modes,
    pub services: Vec<ServiceSpec>,
    pub users: Vec<UserSpec>,
    pub attacker: Option<String>,
    pub defects: Defects,
    /// Checker only: operations each user (and the attacker) chooses on its own.
    pub autonomous_actions: Option<u8>,
    /// Checker only: operations a user may have in flight at once.
    pub concurrency: u8,
    /// Whether user operations can time out.
    pub timeouts: bool,
    /// Whether the run's X.509 arena remembers verdicts (`Memo::Off`: the
    /// concrete reading, every object issued and checked on every use).
    pub memo: Memo,
    /// The hardening options in force (`config::Hardening`).
    pub hardening: Hardening,
    /// The attacker is a network attacker (`attacker.rs`): it also holds a
    /// genuine certificate of its own.
    pub network_attacker: bool,
    /// Checker only: how many times the clock may jump (`clock::Jumps`);
    /// with any, a clock actor named `clock` comes last.
    pub clock_jumps: u8,
}

/// A built system: the directory, one node per party, the shared clock.
#[derive(Clone, Debug)]
pub struct System {
    pub dir: Arc<Directory>,
    pub nodes: Vec<Node>,
    pub clock: Clock,
    pub authority: CertificateAuthority,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("a system needs at least one service")]
    NoService,
    #[error("variant V3 (ca_in_portal) needs a portal service")]
    NoPortal,
    #[error("duplicate party id `{0}`")]
    Duplicate(String),
    #[error("user `{user}` has an account at `{service}`, which is not a service")]
    UnknownService { user: String, service: String },
    #[error("no service number {0}: the system has {1} services")]
    NoSuchService(usize, usize),
    #[error("the CA's root could not be made: {0}")]
    Pki(#[from] PkiError),
    #[error(
        "--clock-jumps {0}: that many jumps past a certificate's validity would outlive the CA's root (valid 20 years); at most {1}"
    )]
    ClockOutlivesRoot(u8, u64),
}

/// The credential a user presents for an account, by primary authentication.
/// Under V2 `secret` names the finger (see `biometric_template`).
pub fn credential(auth: PrimaryAuth, login: impl Into<Arc<str>>, secret: &str) -> Credential {
    match auth {
        PrimaryAuth::Password => Credential::Password {
            login: login.into(),
            password: secret.into(),
        },
        PrimaryAuth::Biometric => Credential::Biometric {
            login: login.into(),
            sample: biometric_template(secret),
        },
    }
}

/// V2: a deterministic 128-bit template standing in for an enrolled
/// fingerprint. A person has one finger: the template depends on the finger
/// alone, not on the service or the login, so every service a user enrolled
/// at holds the same template. That is the variant's own risk: a service that
/// receives the template can present it at every other service
/// (`credential-stays-home`).
pub fn biometric_template(finger: &str) -> [u8; 16] {
    let d = ring::digest::digest(
        &ring::digest::SHA256,
        format!("commoncert-biometric\0{finger}").as_bytes(),
    );
    let mut out = [0u8; 16];
    out.copy_from_slice(&d.as_ref()[..16]);
    out
}

impl SystemSpec {
    pub fn build(&self) -> Result<System, BuildError> {
        self.build_with(self.seed, self.memo, std::iter::empty())
    }

    /// Build with this `seed` and `memo` instead of the spec's, and with
    /// `extra` users after the spec's own. The extra users are consumed one
    /// at a time, so a generated population of a million (a workload) is
    /// never held as a list of specs beside the system it becomes.
    pub fn build_with(
        &self,
        seed: u64,
        memo: Memo,
        extra: impl IntoIterator<Item = UserSpec>,
    ) -> Result<System, BuildError> {
        if self.services.is_empty() {
            return Err(BuildError::NoService);
        }
        // Each jump may be the longest (`clock::Jump::PastNotAfter`); past
        // the root's notAfter every certificate would fail on the root.
        let longest = self.modes.certificate_validity_ms.saturating_add(1000);
        if u64::from(self.clock_jumps).saturating_mul(longest) >= crate::x509::ROOT_VALIDITY {
            return Err(BuildError::ClockOutlivesRoot(
                self.clock_jumps,
                (crate::x509::ROOT_VALIDITY - 1) / longest,
            ));
        }
        let ca_in_portal = self.modes.ca_in_portal;
        if ca_in_portal && !self.services.iter().any(|s| s.portal) {
            return Err(BuildError::NoPortal);
        }
        let mut parties = Vec::with_capacity(self.services.len() + self.users.len() + 2);
        let mut names: BTreeMap<String, Id> = BTreeMap::new();
        let mut next = 0usize;
        let mut push =
            |name: &str, role: Role, parties: &mut Vec<Party>| -> Result<Id, BuildError> {
                if name == "CA" && !matches!(role, Role::Ca) || names.contains_key(name) {
                    return Err(BuildError::Duplicate(name.to_string()));
                }
                let id = Id::from(next);
                names.insert(name.to_string(), id);
                next += 1;
                parties.push(Party {
                    id,
                    name: name.into(),
                    role,
                });
                Ok(id)
            };
        if !ca_in_portal {
            push("CA", Role::Ca, &mut parties)?;
        }
        let mut portal_hosts_ca = ca_in_portal;
        for s in &self.services {
            let role = if s.portal && portal_hosts_ca {
                portal_hosts_ca = false;
                Role::PortalCa {
                    statement: s.statement.clone(),
                }
            } else {
                Role::Service {
                    portal: s.portal,
                    statement: s.statement.clone(),
                }
            };
            push(&s.name, role, &mut parties)?;
        }
        let service_ids: BTreeMap<compact_str::CompactString, Id> = parties
            .iter()
            .filter(|p| matches!(p.role, Role::Service { .. } | Role::PortalCa { .. }))
            .map(|p| (p.name.clone(), p.id))
            .collect();
        // Collected as lists and built into maps at once: a map built from
        // a sorted list packs its nodes full, one grown by inserts leaves
        // them about half empty (it matters at millions of accounts).
        let mut subjects = Vec::new();
        let mut accounts = Vec::new();
        for u in self.users.iter().cloned().chain(extra) {
            let uid = push(&u.name, Role::User, &mut parties)?;
            let mut logins: Vec<Arc<str>> = Vec::new();
            for (service, (login, password)) in &u.accounts {
                // V2: the user's one finger (its id), whatever the account.
                let secret = match self.modes.primary_auth {
                    PrimaryAuth::Password => password.as_str(),
                    PrimaryAuth::Biometric => u.name.as_str(),
                };
                let sid = service_ids.get(service.as_str()).copied().ok_or_else(|| {
                    BuildError::UnknownService {
                        user: u.name.clone(),
                        service: service.clone(),
                    }
                })?;
                // One allocation per distinct login of a user, shared by
                // its accounts (a workload's user has one login everywhere).
                let login = match logins.iter().find(|l| ***l == **login) {
                    Some(l) => Arc::clone(l),
                    None => {
                        let l: Arc<str> = login.as_str().into();
                        logins.push(l.clone());
                        l
                    }
                };
                accounts.push((
                    (uid, sid),
                    credential(self.modes.primary_auth, login, secret),
                ));
            }
            subjects.push((uid, Arc::new(u.subject)));
        }
        if let Some(a) = &self.attacker {
            push(a, Role::Attacker, &mut parties)?;
        }
        if self.clock_jumps > 0 {
            push("clock", Role::Clock, &mut parties)?;
        }
        let authority =
            CertificateAuthority::new(&key_seed(seed, KeyStream::Ca, 0), "commoncert CA")?;
        let anchor = authority.trust_anchor();
        let arena = Arena::new(memo);
        // Adversaries' own genuine certificates: a malicious service's
        // operator's (registered with that service) and the network
        // attacker's (registered with the first service).
        let first_service = service_ids.values().min().copied();
        let mut own = BTreeMap::new();
        let mut own_keys = BTreeMap::new();
        for p in &parties {
            let registered_at = match p.role {
                Role::Service { .. } | Role::PortalCa { .. }
                    if self
                        .services
                        .iter()
                        .any(|s| s.name == p.name && s.malicious) =>
                {
                    p.id
                }
                Role::Attacker if self.network_attacker => {
                    first_service.ok_or(BuildError::NoService)?
                }
                _ => continue,
            };
            let key = SigningKey::from_seed(&key_seed(
                seed,
                KeyStream::Attacker,
                usize::from(p.id) as u64,
            ));
            let subject = Subject {
                name: format!("Operator of {}", p.name),
                address: String::new(),
                email: format!("{}@adversary.example", p.name.to_lowercase()),
            };
            let serial = OWN_SERIAL_BASE + usize::from(p.id) as u64;
            let certificate = arena.issue(
                &authority,
                &CertRequest {
                    serial,
                    common_name: subject.name.clone(),
                    email: subject.email.clone(),
                    public_key: key.public_key(),
                    not_before: 0,
                    not_after: self.modes.certificate_validity_ms,
                },
            )?;
            own.insert(
                p.id,
                OwnCertificate {
                    serial,
                    subject,
                    certificate,
                    registered_at,
                },
            );
            own_keys.insert(p.id, key);
        }
        let mut dir = Directory::new(
            self.modes,
            parties,
            subjects.into_iter().collect(),
            accounts.into_iter().collect(),
            arena,
        );
        dir.hardening = self.hardening;
        dir.own = own;
        dir.adversaries = dir
            .parties
            .iter()
            .filter(|p| {
                p.role == Role::Attacker
                    || self
                        .services
                        .iter()
                        .any(|s| s.name == p.name && (s.curious || s.malicious))
            })
            .map(|p| p.id)
            .collect();
        let dir = Arc::new(dir);
        let clock = Clock::default();
        let spec_of = |name: &str| self.services.iter().find(|s| s.name == name);
        let service = |name: &str| {
            let malicious = spec_of(name).is_some_and(|s| s.malicious);
            let index = dir.by_name(name).map_or(0, usize::from) as u64;
            Service {
                own_key: dir.by_name(name).and_then(|id| own_keys.get(&id).cloned()),
                nonce_key: key_seed(seed, KeyStream::Service, index),
                dir: dir.clone(),
                anchor: anchor.clone(),
                clock: clock.clone(),
                defects: self.defects,
                curious: spec_of(name).is_some_and(|s| s.curious),
                malicious,
                autonomous_actions: self.autonomous_actions,
                timeouts: self.timeouts,
            }
        };
        let ca = Ca {
            dir: dir.clone(),
            authority: authority.clone(),
            anchor: anchor.clone(),
            clock: clock.clone(),
            defects: self.defects,
            seed,
        };
        let mut user_index = 0u64;
        let nodes = dir
            .parties
            .iter()
            .map(|p| match p.role {
                Role::Ca => Node::Ca(ca.clone()),
                Role::Service { .. } => Node::Service(service(&p.name)),
                Role::PortalCa { .. } => Node::PortalCa(service(&p.name), ca.clone()),
                Role::User => {
                    let key = SigningKey::from_seed(&key_seed(seed, KeyStream::User, user_index));
                    user_index += 1;
                    let identity = Identity {
                        subject: dir
                            .subjects
                            .get(&p.id)
                            .map(|s| Subject::clone(s))
                            .unwrap_or_else(|| Subject {
                                name: p.name.to_string(),
                                address: String::new(),
                                email: String::new(),
                            }),
                        key,
                        accounts: dir
                            .accounts
                            .range((p.id, Id::from(0))..=(p.id, Id::from(usize::MAX)))
                            .map(|((_, s), c)| (*s, c.clone()))
                            .collect(),
                    };
                    Node::User(User {
                        dir: dir.clone(),
                        identity: Arc::new(identity),
                        autonomous_actions: self.autonomous_actions,
                        concurrency: self.concurrency.max(1),
                        timeouts: self.timeouts,
                        defects: self.defects,
                    })
                }
                Role::Attacker => Node::Attacker(Attacker {
                    own_key: own_keys.get(&p.id).cloned(),
                    dir: dir.clone(),
                    autonomous_actions: self.autonomous_actions.map(|_| 1),
                    timeouts: self.timeouts,
                }),
                Role::Clock => Node::Clock(crate::clock::Jumps {
                    dir: dir.clone(),
                    budget: self.clock_jumps,
                }),
            })
            .collect();
        Ok(System {
            dir,
            nodes,
            clock,
            authority,
        })
    }
}

impl System {
    pub fn ca_root(&self) -> &Der {
        self.authority.root()
    }

    /// The user whose key (as it first starts) is `key`: whom a malicious
    /// service's substitution (`malicious::Move::Substitute`) is about.
    pub fn holder_of_key(&self, key: &[u8; 32]) -> Option<Id> {
        self.nodes.iter().enumerate().find_map(|(i, n)| match n {
            Node::User(u) if u.identity.key.public_key() == *key => Some(Id::from(i)),
            _ => None,
        })
    }
}

/// A small standard system: services A, B (and more), the first a portal when
/// asked, M users with an account at every service. Used by the checker's
/// configurations, the tests and the benches.
/// The standard systems' service names, in id order (the first is the portal
/// when there is one).
pub const SERVICE_NAMES: [&str; 8] = ["A", "B", "C", "D", "E", "F", "G", "H"];

pub fn standard_spec(services: usize, users: usize, portal: bool) -> SystemSpec {
    let names = SERVICE_NAMES;
    let services: Vec<ServiceSpec> = (0..services.clamp(1, names.len()))
        .map(|i| ServiceSpec {
            name: names[i].to_string(),
            portal: portal && i == 0,
            statement: Some(format!("balance of {}", names[i])),
            curious: false,
            malicious: false,
        })
        .collect();
    let users = (0..users)
        .map(|i| UserSpec {
            name: format!("u{i}"),
            subject: Subject {
                name: format!("User {i}"),
                address: format!("{i}-1 Chiyoda, Tokyo"),
                email: format!("u{i}@example.org"),
            },
            accounts: services
                .iter()
                .map(|s| {
                    (
                        s.name.clone(),
                        (format!("u{i}-{}", s.name), format!("pw-{i}-{}", s.name)),
                    )
                })
                .collect(),
        })
        .collect();
    SystemSpec {
        seed: 0,
        modes: Modes::default(),
        services,
        users,
        attacker: None,
        defects: Defects::default(),
        autonomous_actions: None,
        concurrency: 1,
        timeouts: false,
        memo: Memo::On,
        hardening: Hardening::default(),
        network_attacker: false,
        clock_jumps: 0,
    }
}

/// `commoncert pki`: run a small deterministic history (two users issue,
/// the second invalidates) with the FIFO driver and write what it produced as
/// PEM: the CA root, the user certificates, and the CRL listing the
/// invalidated serial.
pub fn export_demo_pki(
    seed: u64,
    dir: &std::path::Path,
) -> Result<Vec<std::path::PathBuf>, String> {
    use crate::node::Choice;
    use crate::user::{Command, Using};
    use crate::world::FifoDriver;
    let mut spec = standard_spec(2, 2, false);
    spec.seed = seed;
    // Virtual time starts at 2025-01-01; outside tools check against the wall
    // clock, so these certificates are made valid for twenty years.
    spec.modes.certificate_validity_ms = crate::x509::ROOT_VALIDITY;
    let system = spec.build().map_err(|e| e.to_string())?;
    let a = system.dir.by_name("A").ok_or("no service A")?;
    let users: Vec<Id> = system.dir.users().collect();
    let mut d = FifoDriver::new(system);
    for u in &users {
        d.run(
            *u,
            Choice::User(Command::Issue {
                service: a,
                credential: None,
            }),
        );
    }
    let (certs, _) = d.world.pki_material();
    if let Some(last) = users.last() {
        d.run(
            *last,
            Choice::User(Command::Invalidate {
                service: a,
                using: Using::Password,
                credential: None,
            }),
        );
    }
    let (_, crls) = d.world.pki_material();
    crate::x509::export_pem(dir, d.world.system.ca_root(), &certs, &crls)
        .map_err(|e| format!("{}: {e}", dir.display()))
}
