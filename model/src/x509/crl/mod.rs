//! Certificate revocation lists (variant V1): issued by the CA with rcgen,
//! checked by relying services with x509-parser.

use crate::x509::der::Der;
use crate::x509::der::serial_from_integer_content;
use crate::x509::issue::CertificateAuthority;
use crate::x509::issue::PkiError;
use crate::x509::signed_data::SigAlg;
use crate::x509::signed_data::check_signature_algorithm;
use crate::x509::time::CRL_VALIDITY;
use crate::x509::time::EPOCH_UNIX_SECONDS;
use crate::x509::time::MAX_ASN1_UNIX_SECONDS;
use crate::x509::time::VirtualTime;
use crate::x509::time::datetime_from_unix;
use crate::x509::time::unix_seconds_floor;
use crate::x509::time::virtual_time_from_unix_seconds;
use crate::x509::verify_cert::TrustAnchor;
use crate::x509::verify_cert::extensions_well_formed;

use rcgen::{CertificateRevocationListParams, KeyIdMethod, RevokedCertParams, SerialNumber};
use serde::{Deserialize, Serialize};
use x509_parser::extensions::ParsedExtension;
use x509_parser::oid_registry::OID_X509_EXT_CRL_NUMBER;
use x509_parser::x509::X509Version;

use crate::rejection::Rejection;

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

impl CertificateAuthority {
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

impl TrustAnchor {
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
}
