//! The patent's tables: Fig. 5 and Fig. 6 at the CA, Fig. 7 at each service.
//!
//! Only ordered collections: the model checker hashes these and the simulator
//! prints them, so iteration order must never depend on a hasher.

use crate::config::{Credential, Subject};
use crate::hashed::Hashed;
use serde::{Deserialize, Serialize};
use stateright::actor::Id;
use std::collections::BTreeSet;
use std::sync::Arc;

/// A certificate serial number, unique per CA (RFC 5280: positive).
pub type Serial = u64;

/// Fig. 5: one row per certificate.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CertificateRow {
    pub serial: Serial,
    pub subject: Subject,
}

/// Fig. 5 + Fig. 6 as one row (variant T1).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MergedRow {
    pub subject: Subject,
    pub services: BTreeSet<Id>,
}

/// The CA's certificate management DB 35: Fig. 5 and Fig. 6, or (T1) one table.
///
/// Both layouts answer the same questions; the variant changes only how the
/// rows are kept (one delete instead of two at P13/S10).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CaTables {
    pub kept: Kept,
    /// An index on the subject name (as a database would keep one): the
    /// serials registered per subject, and the subjects with more than one.
    by_subject: crate::pmap::PMap<String, BTreeSet<Serial>>,
    crowded: crate::pmap::PSet<String>,
}

/// How the rows are kept: Fig. 5 and Fig. 6 apart, or (T1) as one table.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Kept {
    Split {
        /// Fig. 5, keyed by serial.
        certificates: crate::pmap::PMap<Serial, CertificateRow>,
        /// Fig. 6: serial -> the services the certificate may be used for.
        available: crate::pmap::PMap<Serial, BTreeSet<Id>>,
    },
    /// Variant T1.
    Merged(crate::pmap::PMap<Serial, MergedRow>),
}

impl CaTables {
    pub fn new(merged: bool) -> Self {
        let kept = if merged {
            Kept::Merged(crate::pmap::PMap::new())
        } else {
            Kept::Split {
                certificates: crate::pmap::PMap::new(),
                available: crate::pmap::PMap::new(),
            }
        };
        CaTables {
            kept,
            by_subject: crate::pmap::PMap::new(),
            crowded: crate::pmap::PSet::new(),
        }
    }

    /// The same tables with every subject renamed by `name` (symmetry):
    /// rows, the subject index and the crowded set alike.
    pub fn renamed(
        &self,
        subject: impl Fn(&Subject) -> Subject,
        name: impl Fn(&str) -> String,
    ) -> Self {
        let kept = match &self.kept {
            Kept::Split {
                certificates,
                available,
            } => Kept::Split {
                certificates: certificates
                    .iter()
                    .map(|(s, row)| {
                        (
                            *s,
                            CertificateRow {
                                serial: row.serial,
                                subject: subject(&row.subject),
                            },
                        )
                    })
                    .collect(),
                available: available.clone(),
            },
            Kept::Merged(rows) => Kept::Merged(
                rows.iter()
                    .map(|(s, row)| {
                        (
                            *s,
                            MergedRow {
                                subject: subject(&row.subject),
                                services: row.services.clone(),
                            },
                        )
                    })
                    .collect(),
            ),
        };
        CaTables {
            kept,
            by_subject: self
                .by_subject
                .iter()
                .map(|(n, serials)| (name(n), serials.clone()))
                .collect(),
            crowded: self.crowded.iter().map(|n| name(n)).collect(),
        }
    }

    pub fn is_merged(&self) -> bool {
        matches!(self.kept, Kept::Merged(_))
    }

    /// Subjects with more than one registered certificate.
    pub fn subjects_with_several_certificates(&self) -> &crate::pmap::PSet<String> {
        &self.crowded
    }

    fn index_add(&mut self, name: &str, serial: Serial) {
        let serials = self.by_subject.get_or_default(name.to_string());
        serials.insert(serial);
        if serials.len() > 1 {
            self.crowded.insert(name.to_string());
        }
    }

    fn index_remove(&mut self, name: &str, serial: Serial) {
        if let Some(serials) = self.by_subject.get_mut(name) {
            serials.remove(&serial);
            if serials.len() <= 1 {
                self.crowded.remove(name);
            }
            if serials.is_empty() {
                self.by_subject.remove(name);
            }
        }
    }

    /// S7/P2: record a newly issued certificate with its first service.
    pub fn register(&mut self, serial: Serial, subject: Subject, first_service: Id) {
        self.index_add(&subject.name, serial);
        match &mut self.kept {
            Kept::Split {
                certificates,
                available,
            } => {
                certificates.insert(serial, CertificateRow { serial, subject });
                available.insert(serial, BTreeSet::from([first_service]));
            }
            Kept::Merged(rows) => {
                rows.insert(
                    serial,
                    MergedRow {
                        subject,
                        services: BTreeSet::from([first_service]),
                    },
                );
            }
        }
    }

