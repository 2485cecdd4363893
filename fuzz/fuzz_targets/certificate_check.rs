//! Bytes -> `TrustAnchor::verify_certificate` (at several virtual times),
//! `TrustAnchor::verify_crl` and `TrustAnchor::from_root_der`. Any panic is a
//! finding; so is an acceptance of anything but a certificate or CRL the CA
//! itself made (the fuzzer cannot forge Ed25519, so an `Ok` for bytes other
//! than the seeds' is a bug worth a look: it is asserted below).
//!
//! rustls-webpki is the oracle for acceptance: a certificate our check accepts
//! must verify with webpki too (client authentication, our root as the only
//! anchor, the same instant), and the CRL we accept must serve webpki as
//! revocation information for the corpus's certificate (serial 7, which it
//! revokes). Where we refuse there is nothing to assert: webpki accepts some
//! certificates our stricter profile refuses (see
//! `model/tests/webpki_differential.rs` for that list).
#![no_main]

use commoncert_model::x509::{
    CertRequest, CertificateAuthority, DAY, EPOCH_UNIX_SECONDS, KeyStream, TrustAnchor,
    VirtualTime, derive_key, key_seed,
};
use libfuzzer_sys::fuzz_target;
use rustls_pki_types::{CertificateDer, UnixTime};
use std::sync::LazyLock;
use std::time::Duration;
use webpki::{CertRevocationList, OwnedCertRevocationList, RevocationOptionsBuilder};

/// webpki's verdict on `cert` as a client-authentication end entity under
/// `root` at virtual time `now` (whole seconds), with `crl` as its revocation
/// information if given.
fn webpki_verify(
    root: &[u8],
    cert: &[u8],
    now: VirtualTime,
    crl: Option<&[u8]>,
) -> Result<(), webpki::Error> {
    let crl = crl
        .map(|der| OwnedCertRevocationList::from_der(der).map(CertRevocationList::from))
        .transpose()?;
    let crls: Vec<&CertRevocationList<'_>> = crl.iter().collect();
    let revocation = RevocationOptionsBuilder::new(&crls).ok().map(|b| b.build());
    let root = CertificateDer::from(root);
    let anchor = webpki::anchor_from_trusted_cert(&root)?;
    let cert = CertificateDer::from(cert);
    let time = Duration::from_secs(EPOCH_UNIX_SECONDS.unsigned_abs()) + Duration::from_millis(now);
    webpki::EndEntityCert::try_from(&cert)?
        .verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &[anchor],
            &[],
            UnixTime::since_unix_epoch(time),
            webpki::KeyUsage::client_auth(),
            revocation,
            None,
        )
        .map(drop)
}

/// The CA of the bad-certificate corpus (`model/tests/adversarial.rs`):
/// `commoncert CA` with the key of (20250101, Ca, 0), so that its
/// `model/testdata/bad-certs/*.der` make good seeds.
/// The CA, the CRL it signs, and a certificate it issues with serial 7.
static CA: LazyLock<(CertificateAuthority, Vec<Vec<u8>>, Vec<u8>)> = LazyLock::new(|| {
    let ca = CertificateAuthority::new(&key_seed(20_250_101, KeyStream::Ca, 0), "commoncert CA")
        .expect("the CA builds");
    let crl = ca.crl(1, &[7], 0).expect("a CRL").as_bytes().to_vec();
    let request = CertRequest {
        serial: 7,
        common_name: "User 0".into(),
        email: "u0@example.org".into(),
        public_key: derive_key(20_250_101, KeyStream::User, 0).public_key(),
        not_before: 0,
        not_after: 365 * DAY,
    };
    let cert = ca
        .issue(&request)
        .expect("a certificate")
        .as_bytes()
        .to_vec();
    (ca, vec![crl], cert)
});

fuzz_target!(|data: &[u8]| {
    let (ca, own, cert) = &*CA;
    let anchor: TrustAnchor = ca.trust_anchor();
    let root = ca.root().as_bytes();
    for now in [0, 10 * DAY, u64::MAX] {
        if let Ok(info) = anchor.verify_certificate(data, now) {
            // Only certificates this CA signed can verify; it signs serial 7
            // (the corpus) or none here. Anything else would be a forgery.
            assert_eq!(info.serial, 7, "accepted a certificate the CA never issued");
            if let Err(e) = webpki_verify(root, data, now, None) {
                panic!("we accept at {now} ms a certificate webpki refuses: {e:?}");
            }
        }
    }
    if anchor.verify_crl(data).is_ok() {
        assert!(
            own.iter().any(|c| c == data),
            "accepted a CRL the CA never signed"
        );
        // Our CRL revokes serial 7: webpki, given it, must say so.
        let verdict = webpki_verify(root, cert, 10 * DAY, Some(data));
        assert_eq!(
            verdict,
            Err(webpki::Error::CertRevoked),
            "webpki reads our CRL otherwise"
        );
    }
    let _ = TrustAnchor::from_root_der(data);
});
