//! Certification requests (PKCS#10, RFC 2986): the hardening `csr`.
//!
//! The patent's issuance (S6/P1) hands the CA a bare public key with the
//! subject the issuing service vouches for, so the CA certifies a key without
//! knowing that anyone holds it, or that its holder asked for this subject.
//! A PKCS#10 request is signed by the key it asks to certify and names the
//! subject; a CA that checks the signature and compares the request's subject
//! and key with what it is asked to certify issues a certificate only for a
//! key whose holder asked for that very subject (RFC 4211, section 4, calls
//! this proof of possession at registration).
//!
//! What a CSR cannot do: it does not authenticate the subject. A party that
//! holds a key of its own can sign a request for any subject; that is the
//! registration authority's business (here the issuing service, which checked
//! the user's password at S4).
//!
//! Requests are made by rcgen ([`request`]) and checked with x509-parser and
//! ring ([`verify_request`]); no ASN.1 is written by hand.

use crate::rejection::Rejection;
use crate::x509::der::Der;
use crate::x509::issue::{PkiError, common_name_dn};
use crate::x509::keys::SigningKey;
use rcgen::{CertificateParams, SanType};
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::oid_registry::OID_SIG_ED25519;
use x509_parser::prelude::FromDer;

/// What a verified request asks for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CsrInfo {
    /// The subject common name.
    pub common_name: String,
    /// The one rfc822Name of the requested subjectAltName extension.
    pub email: String,
    /// The raw Ed25519 key the request is signed with and asks to certify.
    pub public_key: [u8; 32],
}

/// A PKCS#10 request, signed with `key`, for `CN=<common_name>` with the
/// e-mail as an rfc822Name subjectAltName (the profile `issue` writes).
/// Ed25519 signing is deterministic, so the same inputs give the same bytes.
pub fn request(key: &SigningKey, common_name: &str, email: &str) -> Result<Der, PkiError> {
    if common_name.is_empty() {
        return Err(PkiError::EmptyCommonName);
    }
    let mut params = CertificateParams::default();
    params.distinguished_name = common_name_dn(common_name);
    params.subject_alt_names = vec![SanType::Rfc822Name(
        email.try_into().map_err(|_| PkiError::InvalidEmail)?,
    )];
    let csr = params.serialize_request(key)?;
    Ok(Der::from(csr.der().to_vec()))
}

/// Parse and check a request: well-formed DER with nothing after it, an
/// Ed25519 key and signature algorithm, a signature that verifies with the
/// request's own key, exactly one common name and exactly one e-mail.
pub fn verify_request(der: &[u8]) -> Result<CsrInfo, Rejection> {
    let (rest, csr) =
        X509CertificationRequest::from_der(der).map_err(|_| Rejection::CsrMalformed)?;
    if !rest.is_empty() {
        return Err(Rejection::CsrMalformed);
    }
    let info = &csr.certification_request_info;
    if csr.signature_algorithm.algorithm != OID_SIG_ED25519
        || info.subject_pki.algorithm.algorithm != OID_SIG_ED25519
    {
        return Err(Rejection::CsrMalformed);
    }
    let public_key: [u8; 32] = info
        .subject_pki
        .subject_public_key
        .data
        .as_ref()
        .try_into()
        .map_err(|_| Rejection::CsrMalformed)?;
    csr.verify_signature()
        .map_err(|_| Rejection::CsrBadSignature)?;
    let mut names = info.subject.iter_common_name();
    let common_name = match (names.next().map(|n| n.as_str()), names.next()) {
        (Some(Ok(cn)), None) if !cn.is_empty() => cn.to_string(),
        _ => return Err(Rejection::CsrMalformed),
    };
    let mut emails = csr
        .requested_extensions()
        .into_iter()
        .flatten()
        .filter_map(|ext| match ext {
            ParsedExtension::SubjectAlternativeName(san) => Some(san),
            _ => None,
        })
        .flat_map(|san| san.general_names.iter())
        .filter_map(|name| match name {
            GeneralName::RFC822Name(email) => Some(*email),
            _ => None,
        });
    let email = match (emails.next(), emails.next()) {
        (Some(email), None) if !email.is_empty() => email.to_string(),
        _ => return Err(Rejection::CsrMalformed),
    };
    Ok(CsrInfo {
        common_name,
        email,
        public_key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x509::keys::{KeyStream, derive_key};

    fn key(i: u64) -> SigningKey {
        derive_key(7, KeyStream::User, i)
    }

    #[test]
    fn a_request_verifies_with_its_subject_and_key_and_is_deterministic() {
        let der = request(&key(0), "Alice", "alice@example.org").expect("made");
        let info = verify_request(der.as_bytes()).expect("verifies");
        assert_eq!(info.common_name, "Alice");
        assert_eq!(info.email, "alice@example.org");
        assert_eq!(info.public_key, key(0).public_key());
        assert_eq!(
            request(&key(0), "Alice", "alice@example.org").expect("made"),
            der
        );
        // openssl agrees that the request is well formed and self-signed.
        let dir = std::env::temp_dir().join(format!("commoncert-csr-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("req.der");
        std::fs::write(&path, der.as_bytes()).expect("written");
        if let Ok(out) = std::process::Command::new("openssl")
            .args(["req", "-inform", "DER", "-verify", "-noout", "-in"])
            .arg(&path)
            .output()
        {
            assert!(out.status.success(), "{out:?}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_tampered_truncated_or_padded_request_is_refused_with_a_reason() {
        let der = request(&key(1), "Bob", "bob@example.org")
            .expect("made")
            .as_bytes()
            .to_vec();
        // The last byte is inside the signature.
        let mut bad_sig = der.clone();
        if let Some(b) = bad_sig.last_mut() {
            *b ^= 1;
        }
        assert_eq!(verify_request(&bad_sig), Err(Rejection::CsrBadSignature));
        assert_eq!(
            verify_request(&der[..der.len() - 5]),
            Err(Rejection::CsrMalformed)
        );
        let mut padded = der.clone();
        padded.push(0);
        assert_eq!(verify_request(&padded), Err(Rejection::CsrMalformed));
        assert_eq!(verify_request(&[]), Err(Rejection::CsrMalformed));
        // A certificate is not a request.
        let ca = crate::x509::CertificateAuthority::new(&[3; 32], "root").expect("root");
        assert_eq!(
            verify_request(ca.root().as_bytes()),
            Err(Rejection::CsrMalformed)
        );
    }

    #[test]
    fn a_request_without_an_email_is_refused() {
        let mut params = CertificateParams::default();
        params.distinguished_name = common_name_dn("Carol");
        let der = params.serialize_request(&key(2)).expect("made");
        assert_eq!(verify_request(der.der()), Err(Rejection::CsrMalformed));
    }
}