    pub fn is_registered(&self, serial: Serial) -> bool {
        match &self.kept {
            Kept::Split { certificates, .. } => certificates.contains_key(&serial),
            Kept::Merged(rows) => rows.contains_key(&serial),
        }
    }

    /// Fig. 5: the subject `serial` was issued to, if it is registered.
    pub fn subject_of(&self, serial: Serial) -> Option<&Subject> {
        match &self.kept {
            Kept::Split { certificates, .. } => certificates.get(&serial).map(|r| &r.subject),
            Kept::Merged(rows) => rows.get(&serial).map(|r| &r.subject),
        }
    }

    /// Fig. 6: the services `serial` may be used for, if it is registered.
    pub fn services(&self, serial: Serial) -> Option<&BTreeSet<Id>> {
        match &self.kept {
            Kept::Split { available, .. } => available.get(&serial),
            Kept::Merged(rows) => rows.get(&serial).map(|r| &r.services),
        }
    }

    fn services_mut(&mut self, serial: Serial) -> Option<&mut BTreeSet<Id>> {
        match &mut self.kept {
            Kept::Split { available, .. } => available.get_mut(&serial),
            Kept::Merged(rows) => rows.get_mut(&serial).map(|r| &mut r.services),
        }
    }

    /// S18/P6: add `service`; false if the serial is not registered.
    pub fn add_service(&mut self, serial: Serial, service: Id) -> bool {
        self.services_mut(serial)
            .map(|s| {
                s.insert(service);
            })
            .is_some()
    }

    /// S20-4: delete `service`; false if the serial is not registered.
    /// S20-4: delete `service` from the serial's services. None if the
    /// serial is not registered, else whether the service was listed.
    pub fn remove_service(&mut self, serial: Serial, service: Id) -> Option<bool> {
        self.services_mut(serial).map(|s| s.remove(&service))
    }

    /// P13/S10: delete the certificate's rows; the services it had, if any.
    pub fn delete(&mut self, serial: Serial) -> Option<BTreeSet<Id>> {
        let (name, services) = match &mut self.kept {
            Kept::Split {
                certificates,
                available,
            } => {
                let row = certificates.remove(&serial)?;
                (
                    row.subject.name,
                    available.remove(&serial).unwrap_or_default(),
                )
            }
            Kept::Merged(rows) => rows.remove(&serial).map(|r| (r.subject.name, r.services))?,
        };
        self.index_remove(&name, serial);
        Some(services)
    }

    /// Every registered certificate: (serial, subject, services), by serial.
    pub fn rows(&self) -> Vec<(Serial, &Subject, BTreeSet<Id>)> {
        match &self.kept {
            Kept::Split {
                certificates,
                available,
            } => certificates
                .iter()
                .map(|(s, row)| {
                    (
                        *s,
                        &row.subject,
                        available.get(s).cloned().unwrap_or_default(),
                    )
                })
                .collect(),
            Kept::Merged(rows) => rows
                .iter()
                .map(|(s, row)| (*s, &row.subject, row.services.clone()))
                .collect(),
        }
    }

    /// The serials registered for a subject name.
    pub fn serials_of(&self, name: &str) -> Vec<Serial> {
        self.by_subject
            .get(name)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default()
    }
}

/// How a serial came into a Fig. 7 row. The patent labels the same act P21
/// at the issuing service (A) and P23 elsewhere (B), so the row remembers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Link {
    /// S8: issued through this service.
    Issued,
    /// S19: qualified at this service.
    Qualified,
}

/// What a service keeps to check a primary credential; never the password itself.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Verifier {
    /// SHA-256 over a domain tag, the login and the password.
    PasswordDigest([u8; 32]),
    /// V2: the enrolled template.
    Template([u8; 16]),
}

/// The largest Hamming distance at which a biometric sample matches (V2).
pub const BIOMETRIC_TOLERANCE_BITS: u32 = 12;

impl Verifier {
    pub fn enrol(credential: &Credential) -> Self {
        match credential {
            Credential::Password { login, password } => {
                Verifier::PasswordDigest(password_digest(login, password))
            }
            Credential::Biometric { sample, .. } => Verifier::Template(*sample),
        }
    }

    /// S4/S16: does `credential` match?
    pub fn accepts(&self, credential: &Credential) -> bool {
        match (self, credential) {
            (Verifier::PasswordDigest(d), Credential::Password { login, password }) => {
                password_digest(login, password) == *d
            }
            (Verifier::Template(t), Credential::Biometric { sample, .. }) => {
                let distance: u32 = t
                    .iter()
                    .zip(sample)
                    .map(|(a, b)| (a ^ b).count_ones())
                    .sum();
                distance <= BIOMETRIC_TOLERANCE_BITS
            }
            _ => false,
        }
    }
}

