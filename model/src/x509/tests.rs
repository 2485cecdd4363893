use super::der::hex;
use super::forge::{self, Flaw};
use super::time::MAX_ASN1_UNIX_SECONDS;
use super::*;
use proptest::prelude::*;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use x509_parser::certificate::X509Certificate;

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
        let dir =
            std::env::temp_dir().join(format!("commoncert-x509-{}-{tag}-{n}", std::process::id()));
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

/// `pop-binding`'s bytes: every field changes them (service, nonce,
/// certificate digest, purpose), the length prefixes keep two field lists
/// apart that concatenate alike, and no bound message equals the patent's
/// for any input (another domain tag), so a proof never verifies as the
/// other kind.
#[test]
fn bound_proofs_sign_every_field_and_never_match_the_patents() {
    use crate::x509::bound_challenge_bytes;
    let digest = [9u8; 32];
    let base = bound_challenge_bytes("bank-a", 42, &digest, "use");
    for other in [
        bound_challenge_bytes("bank-b", 42, &digest, "use"),
        bound_challenge_bytes("bank-a", 43, &digest, "use"),
        bound_challenge_bytes("bank-a", 42, &[8u8; 32], "use"),
        bound_challenge_bytes("bank-a", 42, &digest, "qualify"),
        // "bank-a" + "use" against "bank-" + "ause": the prefixes differ.
        bound_challenge_bytes("bank-", 42, &digest, "ause"),
    ] {
        assert_ne!(base, other);
    }
    assert!(base.starts_with(crate::x509::BOUND_PROOF_DOMAIN));
    assert_ne!(
        &base[..crate::x509::PROOF_DOMAIN.len()],
        crate::x509::PROOF_DOMAIN
    );
    let owner = user_key(SEED, 1);
    assert_eq!(
        verify_proof(
            &owner.public_key(),
            &challenge_bytes("bank-a", 42),
            &owner.sign(&base)
        ),
        Err(Rejection::BadProof)
    );
}
