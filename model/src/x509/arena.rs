//! What parties hold instead of bytes: small handles into the run's arena of
//! real X.509 objects, and the verdicts on them, remembered.
//!
//! A model-checker state used to carry every certificate, CRL and signature
//! as DER, so that hashing a state hashed kilobytes and every transition
//! that issued or verified ran rcgen, x509-parser and Ed25519. Now a state
//! carries a [`CertId`], [`CrlId`] or [`SigId`]: the first 8 bytes of the
//! SHA-256 of the object's DER (the fingerprint traces have always shown).
//! A handle is derived from the object's content alone, so it is the same in
//! every process and thread whatever the order of discovery, and two states
//! that hold the same certificate hold the same handle.
//!
//! The [`Arena`] is owned by the running system (`System::arena`) and shared
//! by its parties. It holds the bytes of every object issued in the run and,
//! in [`Memo::On`], remembers:
//! * issuance: the same request to the same CA gives the same handle without
//!   signing again (issuance is deterministic, so this changes no byte);
//! * certificate checks per (certificate, anchor): the time-independent
//!   verdict of `TrustAnchor::verify_certificate` steps 1-11 and the exact
//!   validity window, which is compared with `now` on every call, so the
//!   verdict is in effect memoised per (certificate, anchor, time);
//! * CRL checks per (CRL, anchor), proofs per (key, challenge, signature).
//!
//! Revocation state is not part of any certificate verdict: the check never
//! consults a CRL; services judge revocation from their tables and from CRLs
//! verified on their own.
//!
//! [`Memo::Off`] is the concrete reading: every issuance runs rcgen, every
//! check parses and verifies the DER with x509-parser and ring, every proof
//! is signed and verified again; only the handle -> bytes table remains, the
//! wire a real network would carry. The concretisation test replays the
//! checker's counterexamples and the shipped scenarios both ways and asserts
//! the same verdicts and steps. [`Memo::Stale`] is a deliberate defect for
//! that test: certificate verdicts are remembered with their time, so an
//! expired certificate stays accepted.

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::sync::{Arc, PoisonError, RwLock};

use serde::{Deserialize, Serialize};

use crate::rejection::Rejection;
use crate::x509::crl::CrlInfo;
use crate::x509::csr::{self, CsrInfo};
use crate::x509::der::{Der, serial_from_integer_content};
use crate::x509::issue::{CertRequest, CertificateAuthority, PkiError};
use crate::x509::keys::SigningKey;
use crate::x509::proof::verify_proof;
use crate::x509::time::VirtualTime;
use crate::x509::verify_cert::{CertInfo, Checked, TrustAnchor};

/// The first 8 bytes of the SHA-256 of `bytes`, big-endian.
pub fn digest64(bytes: &[u8]) -> u64 {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest.as_ref()[..8]);
    u64::from_be_bytes(first)
}

/// `v` as 16 lower-case hex digits, zero-padded.
fn hex16(v: u64) -> [u8; 16] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 16];
    for (i, d) in out.iter_mut().enumerate() {
        *d = DIGITS[((v >> (60 - 4 * i)) & 0xf) as usize];
    }
    out
}

macro_rules! handle {
    ($(#[$doc:meta])* $name:ident, $tag:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub struct $name(pub u64);

        impl $name {
            /// The handle of these bytes.
            pub fn of(der: &[u8]) -> Self {
                $name(digest64(der))
            }

            /// The first 8 bytes of the SHA-256 of the DER, in lower-case
            /// hex: the same text as [`Der::fingerprint`].
            pub fn fingerprint(&self) -> String {
                self.to_string()
            }
        }

        /// The fingerprint, written without an intermediate `String` or
        /// the formatter's padding (a trace line names a certificate on
        /// most events): the text of `{:016x}`.
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let digits = hex16(self.0);
                f.write_str(std::str::from_utf8(&digits).map_err(|_| fmt::Error)?)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($tag, ":{:016x}"), self.0)
            }
        }
    };
}