/// What a service stores for a password: SHA-256 over a domain tag, the
/// login and the password.
pub fn password_digest(login: &str, password: &str) -> [u8; 32] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(b"commoncert-password\0");
    ctx.update(login.as_bytes());
    ctx.update(b"\0");
    ctx.update(password.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// Fig. 7: one row per user account at a service.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UserRow {
    /// The user ID (login), shared with the table's key and the account's
    /// credential.
    pub login: Arc<str>,
    pub verifier: Verifier,
    /// Shared with the directory (`Directory::subjects`).
    pub subject: Arc<Subject>,
    /// The serial of the linked common certificate; empty until one is linked.
    pub serial: Option<(Serial, Link)>,
}

impl UserRow {
    /// S5/enrolment: the row of an account, holding no serial yet.
    fn enrol(credential: &Credential, subject: Arc<Subject>) -> UserRow {
        let login = match credential {
            Credential::Password { login, .. } | Credential::Biometric { login, .. } => login,
        };
        UserRow {
            login: login.clone(),
            verifier: Verifier::enrol(credential),
            subject,
            serial: None,
        }
    }
}

/// Fig. 7: the user information management table, keyed by login.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UserTable {
    /// Shared between the checker's states until a row changes, and hashed
    /// once per change: most events at a service touch sessions, not rows.
    pub rows: Arc<Hashed<crate::rows::Rows<Arc<str>, UserRow>>>,
    /// serial -> the logins whose row holds it (an index over `rows`, so that
    /// S13 is a lookup, not a scan, at 100,000 rows).
    #[serde(skip)]
    linked: crate::pmap::PMap<Serial, BTreeSet<Arc<str>>>,
}

impl UserTable {
    pub fn enrol(&mut self, credential: &Credential, subject: Arc<Subject>) {
        let row = UserRow::enrol(credential, subject);
        Arc::make_mut(&mut self.rows).insert(row.login.clone(), row);
    }

    /// A table of these accounts, none linked (as `enrol` one by one, a
    /// later account replacing an earlier one with the same login), built
    /// at once so that its nodes are packed full.
    pub fn enrolled<'c>(
        accounts: impl IntoIterator<Item = (&'c Credential, Arc<Subject>)>,
    ) -> Self {
        let rows = accounts
            .into_iter()
            .map(|(credential, subject)| {
                let row = UserRow::enrol(credential, subject);
                (row.login.clone(), row)
            })
            .collect();
        UserTable {
            rows: Arc::new(Hashed::new(rows)),
            linked: crate::pmap::PMap::new(),
        }
    }

    /// S4/S16: the row whose credential matches.
    pub fn authenticate(&self, credential: &Credential) -> Option<&UserRow> {
        self.rows
            .get(credential.login())
            .filter(|row| row.verifier.accepts(credential))
    }

    /// S13: the row holding `serial`.
    pub fn by_serial(&self, serial: Serial) -> Option<&UserRow> {
        let login = self.linked.get(&serial)?.iter().next()?;
        self.rows.get(login)
    }

    /// S8/S19: link `serial` to the row of `login`.
    pub fn link(&mut self, login: &str, serial: Serial, how: Link) -> bool {
        if !self.rows.contains_key(login) {
            return false;
        }
        let Some(row) = Arc::make_mut(&mut self.rows).get_mut(login) else {
            return false;
        };
        let key = row.login.clone();
        if let Some((old, _)) = row.serial.replace((serial, how))
            && let Some(logins) = self.linked.get_mut(&old)
        {
            logins.remove(login);
            if logins.is_empty() {
                self.linked.remove(&old);
            }
        }
        self.linked.get_or_default(serial).insert(key);
        true
    }

    /// P15/S20-2/S10/V1: delete `serial` wherever it is linked.
    pub fn unlink(&mut self, serial: Serial) -> bool {
        let Some(logins) = self.linked.remove(&serial) else {
            return false;
        };
        let rows = Arc::make_mut(&mut self.rows);
        for login in logins {
            if let Some(row) = rows.get_mut(&login) {
                row.serial = None;
            }
        }
        true
    }

