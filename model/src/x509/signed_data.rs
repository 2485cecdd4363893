//! The signature algorithm and keys of signed structures: Ed25519 only,
//! pinned to its canonical encoding.

use crate::x509::der::ed25519_signed_der;

use x509_parser::oid_registry::OID_SIG_ED25519;
use x509_parser::x509::{AlgorithmIdentifier, SubjectPublicKeyInfo};

/// Ed25519 per RFC 8410: the OID with parameters absent.
pub(super) fn is_ed25519(alg: &AlgorithmIdentifier<'_>) -> bool {
    alg.algorithm == OID_SIG_ED25519 && alg.parameters.is_none()
}

/// The outcome of the signature-algorithm step, shared by certificates and CRLs.
pub(super) enum SigAlg {
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
pub(super) fn check_signature_algorithm(
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
pub(super) fn ed25519_key(spki: &SubjectPublicKeyInfo<'_>) -> Option<[u8; 32]> {
    if !is_ed25519(&spki.algorithm) || spki.subject_public_key.unused_bits != 0 {
        return None;
    }
    <[u8; 32]>::try_from(spki.subject_public_key.data.as_ref()).ok()
}