handle!(
    /// A certificate, as parties hold and send it.
    CertId,
    "cert"
);
handle!(
    /// A CRL, as the CA sends it under V1.
    CrlId,
    "crl"
);
handle!(
    /// An Ed25519 signature (a proof of possession).
    SigId,
    "sig"
);
handle!(
    /// A PKCS#10 certification request (the hardening `csr`).
    CsrId,
    "csr"
);

/// Whether the arena remembers verdicts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Memo {
    /// Issue, sign and verify each object once; remember the verdicts.
    #[default]
    On,
    /// Issue, sign and verify on every call (the concrete reading).
    Off,
    /// Deliberate defect: remember certificate verdicts with the time they
    /// were reached, so a certificate that was valid stays valid.
    Stale,
}

/// One map behind a lock that a poisoned writer cannot break: a panic
/// mid-insert leaves a map that is still a valid cache.
struct Table<K, V>(RwLock<HashMap<K, V>>);

impl<K: Eq + Hash, V: Clone> Table<K, V> {
    fn new() -> Self {
        Table(RwLock::new(HashMap::new()))
    }

    fn get(&self, k: &K) -> Option<V> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(k)
            .cloned()
    }

    fn insert(&self, k: K, v: V) {
        self.0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(k, v);
    }

    fn len(&self) -> usize {
        self.0.read().unwrap_or_else(PoisonError::into_inner).len()
    }
}

/// A bounded cache of verdicts, least recently used first out, in two
/// generations: lookups read the young map, then the old one (promoting a
/// hit); when the young map is full it becomes the old one and the old one
/// is dropped. Memory stays at most two generations whatever the run's
/// length, a verdict used in the last generation survives, and a forgotten
/// one is simply computed again (every check is deterministic), so
/// eviction changes no verdict. It replaces a cache that cleared itself
/// wholesale at 4,096 entries.
struct Cache<K, V> {
    generations: RwLock<(HashMap<K, V>, HashMap<K, V>)>,
    capacity: usize,
}

impl<K: Eq + Hash + Clone, V: Clone> Cache<K, V> {
    fn new(capacity: usize) -> Self {
        Cache {
            generations: RwLock::new((HashMap::new(), HashMap::new())),
            capacity: capacity.max(1),
        }
    }

    fn get(&self, k: &K) -> Option<V> {
        let promote = {
            let g = self
                .generations
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some(v) = g.0.get(k) {
                return Some(v.clone());
            }
            g.1.get(k).cloned()?
        };
        self.insert(k.clone(), promote.clone());
        Some(promote)
    }

    fn insert(&self, k: K, v: V) {
        let mut g = self
            .generations
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        g.0.insert(k, v);
        if g.0.len() >= self.capacity {
            g.1 = std::mem::take(&mut g.0);
        }
    }

    fn len(&self) -> usize {
        let g = self
            .generations
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        g.0.len() + g.1.len()
    }
}

/// Entries per generation of each verdict cache: a checker's few hundred
/// certificates never reach it; a million-user workload's do.
const CACHE_GENERATION: usize = 1 << 18;

/// A proof's verdict is remembered per (key, challenge, signature).
type ProofKey = ([u8; 32], Vec<u8>, SigId);

/// The run's X.509 objects and the verdicts on them. Cheap to clone (shared).
#[derive(Clone)]
pub struct Arena(Arc<Inner>);

struct Inner {
    memo: Memo,
    /// handle -> DER, for certificates, CRLs and signatures alike.
    bytes: Table<u64, Der>,
    issued: Table<(u64, CertRequest), CertId>,
    /// What each issued certificate certifies, and by whom: a certificate
    /// can be issued again for another subject (symmetry's renaming).
    origins: Table<CertId, (CertificateAuthority, CertRequest)>,
    /// Who signed what, for the same reason.
    signers: Table<SigId, ([u8; 32], Vec<u8>)>,
    crls: Table<(u64, u64, Vec<u64>, VirtualTime), CrlId>,
    /// The serials each CRL this run made lists (for the properties, which
    /// judge what a notification told its receiver without a trust decision).
    crl_listed: Table<CrlId, Vec<u64>>,
    signed: Cache<([u8; 32], Vec<u8>), SigId>,
    checked: Cache<(CertId, u64), Result<Checked, Rejection>>,
    /// The deliberate defect's memory: never evicted, so the defect shows.
    stale: Table<(CertId, u64), Result<CertInfo, Rejection>>,
    crl_verdicts: Cache<(CrlId, u64), Result<CrlInfo, Rejection>>,
    proofs: Cache<ProofKey, Result<(), Rejection>>,
    /// Certification requests made, per (key, common name, e-mail), and
    /// the verdicts on them.
    requests: Cache<([u8; 32], String, String), CsrId>,
    request_verdicts: Cache<CsrId, Result<CsrInfo, Rejection>>,
    /// Time spent in cryptography and X.509 encoding and parsing (rcgen,
    /// x509-parser, ring), in ns: the benchmark's split of a run's cost.
    /// Never read by anything that affects a trace.
    crypto_ns: std::sync::atomic::AtomicU64,
}

