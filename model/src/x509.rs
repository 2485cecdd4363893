//! The PKI of the common-certificate system: real X.509, issued with `rcgen`
//! and checked with `x509-parser` and `ring`.
//!
//! The patent's certificate authority issues each user one certificate that
//! many services accept. This module makes that certificate a genuine RFC 5280
//! certificate, so that what the model checker and the simulator exercise is
//! the same byte-level object an outside tool (`openssl verify`) would judge:
//!
//! * [`CertificateAuthority`] is a self-signed Ed25519 root that issues user
//!   certificates ([`CertificateAuthority::issue`]) and CRLs
//!   ([`CertificateAuthority::crl`]).
//! * [`TrustAnchor`] is what a relying service holds: the root's name and key.
//!   [`TrustAnchor::verify_certificate`] runs an ordered list of checks in the
//!   manner of webpki and names the first one that fails with a precise
//!   [`Rejection`].
//! * [`challenge_bytes`] and [`verify_proof`] give the "proof of possession"
//!   reading of the protocol: the presenter signs a service-chosen nonce.
//!
//! Everything is deterministic. Keys come from [`key_seed`] (ChaCha20 keyed by
//! the run's seed), Ed25519 signatures are deterministic, and time is
//! [`VirtualTime`], never the wall clock; so the same seed reproduces every
//! certificate, CRL and signature byte for byte, which is what makes model
//! checker states and simulator traces replayable.
//!
//! Untrusted input (certificate and CRL bytes, proofs) never panics: every
//! failure is a [`Rejection`].

use std::borrow::Borrow;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyUsagePurpose, RevokedCertParams,
    SanType, SerialNumber,
};
use ring::signature::{self as ring_sig, Ed25519KeyPair, KeyPair as _};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension, X509Extension};
use x509_parser::oid_registry::{
    OID_SIG_ED25519, OID_X509_EXT_BASIC_CONSTRAINTS, OID_X509_EXT_CRL_NUMBER,
    OID_X509_EXT_EXTENDED_KEY_USAGE, OID_X509_EXT_KEY_USAGE, OID_X509_EXT_SUBJECT_ALT_NAME,
};
use x509_parser::prelude::FromDer;
use x509_parser::x509::{AlgorithmIdentifier, SubjectPublicKeyInfo, X509Version};

use crate::rejection::Rejection;

// ---------------------------------------------------------------------------
// Virtual time
// ---------------------------------------------------------------------------

/// Virtual time: milliseconds since [`EPOCH_UNIX_SECONDS`] (2025-01-01T00:00:00Z).
/// Never the wall clock, so that runs are reproducible.
pub type VirtualTime = u64;

/// The Unix time of virtual time 0: 2025-01-01T00:00:00Z.
pub const EPOCH_UNIX_SECONDS: i64 = 1_735_689_600;

/// One virtual day, in milliseconds.
pub const DAY: VirtualTime = 86_400_000;

/// How long the root is valid: 2025-01-01 to 2045-01-01 (20 years, 5 leap days).
pub const ROOT_VALIDITY: VirtualTime = 7_305 * DAY;

/// How long after its `thisUpdate` a CRL's `nextUpdate` lies.
pub const CRL_VALIDITY: VirtualTime = DAY;

/// 9999-12-31T23:59:59Z, the last instant X.509 can express (RFC 5280 4.1.2.5).
/// Virtual times beyond it saturate to it.
const MAX_ASN1_UNIX_SECONDS: i64 = 253_402_300_799;

/// Unix seconds of `t`, rounded down, saturating at [`MAX_ASN1_UNIX_SECONDS`].
fn unix_seconds_floor(t: VirtualTime) -> i64 {
    // u64::MAX / 1000 < i64::MAX, so the conversion cannot fail.
    let secs = i64::try_from(t / 1000).unwrap_or(i64::MAX);
    EPOCH_UNIX_SECONDS
        .saturating_add(secs)
        .min(MAX_ASN1_UNIX_SECONDS)
}

/// Unix seconds of `t`, rounded up, saturating at [`MAX_ASN1_UNIX_SECONDS`].
fn unix_seconds_ceil(t: VirtualTime) -> i64 {
    let floor = unix_seconds_floor(t);
    if t.is_multiple_of(1000) {
        floor
    } else {
        floor.saturating_add(1).min(MAX_ASN1_UNIX_SECONDS)
    }
}

/// `now` as Unix milliseconds; `i128` so that no certificate time overflows it.
fn unix_millis(now: VirtualTime) -> i128 {
    i128::from(EPOCH_UNIX_SECONDS) * 1000 + i128::from(now)
}

/// The date-time of `unix` seconds (already clamped to X.509's range).
fn datetime_from_unix(unix: i64) -> OffsetDateTime {
    // Every value in 0..=MAX_ASN1_UNIX_SECONDS is representable; the fallback
    // is unreachable and only avoids a panic path.
    OffsetDateTime::from_unix_timestamp(unix.clamp(i64::MIN / 2, MAX_ASN1_UNIX_SECONDS))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The UTC date-time of a virtual time, with millisecond precision.
///
/// Saturates at 9999-12-31T23:59:59Z, the last instant a certificate can name.
/// Certificates only carry whole seconds; see [`CertificateAuthority::issue`]
/// for how issuance rounds.
pub fn asn1_time(t: VirtualTime) -> OffsetDateTime {
    let secs = unix_seconds_floor(t);
    let base = datetime_from_unix(secs);
    if secs == MAX_ASN1_UNIX_SECONDS {
        return base;
    }
    // t % 1000 < 1000, so the cast is lossless.
    base + time::Duration::milliseconds((t % 1000) as i64)
}

/// The virtual time of a Unix time in seconds; times before the epoch
/// saturate to 0 and times beyond `u64` milliseconds to `u64::MAX`.
pub fn virtual_time_from_unix_seconds(unix: i64) -> VirtualTime {
    let since_epoch = unix.saturating_sub(EPOCH_UNIX_SECONDS);
    u64::try_from(since_epoch).unwrap_or(0).saturating_mul(1000)
}

// ---------------------------------------------------------------------------
// Deterministic key material
// ---------------------------------------------------------------------------

/// Which independent stream of key material a seed feeds.
///
/// Each party kind draws its keys from its own ChaCha20 stream, so adding a
/// user never changes the CA's or an attacker's key for the same seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum KeyStream {
    /// The certificate authority's root key (and impostor CAs in tests).
    Ca,
    /// Users' certificate keys.
    User,
    /// Services' own keys, should they need any.
    Service,
    /// Keys an attacker generates for itself.
    Attacker,
}

impl KeyStream {
    /// The ChaCha20 stream number. Fixed forever: changing one changes every
    /// key, certificate and trace derived from a seed.
    const fn stream_id(self) -> u64 {
        match self {
            KeyStream::Ca => 0x6363_0001,
            KeyStream::User => 0x6363_0002,
            KeyStream::Service => 0x6363_0003,
            KeyStream::Attacker => 0x6363_0004,
        }
    }
}

/// 32 bytes of key seed for key number `index` of `stream` under `seed`.
///
/// ChaCha20 keyed by `seed` (via `seed_from_u64`), on the stream chosen by
/// `stream`, at word position `8 * index`: each (stream, index) pair reads its
/// own non-overlapping 32-byte block of keystream, so keys are deterministic
/// and independent per stream and index.
pub fn key_seed(seed: u64, stream: KeyStream, index: u64) -> [u8; 32] {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    rng.set_stream(stream.stream_id());
    // 32 bytes = 8 words of 32 bits; u128 cannot overflow.
    rng.set_word_pos(u128::from(index) * 8);
    let mut out = [0u8; 32];
    rng.fill_bytes(&mut out);
    out
}

/// The Ed25519 key for `(seed, stream, index)`; shorthand for
/// `SigningKey::from_seed(&key_seed(seed, stream, index))`.
pub fn derive_key(seed: u64, stream: KeyStream, index: u64) -> SigningKey {
    SigningKey::from_seed(&key_seed(seed, stream, index))
}

// ---------------------------------------------------------------------------
// DER bytes
// ---------------------------------------------------------------------------

/// DER bytes of a certificate or CRL.
///
/// Cheap to clone (shared), and hashable and ordered so that it can live
/// inside model-checker states and messages. `Debug` prints the length and a
/// short fingerprint rather than every byte, to keep traces readable.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Der(pub Arc<[u8]>);

impl Der {
    /// The encoded bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Number of bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no bytes at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The first 8 bytes of the SHA-256 of the bytes, in lower-case hex.
    pub fn fingerprint(&self) -> String {
        let digest = ring::digest::digest(&ring::digest::SHA256, &self.0);
        hex(digest.as_ref().iter().take(8))
    }
}

fn hex<'a>(bytes: impl Iterator<Item = &'a u8>) -> String {
    use fmt::Write as _;
    bytes.fold(String::new(), |mut s, b| {
        // Writing to a String cannot fail.
        let _ = write!(s, "{b:02x}");
        s
    })
}

impl fmt::Debug for Der {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Der({} bytes, sha256:{})",
            self.len(),
            self.fingerprint()
        )
    }
}

impl From<Vec<u8>> for Der {
    fn from(bytes: Vec<u8>) -> Self {
        Der(bytes.into())
    }
}

impl From<&[u8]> for Der {
    fn from(bytes: &[u8]) -> Self {
        Der(bytes.into())
    }
}

impl AsRef<[u8]> for Der {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// Lets a `HashMap<Der, _>` be queried with a plain `&[u8]` without copying.
/// Consistent with `Hash`/`Eq`: both delegate to the byte slice.
impl Borrow<[u8]> for Der {
    fn borrow(&self) -> &[u8] {
        &self.0
    }
}

// ---------------------------------------------------------------------------
// Ed25519 signing key
// ---------------------------------------------------------------------------

/// An Ed25519 key derived from 32 seed bytes. Signing is deterministic
/// (RFC 8032), which keeps every certificate and proof reproducible.
///
/// Cheap to clone; `Debug` shows only the public key.
#[derive(Clone)]
pub struct SigningKey(Arc<SigningKeyInner>);

struct SigningKeyInner {
    seed: [u8; 32],
    pair: Ed25519KeyPair,
    public: [u8; 32],
}

impl SigningKey {
    /// The key whose RFC 8032 private seed is `seed`.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        // ring only rejects seeds of the wrong length, and the type fixes the
        // length at 32; Ed25519 public keys are always 32 bytes. Neither
        // branch can be taken, whatever the seed.
        let Ok(pair) = Ed25519KeyPair::from_seed_unchecked(seed) else {
            unreachable!("ring accepts every 32-byte Ed25519 seed")
        };
        let Ok(public) = <[u8; 32]>::try_from(pair.public_key().as_ref()) else {
            unreachable!("Ed25519 public keys are 32 bytes")
        };
        SigningKey(Arc::new(SigningKeyInner {
            seed: *seed,
            pair,
            public,
        }))
    }

