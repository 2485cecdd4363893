//! Issuance: the CA's self-signed root and the end-entity certificates it
//! signs with rcgen.

use crate::x509::der::Der;
use crate::x509::keys::RawPublicKey;
use crate::x509::keys::SigningKey;
use crate::x509::time::ROOT_VALIDITY;
use crate::x509::time::VirtualTime;
use crate::x509::time::datetime_from_unix;
use crate::x509::time::unix_seconds_ceil;
use crate::x509::time::unix_seconds_floor;
use crate::x509::verify_cert::TrustAnchor;
use std::fmt;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyIdMethod, KeyUsagePurpose, SanType, SerialNumber,
};
use serde::{Deserialize, Serialize};

use crate::rejection::Rejection;

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
    /// Two different objects whose handles (64-bit SHA-256 prefixes) agree.
    #[error("two different objects share the handle {0}")]
    HandleCollision(String),
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
pub struct CertificateAuthority(pub(super) Arc<CaInner>);

pub(super) struct CaInner {
    pub(super) key: SigningKey,
    /// The root's parameters; rcgen's `Issuer` takes the issuer name from them.
    pub(super) params: CertificateParams,
    root: Der,
    anchor: TrustAnchor,
}

pub(super) fn common_name_dn(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    dn
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

    /// The relying side of this CA.
    pub fn trust_anchor(&self) -> TrustAnchor {
        self.0.anchor.clone()
    }

    /// This CA's identity in the arena's tables: its anchor's, the digest of
    /// its root (computed once, not per issuance).
    pub fn id(&self) -> u64 {
        self.0.anchor.id()
    }

    /// The root's raw Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.0.key.public_key()
    }

    pub(super) fn issuer(&self) -> Issuer<'_, &SigningKey> {
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
        self.issue_with(req, |_, _| {})
    }

    /// Issue with `tweak` applied to the honest profile just before signing;
    /// `x509::forge` uses it to build deliberately bad certificates.
    pub(super) fn issue_with(
        &self,
        req: &CertRequest,
        tweak: impl FnOnce(&mut CertificateParams, &mut RawPublicKey<'_>),
    ) -> Result<Der, PkiError> {
        if req.serial == 0 {
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
        tweak(&mut params, &mut subject_key);

        let cert = params.signed_by(&subject_key, &self.issuer())?;
        Ok(Der::from(cert.der().to_vec()))
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
