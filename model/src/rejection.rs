//! Why a certificate, a CRL or a proof of possession was refused.
//!
//! One flat enum, in the style of webpki's `Error`: every variant names exactly
//! one reason, so that a trace, a coverage report or a test can say *which*
//! check fired, not merely that "verification failed". The enum is `Copy`,
//! ordered and hashable so that it can sit inside model-checker states and
//! messages, and it serialises to the same kebab-case name that [`Rejection::code`]
//! returns, which is the stable spelling used in traces and reports.
//!
//! Variants are grouped by the layer that detects them: the certificate
//! (encoding, issuer, signature, profile, validity), the certificate
//! revocation list, and the protocol around the certificate (proof of
//! possession, challenges, the service's own table).

use serde::{Deserialize, Serialize};

/// One precise reason for refusing a certificate, a CRL or a proof.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    thiserror::Error,
)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Rejection {
    // ----- certificate: encoding -----
    /// The bytes are not one DER-encoded X.509 v3 certificate: not DER at all,
    /// truncated, followed by trailing bytes, not version 3, with duplicate or
    /// unparseable extensions, or with a signature BIT STRING that has unused bits.
    #[error("the certificate is not a well-formed DER X.509 v3 certificate")]
    Malformed,

    // ----- certificate: role -----
    /// A CA certificate (basicConstraints cA = TRUE) was presented where a
    /// user's end-entity certificate was expected. Accepting one would let a
    /// holder of the CA's public certificate (everybody) log in as "the CA".
    #[error("a CA certificate was presented where a user certificate was expected")]
    NotEndEntity,

    /// A certificate offered as a trust anchor is not a CA certificate that
    /// may sign certificates and CRLs (basicConstraints cA, keyCertSign, cRLSign).
    #[error("the trust anchor is not a CA certificate allowed to sign certificates and CRLs")]
    NotCa,

    // ----- certificate: issuer and signature -----
    /// The issuer name is not, byte for byte, the subject name of our CA.
    #[error("the certificate was not issued by our certificate authority")]
    UnknownIssuer,

    /// The outer signature algorithm is not Ed25519 (with absent parameters),
    /// the only algorithm our CA signs with.
    #[error("the certificate is signed with an algorithm other than Ed25519")]
    UnsupportedSignatureAlgorithm,

    /// The signature algorithm inside the signed part (`tbsCertificate.signature`)
    /// differs from the outer one, which RFC 5280 4.1.1.2 forbids; accepting it
    /// would let the unsigned outer field contradict the signed one.
    #[error("the signed and unsigned signature algorithm identifiers differ")]
    SignatureAlgorithmMismatch,

    /// The CA's signature over the certificate does not verify with the CA's key.
    #[error("the certificate authority's signature on the certificate does not verify")]
    BadSignature,

    // ----- certificate: profile -----
    /// The serial number is zero, negative, not minimally encoded, longer than
    /// 20 octets (RFC 5280 4.1.2.2), or does not fit the u64 that our tables key on.
    #[error("the certificate serial number is zero, negative, badly encoded or too large")]
    InvalidSerialNumber,

    /// The subject public key is not an Ed25519 key (RFC 8410), so a proof of
    /// possession could not be checked against it.
    #[error("the certificate's subject key is not an Ed25519 key")]
    UnsupportedKey,

    /// The certificate has no extended key usage extension, or one without
    /// id-kp-clientAuth: it was not issued for authenticating a user.
    #[error("the certificate is not valid for client authentication (no clientAuth EKU)")]
    RequiredEkuNotFound,

    /// The certificate has no key usage extension, or one without
    /// digitalSignature: its key may not sign a proof of possession.
    #[error("the certificate's key usage does not allow digital signatures")]
    KeyUsageMissing,

    /// The subject is not named exactly once: there must be one non-empty
    /// common name and one non-empty rfc822Name (e-mail) subject alternative name.
    /// Services key their tables on these, so an ambiguous name is refused.
    #[error(
        "the certificate does not name its subject by exactly one common name and one e-mail address"
    )]
    InvalidSubjectIdentity,

    /// A certificate or CRL carries a critical extension this implementation
    /// does not understand; RFC 5280 4.2 says it must then be refused.
    #[error("a critical extension is not understood")]
    UnsupportedCriticalExtension,

    // ----- certificate: time -----
    /// The current (virtual) time is after the certificate's notAfter.
    #[error("the certificate has expired")]
    Expired,

    /// The current (virtual) time is before the certificate's notBefore.
    #[error("the certificate is not valid yet")]
    NotYetValid,

    // ----- revocation -----
    /// The certificate's serial number is on a verified revocation list of our CA.
    #[error("the certificate has been revoked")]
    Revoked,

    /// The CRL is not one well-formed DER X.509 v2 CRL: not DER, trailing bytes,
    /// missing CRL number or nextUpdate, an invalid revoked serial number, or a
    /// signature algorithm mismatch between its signed and unsigned parts.
    #[error("the certificate revocation list is malformed")]
    CrlMalformed,

    /// The CRL's issuer name is not our CA's subject name.
    #[error("the certificate revocation list was not issued by our certificate authority")]
    CrlUnknownIssuer,

    /// The CRL is signed with an algorithm other than Ed25519.
    #[error("the certificate revocation list is signed with an algorithm other than Ed25519")]
    CrlUnsupportedSignatureAlgorithm,

    /// The CA's signature over the CRL does not verify with the CA's key.
    #[error("the certificate authority's signature on the revocation list does not verify")]
    CrlBadSignature,

    // ----- proof of possession and protocol -----
    /// The service requires proof that the presenter holds the certificate's
    /// private key, and none was sent (the patent's literal "bearer" reading).
    #[error("proof of possession of the certificate's key is required but absent")]
    MissingProof,

    /// The signature over the challenge does not verify with the certificate's key.
    #[error("the proof of possession does not verify with the certificate's key")]
    BadProof,

    /// The proof answers a challenge this service never issued to this presenter.
    #[error("the proof answers a challenge that was not issued to this presenter")]
    UnknownChallenge,

    /// The challenge was already answered once; a recorded proof is being replayed.
    #[error("the challenge has already been used")]
    ReplayedChallenge,

    /// The service's table row holding this serial number belongs to another
    /// subject than the one the certificate names.
    #[error("the service's table links this serial number to another user")]
    SerialRowMismatch,

    /// `subject-match`: the account logged in to at S16 belongs to another
    /// subject than the one the certificate names.
    #[error("the account logged in to belongs to another subject than the certificate's")]
    SubjectMismatch,

    /// `csr`: an issue request came without a certification request.
    #[error("the issue request carries no certification request")]
    CsrMissing,

    /// `csr`: the certification request is not a well-formed PKCS#10 request
    /// for an Ed25519 key naming exactly one common name and one e-mail.
    #[error("the certification request is malformed")]
    CsrMalformed,

    /// `csr`: the request's signature does not verify with the key it asks
    /// to certify: whoever sent it does not hold that key.
    #[error("the certification request's signature does not verify with its own key")]
    CsrBadSignature,

    /// `csr`: the request names another subject or key than the one the CA
    /// is asked to certify.
    #[error("the certification request names another subject or key")]
    CsrMismatch,
}