impl fmt::Debug for Arena {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Arena")
            .field("memo", &self.0.memo)
            .field("objects", &self.0.bytes.len())
            .finish()
    }
}

/// Arenas compare by identity: a directory holds one, and two directories
/// are the same only if they share it.
impl PartialEq for Arena {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Arena {}

/// Hashes nothing: consistent with identity equality, and a state's
/// fingerprint must not depend on where an arena lives.
impl Hash for Arena {
    fn hash<H: std::hash::Hasher>(&self, _: &mut H) {}
}

impl Default for Arena {
    fn default() -> Self {
        Arena::new(Memo::On)
    }
}

impl Arena {
    pub fn new(memo: Memo) -> Self {
        Arena(Arc::new(Inner {
            memo,
            bytes: Table::new(),
            issued: Table::new(),
            origins: Table::new(),
            signers: Table::new(),
            crls: Table::new(),
            crl_listed: Table::new(),
            signed: Cache::new(CACHE_GENERATION),
            checked: Cache::new(CACHE_GENERATION),
            stale: Table::new(),
            crl_verdicts: Cache::new(CACHE_GENERATION),
            proofs: Cache::new(CACHE_GENERATION),
            requests: Cache::new(CACHE_GENERATION),
            request_verdicts: Cache::new(CACHE_GENERATION),
            crypto_ns: std::sync::atomic::AtomicU64::new(0),
        }))
    }

    /// Run `f`, a piece of cryptography, adding its time to the tally
    /// (read from the TSC: it is timed on every signature and check).
    fn timed<T>(&self, f: impl FnOnce() -> T) -> T {
        let started = quanta::Instant::now();
        let out = f();
        let ns = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.0
            .crypto_ns
            .fetch_add(ns, std::sync::atomic::Ordering::Relaxed);
        out
    }

    /// Wall time spent so far in cryptography and X.509 encoding and
    /// parsing (issuing, signing, verifying), for the simulator's cost split.
    pub fn crypto_time(&self) -> std::time::Duration {
        std::time::Duration::from_nanos(self.0.crypto_ns.load(std::sync::atomic::Ordering::Relaxed))
    }

    pub fn memo(&self) -> Memo {
        self.0.memo
    }

    fn remembers(&self) -> bool {
        self.0.memo != Memo::Off
    }

    /// Keep `der` under its handle. Two different objects with one handle
    /// (a 64-bit collision of SHA-256 prefixes) would make handles ambiguous;
    /// that is refused rather than silently merged.
    fn keep(&self, der: Der) -> Result<u64, PkiError> {
        let id = digest64(der.as_bytes());
        match self.0.bytes.get(&id) {
            Some(known) if known != der => Err(PkiError::HandleCollision(format!("{id:016x}"))),
            Some(_) => Ok(id),
            None => {
                self.0.bytes.insert(id, der);
                Ok(id)
            }
        }
    }

    /// The handle of certificate bytes from outside (off the wire, from a
    /// test or a fuzzer), kept so that a service can check them.
    pub fn keep_certificate(&self, der: Der) -> Result<CertId, PkiError> {
        self.keep(der).map(CertId)
    }

    /// The handle of CRL bytes from outside.
    pub fn keep_crl(&self, der: Der) -> Result<CrlId, PkiError> {
        self.keep(der).map(CrlId)
    }

