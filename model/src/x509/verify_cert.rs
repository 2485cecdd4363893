//! Certificate checks: what a relying service holds (`TrustAnchor`) and the
//! ordered list of checks, in the manner of webpki's `verify_cert`, each with
//! its own `Rejection`.

use crate::x509::arena::digest64;
use crate::x509::der::Der;
use crate::x509::der::hex;
use crate::x509::der::serial_from_integer_content;
use crate::x509::signed_data::SigAlg;
use crate::x509::signed_data::check_signature_algorithm;
use crate::x509::signed_data::ed25519_key;
use crate::x509::time::VirtualTime;
use crate::x509::time::unix_millis;
use crate::x509::time::virtual_time_from_unix_seconds;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension, X509Extension};
use x509_parser::oid_registry::{
    OID_X509_EXT_BASIC_CONSTRAINTS, OID_X509_EXT_EXTENDED_KEY_USAGE, OID_X509_EXT_KEY_USAGE,
    OID_X509_EXT_SUBJECT_ALT_NAME,
};
use x509_parser::prelude::FromDer;
use x509_parser::x509::{SubjectPublicKeyInfo, X509Version};

use crate::rejection::Rejection;

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

/// The time-independent outcome of checking a certificate, plus its exact
/// validity window in Unix seconds (not saturated, unlike [`CertInfo`]).
#[derive(Clone, Debug)]
pub(super) struct Checked {
    info: CertInfo,
    not_before_unix: i64,
    not_after_unix: i64,
}

impl Checked {
    /// Step 12: notBefore ≤ now ≤ notAfter, in milliseconds.
    pub(super) fn at(self, now: VirtualTime) -> Result<CertInfo, Rejection> {
        let now = unix_millis(now);
        if now < i128::from(self.not_before_unix) * 1000 {
            return Err(Rejection::NotYetValid);
        }
        if now > i128::from(self.not_after_unix) * 1000 {
            return Err(Rejection::Expired);
        }
        Ok(self.info)
    }
}

/// What a relying service needs: the CA's subject name and public key.
///
/// It verifies bytes every time it is asked, and caches nothing: the run's
/// [`Pki`](crate::x509::pki::Pki) remembers verdicts per handle, and the
/// concretisation test relies on an anchor that does not. Cheap to clone.
#[derive(Clone)]
pub struct TrustAnchor(pub(super) Arc<AnchorInner>);

pub(super) struct AnchorInner {
    root: Der,
    /// The root's subject Name, raw DER; issuers are compared to it byte for byte.
    pub(super) subject: Box<[u8]>,
    /// The root's SubjectPublicKeyInfo, raw DER, for `x509-parser`'s verifier.
    spki: Box<[u8]>,
    public_key: [u8; 32],
    /// The digest of `root` ([`digest64`]).
    id: u64,
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
pub(super) fn parse_certificate(der: &[u8]) -> Result<X509Certificate<'_>, Rejection> {
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
pub(super) fn extensions_well_formed(extensions: &[X509Extension<'_>]) -> bool {
    extensions
        .iter()
        .all(|ext| !matches!(ext.parsed_extension(), ParsedExtension::ParseError { .. }))
}

/// The certificate extensions whose meaning [`TrustAnchor::verify_certificate`]
/// enforces; any other critical extension is refused (RFC 5280 4.2).
pub(super) fn understood_critical(ext: &X509Extension<'_>) -> bool {
    !ext.critical
        || ext.oid == OID_X509_EXT_BASIC_CONSTRAINTS
        || ext.oid == OID_X509_EXT_KEY_USAGE
        || ext.oid == OID_X509_EXT_EXTENDED_KEY_USAGE
        || ext.oid == OID_X509_EXT_SUBJECT_ALT_NAME
}

/// Step 4 of the certificate checks, for a root and an end entity alike:
/// Ed25519 outside and inside the signed part, and nothing but its canonical
/// framing around the signed bytes.
fn certificate_signature_algorithm(
    cert: &X509Certificate<'_>,
    der: &[u8],
) -> Result<(), Rejection> {
    match check_signature_algorithm(
        &cert.signature_algorithm,
        &cert.tbs_certificate.signature,
        der,
        cert.tbs_certificate.as_ref(),
        &cert.signature_value.data,
    ) {
        SigAlg::Ok => Ok(()),
        SigAlg::Unsupported => Err(Rejection::UnsupportedSignatureAlgorithm),
        SigAlg::Mismatch => Err(Rejection::SignatureAlgorithmMismatch),
        SigAlg::NonCanonical => Err(Rejection::Malformed),
    }
}

/// Exactly one non-empty common name in the subject.
pub(super) fn single_common_name(cert: &X509Certificate<'_>) -> Option<String> {
    let mut names = cert.subject().iter_common_name();
    let name = names.next()?.as_str().ok()?;
    if names.next().is_some() || name.is_empty() {
        return None;
    }
    Some(name.to_owned())
}

/// Exactly one non-empty rfc822Name among the subject alternative names.
pub(super) fn single_email(cert: &X509Certificate<'_>) -> Result<Option<String>, Rejection> {
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
        certificate_signature_algorithm(&cert, der)?;
        let public_key = ed25519_key(cert.public_key()).ok_or(Rejection::UnsupportedKey)?;
        cert.verify_signature(None)
            .map_err(|_| Rejection::BadSignature)?;
        if !cert.extensions().iter().all(understood_critical) {
            return Err(Rejection::UnsupportedCriticalExtension);
        }
        Ok(TrustAnchor(Arc::new(AnchorInner {
            root: Der::from(der),
            id: digest64(der),
            subject: cert.subject().as_raw().into(),
            spki: cert.public_key().raw.into(),
            public_key,
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
    pub fn verify_certificate(&self, der: &[u8], now: VirtualTime) -> Result<CertInfo, Rejection> {
        self.check(der)?.at(now)
    }

    /// This anchor's identity in remembered verdicts: the digest of its root.
    pub fn id(&self) -> u64 {
        self.0.id
    }

    /// Steps 1–11 of [`verify_certificate`](Self::verify_certificate), which
    /// do not depend on time: what [`Arena`](crate::x509::arena::Arena) remembers.
    pub(super) fn check(&self, der: &[u8]) -> Result<Checked, Rejection> {
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
        certificate_signature_algorithm(&cert, der)?;
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
    pub(super) fn verify_signed(
        &self,
        verify: impl FnOnce(&SubjectPublicKeyInfo<'_>) -> bool,
    ) -> bool {
        match SubjectPublicKeyInfo::from_der(&self.0.spki) {
            Ok((_, spki)) => verify(&spki),
            Err(_) => false,
        }
    }
}