    /// The raw 32-byte Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.0.public
    }

    /// The 64-byte Ed25519 signature of `msg`.
    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        self.0.pair.sign(msg).as_ref().to_vec()
    }

    /// The private key as RFC 8410 PKCS#8 v1 (`OneAsymmetricKey` without the
    /// public key), the form `rcgen::KeyPair::try_from` and `openssl` read.
    pub fn pkcs8_der(&self) -> Vec<u8> {
        // SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING seed } }
        const PREFIX: [u8; 16] = [
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        let mut der = Vec::with_capacity(PREFIX.len() + 32);
        der.extend_from_slice(&PREFIX);
        der.extend_from_slice(&self.0.seed);
        der
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("public_key", &hex(self.0.public.iter()))
            .field("secret", &"[elided]")
            .finish()
    }
}

impl rcgen::PublicKeyData for SigningKey {
    fn der_bytes(&self) -> &[u8] {
        &self.0.public
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ED25519
    }
}

/// Signs directly with ring, so rcgen needs no PKCS#8 round trip and the
/// signature stays deterministic.
impl rcgen::SigningKey for SigningKey {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        Ok(SigningKey::sign(self, msg))
    }
}

/// A subject public key rcgen writes into a certificate: raw key bytes and
/// the algorithm that says how to encode its SubjectPublicKeyInfo.
struct RawPublicKey<'a> {
    alg: &'static rcgen::SignatureAlgorithm,
    bytes: &'a [u8],
}

impl rcgen::PublicKeyData for RawPublicKey<'_> {
    fn der_bytes(&self) -> &[u8] {
        self.bytes
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        self.alg
    }
}

// ---------------------------------------------------------------------------
// Issuance
// ---------------------------------------------------------------------------

/// What the CA is asked to certify.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CertRequest {
    /// Serial number; the key of the CA's Fig. 5/6 rows and the services' Fig. 7 column.
    pub serial: u64,
    /// The user's name, written as the subject common name.
    pub common_name: String,
    /// The user's e-mail address, written as an rfc822Name subject alternative name.
    pub email: String,
    /// The user's raw Ed25519 public key.
    pub public_key: [u8; 32],
    /// Start of validity.
    pub not_before: VirtualTime,
    /// End of validity (inclusive).
    pub not_after: VirtualTime,
}

/// Why the CA could not issue a certificate or CRL.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PkiError {
    /// RFC 5280 4.1.2.2: serial numbers are positive; 0 also means "no row" in our tables.
    #[error("serial number 0 is not a valid certificate serial number")]
    ZeroSerial,
    /// After rounding to whole seconds, not_before would lie after not_after.
    #[error("empty validity window: not before {not_before} ms, not after {not_after} ms")]
    EmptyValidity {
        /// Requested start, virtual milliseconds.
        not_before: VirtualTime,
        /// Requested end, virtual milliseconds.
        not_after: VirtualTime,
    },
    /// A certificate must name its subject: empty common name.
    #[error("the common name is empty")]
    EmptyCommonName,
    /// The e-mail address is empty or not ASCII (rfc822Name is an IA5String).
    #[error("the e-mail address is empty or not ASCII")]
    InvalidEmail,
    /// rcgen refused to build or sign.
    #[error("certificate generation failed: {0}")]
    Rcgen(#[from] rcgen::Error),
    /// Our own root failed our own trust-anchor checks; a bug, never input-driven.
    #[error("the freshly made root certificate is not a usable trust anchor: {0}")]
    RootRejected(Rejection),
}

/// The CA's signing side: a self-signed Ed25519 root.
///
/// Cheap to clone; `Debug` never prints the private key.
#[derive(Clone)]
pub struct CertificateAuthority(Arc<CaInner>);

struct CaInner {
    key: SigningKey,
    /// The root's parameters; rcgen's `Issuer` takes the issuer name from them.
    params: CertificateParams,
    root: Der,
    anchor: TrustAnchor,
}

fn common_name_dn(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    dn
}

/// The deviations from the honest end-entity profile that [`forge`] can ask for.
/// `None` everywhere is the honest profile.
#[derive(Clone, Copy, Debug, Default)]
struct Profile {
    flaw: Option<forge::Flaw>,
}

impl CertificateAuthority {
    /// A new root named `CN=<common_name>` with the Ed25519 key from `key_seed`.
    ///
    /// Validity 2025-01-01 ([`EPOCH_UNIX_SECONDS`]) to 2045-01-01; basicConstraints
    /// cA with pathLen 0 (it signs only end entities); key usage keyCertSign and
    /// cRLSign; serial 1.
    pub fn new(key_seed: &[u8; 32], common_name: &str) -> Result<Self, PkiError> {
        if common_name.is_empty() {
            return Err(PkiError::EmptyCommonName);
        }
        let key = SigningKey::from_seed(key_seed);
        let mut params = CertificateParams::default();
        params.distinguished_name = common_name_dn(common_name);
        params.not_before = datetime_from_unix(unix_seconds_floor(0));
        params.not_after = datetime_from_unix(unix_seconds_floor(ROOT_VALIDITY));
        params.serial_number = Some(SerialNumber::from(1u64));
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.key_identifier_method = KeyIdMethod::Sha256;
        let root = Der::from(params.self_signed(&key)?.der().to_vec());
        let anchor = TrustAnchor::from_root_der(root.as_bytes()).map_err(PkiError::RootRejected)?;
        Ok(CertificateAuthority(Arc::new(CaInner {
            key,
            params,
            root,
            anchor,
        })))
    }

    /// The self-signed root certificate.
    pub fn root(&self) -> &Der {
        &self.0.root
    }

    /// The relying side of this CA. All anchors from one CA share one cache.
    pub fn trust_anchor(&self) -> TrustAnchor {
        self.0.anchor.clone()
    }

    /// The root's raw Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.0.key.public_key()
    }

    fn issuer(&self) -> Issuer<'_, &SigningKey> {
        Issuer::from_params(&self.0.params, &self.0.key)
    }

    /// An end-entity certificate for `req`, signed by the root key.
    ///
    /// Subject `CN=<common_name>`, the e-mail as an rfc822Name SAN, the user's
    /// Ed25519 key, EKU clientAuth, key usage digitalSignature (critical),
    /// basicConstraints cA = FALSE (critical), subject and authority key
    /// identifiers, and the serial per RFC 5280 (positive, minimal DER).
    ///
    /// Certificates carry whole seconds, so the window is rounded *inward*:
    /// not_before up and not_after down to a second. The certificate is then
    /// never valid at a virtual time the request did not ask for.
    ///
    /// Refused: serial 0, an empty common name, an empty or non-ASCII e-mail,
    /// and a window that is empty after rounding.
    pub fn issue(&self, req: &CertRequest) -> Result<Der, PkiError> {
        self.issue_with(req, Profile::default())
    }

    fn issue_with(&self, req: &CertRequest, profile: Profile) -> Result<Der, PkiError> {
        use forge::Flaw;
        let flaw = profile.flaw;
        if req.serial == 0 && flaw != Some(Flaw::ZeroSerial) {
            return Err(PkiError::ZeroSerial);
        }
        if req.common_name.is_empty() {
            return Err(PkiError::EmptyCommonName);
        }
        if req.email.is_empty() {
            return Err(PkiError::InvalidEmail);
        }
        let not_before = unix_seconds_ceil(req.not_before);
        let not_after = unix_seconds_floor(req.not_after);
        if not_before > not_after {
            return Err(PkiError::EmptyValidity {
                not_before: req.not_before,
                not_after: req.not_after,
            });
        }

        let mut params = CertificateParams::default();
        params.distinguished_name = common_name_dn(&req.common_name);
        params.subject_alt_names = vec![SanType::Rfc822Name(
            req.email
                .as_str()
                .try_into()
                .map_err(|_| PkiError::InvalidEmail)?,
        )];
        params.not_before = datetime_from_unix(not_before);
        params.not_after = datetime_from_unix(not_after);
        params.serial_number = Some(SerialNumber::from(req.serial));
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.use_authority_key_identifier_extension = true;
        params.key_identifier_method = KeyIdMethod::Sha256;

        let mut subject_key = RawPublicKey {
            alg: &rcgen::PKCS_ED25519,
            bytes: &req.public_key,
        };
        match flaw {
            None => {}
            Some(Flaw::ServerAuthOnly) => {
                params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
            }
            Some(Flaw::NoEku) => params.extended_key_usages.clear(),
            Some(Flaw::NoDigitalSignature) => {
                params.key_usages = vec![KeyUsagePurpose::ContentCommitment];
            }
            Some(Flaw::CaCertificate) => {
                params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
                params.key_usages = vec![
                    KeyUsagePurpose::DigitalSignature,
                    KeyUsagePurpose::KeyCertSign,
                    KeyUsagePurpose::CrlSign,
                ];
            }
            Some(Flaw::EcdsaSubjectKey) => {
                subject_key = RawPublicKey {
                    alg: &rcgen::PKCS_ECDSA_P256_SHA256,
                    bytes: &forge::P256_GENERATOR,
                };
            }
            Some(Flaw::ZeroSerial) => params.serial_number = Some(SerialNumber::from(0u64)),
            Some(Flaw::OversizedSerial) => {
                // 2^64: a valid RFC 5280 serial (9 octets) that our u64 tables cannot hold.
                params.serial_number = Some(SerialNumber::from_slice(&[1, 0, 0, 0, 0, 0, 0, 0, 0]));
            }
            Some(Flaw::NoEmail) => params.subject_alt_names.clear(),
            Some(Flaw::UnknownCriticalExtension) => {
                // A private-arc OID nobody understands, content NULL.
                let mut ext = rcgen::CustomExtension::from_oid_content(
                    &[1, 3, 6, 1, 4, 1, 55555, 1],
                    vec![0x05, 0x00],
                );
                ext.set_criticality(true);
                params.custom_extensions.push(ext);
            }
        }

        let cert = params.signed_by(&subject_key, &self.issuer())?;
        Ok(Der::from(cert.der().to_vec()))
    }

    /// A CRL signed by the root listing `revoked` (sorted, duplicates removed),
    /// with CRL number `crl_number`, thisUpdate `at` (rounded down to a second),
    /// nextUpdate one day later, and each entry's revocationDate = thisUpdate.
    ///
    /// Refused: a revoked serial 0 (no certificate has it).
    pub fn crl(&self, crl_number: u64, revoked: &[u64], at: VirtualTime) -> Result<Der, PkiError> {
        let mut serials = revoked.to_vec();
        serials.sort_unstable();
        serials.dedup();
        if serials.first() == Some(&0) {
            return Err(PkiError::ZeroSerial);
        }
        let this_update_unix = unix_seconds_floor(at);
        let this_update = datetime_from_unix(this_update_unix);
        let next_update = datetime_from_unix(
            this_update_unix
                .saturating_add(unix_seconds_floor(CRL_VALIDITY) - EPOCH_UNIX_SECONDS)
                .min(MAX_ASN1_UNIX_SECONDS),
        );
        let params = CertificateRevocationListParams {
            this_update,
            next_update,
            crl_number: SerialNumber::from(crl_number),
            issuing_distribution_point: None,
            revoked_certs: serials
                .into_iter()
                .map(|serial| RevokedCertParams {
                    serial_number: SerialNumber::from(serial),
                    revocation_time: this_update,
                    reason_code: None,
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: KeyIdMethod::Sha256,
        };
        let crl = params.signed_by(&self.issuer())?;
        Ok(Der::from(crl.der().to_vec()))
    }
}

impl fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateAuthority")
            .field("root", &self.0.root)
            .field("key", &self.0.key)
            .finish()
    }
}