    /// The handle of signature bytes from outside.
    pub fn keep_signature(&self, bytes: Vec<u8>) -> Result<SigId, PkiError> {
        self.keep(Der::from(bytes)).map(SigId)
    }

    /// The DER behind a handle, if this run made it.
    pub fn der(&self, id: u64) -> Option<Der> {
        self.0.bytes.get(&id)
    }

    /// How many objects the run has made (certificates, CRLs, signatures).
    pub fn objects(&self) -> usize {
        self.0.bytes.len()
    }

    /// How many certificate verdicts are remembered.
    pub fn remembered_verdicts(&self) -> usize {
        self.0.checked.len() + self.0.stale.len()
    }

    /// Issue `req` with `ca` (rcgen), once per (CA, request) when remembering.
    pub fn issue(&self, ca: &CertificateAuthority, req: &CertRequest) -> Result<CertId, PkiError> {
        let key = (ca.id(), req.clone());
        if self.remembers()
            && let Some(id) = self.0.issued.get(&key)
        {
            return Ok(id);
        }
        let id = CertId(self.keep(self.timed(|| ca.issue(req))?)?);
        if self.remembers() {
            self.0.issued.insert(key, id);
        }
        self.0.origins.insert(id, (ca.clone(), req.clone()));
        Ok(id)
    }

    /// A CRL of `ca` (rcgen), once per (CA, number, serials, time) when remembering.
    pub fn crl(
        &self,
        ca: &CertificateAuthority,
        crl_number: u64,
        revoked: &[u64],
        at: VirtualTime,
    ) -> Result<CrlId, PkiError> {
        let key = (ca.id(), crl_number, revoked.to_vec(), at);
        if self.remembers()
            && let Some(id) = self.0.crls.get(&key)
        {
            return Ok(id);
        }
        let id = CrlId(self.keep(self.timed(|| ca.crl(crl_number, revoked, at))?)?);
        if self.remembers() {
            self.0.crls.insert(key, id);
        }
        self.0.crl_listed.insert(id, revoked.to_vec());
        Ok(id)
    }

    /// Sign `msg` with `key` (Ed25519 is deterministic, so once suffices).
    pub fn sign(&self, key: &SigningKey, msg: &[u8]) -> Result<SigId, PkiError> {
        let k = (key.public_key(), msg.to_vec());
        if self.remembers()
            && let Some(id) = self.0.signed.get(&k)
        {
            return Ok(id);
        }
        let id = SigId(self.keep(Der::from(self.timed(|| key.sign(msg))))?);
        if self.remembers() {
            self.0.signed.insert(k.clone(), id);
        }
        self.0.signers.insert(id, k);
        Ok(id)
    }

    /// [`TrustAnchor::verify_certificate`] of the certificate behind `cert`
    /// at `now`. A handle this run never made is [`Rejection::Malformed`]:
    /// there are no bytes to check.
    pub fn verify_certificate(
        &self,
        anchor: &TrustAnchor,
        cert: CertId,
        now: VirtualTime,
    ) -> Result<CertInfo, Rejection> {
        let key = (cert, anchor.id());
        match self.0.memo {
            Memo::Off => {
                let der = self.der(cert.0).ok_or(Rejection::Malformed)?;
                self.timed(|| anchor.verify_certificate(der.as_bytes(), now))
            }
            Memo::On => {
                let checked = match self.0.checked.get(&key) {
                    Some(c) => c,
                    None => {
                        let der = self.der(cert.0).ok_or(Rejection::Malformed)?;
                        let c = self.timed(|| anchor.check(der.as_bytes()));
                        self.0.checked.insert(key, c.clone());
                        c
                    }
                };
                checked?.at(now)
            }
            Memo::Stale => {
                if let Some(verdict) = self.0.stale.get(&key) {
                    return verdict;
                }
                let der = self.der(cert.0).ok_or(Rejection::Malformed)?;
                let verdict = self.timed(|| anchor.verify_certificate(der.as_bytes(), now));
                self.0.stale.insert(key, verdict.clone());
                verdict
            }
        }
    }