    /// The same table with every account renamed by `login` (symmetry): a
    /// row moves its link to the row of the renamed login, whose other
    /// columns (the verifier, the subject) are that account's own. `None` if
    /// a renamed login has no row here (the accounts are not symmetric).
    pub fn renamed(&self, login: impl Fn(&str) -> String) -> Option<Self> {
        let mut rows = Vec::new();
        for (name, row) in self.rows.iter() {
            let to: Arc<str> = login(name).into();
            let mut moved = self.rows.get(&to)?.clone();
            moved.serial = row.serial;
            rows.push((to, moved));
        }
        Some(UserTable {
            rows: Arc::new(Hashed::new(rows.into_iter().collect())),
            linked: self
                .linked
                .iter()
                .map(|(s, logins)| {
                    let renamed: BTreeSet<Arc<str>> =
                        logins.iter().map(|l| login(l).into()).collect();
                    (*s, renamed)
                })
                .collect(),
        })
    }

    pub fn holds(&self, serial: Serial) -> bool {
        self.by_serial(serial).is_some()
    }

    /// Every linked serial with the row that holds it.
    /// The rows that hold `serial`.
    pub fn rows_linked_to(&self, serial: Serial) -> impl Iterator<Item = &UserRow> {
        self.linked
            .get(&serial)
            .into_iter()
            .flatten()
            .filter_map(|l| self.rows.get(l))
    }

    pub fn linked_rows(&self) -> impl Iterator<Item = (Serial, &UserRow)> {
        self.linked.iter().flat_map(move |(serial, logins)| {
            logins
                .iter()
                .filter_map(move |l| self.rows.get(l).map(|row| (*serial, row)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject(name: &str) -> Subject {
        Subject {
            name: name.into(),
            address: "1-1 Chiyoda".into(),
            email: format!("{name}@example.org"),
        }
    }

    #[test]
    fn split_and_merged_tables_answer_alike() {
        for merged in [false, true] {
            let mut t = CaTables::new(merged);
            t.register(7, subject("taro"), Id::from(1));
            assert!(t.add_service(7, Id::from(2)));
            assert!(!t.add_service(8, Id::from(2)));
            assert_eq!(
                t.services(7).cloned(),
                Some(BTreeSet::from([Id::from(1), Id::from(2)]))
            );
            assert_eq!(t.remove_service(7, Id::from(1)), Some(true));
            assert_eq!(t.serials_of("taro"), vec![7]);
            assert_eq!(t.delete(7), Some(BTreeSet::from([Id::from(2)])));
            assert!(!t.is_registered(7));
            assert_eq!(t.delete(7), None);
        }
    }

    #[test]
    fn the_subject_index_agrees_with_the_rows() {
        for merged in [false, true] {
            let mut t = CaTables::new(merged);
            t.register(1, subject("taro"), Id::from(1));
            assert!(t.subjects_with_several_certificates().is_empty());
            t.register(2, subject("taro"), Id::from(2));
            t.register(3, subject("hanako"), Id::from(2));
            assert_eq!(t.serials_of("taro"), vec![1, 2]);
            assert!(t.subjects_with_several_certificates().contains("taro"));
            t.delete(1);
            assert!(t.subjects_with_several_certificates().is_empty());
            assert_eq!(t.serials_of("taro"), vec![2]);
            let scanned: Vec<Serial> = t
                .rows()
                .into_iter()
                .filter(|(_, s, _)| s.name == "taro")
                .map(|(s, _, _)| s)
                .collect();
            assert_eq!(scanned, t.serials_of("taro"));
        }
    }

    #[test]
    fn passwords_are_checked_by_digest_and_biometrics_within_tolerance() {
        let pw = Credential::Password {
            login: "taro".into(),
            password: "pw-a".into(),
        };
        let mut table = UserTable::default();
        table.enrol(&pw, Arc::new(subject("taro")));
        assert!(table.authenticate(&pw).is_some());
        let wrong = Credential::Password {
            login: "taro".into(),
            password: "pw-b".into(),
        };
        assert!(table.authenticate(&wrong).is_none());

        let template = [0x5a; 16];
        let v = Verifier::enrol(&Credential::Biometric {
            login: "t".into(),
            sample: template,
        });
        let mut noisy = template;
        noisy[0] ^= 0b111;
        assert!(v.accepts(&Credential::Biometric {
            login: "t".into(),
            sample: noisy
        }));
        assert!(!v.accepts(&Credential::Biometric {
            login: "t".into(),
            sample: [0xa5; 16]
        }));
    }

    #[test]
    fn linking_and_unlinking_a_serial() {
        let pw = Credential::Password {
            login: "taro".into(),
            password: "x".into(),
        };
        let mut table = UserTable::default();
        table.enrol(&pw, Arc::new(subject("taro")));
        assert!(table.link("taro", 5, Link::Qualified));
        assert!(table.holds(5));
        assert!(table.unlink(5));
        assert!(!table.holds(5));
        assert!(!table.link("nobody", 5, Link::Issued));
    }
}