impl Rejection {
    /// Every variant, in declaration order; for exhaustive tests and coverage reports.
    pub const ALL: [Rejection; 30] = [
        Rejection::Malformed,
        Rejection::NotEndEntity,
        Rejection::NotCa,
        Rejection::UnknownIssuer,
        Rejection::UnsupportedSignatureAlgorithm,
        Rejection::SignatureAlgorithmMismatch,
        Rejection::BadSignature,
        Rejection::InvalidSerialNumber,
        Rejection::UnsupportedKey,
        Rejection::RequiredEkuNotFound,
        Rejection::KeyUsageMissing,
        Rejection::InvalidSubjectIdentity,
        Rejection::UnsupportedCriticalExtension,
        Rejection::Expired,
        Rejection::NotYetValid,
        Rejection::Revoked,
        Rejection::CrlMalformed,
        Rejection::CrlUnknownIssuer,
        Rejection::CrlUnsupportedSignatureAlgorithm,
        Rejection::CrlBadSignature,
        Rejection::MissingProof,
        Rejection::BadProof,
        Rejection::UnknownChallenge,
        Rejection::ReplayedChallenge,
        Rejection::SerialRowMismatch,
        Rejection::SubjectMismatch,
        Rejection::CsrMissing,
        Rejection::CsrMalformed,
        Rejection::CsrBadSignature,
        Rejection::CsrMismatch,
    ];