    /// [`TrustAnchor::verify_crl_info`] of the CRL behind `crl`.
    pub fn verify_crl(&self, anchor: &TrustAnchor, crl: CrlId) -> Result<CrlInfo, Rejection> {
        let key = (crl, anchor.id());
        if self.remembers()
            && let Some(v) = self.0.crl_verdicts.get(&key)
        {
            return v;
        }
        let der = self.der(crl.0).ok_or(Rejection::CrlMalformed)?;
        let verdict = self.timed(|| anchor.verify_crl_info(der.as_bytes()));
        if self.remembers() {
            self.0.crl_verdicts.insert(key, verdict.clone());
        }
        verdict
    }

    /// [`verify_proof`] of the signature behind `sig`.
    pub fn verify_proof(
        &self,
        public_key: &[u8; 32],
        message: &[u8],
        sig: SigId,
    ) -> Result<(), Rejection> {
        let key = (*public_key, message.to_vec(), sig);
        if self.remembers()
            && let Some(v) = self.0.proofs.get(&key)
        {
            return v;
        }
        let bytes = self.der(sig.0).ok_or(Rejection::BadProof)?;
        let verdict = self.timed(|| verify_proof(public_key, message, bytes.as_bytes()));
        if self.remembers() {
            self.0.proofs.insert(key, verdict);
        }
        verdict
    }

    /// A certification request signed with `key` for this subject (rcgen;
    /// Ed25519 is deterministic, so once suffices).
    pub fn request(
        &self,
        key: &SigningKey,
        common_name: &str,
        email: &str,
    ) -> Result<CsrId, PkiError> {
        let k = (key.public_key(), common_name.to_string(), email.to_string());
        if self.remembers()
            && let Some(id) = self.0.requests.get(&k)
        {
            return Ok(id);
        }
        let id = CsrId(self.keep(self.timed(|| csr::request(key, common_name, email))?)?);
        if self.remembers() {
            self.0.requests.insert(k, id);
        }
        Ok(id)
    }

    /// [`csr::verify_request`] of the request behind `csr`.
    pub fn verify_request(&self, csr: CsrId) -> Result<CsrInfo, Rejection> {
        if self.remembers()
            && let Some(v) = self.0.request_verdicts.get(&csr)
        {
            return v;
        }
        let der = self.der(csr.0).ok_or(Rejection::CsrMalformed)?;
        let verdict = self.timed(|| csr::verify_request(der.as_bytes()));
        if self.remembers() {
            self.0.request_verdicts.insert(csr, verdict.clone());
        }
        verdict
    }

    /// The CA and request `cert` was issued from, if this run issued it.
    pub fn origin(&self, cert: CertId) -> Option<(CertificateAuthority, CertRequest)> {
        self.0.origins.get(&cert)
    }

    /// The serials the CRL behind `crl` lists, if this run made it.
    pub fn crl_listed(&self, crl: CrlId) -> Option<Vec<u64>> {
        self.0.crl_listed.get(&crl)
    }

    /// The public key and message `sig` signs, if this run signed it.
    pub fn signed(&self, sig: SigId) -> Option<([u8; 32], Vec<u8>)> {
        self.0.signers.get(&sig)
    }

    /// The serial of the certificate behind `cert`, read without a trust
    /// decision (for reports, labels and the label checks).
    pub fn serial_of(&self, cert: CertId) -> Option<u64> {
        let der = self.der(cert.0)?;
        self.timed(|| {
            let (_, c) = x509_parser::parse_x509_certificate(der.as_bytes()).ok()?;
            serial_from_integer_content(c.raw_serial())
        })
    }

    /// The notAfter of the certificate behind `cert` (the last instant it
    /// is valid, a whole second), read without a trust decision.
    pub fn not_after(&self, cert: CertId) -> Option<VirtualTime> {
        let der = self.der(cert.0)?;
        self.timed(|| {
            let (_, c) = x509_parser::parse_x509_certificate(der.as_bytes()).ok()?;
            Some(crate::x509::time::virtual_time_from_unix_seconds(
                c.validity().not_after.timestamp(),
            ))
        })
    }

