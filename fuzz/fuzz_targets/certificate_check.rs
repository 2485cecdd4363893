//! Bytes -> `TrustAnchor::verify_certificate` (at several virtual times),
//! `TrustAnchor::verify_crl` and `TrustAnchor::from_root_der`. Any panic is a
//! finding; so is an acceptance of anything but a certificate or CRL the CA
//! itself made (the fuzzer cannot forge Ed25519, so an `Ok` for bytes other
//! than the seeds' is a bug worth a look: it is asserted below).
#![no_main]

use commoncert_model::x509::{CertificateAuthority, DAY, KeyStream, TrustAnchor, key_seed};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

/// The CA of the bad-certificate corpus (`model/tests/adversarial.rs`):
/// `commoncert CA` with the key of (20250101, Ca, 0), so that its
/// `model/testdata/bad-certs/*.der` make good seeds.
static CA: LazyLock<(CertificateAuthority, Vec<Vec<u8>>)> = LazyLock::new(|| {
    let ca = CertificateAuthority::new(&key_seed(20_250_101, KeyStream::Ca, 0), "commoncert CA")
        .expect("the CA builds");
    let crl = ca.crl(1, &[7], 0).expect("a CRL").as_bytes().to_vec();
    (ca, vec![crl])
});

fuzz_target!(|data: &[u8]| {
    let (ca, own) = &*CA;
    let anchor: TrustAnchor = ca.trust_anchor();
    for now in [0, 10 * DAY, u64::MAX] {
        if let Ok(info) = anchor.verify_certificate(data, now) {
            // Only certificates this CA signed can verify; it signs serial 7
            // (the corpus) or none here. Anything else would be a forgery.
            assert_eq!(info.serial, 7, "accepted a certificate the CA never issued");
        }
    }
    if anchor.verify_crl(data).is_ok() {
        assert!(
            own.iter().any(|c| c == data),
            "accepted a CRL the CA never signed"
        );
    }
    let _ = TrustAnchor::from_root_der(data);
});