    /// The stable kebab-case name of this reason, identical to its serde form.
    ///
    /// Traces and coverage reports use this spelling; it never changes once a
    /// variant exists, even if the human-readable message does.
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::Malformed => "malformed",
            Rejection::NotEndEntity => "not-end-entity",
            Rejection::NotCa => "not-ca",
            Rejection::UnknownIssuer => "unknown-issuer",
            Rejection::UnsupportedSignatureAlgorithm => "unsupported-signature-algorithm",
            Rejection::SignatureAlgorithmMismatch => "signature-algorithm-mismatch",
            Rejection::BadSignature => "bad-signature",
            Rejection::InvalidSerialNumber => "invalid-serial-number",
            Rejection::UnsupportedKey => "unsupported-key",
            Rejection::RequiredEkuNotFound => "required-eku-not-found",
            Rejection::KeyUsageMissing => "key-usage-missing",
            Rejection::InvalidSubjectIdentity => "invalid-subject-identity",
            Rejection::UnsupportedCriticalExtension => "unsupported-critical-extension",
            Rejection::Expired => "expired",
            Rejection::NotYetValid => "not-yet-valid",
            Rejection::Revoked => "revoked",
            Rejection::CrlMalformed => "crl-malformed",
            Rejection::CrlUnknownIssuer => "crl-unknown-issuer",
            Rejection::CrlUnsupportedSignatureAlgorithm => "crl-unsupported-signature-algorithm",
            Rejection::CrlBadSignature => "crl-bad-signature",
            Rejection::MissingProof => "missing-proof",
            Rejection::BadProof => "bad-proof",
            Rejection::UnknownChallenge => "unknown-challenge",
            Rejection::ReplayedChallenge => "replayed-challenge",
            Rejection::SerialRowMismatch => "serial-row-mismatch",
            Rejection::SubjectMismatch => "subject-mismatch",
            Rejection::CsrMissing => "csr-missing",
            Rejection::CsrMalformed => "csr-malformed",
            Rejection::CsrBadSignature => "csr-bad-signature",
            Rejection::CsrMismatch => "csr-mismatch",
        }
    }

    /// The reason whose [`code`](Self::code) is `code`, if any.
    pub fn from_code(code: &str) -> Option<Rejection> {
        Rejection::ALL.into_iter().find(|r| r.code() == code)
    }
}

#[cfg(test)]
mod tests {
    use super::Rejection;
    use std::collections::BTreeSet;

    #[test]
    fn code_matches_serde_name_for_every_variant() {
        for r in Rejection::ALL {
            let json = serde_json::to_string(&r).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", r.code()), "{r:?}");
            let back: Option<Rejection> = serde_json::from_str(&json).ok();
            assert_eq!(back, Some(r));
            assert_eq!(Rejection::from_code(r.code()), Some(r));
        }
    }

    #[test]
    fn codes_are_unique_kebab_case_and_messages_are_one_sentence() {
        let codes: BTreeSet<&str> = Rejection::ALL.iter().map(|r| r.code()).collect();
        assert_eq!(codes.len(), Rejection::ALL.len());
        for r in Rejection::ALL {
            assert!(
                r.code().chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "{r:?}"
            );
            let msg = r.to_string();
            assert!(!msg.is_empty() && !msg.ends_with('.'), "{r:?}: {msg}");
        }
    }

    #[test]
    fn all_is_in_declaration_order() {
        // The derived `Ord` follows declaration order, so a sorted `ALL` with
        // unique codes (checked above) lists each variant once, in order.
        let mut sorted = Rejection::ALL;
        sorted.sort();
        assert_eq!(sorted, Rejection::ALL);
    }
}