// ---------------------------------------------------------------------------
// Verification
// ---------------------------------------------------------------------------

/// What a verified user certificate says.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CertInfo {
    /// Serial number.
    pub serial: u64,
    /// Subject common name.
    pub common_name: String,
    /// The rfc822Name subject alternative name.
    pub email: String,
    /// The subject's raw Ed25519 public key.
    pub public_key: [u8; 32],
    /// notBefore as virtual time (saturating at 0 for earlier dates).
    pub not_before: VirtualTime,
    /// notAfter as virtual time (saturating at 0 for earlier dates).
    pub not_after: VirtualTime,
}

/// What a verified CRL says.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CrlInfo {
    /// The CRL number; a service should ignore a CRL older than one it has.
    pub crl_number: u64,
    /// thisUpdate as virtual time.
    pub this_update: VirtualTime,
    /// nextUpdate as virtual time.
    pub next_update: VirtualTime,
    /// The revoked serial numbers, sorted, without duplicates.
    pub revoked: Vec<u64>,
}

/// The time-independent outcome of checking a certificate, plus its exact
/// validity window in Unix seconds (not saturated, unlike [`CertInfo`]).
#[derive(Clone, Debug)]
struct Checked {
    info: CertInfo,
    not_before_unix: i64,
    not_after_unix: i64,
}

/// Cached results beyond this many are dropped (the whole map is cleared),
/// bounding memory whatever an attacker sends.
const CACHE_LIMIT: usize = 4096;

/// What a relying service needs: the CA's subject name and public key.
///
/// Verifying the same bytes gives the same answer apart from the validity
/// window, so the time-independent part is cached per anchor (shared by all
/// clones); the window is checked against `now` on every call. Cheap to clone.
#[derive(Clone)]
pub struct TrustAnchor(Arc<AnchorInner>);

struct AnchorInner {
    root: Der,
    /// The root's subject Name, raw DER; issuers are compared to it byte for byte.
    subject: Box<[u8]>,
    /// The root's SubjectPublicKeyInfo, raw DER, for `x509-parser`'s verifier.
    spki: Box<[u8]>,
    public_key: [u8; 32],
    cache: Mutex<HashMap<Der, Result<Checked, Rejection>>>,
}

impl fmt::Debug for TrustAnchor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustAnchor")
            .field("root", &self.0.root)
            .field("public_key", &hex(self.0.public_key.iter()))
            .finish()
    }
}

/// Parse exactly one DER certificate and apply the structural rules that
/// `x509-parser` leaves to its caller.
fn parse_certificate(der: &[u8]) -> Result<X509Certificate<'_>, Rejection> {
    let (rest, cert) =
        x509_parser::parse_x509_certificate(der).map_err(|_| Rejection::Malformed)?;
    let well_formed = rest.is_empty()
        && cert.version() == X509Version::V3
        // A signature BIT STRING with unused bits would be a second encoding of
        // the same signature (webpki refuses it too).
        && cert.signature_value.unused_bits == 0
        && extensions_well_formed(cert.extensions())
        && cert.extensions_map().is_ok();
    if well_formed {
        Ok(cert)
    } else {
        Err(Rejection::Malformed)
    }
}

/// `x509-parser` records a known extension it cannot parse as `ParseError`
/// instead of failing; for us that is malformed input.
fn extensions_well_formed(extensions: &[X509Extension<'_>]) -> bool {
    extensions
        .iter()
        .all(|ext| !matches!(ext.parsed_extension(), ParsedExtension::ParseError { .. }))
}

/// The certificate extensions whose meaning [`TrustAnchor::verify_certificate`]
/// enforces; any other critical extension is refused (RFC 5280 4.2).
fn understood_critical(ext: &X509Extension<'_>) -> bool {
    !ext.critical
        || ext.oid == OID_X509_EXT_BASIC_CONSTRAINTS
        || ext.oid == OID_X509_EXT_KEY_USAGE
        || ext.oid == OID_X509_EXT_EXTENDED_KEY_USAGE
        || ext.oid == OID_X509_EXT_SUBJECT_ALT_NAME
}

/// Ed25519 per RFC 8410: the OID with parameters absent.
fn is_ed25519(alg: &AlgorithmIdentifier<'_>) -> bool {
    alg.algorithm == OID_SIG_ED25519 && alg.parameters.is_none()
}

/// `AlgorithmIdentifier { id-Ed25519 }` (RFC 8410: parameters absent), DER.
const ED25519_ALG_ID: [u8; 7] = [0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70];

/// Append a DER definite length (minimal form).
fn push_der_length(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(bytes.get(skip..).unwrap_or_default());
    }
}

/// The one DER encoding of `SEQUENCE { tbs, id-Ed25519, BIT STRING signature }`,
/// the shape of every certificate and CRL our CA signs.
fn ed25519_signed_der(tbs: &[u8], signature: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(tbs.len() + ED25519_ALG_ID.len() + signature.len() + 8);
    body.extend_from_slice(tbs);
    body.extend_from_slice(&ED25519_ALG_ID);
    body.push(0x03); // BIT STRING
    push_der_length(&mut body, signature.len() + 1);
    body.push(0x00); // no unused bits
    body.extend_from_slice(signature);
    let mut out = Vec::with_capacity(body.len() + 6);
    out.push(0x30); // SEQUENCE
    push_der_length(&mut out, body.len());
    out.extend_from_slice(&body);
    out
}

/// The outcome of the signature-algorithm step, shared by certificates and CRLs.
enum SigAlg {
    Ok,
    Unsupported,
    Mismatch,
    /// The parser read Ed25519, but the bytes outside the signed part are not
    /// its canonical DER. `x509-parser` is lenient there (it accepts, e.g., an
    /// OID with the wrong tag class), and nothing signs those bytes, so they
    /// must be pinned exactly or one certificate would have many encodings.
    NonCanonical,
}

/// Check the signature algorithm of a signed structure `der` whose signed part
/// is `tbs`: the outer identifier is Ed25519, equals the signed inner one, and
/// `der` is exactly the canonical encoding of `tbs` plus an Ed25519 signature.
fn check_signature_algorithm(
    outer: &AlgorithmIdentifier<'_>,
    inner: &AlgorithmIdentifier<'_>,
    der: &[u8],
    tbs: &[u8],
    signature: &[u8],
) -> SigAlg {
    if !is_ed25519(outer) {
        SigAlg::Unsupported
    } else if inner != outer {
        SigAlg::Mismatch
    } else if ed25519_signed_der(tbs, signature) != der {
        SigAlg::NonCanonical
    } else {
        SigAlg::Ok
    }
}

/// The raw Ed25519 key of a SubjectPublicKeyInfo, if that is what it holds.
fn ed25519_key(spki: &SubjectPublicKeyInfo<'_>) -> Option<[u8; 32]> {
    if !is_ed25519(&spki.algorithm) || spki.subject_public_key.unused_bits != 0 {
        return None;
    }
    <[u8; 32]>::try_from(spki.subject_public_key.data.as_ref()).ok()
}

/// The value of a serial number's DER INTEGER content octets, if it is a
/// valid RFC 5280 serial that fits a u64: non-empty, minimally encoded,
/// positive, at most 20 octets, not zero, at most 64 bits.
pub fn serial_from_integer_content(content: &[u8]) -> Option<u64> {
    let (&first, rest) = content.split_first()?;
    if content.len() > 20 || first & 0x80 != 0 {
        return None; // too long, or negative
    }
    let magnitude = if first == 0 {
        match rest.first() {
            // A leading zero octet is only allowed before a high bit.
            Some(next) if next & 0x80 != 0 => rest,
            // Zero, or a non-minimal encoding.
            _ => return None,
        }
    } else {
        content
    };
    if magnitude.len() > 8 {
        return None;
    }
    let value = magnitude
        .iter()
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    (value != 0).then_some(value)
}

/// Exactly one non-empty common name in the subject.
fn single_common_name(cert: &X509Certificate<'_>) -> Option<String> {
    let mut names = cert.subject().iter_common_name();
    let name = names.next()?.as_str().ok()?;
    if names.next().is_some() || name.is_empty() {
        return None;
    }
    Some(name.to_owned())
}

/// Exactly one non-empty rfc822Name among the subject alternative names.
fn single_email(cert: &X509Certificate<'_>) -> Result<Option<String>, Rejection> {
    let Some(san) = cert
        .subject_alternative_name()
        .map_err(|_| Rejection::Malformed)?
    else {
        return Ok(None);
    };
    let mut emails = san
        .value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::RFC822Name(email) => Some(*email),
            _ => None,
        });
    let Some(email) = emails.next() else {
        return Ok(None);
    };
    if emails.next().is_some() || email.is_empty() {
        return Ok(None);
    }
    Ok(Some(email.to_owned()))
}

impl TrustAnchor {
    /// The anchor of a self-signed Ed25519 CA root.
    ///
    /// The root must parse as one DER v3 certificate ([`Rejection::Malformed`]),
    /// be a CA with keyCertSign and cRLSign ([`Rejection::NotCa`]), name itself
    /// as issuer ([`Rejection::UnknownIssuer`]), be signed with Ed25519
    /// ([`Rejection::UnsupportedSignatureAlgorithm`],
    /// [`Rejection::SignatureAlgorithmMismatch`]), hold an Ed25519 key
    /// ([`Rejection::UnsupportedKey`]), carry a signature that verifies with
    /// that key ([`Rejection::BadSignature`]), and have no critical extension
    /// beyond those understood ([`Rejection::UnsupportedCriticalExtension`]).
    /// The root's own validity window is not checked, as in webpki: a trust
    /// anchor is trusted by configuration, not by its dates.
    pub fn from_root_der(der: &[u8]) -> Result<Self, Rejection> {
        let cert = parse_certificate(der)?;
        let is_ca = matches!(cert.basic_constraints(), Ok(Some(bc)) if bc.value.ca);
        let may_sign = matches!(
            cert.key_usage(),
            Ok(Some(ku)) if ku.value.key_cert_sign() && ku.value.crl_sign()
        );
        if !is_ca || !may_sign {
            return Err(Rejection::NotCa);
        }
        if cert.issuer().as_raw() != cert.subject().as_raw() {
            return Err(Rejection::UnknownIssuer);
        }
        match check_signature_algorithm(
            &cert.signature_algorithm,
            &cert.tbs_certificate.signature,
            der,
            cert.tbs_certificate.as_ref(),
            &cert.signature_value.data,
        ) {
            SigAlg::Ok => {}
            SigAlg::Unsupported => return Err(Rejection::UnsupportedSignatureAlgorithm),
            SigAlg::Mismatch => return Err(Rejection::SignatureAlgorithmMismatch),
            SigAlg::NonCanonical => return Err(Rejection::Malformed),
        }
        let public_key = ed25519_key(cert.public_key()).ok_or(Rejection::UnsupportedKey)?;
        cert.verify_signature(None)
            .map_err(|_| Rejection::BadSignature)?;
        if !cert.extensions().iter().all(understood_critical) {
            return Err(Rejection::UnsupportedCriticalExtension);
        }
        Ok(TrustAnchor(Arc::new(AnchorInner {
            root: Der::from(der),
            subject: cert.subject().as_raw().into(),
            spki: cert.public_key().raw.into(),
            public_key,
            cache: Mutex::new(HashMap::new()),
        })))
    }

