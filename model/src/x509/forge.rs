//! Test and adversarial helpers; never used by the protocol.
//!
//! Each builds a deliberately bad certificate from an honest CA and request,
//! so that tests, property tests and fuzzers can check that every flaw is
//! refused with its own [`Rejection`](crate::rejection::Rejection).
//! Everything here is deterministic except [`ecdsa_signed`], whose ECDSA
//! signature ring randomises.

use crate::rejection::Rejection;
use crate::x509::der::Der;
use crate::x509::issue::{CertRequest, CertificateAuthority, PkiError, common_name_dn};
use crate::x509::keys::RawPublicKey;
use rcgen::{BasicConstraints, ExtendedKeyUsagePurpose, IsCa, KeyUsagePurpose, SerialNumber};
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
    0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6, 0xe5, 0x63, 0xa4, 0x40, 0xf2,
    0x77, 0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33, 0xa0, 0xf4, 0xa1, 0x39, 0x45, 0xd8, 0x98, 0xc2,
    0x96, // x
    0x4f, 0xe3, 0x42, 0xe2, 0xfe, 0x1a, 0x7f, 0x9b, 0x8e, 0xe7, 0xeb, 0x4a, 0x7c, 0x0f, 0x9e, 0x16,
    0x2b, 0xce, 0x33, 0x57, 0x6b, 0x31, 0x5e, 0xce, 0xcb, 0xb6, 0x40, 0x68, 0x37, 0xbf, 0x51,
    0xf5, // y
];

/// PKCS#8 (RFC 5915 inside RFC 5208) of the P-256 key with private scalar 1,
/// so the ECDSA forgery needs no random key generation.
pub(super) fn p256_scalar_one_pkcs8() -> Vec<u8> {
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
    let mut req = req.clone();
    if flaw == Flaw::ZeroSerial && req.serial == 0 {
        // Any serial passes the request check; the tweak writes 0 over it.
        req.serial = 1;
    }
    ca.issue_with(&req, |params, subject_key| {
        match flaw {
            Flaw::ServerAuthOnly => {
                params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
            }
            Flaw::NoEku => params.extended_key_usages.clear(),
            Flaw::NoDigitalSignature => {
                params.key_usages = vec![KeyUsagePurpose::ContentCommitment];
            }
            Flaw::CaCertificate => {
                params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
                params.key_usages = vec![
                    KeyUsagePurpose::DigitalSignature,
                    KeyUsagePurpose::KeyCertSign,
                    KeyUsagePurpose::CrlSign,
                ];
            }
            Flaw::EcdsaSubjectKey => {
                *subject_key = RawPublicKey {
                    alg: &rcgen::PKCS_ECDSA_P256_SHA256,
                    bytes: &P256_GENERATOR,
                };
            }
            Flaw::ZeroSerial => params.serial_number = Some(SerialNumber::from(0u64)),
            Flaw::OversizedSerial => {
                // 2^64: a valid RFC 5280 serial (9 octets) that our u64 tables cannot hold.
                params.serial_number = Some(SerialNumber::from_slice(&[1, 0, 0, 0, 0, 0, 0, 0, 0]));
            }
            Flaw::NoEmail => params.subject_alt_names.clear(),
            Flaw::UnknownCriticalExtension => {
                // A private-arc OID nobody understands, content NULL.
                let mut ext = rcgen::CustomExtension::from_oid_content(
                    &[1, 3, 6, 1, 4, 1, 55555, 1],
                    vec![0x05, 0x00],
                );
                ext.set_criticality(true);
                params.custom_extensions.push(ext);
            }
        }
    })
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
    params.distinguished_name = common_name_dn(&req.common_name);
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