    /// The subject common name of the certificate behind `cert`, read
    /// without a trust decision (it is public: an eavesdropper reads it too).
    pub fn subject_of(&self, cert: CertId) -> Option<String> {
        let der = self.der(cert.0)?;
        self.timed(|| {
            let (_, c) = x509_parser::parse_x509_certificate(der.as_bytes()).ok()?;
            let cn = c.subject().iter_common_name().next()?;
            cn.as_str().ok().map(str::to_string)
        })
    }

    /// A certificate as a reader names it: `cert#serial(subject)`.
    pub fn label(&self, cert: CertId) -> String {
        match (self.serial_of(cert), self.subject_of(cert)) {
            (Some(serial), Some(subject)) => format!("cert#{serial}({subject})"),
            (Some(serial), None) => format!("cert#{serial}"),
            _ => format!("cert(unreadable, {})", cert.fingerprint()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x509::forge;

    #[test]
    fn the_verdict_cache_keeps_what_was_used_last_and_stays_bounded() {
        let c: Cache<u32, u32> = Cache::new(2);
        c.insert(1, 10);
        c.insert(2, 20); // young full: it becomes the old generation
        assert_eq!(c.get(&1), Some(10)); // promoted into the young one
        c.insert(3, 30); // young full again: 2 is forgotten
        assert_eq!(c.get(&2), None);
        assert_eq!((c.get(&1), c.get(&3)), (Some(10), Some(30)));
        for k in 0..100 {
            c.insert(k, k);
        }
        assert!(c.len() <= 4, "{}", c.len());
    }

    #[test]
    fn crypto_time_is_counted() {
        let arena = Arena::new(Memo::Off);
        let key = derive_key(1, KeyStream::User, 0);
        let before = arena.crypto_time();
        arena.sign(&key, b"x").expect("signs");
        assert!(arena.crypto_time() > before);
    }
    use crate::x509::keys::{KeyStream, derive_key, key_seed};
    use crate::x509::proof::challenge_bytes;
    use crate::x509::time::DAY;

    fn ca() -> CertificateAuthority {
        CertificateAuthority::new(&key_seed(3, KeyStream::Ca, 0), "Arena CA").expect("root")
    }

    fn request(serial: u64, not_after: VirtualTime) -> CertRequest {
        CertRequest {
            serial,
            common_name: "User 0".into(),
            email: "u0@example.org".into(),
            public_key: derive_key(3, KeyStream::User, 0).public_key(),
            not_before: 0,
            not_after,
        }
    }

    #[test]
    fn a_handle_is_written_as_sixteen_hex_digits() {
        for v in [0, 1, 0xf, 0xabc, 0x0123_4567_89ab_cdef, u64::MAX, 1 << 63] {
            assert_eq!(CertId(v).to_string(), format!("{v:016x}"));
            assert_eq!(CrlId(v).to_string(), format!("{v:016x}"));
        }
    }

    #[test]
    fn a_handle_is_the_fingerprint_of_the_bytes_in_every_mode() {
        let ca = ca();
        let der = ca.issue(&request(1, DAY)).expect("issue");
        for memo in [Memo::On, Memo::Off, Memo::Stale] {
            let arena = Arena::new(memo);
            let id = arena.issue(&ca, &request(1, DAY)).expect("issue");
            assert_eq!(id, CertId::of(der.as_bytes()));
            assert_eq!(id.fingerprint(), der.fingerprint());
            assert_eq!(arena.der(id.0), Some(der.clone()));
            // Issuing again gives the same object, remembered or not.
            assert_eq!(arena.issue(&ca, &request(1, DAY)).expect("again"), id);
            assert_eq!(arena.objects(), 1);
        }
    }

    /// Remembered verdicts are the verdicts: for honest, flawed, expired and
    /// not-yet-valid certificates, at times before, inside and after their
    /// windows, and asked in either order, `Memo::On` answers as the anchor
    /// does on the bytes.
    #[test]
    fn remembered_verdicts_equal_the_anchor_on_the_bytes() {
        let ca = ca();
        let anchor = ca.trust_anchor();
        let mut objects = vec![
            ca.issue(&request(1, DAY)).expect("honest"),
            forge::with_validity(&ca, &request(2, DAY), 5_000, 9_000).expect("window"),
        ];
        for flaw in &forge::Flaw::ALL {
            objects.push(forge::issue_flawed(&ca, &request(3, DAY), *flaw).expect("flawed"));
        }
        let times = [0, 4_999, 5_000, 9_000, 9_001, DAY, DAY + 1];
        let on = Arena::new(Memo::On);
        for der in &objects {
            let id = on.keep_certificate(der.clone()).expect("kept");
            for &t in times.iter().chain(times.iter().rev()) {
                assert_eq!(
                    on.verify_certificate(&anchor, id, t),
                    anchor.verify_certificate(der.as_bytes(), t),
                    "{id:?} at {t}"
                );
            }
        }
        assert_eq!(on.remembered_verdicts(), objects.len());
    }

    /// The deliberate defect: a verdict reached inside the window is given
    /// again after expiry.
    #[test]
    fn a_stale_memo_accepts_an_expired_certificate() {
        let ca = ca();
        let anchor = ca.trust_anchor();
        for (memo, after_expiry) in [
            (Memo::On, Err(Rejection::Expired)),
            (Memo::Off, Err(Rejection::Expired)),
            (Memo::Stale, Ok(1)),
        ] {
            let arena = Arena::new(memo);
            let id = arena.issue(&ca, &request(1, 5_000)).expect("issue");
            assert!(arena.verify_certificate(&anchor, id, 1_000).is_ok());
            let later = arena.verify_certificate(&anchor, id, 10_000);
            assert_eq!(later.map(|i| i.serial), after_expiry, "{memo:?}");
        }
    }

    #[test]
    fn another_anchor_gets_its_own_verdict() {
        let (ours, theirs) = (
            ca(),
            CertificateAuthority::new(&key_seed(4, KeyStream::Ca, 0), "Arena CA").expect("root"),
        );
        let arena = Arena::new(Memo::On);
        let id = arena.issue(&ours, &request(1, DAY)).expect("issue");
        assert!(
            arena
                .verify_certificate(&ours.trust_anchor(), id, 0)
                .is_ok()
        );
        assert_eq!(
            arena.verify_certificate(&theirs.trust_anchor(), id, 0),
            Err(Rejection::BadSignature)
        );
    }

    #[test]
    fn handles_the_run_never_made_have_no_bytes_to_accept() {
        let arena = Arena::new(Memo::On);
        let anchor = ca().trust_anchor();
        assert_eq!(
            arena.verify_certificate(&anchor, CertId(7), 0),
            Err(Rejection::Malformed)
        );
        assert_eq!(
            arena.verify_crl(&anchor, CrlId(7)),
            Err(Rejection::CrlMalformed)
        );
        assert_eq!(
            arena.verify_proof(&[0; 32], b"m", SigId(7)),
            Err(Rejection::BadProof)
        );
    }

    #[test]
    fn proofs_and_crls_remembered_equal_the_concrete_ones() {
        let ca = ca();
        let anchor = ca.trust_anchor();
        let key = derive_key(3, KeyStream::User, 0);
        let thief = derive_key(3, KeyStream::Attacker, 0);
        for memo in [Memo::On, Memo::Off] {
            let arena = Arena::new(memo);
            let msg = challenge_bytes("A", 1);
            let sig = arena.sign(&key, &msg).expect("sign");
            assert_eq!(sig, SigId::of(&key.sign(&msg)));
            for _ in 0..2 {
                assert_eq!(arena.verify_proof(&key.public_key(), &msg, sig), Ok(()));
                assert_eq!(
                    arena.verify_proof(&thief.public_key(), &msg, sig),
                    Err(Rejection::BadProof)
                );
                assert_eq!(
                    arena.verify_proof(&key.public_key(), &challenge_bytes("B", 1), sig),
                    Err(Rejection::BadProof)
                );
            }
            let crl = arena.crl(&ca, 2, &[5, 1], 0).expect("crl");
            assert_eq!(
                arena.verify_crl(&anchor, crl).map(|c| c.revoked),
                Ok(vec![1, 5])
            );
        }
    }
}