    /// The root certificate this anchor was made from.
    pub fn root(&self) -> &Der {
        &self.0.root
    }

    /// The CA's raw Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.0.public_key
    }

    /// Verify a user certificate at virtual time `now`.
    ///
    /// Ordered checks, the first failure wins:
    /// 1. one DER X.509 v3 certificate, nothing after it → [`Rejection::Malformed`];
    /// 2. not a CA certificate → [`Rejection::NotEndEntity`];
    /// 3. issuer is the anchor's subject → [`Rejection::UnknownIssuer`];
    /// 4. signed with Ed25519, same algorithm inside and outside the signed part →
    ///    [`Rejection::UnsupportedSignatureAlgorithm`] / [`Rejection::SignatureAlgorithmMismatch`];
    ///    and everything outside the signed part byte-identical to the canonical
    ///    Ed25519 framing → [`Rejection::Malformed`] (nothing signs those bytes);
    /// 5. the signature verifies with the anchor's key → [`Rejection::BadSignature`];
    /// 6. serial valid and fits u64 → [`Rejection::InvalidSerialNumber`];
    /// 7. subject key is Ed25519 → [`Rejection::UnsupportedKey`];
    /// 8. EKU contains clientAuth → [`Rejection::RequiredEkuNotFound`];
    /// 9. key usage contains digitalSignature → [`Rejection::KeyUsageMissing`];
    /// 10. exactly one common name and one e-mail → [`Rejection::InvalidSubjectIdentity`];
    /// 11. no critical extension beyond basicConstraints, keyUsage, extKeyUsage and
    ///     subjectAltName → [`Rejection::UnsupportedCriticalExtension`];
    /// 12. notBefore ≤ now ≤ notAfter, in milliseconds → [`Rejection::NotYetValid`] /
    ///     [`Rejection::Expired`].
    ///
    /// The issuer and signature come before everything the certificate claims
    /// about itself, so that only our CA's statements are ever interpreted.
    /// Steps 1–11 do not depend on `now` and are cached.
    pub fn verify_certificate(&self, der: &[u8], now: VirtualTime) -> Result<CertInfo, Rejection> {
        let checked = self.checked(der)?;
        let now = unix_millis(now);
        if now < i128::from(checked.not_before_unix) * 1000 {
            return Err(Rejection::NotYetValid);
        }
        if now > i128::from(checked.not_after_unix) * 1000 {
            return Err(Rejection::Expired);
        }
        Ok(checked.info)
    }

    /// Steps 1–11 of [`verify_certificate`](Self::verify_certificate), through the cache.
    fn checked(&self, der: &[u8]) -> Result<Checked, Rejection> {
        // A poisoned lock only means another thread panicked mid-insert; the
        // map itself is still a valid cache, so keep using it.
        if let Some(hit) = self
            .0
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(der)
        {
            return hit.clone();
        }
        // Verify outside the lock so that threads verify in parallel.
        let result = self.check_uncached(der);
        let mut cache = self.0.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(Der::from(der), result.clone());
        result
    }

    fn check_uncached(&self, der: &[u8]) -> Result<Checked, Rejection> {
        // 1
        let cert = parse_certificate(der)?;
        // 2
        match cert.basic_constraints() {
            Ok(Some(bc)) if bc.value.ca => return Err(Rejection::NotEndEntity),
            Ok(_) => {}
            Err(_) => return Err(Rejection::Malformed),
        }
        // 3
        if cert.issuer().as_raw() != &*self.0.subject {
            return Err(Rejection::UnknownIssuer);
        }
        // 4
        match check_signature_algorithm(
            &cert.signature_algorithm,
            &cert.tbs_certificate.signature,
            der,
            cert.tbs_certificate.as_ref(),
            &cert.signature_value.data,
        ) {
            SigAlg::Ok => {}
            SigAlg::Unsupported => return Err(Rejection::UnsupportedSignatureAlgorithm),
            SigAlg::Mismatch => return Err(Rejection::SignatureAlgorithmMismatch),
            SigAlg::NonCanonical => return Err(Rejection::Malformed),
        }
        // 5
        self.verify_signed(|spki| cert.verify_signature(Some(spki)).is_ok())
            .then_some(())
            .ok_or(Rejection::BadSignature)?;
        // 6
        let serial =
            serial_from_integer_content(cert.raw_serial()).ok_or(Rejection::InvalidSerialNumber)?;
        // 7
        let public_key = ed25519_key(cert.public_key()).ok_or(Rejection::UnsupportedKey)?;
        // 8
        match cert.extended_key_usage() {
            Ok(Some(eku)) if eku.value.client_auth => {}
            Ok(_) => return Err(Rejection::RequiredEkuNotFound),
            Err(_) => return Err(Rejection::Malformed),
        }
        // 9
        match cert.key_usage() {
            Ok(Some(ku)) if ku.value.digital_signature() => {}
            Ok(_) => return Err(Rejection::KeyUsageMissing),
            Err(_) => return Err(Rejection::Malformed),
        }
        // 10
        let common_name = single_common_name(&cert);
        let email = single_email(&cert)?;
        let (Some(common_name), Some(email)) = (common_name, email) else {
            return Err(Rejection::InvalidSubjectIdentity);
        };
        // 11
        if !cert.extensions().iter().all(understood_critical) {
            return Err(Rejection::UnsupportedCriticalExtension);
        }
        let validity = cert.validity();
        let not_before_unix = validity.not_before.timestamp();
        let not_after_unix = validity.not_after.timestamp();
        Ok(Checked {
            info: CertInfo {
                serial,
                common_name,
                email,
                public_key,
                not_before: virtual_time_from_unix_seconds(not_before_unix),
                not_after: virtual_time_from_unix_seconds(not_after_unix),
            },
            not_before_unix,
            not_after_unix,
        })
    }

    /// Run `verify` with the anchor's parsed SubjectPublicKeyInfo. The SPKI was
    /// parsed once already in [`from_root_der`](Self::from_root_der), so a
    /// re-parse failure cannot happen; it would count as "does not verify".
    fn verify_signed(&self, verify: impl FnOnce(&SubjectPublicKeyInfo<'_>) -> bool) -> bool {
        match SubjectPublicKeyInfo::from_der(&self.0.spki) {
            Ok((_, spki)) => verify(&spki),
            Err(_) => false,
        }
    }

    /// Parse and verify a CRL of this anchor's CA; the revoked serials, sorted.
    ///
    /// See [`verify_crl_info`](Self::verify_crl_info) for the checks.
    pub fn verify_crl(&self, der: &[u8]) -> Result<Vec<u64>, Rejection> {
        self.verify_crl_info(der).map(|info| info.revoked)
    }

    /// Parse and verify a CRL of this anchor's CA.
    ///
    /// Ordered checks: one DER v2 CRL with well-formed extensions and nothing
    /// after it ([`Rejection::CrlMalformed`]); issuer is the anchor's subject
    /// ([`Rejection::CrlUnknownIssuer`]); Ed25519 signature algorithm
    /// ([`Rejection::CrlUnsupportedSignatureAlgorithm`]; an inner/outer mismatch
    /// or non-canonical bytes outside the signed part are
    /// [`Rejection::CrlMalformed`]); the signature verifies
    /// ([`Rejection::CrlBadSignature`]); no critical extension at all, since we
    /// understand none ([`Rejection::UnsupportedCriticalExtension`]); a CRL
    /// number and nextUpdate present and every revoked serial valid
    /// ([`Rejection::CrlMalformed`]). Time is not checked here: whether a CRL is
    /// fresh enough is the service's policy, using `this_update`/`next_update`.
    pub fn verify_crl_info(&self, der: &[u8]) -> Result<CrlInfo, Rejection> {
        let (rest, crl) = x509_parser::parse_x509_crl(der).map_err(|_| Rejection::CrlMalformed)?;
        let tbs = &crl.tbs_cert_list;
        let entry_extensions_ok = tbs.revoked_certificates.iter().all(|entry| {
            extensions_well_formed(entry.extensions()) && entry.extensions_map().is_ok()
        });
        let well_formed = rest.is_empty()
            && crl.version() == Some(X509Version::V2)
            && crl.signature_value.unused_bits == 0
            && extensions_well_formed(tbs.extensions())
            && tbs.extensions_map().is_ok()
            && entry_extensions_ok;
        if !well_formed {
            return Err(Rejection::CrlMalformed);
        }
        if crl.issuer().as_raw() != &*self.0.subject {
            return Err(Rejection::CrlUnknownIssuer);
        }
        match check_signature_algorithm(
            &crl.signature_algorithm,
            &tbs.signature,
            der,
            tbs.as_ref(),
            &crl.signature_value.data,
        ) {
            SigAlg::Ok => {}
            SigAlg::Unsupported => return Err(Rejection::CrlUnsupportedSignatureAlgorithm),
            SigAlg::Mismatch | SigAlg::NonCanonical => return Err(Rejection::CrlMalformed),
        }
        if !self.verify_signed(|spki| crl.verify_signature(spki).is_ok()) {
            return Err(Rejection::CrlBadSignature);
        }
        let any_critical = tbs.extensions().iter().any(|ext| ext.critical)
            || tbs
                .revoked_certificates
                .iter()
                .any(|entry| entry.extensions().iter().any(|ext| ext.critical));
        if any_critical {
            return Err(Rejection::UnsupportedCriticalExtension);
        }
        let crl_number = tbs
            .extensions()
            .iter()
            .find(|ext| ext.oid == OID_X509_EXT_CRL_NUMBER)
            .and_then(|ext| match ext.parsed_extension() {
                ParsedExtension::CRLNumber(n) if n.bits() <= 64 => {
                    Some(n.to_u64_digits().first().copied().unwrap_or(0))
                }
                _ => None,
            })
            .ok_or(Rejection::CrlMalformed)?;
        let next_update = tbs.next_update.ok_or(Rejection::CrlMalformed)?;
        let mut revoked = tbs
            .revoked_certificates
            .iter()
            .map(|entry| serial_from_integer_content(entry.raw_serial()))
            .collect::<Option<Vec<u64>>>()
            .ok_or(Rejection::CrlMalformed)?;
        revoked.sort_unstable();
        revoked.dedup();
        Ok(CrlInfo {
            crl_number,
            this_update: virtual_time_from_unix_seconds(tbs.this_update.timestamp()),
            next_update: virtual_time_from_unix_seconds(next_update.timestamp()),
            revoked,
        })
    }

    /// Number of cached verification results (for tests and metrics).
    pub fn cached_results(&self) -> usize {
        self.0
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

// ---------------------------------------------------------------------------
// Proof of possession
// ---------------------------------------------------------------------------

/// Domain-separation tag of proof-of-possession messages, so that a proof can
/// never be mistaken for (or replayed as) any other signature made by a user key.
pub const PROOF_DOMAIN: &[u8] = b"commoncert/proof-of-possession/v1\0";

/// The bytes a user signs to prove possession of its certificate's key: the
/// domain tag, the service id (length-prefixed, so that no two (service, nonce)
/// pairs give the same bytes) and the service-chosen nonce.
pub fn challenge_bytes(service: &str, nonce: u64) -> Vec<u8> {
    let mut msg = Vec::with_capacity(PROOF_DOMAIN.len() + 8 + service.len() + 8);
    msg.extend_from_slice(PROOF_DOMAIN);
    let len = u64::try_from(service.len()).unwrap_or(u64::MAX);
    msg.extend_from_slice(&len.to_be_bytes());
    msg.extend_from_slice(service.as_bytes());
    msg.extend_from_slice(&nonce.to_be_bytes());
    msg
}

/// Verify an Ed25519 `signature` of `message` by `public_key` (a certificate's
/// key). [`Rejection::BadProof`] if it does not verify, whatever the reason
/// (wrong key, wrong message, wrong length, non-canonical encoding).
pub fn verify_proof(
    public_key: &[u8; 32],
    message: &[u8],
    signature: &[u8],
) -> Result<(), Rejection> {
    ring_sig::UnparsedPublicKey::new(&ring_sig::ED25519, public_key)
        .verify(message, signature)
        .map_err(|_| Rejection::BadProof)
}

// ---------------------------------------------------------------------------
// PEM and export
// ---------------------------------------------------------------------------

/// RFC 7468 PEM: `-----BEGIN <label>-----`, base64 in 64-column lines, `-----END <label>-----`.
/// Labels used here: `CERTIFICATE`, `X509 CRL`.
pub fn pem(label: &str, der: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(der.len() * 4 / 3 + der.len() / 48 + 2 * label.len() + 40);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    let mut column = 0;
    for chunk in der.chunks(3) {
        let byte = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let n = (byte(0) << 16) | (byte(1) << 8) | byte(2);
        let sextets = [(n >> 18) & 63, (n >> 12) & 63, (n >> 6) & 63, n & 63];
        for (i, sextet) in sextets.into_iter().enumerate() {
            // A chunk of k bytes gives k + 1 significant characters.
            let c = if i <= chunk.len() {
                char::from(ALPHABET[sextet as usize])
            } else {
                '='
            };
            out.push(c);
            column += 1;
            if column == 64 {
                out.push('\n');
                column = 0;
            }
        }
    }
    if column != 0 {
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// A file stem made of `[A-Za-z0-9._-]` only (anything else becomes `_`),
/// never empty and never starting with a dot, so it cannot climb directories
/// or hide.
pub fn sanitise_file_stem(name: &str) -> String {
    let stem: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if stem.is_empty() || stem.starts_with('.') {
        format!("_{stem}")
    } else {
        stem
    }
}

/// Write PEM files for outside tools into `dir` (created if missing):
/// `ca.pem`; one `<name>.pem` per user certificate, the name sanitised to
/// `[A-Za-z0-9._-]`; and `crl.pem` for a single CRL or `crl-<n>.pem` (from 1)
/// for several. A name that would clash with a file already written gets
/// `-<k>` appended. Returns the paths written, in that order.
pub fn export_pem(
    dir: &Path,
    ca_root: &Der,
    users: &[(String, Der)],
    crls: &[Der],
) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let crl_stems: Vec<String> = match crls.len() {
        1 => vec!["crl".to_owned()],
        _ => (1..=crls.len()).map(|n| format!("crl-{n}")).collect(),
    };
    let mut taken: HashSet<String> = crl_stems.iter().cloned().collect();
    taken.insert("ca".to_owned());

    let mut written = Vec::with_capacity(1 + users.len() + crls.len());
    let mut write = |stem: &str, label: &str, der: &Der| -> std::io::Result<()> {
        let path = dir.join(format!("{stem}.pem"));
        std::fs::write(&path, pem(label, der.as_bytes()))?;
        written.push(path);
        Ok(())
    };
    write("ca", "CERTIFICATE", ca_root)?;
    for (name, der) in users {
        let base = sanitise_file_stem(name);
        let mut stem = base.clone();
        let mut k = 1u64;
        while taken.contains(&stem) {
            stem = format!("{base}-{k}");
            k += 1;
        }
        taken.insert(stem.clone());
        write(&stem, "CERTIFICATE", der)?;
    }
    for (stem, der) in crl_stems.iter().zip(crls) {
        write(stem, "X509 CRL", der)?;
    }
    Ok(written)
}

// ---------------------------------------------------------------------------
// Forgeries
// ---------------------------------------------------------------------------

pub mod forge {
    //! Test and adversarial helpers; never used by the protocol.
    //!
    //! Each builds a deliberately bad certificate from an honest CA and request,
    //! so that tests, property tests and fuzzers can check that every flaw is
    //! refused with its own [`Rejection`](crate::rejection::Rejection).
    //! Everything here is deterministic except [`ecdsa_signed`], whose ECDSA
    //! signature ring randomises.

    use super::{
        CertRequest, CertificateAuthority, Der, PkiError, Profile, RawPublicKey, Rejection,
    };
    use rcgen::{Issuer, KeyPair};

    /// One deviation from the honest end-entity profile, and the rejection it earns.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum Flaw {
        /// EKU serverAuth instead of clientAuth → `RequiredEkuNotFound`.
        ServerAuthOnly,
        /// No EKU extension at all → `RequiredEkuNotFound`.
        NoEku,
        /// Key usage nonRepudiation instead of digitalSignature → `KeyUsageMissing`.
        NoDigitalSignature,
        /// basicConstraints cA = TRUE, keyCertSign → `NotEndEntity`.
        CaCertificate,
        /// A P-256 subject key (CA-signed with Ed25519) → `UnsupportedKey`.
        EcdsaSubjectKey,
        /// Serial 0 → `InvalidSerialNumber`.
        ZeroSerial,
        /// Serial 2^64, valid in RFC 5280 but not a u64 → `InvalidSerialNumber`.
        OversizedSerial,
        /// No rfc822Name SAN → `InvalidSubjectIdentity`.
        NoEmail,
        /// A critical extension nobody understands → `UnsupportedCriticalExtension`.
        UnknownCriticalExtension,
    }

    impl Flaw {
        /// Every flaw.
        pub const ALL: [Flaw; 9] = [
            Flaw::ServerAuthOnly,
            Flaw::NoEku,
            Flaw::NoDigitalSignature,
            Flaw::CaCertificate,
            Flaw::EcdsaSubjectKey,
            Flaw::ZeroSerial,
            Flaw::OversizedSerial,
            Flaw::NoEmail,
            Flaw::UnknownCriticalExtension,
        ];

        /// The reason a certificate with this flaw must be refused.
        pub fn rejection(self) -> Rejection {
            match self {
                Flaw::ServerAuthOnly | Flaw::NoEku => Rejection::RequiredEkuNotFound,
                Flaw::NoDigitalSignature => Rejection::KeyUsageMissing,
                Flaw::CaCertificate => Rejection::NotEndEntity,
                Flaw::EcdsaSubjectKey => Rejection::UnsupportedKey,
                Flaw::ZeroSerial | Flaw::OversizedSerial => Rejection::InvalidSerialNumber,
                Flaw::NoEmail => Rejection::InvalidSubjectIdentity,
                Flaw::UnknownCriticalExtension => Rejection::UnsupportedCriticalExtension,
            }
        }
    }

    /// The uncompressed P-256 generator point: the public key of private
    /// scalar 1. A deliberately trivial, fixed, valid ECDSA key.
    pub const P256_GENERATOR: [u8; 65] = [
        0x04, // uncompressed
        0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6, 0xe5, 0x63, 0xa4, 0x40,
        0xf2, 0x77, 0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33, 0xa0, 0xf4, 0xa1, 0x39, 0x45, 0xd8, 0x98,
        0xc2, 0x96, // x
        0x4f, 0xe3, 0x42, 0xe2, 0xfe, 0x1a, 0x7f, 0x9b, 0x8e, 0xe7, 0xeb, 0x4a, 0x7c, 0x0f, 0x9e,
        0x16, 0x2b, 0xce, 0x33, 0x57, 0x6b, 0x31, 0x5e, 0xce, 0xcb, 0xb6, 0x40, 0x68, 0x37, 0xbf,
        0x51, 0xf5, // y
    ];

    /// PKCS#8 (RFC 5915 inside RFC 5208) of the P-256 key with private scalar 1,
    /// so the ECDSA forgery needs no random key generation.
    fn p256_scalar_one_pkcs8() -> Vec<u8> {
        let mut der = vec![
            0x30, 0x81, 0x87, // PrivateKeyInfo
            0x02, 0x01, 0x00, // version 0
            0x30, 0x13, // AlgorithmIdentifier
            0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, // id-ecPublicKey
            0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, // prime256v1
            0x04, 0x6d, // OCTET STRING
            0x30, 0x6b, // ECPrivateKey
            0x02, 0x01, 0x01, // version 1
            0x04, 0x20, // privateKey
        ];
        der.extend_from_slice(&[0; 31]);
        der.push(1);
        der.extend_from_slice(&[0xa1, 0x44, 0x03, 0x42, 0x00]); // [1] publicKey BIT STRING
        der.extend_from_slice(&P256_GENERATOR);
        der
    }

    /// `req` issued by `ca` with `flaw`. Serial 0 is accepted only with
    /// [`Flaw::ZeroSerial`]; the other request checks of
    /// [`CertificateAuthority::issue`] still apply.
    pub fn issue_flawed(
        ca: &CertificateAuthority,
        req: &CertRequest,
        flaw: Flaw,
    ) -> Result<Der, PkiError> {
        ca.issue_with(req, Profile { flaw: Some(flaw) })
    }

    /// `req` issued honestly by `ca` but valid only from `not_before` to
    /// `not_after`: for expired and not-yet-valid certificates.
    pub fn with_validity(
        ca: &CertificateAuthority,
        req: &CertRequest,
        not_before: u64,
        not_after: u64,
    ) -> Result<Der, PkiError> {
        ca.issue(&CertRequest {
            not_before,
            not_after,
            ..req.clone()
        })
    }

    /// `req` issued under `ca`'s name but signed with ECDSA P-256 (the fixed
    /// scalar-1 key) instead of the CA's Ed25519 key →
    /// `UnsupportedSignatureAlgorithm`. Not byte-reproducible: ring randomises
    /// ECDSA nonces. Only the certificate bytes vary; the rejection does not.
    pub fn ecdsa_signed(ca: &CertificateAuthority, req: &CertRequest) -> Result<Der, PkiError> {
        let key = KeyPair::try_from(p256_scalar_one_pkcs8())?;
        let issuer = Issuer::new(ca.0.params.clone(), key);
        let mut params = rcgen::CertificateParams::default();
        params.distinguished_name = super::common_name_dn(&req.common_name);
        params.serial_number = Some(req.serial.into());
        params.not_before = super::asn1_time(req.not_before);
        params.not_after = super::asn1_time(req.not_after);
        params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        let subject_key = RawPublicKey {
            alg: &rcgen::PKCS_ED25519,
            bytes: &req.public_key,
        };
        let cert = params.signed_by(&subject_key, &issuer)?;
        Ok(Der::from(cert.der().to_vec()))
    }

    /// `der` with bit `bit` (modulo the length in bits) inverted; unchanged if empty.
    pub fn flip_bit(der: &[u8], bit: usize) -> Vec<u8> {
        let mut out = der.to_vec();
        let bits = out.len().saturating_mul(8);
        if bits > 0 {
            let bit = bit % bits;
            if let Some(byte) = out.get_mut(bit / 8) {
                *byte ^= 1 << (bit % 8);
            }
        }
        out
    }

    /// `der` with bit `bit` (modulo 512) of its trailing 64-byte Ed25519
    /// signature inverted → `BadSignature` (or `CrlBadSignature`).
    pub fn flip_signature_bit(der: &[u8], bit: usize) -> Vec<u8> {
        let start = der.len().saturating_sub(64);
        let mut out = der.to_vec();
        if let Some(signature) = out.get_mut(start..) {
            let bits = signature.len() * 8;
            if bits > 0 {
                let bit = bit % bits;
                if let Some(byte) = signature.get_mut(bit / 8) {
                    *byte ^= 1 << (bit % 8);
                }
            }
        }
        out
    }

    /// The first `len` bytes of `der` → `Malformed` for any `len` shorter than `der`.
    pub fn truncate(der: &[u8], len: usize) -> Vec<u8> {
        der.get(..len).unwrap_or(der).to_vec()
    }

    /// `der` followed by `extra` → `Malformed` for any non-empty `extra`.
    pub fn append(der: &[u8], extra: &[u8]) -> Vec<u8> {
        let mut out = der.to_vec();
        out.extend_from_slice(extra);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::forge::{self, Flaw};
    use super::*;
    use proptest::prelude::*;
    use std::process::Command;
    use std::sync::atomic::{AtomicU64, Ordering};

    const SEED: u64 = 7;
    const TEN_YEARS: VirtualTime = 3_652 * DAY;

    fn ca(seed: u64, name: &str) -> CertificateAuthority {
        CertificateAuthority::new(&key_seed(seed, KeyStream::Ca, 0), name).expect("root")
    }

    fn user_key(seed: u64, index: u64) -> SigningKey {
        derive_key(seed, KeyStream::User, index)
    }

    fn request(seed: u64, index: u64, serial: u64) -> CertRequest {
        CertRequest {
            serial,
            common_name: format!("User {index}"),
            email: format!("user{index}@example.test"),
            public_key: user_key(seed, index).public_key(),
            not_before: 0,
            not_after: TEN_YEARS,
        }
    }

    fn parse(der: &[u8]) -> X509Certificate<'_> {
        let (rest, cert) = x509_parser::parse_x509_certificate(der).expect("parses");
        assert!(rest.is_empty());
        cert
    }

    // ----- determinism -----

    #[test]
    fn same_seed_gives_byte_identical_root_certificate_crl_and_signature() {
        let build = || {
            let ca = ca(SEED, "Common CA");
            let cert = ca.issue(&request(SEED, 1, 0x80)).expect("issue");
            let crl = ca.crl(3, &[5, 2, 5], 1_000).expect("crl");
            let sig = user_key(SEED, 1).sign(&challenge_bytes("bank-a", 42));
            (ca.root().clone(), cert, crl, sig)
        };
        assert_eq!(build(), build());
    }

    #[test]
    fn different_seed_gives_different_keys_and_certificates() {
        let (a, b) = (ca(1, "Common CA"), ca(2, "Common CA"));
        assert_ne!(a.root(), b.root());
        assert_ne!(a.public_key(), b.public_key());
        assert_ne!(
            a.issue(&request(1, 1, 9)).expect("a"),
            a.issue(&request(2, 1, 9)).expect("b")
        );
        assert_ne!(
            user_key(1, 1).sign(b"m"),
            user_key(2, 1).sign(b"m"),
            "signatures under different seeds"
        );
    }

    #[test]
    fn key_seed_is_independent_per_stream_and_index() {
        let mut seen = HashSet::new();
        for stream in [
            KeyStream::Ca,
            KeyStream::User,
            KeyStream::Service,
            KeyStream::Attacker,
        ] {
            for index in [0, 1, 2, u64::MAX] {
                assert_eq!(key_seed(SEED, stream, index), key_seed(SEED, stream, index));
                assert!(
                    seen.insert(key_seed(SEED, stream, index)),
                    "{stream:?} {index}"
                );
            }
        }
    }

    // ----- honest issuance -----

    #[test]
    fn issued_certificate_verifies_to_its_request() {
        let ca = ca(SEED, "Common CA");
        let req = request(SEED, 3, 0x1234_5678_9abc);
        let der = ca.issue(&req).expect("issue");
        let info = ca
            .trust_anchor()
            .verify_certificate(der.as_bytes(), DAY)
            .expect("valid");
        assert_eq!(
            info,
            CertInfo {
                serial: req.serial,
                common_name: req.common_name.clone(),
                email: req.email.clone(),
                public_key: req.public_key,
                not_before: 0,
                not_after: TEN_YEARS,
            }
        );
        let cert = parse(der.as_bytes());
        assert_eq!(
            cert.issuer().as_raw(),
            parse(ca.root().as_bytes()).subject().as_raw()
        );
        assert!(cert.key_usage().expect("ku").expect("present").critical);
        let bc = cert.basic_constraints().expect("bc").expect("present");
        assert!(bc.critical && !bc.value.ca);
    }

    #[test]
    fn serial_is_encoded_positive_and_minimal() {
        let ca = ca(SEED, "Common CA");
        let cases: [(u64, &[u8]); 6] = [
            (1, &[0x01]),
            (0x7f, &[0x7f]),
            (0x80, &[0x00, 0x80]),
            (0x100, &[0x01, 0x00]),
            (0x8000_0000_0000_0000, &[0x00, 0x80, 0, 0, 0, 0, 0, 0, 0]),
            (
                u64::MAX,
                &[0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            ),
        ];
        for (serial, content) in cases {
            let der = ca.issue(&request(SEED, 1, serial)).expect("issue");
            assert_eq!(
                parse(der.as_bytes()).raw_serial(),
                content,
                "serial {serial:#x}"
            );
            // Also in the raw bytes: version [0] v3, then INTEGER serial.
            let mut pattern = vec![0xa0, 0x03, 0x02, 0x01, 0x02, 0x02, content.len() as u8];
            pattern.extend_from_slice(content);
            assert!(der.as_bytes().windows(pattern.len()).any(|w| w == pattern));
            let info = ca.trust_anchor().verify_certificate(der.as_bytes(), 0);
            assert_eq!(info.map(|i| i.serial), Ok(serial));
        }
    }

    #[test]
    fn serial_content_rules() {
        assert_eq!(serial_from_integer_content(&[]), None);
        assert_eq!(serial_from_integer_content(&[0]), None, "zero");
        assert_eq!(serial_from_integer_content(&[0, 0x7f]), None, "not minimal");
        assert_eq!(serial_from_integer_content(&[0x80]), None, "negative");
        assert_eq!(serial_from_integer_content(&[0xff, 0xff]), None, "negative");
        assert_eq!(serial_from_integer_content(&[1; 9]), None, "over u64");
        assert_eq!(
            serial_from_integer_content(&[1; 21]),
            None,
            "over 20 octets"
        );
        assert_eq!(serial_from_integer_content(&[0, 0x80]), Some(0x80));
    }

    #[test]
    fn issue_refuses_zero_serial_empty_window_and_missing_names() {
        let ca = ca(SEED, "Common CA");
        let good = request(SEED, 1, 5);
        let refuse = |req: CertRequest| ca.issue(&req).err().map(|e| e.to_string());
        assert!(matches!(
            ca.issue(&CertRequest {
                serial: 0,
                ..good.clone()
            }),
            Err(PkiError::ZeroSerial)
        ));
        assert!(matches!(
            ca.issue(&CertRequest {
                not_before: 2_000,
                not_after: 1_000,
                ..good.clone()
            }),
            Err(PkiError::EmptyValidity { .. })
        ));
        // 1.5 s .. 1.9 s contains no whole second once rounded inward.
        assert!(matches!(
            ca.issue(&CertRequest {
                not_before: 1_500,
                not_after: 1_900,
                ..good.clone()
            }),
            Err(PkiError::EmptyValidity { .. })
        ));
        assert!(matches!(
            ca.issue(&CertRequest {
                common_name: String::new(),
                ..good.clone()
            }),
            Err(PkiError::EmptyCommonName)
        ));
        for email in ["", "usér@example.test"] {
            assert!(
                matches!(
                    ca.issue(&CertRequest {
                        email: email.into(),
                        ..good.clone()
                    }),
                    Err(PkiError::InvalidEmail)
                ),
                "{:?}",
                refuse(CertRequest {
                    email: email.into(),
                    ..good.clone()
                })
            );
        }
        assert!(matches!(ca.crl(1, &[3, 0], 0), Err(PkiError::ZeroSerial)));
    }

    #[test]
    fn validity_is_rounded_inward_to_whole_seconds() {
        let ca = ca(SEED, "Common CA");
        let anchor = ca.trust_anchor();
        let req = CertRequest {
            not_before: 1_500,
            not_after: 9_500,
            ..request(SEED, 1, 5)
        };
        let der = ca.issue(&req).expect("issue");
        let info = anchor
            .verify_certificate(der.as_bytes(), 2_000)
            .expect("valid");
        assert_eq!((info.not_before, info.not_after), (2_000, 9_000));
        assert_eq!(
            anchor.verify_certificate(der.as_bytes(), 1_999),
            Err(Rejection::NotYetValid)
        );
        assert_eq!(
            anchor.verify_certificate(der.as_bytes(), 9_000).map(|_| ()),
            Ok(())
        );
        assert_eq!(
            anchor.verify_certificate(der.as_bytes(), 9_001),
            Err(Rejection::Expired)
        );
    }

    #[test]
    fn asn1_time_maps_epoch_and_saturates_at_year_9999() {
        assert_eq!(asn1_time(0).unix_timestamp(), EPOCH_UNIX_SECONDS);
        assert_eq!((asn1_time(0).year(), asn1_time(0).ordinal()), (2025, 1));
        assert_eq!(asn1_time(1_234).millisecond(), 234);
        assert_eq!(asn1_time(ROOT_VALIDITY).year(), 2045);
        assert_eq!(asn1_time(u64::MAX).unix_timestamp(), MAX_ASN1_UNIX_SECONDS);
        assert_eq!(virtual_time_from_unix_seconds(0), 0);
        assert_eq!(
            virtual_time_from_unix_seconds(EPOCH_UNIX_SECONDS + 2),
            2_000
        );
    }

    #[test]
    fn far_future_validity_is_issued_and_checked() {
        let ca = ca(SEED, "Common CA");
        let req = CertRequest {
            not_after: u64::MAX,
            ..request(SEED, 1, 5)
        };
        let der = ca.issue(&req).expect("issue");
        let anchor = ca.trust_anchor();
        // notAfter saturates at 9999-12-31T23:59:59Z.
        assert!(
            anchor
                .verify_certificate(der.as_bytes(), 7_000 * 365 * DAY)
                .is_ok()
        );
        assert_eq!(
            anchor.verify_certificate(der.as_bytes(), u64::MAX),
            Err(Rejection::Expired)
        );
    }

    #[test]
    fn shared_types_are_send_and_sync() {
        // The model checker explores states on several threads.
        fn check<T: Send + Sync>() {}
        check::<Der>();
        check::<SigningKey>();
        check::<CertificateAuthority>();
        check::<TrustAnchor>();
        check::<CertInfo>();
        check::<Rejection>();
    }

    #[test]
    fn pkcs8_der_is_read_by_rcgen_as_the_same_key() {
        let key = user_key(SEED, 1);
        let pair = rcgen::KeyPair::try_from(key.pkcs8_der()).expect("pkcs8");
        assert_eq!(pair.public_key_raw(), key.public_key());
        assert_eq!(key.sign(b"msg").len(), 64);
    }

    #[test]
    fn debug_output_never_shows_secrets() {
        let seed = key_seed(SEED, KeyStream::Ca, 0);
        let secret = hex(seed.iter());
        let ca = CertificateAuthority::new(&seed, "Common CA").expect("root");
        for text in [
            format!("{:?}", SigningKey::from_seed(&seed)),
            format!("{ca:?}"),
        ] {
            assert!(!text.contains(&secret), "{text}");
            assert!(text.contains("elided"), "{text}");
        }
        let der = format!("{:?}", ca.root());
        assert!(der.starts_with("Der(") && der.len() < 60, "{der}");
    }

    // ----- rejections -----

    #[track_caller]
    fn assert_rejected(anchor: &TrustAnchor, der: &[u8], now: VirtualTime, want: Rejection) {
        assert_eq!(anchor.verify_certificate(der, now), Err(want));
    }

    #[test]
    fn malformed_inputs_are_malformed() {
        let ca = ca(SEED, "Common CA");
        let anchor = ca.trust_anchor();
        let der = ca.issue(&request(SEED, 1, 5)).expect("issue");
        assert_rejected(&anchor, b"", 0, Rejection::Malformed);
        assert_rejected(&anchor, b"certainly not DER", 0, Rejection::Malformed);
        assert_rejected(&anchor, &[0x30, 0x80, 0, 0], 0, Rejection::Malformed);
        for len in 0..der.len() {
            assert_rejected(
                &anchor,
                &forge::truncate(der.as_bytes(), len),
                0,
                Rejection::Malformed,
            );
        }
        for extra in [&[0u8][..], b"\x30\x00", der.as_bytes()] {
            assert_rejected(
                &anchor,
                &forge::append(der.as_bytes(), extra),
                0,
                Rejection::Malformed,
            );
        }
    }

    #[test]
    fn certificate_of_another_ca_is_unknown_issuer_or_bad_signature() {
        let ours = ca(SEED, "Common CA");
        let anchor = ours.trust_anchor();
        let req = request(SEED, 1, 5);
        // A different CA with a different name: the issuer does not match.
        let other = ca(SEED + 1, "Other CA");
        assert_rejected(
            &anchor,
            other.issue(&req).expect("other").as_bytes(),
            0,
            Rejection::UnknownIssuer,
        );
        // An impostor CA that copies our name: only the signature tells.
        let impostor = ca(SEED + 1, "Common CA");
        let forged = impostor.issue(&req).expect("impostor");
        assert_rejected(&anchor, forged.as_bytes(), 0, Rejection::BadSignature);
        // And the impostor's root is not our root either.
        assert_rejected(
            &anchor,
            impostor.root().as_bytes(),
            0,
            Rejection::NotEndEntity,
        );
    }

    #[test]
    fn every_flipped_signature_bit_is_bad_signature() {
        let ca = ca(SEED, "Common CA");
        let anchor = ca.trust_anchor();
        let der = ca.issue(&request(SEED, 1, 5)).expect("issue");
        for bit in 0..512 {
            let flipped = forge::flip_signature_bit(der.as_bytes(), bit);
            assert_rejected(&anchor, &flipped, 0, Rejection::BadSignature);
        }
    }

    #[test]
    fn every_single_bit_flip_of_a_certificate_or_crl_is_refused() {
        let ca = ca(SEED, "Common CA");
        let anchor = ca.trust_anchor();
        let cert = ca.issue(&request(SEED, 1, 5)).expect("issue");
        let crl = ca.crl(1, &[5, 6], 0).expect("crl");
        for bit in 0..cert.len() * 8 {
            let flipped = forge::flip_bit(cert.as_bytes(), bit);
            assert!(
                anchor.verify_certificate(&flipped, 0).is_err(),
                "cert bit {bit}"
            );
        }
        for bit in 0..crl.len() * 8 {
            let flipped = forge::flip_bit(crl.as_bytes(), bit);
            assert!(anchor.verify_crl(&flipped).is_err(), "crl bit {bit}");
        }
    }

    #[test]
    fn unsigned_algorithm_identifier_with_wrong_tag_class_is_malformed() {
        // x509-parser reads an OID whose tag is [APPLICATION 6] (0x46) instead
        // of UNIVERSAL 6 as the same OID. The outer AlgorithmIdentifier is not
        // signed, so only the canonical-framing check stands between us and
        // a second accepted encoding of the same certificate or CRL.
        let ca = ca(SEED, "Common CA");
        let anchor = ca.trust_anchor();
        let cert = ca.issue(&request(SEED, 1, 5)).expect("issue");
        let crl = ca.crl(1, &[5], 0).expect("crl");
        let retag = |der: &[u8]| {
            let mut out = der.to_vec();
            // The outer id-Ed25519 OID sits 3 + 64 + 5 bytes from the end.
            let at = out.len() - (64 + 3 + 5);
            assert_eq!(
                out.get(at..at + 5),
                Some(&[0x06, 0x03, 0x2b, 0x65, 0x70][..])
            );
            out[at] = 0x46;
            out
        };
        assert_rejected(&anchor, &retag(cert.as_bytes()), 0, Rejection::Malformed);
        assert_eq!(
            anchor.verify_crl(&retag(crl.as_bytes())),
            Err(Rejection::CrlMalformed)
        );
    }

    #[test]
    fn validity_window_is_enforced_at_now() {
        let ca = ca(SEED, "Common CA");
        let anchor = ca.trust_anchor();
        let req = request(SEED, 1, 5);
        let past = forge::with_validity(&ca, &req, 0, DAY).expect("past");
        assert_rejected(&anchor, past.as_bytes(), 2 * DAY, Rejection::Expired);
        let future = forge::with_validity(&ca, &req, 3 * DAY, 4 * DAY).expect("future");
        assert_rejected(&anchor, future.as_bytes(), 2 * DAY, Rejection::NotYetValid);
        // Boundaries are inclusive.
        assert!(anchor.verify_certificate(past.as_bytes(), DAY).is_ok());
        assert!(
            anchor
                .verify_certificate(future.as_bytes(), 3 * DAY)
                .is_ok()
        );
    }

    #[test]
    fn each_profile_flaw_gets_its_own_rejection() {
        let ca = ca(SEED, "Common CA");
        let anchor = ca.trust_anchor();
        let req = request(SEED, 1, 5);
        for flaw in Flaw::ALL {
            let want = flaw.rejection();
            let der = forge::issue_flawed(&ca, &req, flaw).expect("forged");
            assert_eq!(
                anchor.verify_certificate(der.as_bytes(), 0),
                Err(want),
                "{flaw:?}"
            );
        }
    }

    #[test]
    fn ca_certificate_presented_as_user_certificate_is_not_end_entity() {
        let ca = ca(SEED, "Common CA");
        assert_rejected(
            &ca.trust_anchor(),
            ca.root().as_bytes(),
            0,
            Rejection::NotEndEntity,
        );
    }

    #[test]
    fn ecdsa_key_and_ecdsa_signature_are_unsupported() {
        let ca = ca(SEED, "Common CA");
        let anchor = ca.trust_anchor();
        let req = request(SEED, 1, 5);
        let key = forge::issue_flawed(&ca, &req, Flaw::EcdsaSubjectKey).expect("ecdsa key");
        assert_rejected(&anchor, key.as_bytes(), 0, Rejection::UnsupportedKey);
        let signed = forge::ecdsa_signed(&ca, &req).expect("ecdsa signed");
        assert_rejected(
            &anchor,
            signed.as_bytes(),
            0,
            Rejection::UnsupportedSignatureAlgorithm,
        );
    }

    #[test]
    fn trust_anchor_accepts_only_a_self_signed_ed25519_ca() {
        let ca = ca(SEED, "Common CA");
        let anchor = TrustAnchor::from_root_der(ca.root().as_bytes()).expect("root");
        assert_eq!(anchor.public_key(), ca.public_key());
        let user = ca.issue(&request(SEED, 1, 5)).expect("issue");
        assert_eq!(
            TrustAnchor::from_root_der(user.as_bytes()).map(|_| ()),
            Err(Rejection::NotCa)
        );
        assert_eq!(
            TrustAnchor::from_root_der(b"junk").map(|_| ()),
            Err(Rejection::Malformed)
        );
        let flipped = forge::flip_signature_bit(ca.root().as_bytes(), 3);
        assert_eq!(
            TrustAnchor::from_root_der(&flipped).map(|_| ()),
            Err(Rejection::BadSignature)
        );
    }

    #[test]
    fn results_are_cached_but_time_is_checked_on_every_call() {
        let ca = ca(SEED, "Common CA");
        let anchor = ca.trust_anchor();
        let clone = anchor.clone();
        let der = forge::with_validity(&ca, &request(SEED, 1, 5), 0, DAY).expect("issue");
        assert!(anchor.verify_certificate(der.as_bytes(), 0).is_ok());
        let cached = anchor.cached_results();
        assert_rejected(&clone, der.as_bytes(), 2 * DAY, Rejection::Expired);
        assert_eq!(clone.cached_results(), cached, "clones share one cache");
        assert_rejected(&anchor, b"junk", 0, Rejection::Malformed);
        assert_rejected(&anchor, b"junk", 0, Rejection::Malformed);
        assert_eq!(anchor.cached_results(), cached + 1);
        for i in 0..(CACHE_LIMIT as u32 + 10) {
            let _ = anchor.verify_certificate(&i.to_be_bytes(), 0);
        }
        assert!(anchor.cached_results() <= CACHE_LIMIT);
    }

    // ----- proof of possession -----

    #[test]
    fn proof_verifies_only_with_the_certificate_key_and_challenge() {
        let owner = user_key(SEED, 1);
        let thief = derive_key(SEED, KeyStream::Attacker, 0);
        let msg = challenge_bytes("bank-a", 42);
        assert_eq!(
            verify_proof(&owner.public_key(), &msg, &owner.sign(&msg)),
            Ok(())
        );
        assert_eq!(
            verify_proof(&owner.public_key(), &msg, &thief.sign(&msg)),
            Err(Rejection::BadProof)
        );
        let other = challenge_bytes("bank-b", 42);
        assert_eq!(
            verify_proof(&owner.public_key(), &other, &owner.sign(&msg)),
            Err(Rejection::BadProof)
        );
        assert_eq!(
            verify_proof(&owner.public_key(), &msg, &[]),
            Err(Rejection::BadProof)
        );
        assert_ne!(challenge_bytes("ab", 1), challenge_bytes("a", 1));
        assert_ne!(challenge_bytes("a", 1), challenge_bytes("a", 2));
        assert!(challenge_bytes("a", 1).starts_with(PROOF_DOMAIN));
    }

    // ----- CRLs -----

    #[test]
    fn crl_lists_revoked_serials_sorted() {
        let ca = ca(SEED, "Common CA");
        let der = ca.crl(7, &[9, 3, 0x80, 3], 5 * DAY + 123).expect("crl");
        let info = ca
            .trust_anchor()
            .verify_crl_info(der.as_bytes())
            .expect("valid");
        assert_eq!(
            info,
            CrlInfo {
                crl_number: 7,
                this_update: 5 * DAY,
                next_update: 6 * DAY,
                revoked: vec![3, 9, 0x80],
            }
        );
        let empty = ca.crl(0, &[], 0).expect("empty crl");
        assert_eq!(ca.trust_anchor().verify_crl(empty.as_bytes()), Ok(vec![]));
    }

    #[test]
    fn bad_crls_get_their_exact_rejection() {
        let ca = ca(SEED, "Common CA");
        let anchor = ca.trust_anchor();
        let crl = ca.crl(1, &[5], 0).expect("crl");
        let other = ca_with_seed_crl(SEED + 1, "Other CA");
        assert_eq!(
            anchor.verify_crl(other.as_bytes()),
            Err(Rejection::CrlUnknownIssuer)
        );
        let impostor = ca_with_seed_crl(SEED + 1, "Common CA");
        assert_eq!(
            anchor.verify_crl(impostor.as_bytes()),
            Err(Rejection::CrlBadSignature)
        );
        for bit in [0, 100, 511] {
            let flipped = forge::flip_signature_bit(crl.as_bytes(), bit);
            assert_eq!(anchor.verify_crl(&flipped), Err(Rejection::CrlBadSignature));
        }
        assert_eq!(anchor.verify_crl(b""), Err(Rejection::CrlMalformed));
        assert_eq!(anchor.verify_crl(b"garbage"), Err(Rejection::CrlMalformed));
        for len in 0..crl.len() {
            let short = forge::truncate(crl.as_bytes(), len);
            assert_eq!(
                anchor.verify_crl(&short),
                Err(Rejection::CrlMalformed),
                "len {len}"
            );
        }
        let long = forge::append(crl.as_bytes(), &[0]);
        assert_eq!(anchor.verify_crl(&long), Err(Rejection::CrlMalformed));
        // A certificate is not a CRL.
        assert_eq!(
            anchor.verify_crl(ca.root().as_bytes()),
            Err(Rejection::CrlMalformed)
        );
    }

    fn ca_with_seed_crl(seed: u64, name: &str) -> Der {
        ca(seed, name).crl(1, &[5], 0).expect("crl")
    }

    // ----- PEM and openssl interop -----

    #[test]
    fn pem_is_rfc7468_base64_in_64_columns() {
        // RFC 4648 test vectors.
        for (input, b64) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            let body = if b64.is_empty() {
                String::new()
            } else {
                format!("{b64}\n")
            };
            assert_eq!(
                pem("X", input.as_bytes()),
                format!("-----BEGIN X-----\n{body}-----END X-----\n")
            );
        }
        let text = pem("CERTIFICATE", &[0xab; 100]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5);
        assert_eq!(
            (lines[1].len(), lines[2].len(), lines[3].len()),
            (64, 64, 8)
        );
    }

    static DIR_COUNTER: AtomicU64 = AtomicU64::new(0);

    /// A fresh directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> Self {
            let n = DIR_COUNTER.fetch_add(1, Ordering::Relaxed);
            let dir = std::env::temp_dir()
                .join(format!("commoncert-x509-{}-{tag}-{n}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn export_pem_sanitises_names_and_never_overwrites() {
        let ca = ca(SEED, "Common CA");
        let cert = ca.issue(&request(SEED, 1, 5)).expect("issue");
        let crl = ca.crl(1, &[], 0).expect("crl");
        let dir = TempDir::new("export");
        let users = [
            ("alice".to_owned(), cert.clone()),
            ("../ali ce".to_owned(), cert.clone()),
            ("ca".to_owned(), cert.clone()),
            ("alice".to_owned(), cert.clone()),
            (String::new(), cert.clone()),
        ];
        let written = export_pem(&dir.0, ca.root(), &users, &[crl.clone(), crl]).expect("export");
        let names: Vec<String> = written
            .iter()
            .map(|p| {
                p.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(
            names,
            [
                "ca.pem",
                "alice.pem",
                "_.._ali_ce.pem",
                "ca-1.pem",
                "alice-1.pem",
                "_.pem",
                "crl-1.pem",
                "crl-2.pem"
            ]
        );
        assert!(written.iter().all(|p| p.parent() == Some(dir.0.as_path())));
        let text = std::fs::read_to_string(&written[0]).expect("read");
        assert_eq!(text, pem("CERTIFICATE", ca.root().as_bytes()));
    }

    /// Run openssl; a missing binary fails the test (CI installs it), never skips it.
    fn openssl(args: &[&str], dir: &Path) -> (bool, String) {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap_or_else(|e| panic!("`openssl` must be installed for the interop tests: {e}"));
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    /// Virtual time 30 days in: inside every interop certificate's window.
    const INTEROP_NOW: VirtualTime = 30 * DAY;

    fn interop_fixture(tag: &str) -> TempDir {
        let ca = ca(SEED, "Common CA");
        let alice = ca.issue(&request(SEED, 1, 0x80)).expect("alice");
        let bob = ca.issue(&request(SEED, 2, 0x81)).expect("bob");
        let crl = ca.crl(1, &[0x81], INTEROP_NOW - DAY / 2).expect("crl");
        let dir = TempDir::new(tag);
        export_pem(
            &dir.0,
            ca.root(),
            &[("user".into(), alice), ("revoked".into(), bob)],
            &[crl],
        )
        .expect("export");
        dir
    }

    fn attime() -> String {
        // openssl checks validity at -attime (Unix seconds) instead of the wall clock.
        (EPOCH_UNIX_SECONDS + (INTEROP_NOW / 1000) as i64).to_string()
    }

    #[test]
    fn openssl_verifies_our_user_certificate() {
        let dir = interop_fixture("verify");
        let at = attime();
        let (ok, out) = openssl(
            &["verify", "-attime", &at, "-CAfile", "ca.pem", "user.pem"],
            &dir.0,
        );
        assert!(ok && out.contains("user.pem: OK"), "{out}");
        // Also against the real clock: the certificates are valid 2025..2035.
        let (ok, out) = openssl(&["verify", "-CAfile", "ca.pem", "user.pem"], &dir.0);
        assert!(ok && out.contains("OK"), "{out}");
    }

    #[test]
    fn openssl_verifies_our_crl_signature() {
        let dir = interop_fixture("crl");
        let (ok, out) = openssl(
            &["crl", "-in", "crl.pem", "-CAfile", "ca.pem", "-noout"],
            &dir.0,
        );
        assert!(ok && out.contains("verify OK"), "{out}");
    }

    #[test]
    fn openssl_sees_revocation_in_our_crl() {
        let dir = interop_fixture("revoked");
        let at = attime();
        let check = |cert: &str| {
            openssl(
                &[
                    "verify",
                    "-attime",
                    &at,
                    "-crl_check",
                    "-CRLfile",
                    "crl.pem",
                    "-CAfile",
                    "ca.pem",
                    cert,
                ],
                &dir.0,
            )
        };
        let (ok, out) = check("revoked.pem");
        assert!(!ok && out.contains("certificate revoked"), "{out}");
        let (ok, out) = check("user.pem");
        assert!(ok && out.contains("user.pem: OK"), "{out}");
    }

    // ----- no panics on any input -----

    struct Fixture {
        anchor: TrustAnchor,
        cert: Der,
        crl: Der,
    }

    fn fixture() -> &'static Fixture {
        static FIXTURE: std::sync::OnceLock<Fixture> = std::sync::OnceLock::new();
        FIXTURE.get_or_init(|| {
            let ca = ca(SEED, "Common CA");
            Fixture {
                anchor: ca.trust_anchor(),
                cert: ca.issue(&request(SEED, 1, 5)).expect("issue"),
                crl: ca.crl(1, &[5, 6], 0).expect("crl"),
            }
        })
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let f = fixture();
            prop_assert!(f.anchor.verify_certificate(&bytes, 0).is_err());
            prop_assert!(f.anchor.verify_crl(&bytes).is_err());
        }

        /// Any change to one byte of a valid certificate or CRL is refused:
        /// DER is canonical and everything outside the signed part is checked.
        #[test]
        fn any_single_byte_change_is_refused(index in any::<usize>(), xor in 1u8..) {
            let f = fixture();
            let mut cert = f.cert.as_bytes().to_vec();
            let i = index % cert.len();
            cert[i] ^= xor;
            prop_assert!(f.anchor.verify_certificate(&cert, 0).is_err(), "cert byte {}", i);
            let mut crl = f.crl.as_bytes().to_vec();
            let j = index % crl.len();
            crl[j] ^= xor;
            prop_assert!(f.anchor.verify_crl(&crl).is_err(), "crl byte {}", j);
        }

        #[test]
        fn random_mutations_never_panic(
            edits in proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 1..8),
        ) {
            let f = fixture();
            for original in [f.cert.as_bytes(), f.crl.as_bytes()] {
                let mut bytes = original.to_vec();
                for &(at, byte, kind) in &edits {
                    let at = at % (bytes.len() + 1);
                    match kind {
                        0 if at < bytes.len() => bytes[at] = byte,
                        1 => bytes.insert(at, byte),
                        _ if at < bytes.len() => { bytes.remove(at); }
                        _ => {}
                    }
                }
                let _ = f.anchor.verify_certificate(&bytes, 0);
                let _ = f.anchor.verify_crl(&bytes);
            }
        }
    }
}
