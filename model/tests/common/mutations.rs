//! Generators of adversarial certificates and CRLs, shared by
//! `model/tests/adversarial.rs` (our verifier refuses every mutant) and
//! `model/tests/webpki_differential.rs` (rustls-webpki judges the same mutants).
//!
//! - [`FIXTURE`]: a CA (`commoncert CA`, seed [`SEED`]), two honest user
//!   certificates (user 0 valid from 0 to [`VALIDITY`], user 1 from 2000 ms)
//!   and an honest CRL revoking user 0's serial among others;
//! - [`cert_mutation`] / [`mutate_certificate`]: byte damage and structural
//!   forgeries of user 0's certificate, with the rejection each must earn
//!   where the mutation determines it;
//! - [`crl_mutation`] / [`mutate_crl`]: the same for the CRL.

use commoncert_model::rejection::Rejection;
use commoncert_model::x509::forge::{self, Flaw};
use commoncert_model::x509::{
    CertRequest, CertificateAuthority, DAY, Der, KeyStream, SigningKey, TrustAnchor, derive_key,
    key_seed,
};
use proptest::prelude::*;
use proptest::sample::Index;
use std::sync::LazyLock;

// ---------------------------------------------------------------------------
// DER surgery
// ---------------------------------------------------------------------------

pub mod der {
    /// (header length, content length) of the TLV at the start of `b`
    /// (single-byte tags, definite lengths of at most 4 octets).
    pub fn header(b: &[u8]) -> Option<(usize, usize)> {
        let first = *b.get(1)?;
        if first < 0x80 {
            return Some((2, usize::from(first)));
        }
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | usize::from(*b.get(2 + i)?);
        }
        Some((2 + n, len))
    }

    /// The TLV at the start of `b`, its content, and what follows it.
    pub fn split(b: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
        let (h, len) = header(b)?;
        let end = h.checked_add(len)?;
        Some((b.get(..end)?, b.get(h..end)?, b.get(end..)?))
    }

    /// The TLVs that make up `content`.
    pub fn children(mut content: &[u8]) -> Option<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        while !content.is_empty() {
            let (tlv, _, rest) = split(content)?;
            out.push(tlv.to_vec());
            content = rest;
        }
        Some(out)
    }

    pub fn length(len: usize) -> Vec<u8> {
        if len < 0x80 {
            vec![len as u8]
        } else {
            let bytes = len.to_be_bytes();
            let skip = bytes.iter().take_while(|b| **b == 0).count();
            let mut out = vec![0x80 | (bytes.len() - skip) as u8];
            out.extend_from_slice(&bytes[skip..]);
            out
        }
    }

    pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        out.extend(length(content.len()));
        out.extend_from_slice(content);
        out
    }

    pub fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
        tlv(0x30, &parts.concat())
    }

    /// Offsets of every TLV header in `b`, descending into constructed ones.
    pub fn headers(b: &[u8]) -> Vec<usize> {
        fn walk(b: &[u8], base: usize, out: &mut Vec<usize>) {
            let mut at = 0;
            while at < b.len() {
                let Some(rest) = b.get(at..) else { return };
                let Some((h, len)) = header(rest) else { return };
                out.push(base + at);
                let Some(content) = rest.get(h..h + len) else {
                    return;
                };
                let tag = rest[0];
                // Constructed (SEQUENCE, SET, [n]) and BIT STRING-free.
                if tag & 0x20 != 0 {
                    walk(content, base + at + h, out);
                }
                at += h + len;
            }
        }
        let mut out = Vec::new();
        walk(b, 0, &mut out);
        out
    }

    /// A signed structure: `SEQUENCE { tbs, alg, BIT STRING (unused) sig }`.
    pub fn signed(tbs: &[u8], alg: &[u8], unused_bits: u8, sig: &[u8]) -> Vec<u8> {
        let mut bits = vec![unused_bits];
        bits.extend_from_slice(sig);
        seq(&[tbs.to_vec(), alg.to_vec(), tlv(0x03, &bits)])
    }

    /// The children of a signed part, its AlgorithmIdentifier, its signature.
    pub type Parts = (Vec<Vec<u8>>, Vec<u8>, Vec<u8>);

    /// A certificate or CRL as (the children of its signed part, alg, signature).
    pub fn parts(der: &[u8]) -> Option<Parts> {
        let (_, outer, rest) = split(der)?;
        if !rest.is_empty() {
            return None;
        }
        let top = children(outer)?;
        let [tbs, alg, sig] = top.as_slice() else {
            return None;
        };
        let (_, tbs_content, _) = split(tbs)?;
        let (_, bits, _) = split(sig)?;
        Some((children(tbs_content)?, alg.clone(), bits.get(1..)?.to_vec()))
    }
}

/// AlgorithmIdentifiers.
pub const ED25519: &[u8] = &[0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70];
pub const ED25519_NULL: &[u8] = &[0x30, 0x07, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x05, 0x00];
pub const ED448: &[u8] = &[0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x71];
pub const ECDSA_SHA256: &[u8] = &[
    0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
];
pub const RSA_SHA256: &[u8] = &[
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00,
];
pub const OTHER_ALGS: [&[u8]; 4] = [ED25519_NULL, ED448, ECDSA_SHA256, RSA_SHA256];

/// Index of the signature AlgorithmIdentifier among tbsCertificate's children
/// (after `[0] version` and the serial).
pub const TBS_ALG: usize = 2;
pub const TBS_ISSUER: usize = 3;
pub const TBS_VALIDITY: usize = 4;
pub const TBS_SUBJECT: usize = 5;

/// Re-sign `tbs_children` (a certificate's, or with `crl` a CRL's) with `key`.
pub fn resign(tbs_children: &[Vec<u8>], alg: &[u8], key: &SigningKey) -> Vec<u8> {
    let tbs = der::seq(tbs_children);
    der::signed(&tbs, alg, 0, &key.sign(&tbs))
}

// ---------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------

pub const SEED: u64 = 0x0bad_ce27;
pub const CA_NAME: &str = "commoncert CA";
pub const VALIDITY: u64 = 365 * DAY;

pub struct Fixture {
    pub ca: CertificateAuthority,
    pub anchor: TrustAnchor,
    pub ca_key: SigningKey,
    /// User 0's honest certificate and request.
    pub request: CertRequest,
    pub honest: Der,
    /// User 1's honest certificate (another serial, subject, key, window).
    pub other: Der,
    pub crl: Der,
}

pub fn request(user: u64, serial: u64, not_before: u64) -> CertRequest {
    CertRequest {
        serial,
        common_name: format!("User {user}"),
        email: format!("u{user}@example.org"),
        public_key: derive_key(SEED, KeyStream::User, user).public_key(),
        not_before,
        not_after: not_before + VALIDITY,
    }
}

pub static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let ca = CertificateAuthority::new(&key_seed(SEED, KeyStream::Ca, 0), CA_NAME)
        .expect("the CA builds");
    let req = request(0, 0x1234_5678, 0);
    let honest = ca.issue(&req).expect("honest certificate");
    let other = ca
        .issue(&request(1, 0x42, 2000))
        .expect("other certificate");
    let crl = ca
        .crl(3, &[5, 0x1234_5678, 1 << 40], DAY)
        .expect("honest CRL");
    Fixture {
        anchor: ca.trust_anchor(),
        ca_key: derive_key(SEED, KeyStream::Ca, 0),
        ca,
        request: req,
        honest,
        other,
        crl,
    }
});

/// Keys that are not the CA's: other users', an attacker's, other CAs'.
#[derive(Clone, Copy, Debug)]
pub enum Signer {
    User(u64),
    Attacker(u64),
    OtherCa(u64),
}

impl Signer {
    fn key(self) -> SigningKey {
        match self {
            Signer::User(i) => derive_key(SEED, KeyStream::User, i),
            Signer::Attacker(i) => derive_key(SEED, KeyStream::Attacker, i),
            Signer::OtherCa(i) => derive_key(SEED, KeyStream::Ca, i + 1),
        }
    }
}

pub fn signer() -> impl Strategy<Value = Signer> {
    prop_oneof![
        (0..4u64).prop_map(Signer::User),
        (0..4u64).prop_map(Signer::Attacker),
        (0..4u64).prop_map(Signer::OtherCa),
    ]
}

// ---------------------------------------------------------------------------
// Mutations
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
pub enum LengthEdit {
    Plus(usize),
    Minus(usize),
    /// BER's indefinite form, which DER forbids.
    Indefinite,
    /// The same length in a longer form than necessary.
    NonMinimal,
    Huge,
}

/// Byte-level damage to any DER object.
#[derive(Clone, Debug)]
pub enum Bytes {
    Flip(Vec<Index>),
    Truncate(Index),
    Append(Vec<u8>),
    Overwrite(Index, u8),
    Delete(Index, usize),
    Insert(Index, Vec<u8>),
    Length(Index, LengthEdit),
}

pub fn bytes_mutation() -> impl Strategy<Value = Bytes> {
    let edit = prop_oneof![
        (1..4usize).prop_map(LengthEdit::Plus),
        (1..4usize).prop_map(LengthEdit::Minus),
        Just(LengthEdit::Indefinite),
        Just(LengthEdit::NonMinimal),
        Just(LengthEdit::Huge),
    ];
    prop_oneof![
        3 => prop::collection::vec(any::<Index>(), 1..5).prop_map(Bytes::Flip),
        1 => any::<Index>().prop_map(Bytes::Truncate),
        1 => prop::collection::vec(any::<u8>(), 1..9).prop_map(Bytes::Append),
        2 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Bytes::Overwrite(i, b)),
        1 => (any::<Index>(), 1..9usize).prop_map(|(i, n)| Bytes::Delete(i, n)),
        1 => (any::<Index>(), prop::collection::vec(any::<u8>(), 1..9))
            .prop_map(|(i, b)| Bytes::Insert(i, b)),
        3 => (any::<Index>(), edit).prop_map(|(i, e)| Bytes::Length(i, e)),
    ]
}

pub fn apply_bytes(der: &[u8], m: &Bytes) -> Vec<u8> {
    let mut out = der.to_vec();
    match m {
        Bytes::Flip(bits) => {
            for bit in bits {
                out = forge::flip_bit(&out, bit.index(der.len() * 8));
            }
        }
        Bytes::Truncate(i) => out = forge::truncate(der, i.index(der.len())),
        Bytes::Append(extra) => out = forge::append(der, extra),
        Bytes::Overwrite(i, b) => {
            let i = i.index(der.len());
            out[i] = *b;
        }
        Bytes::Delete(i, n) => {
            let i = i.index(der.len());
            let end = (i + n).min(der.len());
            out.drain(i..end);
        }
        Bytes::Insert(i, extra) => {
            let i = i.index(der.len() + 1);
            out.splice(i..i, extra.iter().copied());
        }
        Bytes::Length(i, edit) => {
            let headers = der::headers(der);
            let Some(&at) = headers.get(i.index(headers.len().max(1))) else {
                return out;
            };
            let Some((h, len)) = der.get(at..).and_then(der::header) else {
                return out;
            };
            let new_header = match edit {
                LengthEdit::Plus(d) => der::length(len + d),
                LengthEdit::Minus(d) => der::length(len.saturating_sub(*d)),
                LengthEdit::Indefinite => vec![0x80],
                LengthEdit::NonMinimal => {
                    let mut v = vec![0x84];
                    v.extend_from_slice(&(len as u32).to_be_bytes());
                    v
                }
                LengthEdit::Huge => vec![0x84, 0xff, 0xff, 0xff, 0xf0],
            };
            out.splice(at + 1..at + h, new_header);
        }
    }
    out
}

/// Structural forgeries of a certificate, beyond byte damage.
#[derive(Clone, Debug)]
pub enum CertMutation {
    Bytes(Bytes),
    /// Two fields of tbsCertificate swapped; not re-signed.
    SwapFields(usize, usize),
    /// A field of tbsCertificate taken from another user's certificate,
    /// optionally re-signed with a key that is not the CA's.
    Splice {
        field: usize,
        resign: Option<Signer>,
    },
    /// The honest tbsCertificate signed with another key.
    Resign(Signer),
    /// Other signature algorithms declared outside, inside or both; the
    /// signature made by the CA's own key or another.
    Algorithm {
        outer: Option<usize>,
        inner: Option<usize>,
        by_ca: bool,
    },
    /// The signature BIT STRING with unused bits.
    UnusedBits(u8),
    /// Issuer and subject swapped, signed by the CA itself.
    IssuerSubjectSwappedByCa,
    /// notBefore and notAfter swapped, signed by the CA itself.
    ValiditySwappedByCa,
    /// An honest CA issuing a certificate with a profile flaw.
    Flaw(Flaw),
    /// Honestly issued for a window that does not contain `now`.
    OutOfWindow {
        after: bool,
    },
    /// Issued by another CA (another name) or an impostor (our name).
    OtherCa {
        same_name: bool,
    },
}

pub fn cert_mutation() -> impl Strategy<Value = CertMutation> {
    let alg = || prop::option::of(0..OTHER_ALGS.len());
    prop_oneof![
        8 => bytes_mutation().prop_map(CertMutation::Bytes),
        1 => (0..8usize, 0..8usize).prop_map(|(a, b)| CertMutation::SwapFields(a, b)),
        2 => (1..8usize, prop::option::of(signer()))
            .prop_map(|(field, resign)| CertMutation::Splice { field, resign }),
        2 => signer().prop_map(CertMutation::Resign),
        2 => (alg(), alg(), any::<bool>())
            .prop_filter("some algorithm changes", |(o, i, _)| o.is_some() || i.is_some())
            .prop_map(|(outer, inner, by_ca)| CertMutation::Algorithm { outer, inner, by_ca }),
        1 => (1..8u8).prop_map(CertMutation::UnusedBits),
        1 => Just(CertMutation::IssuerSubjectSwappedByCa),
        1 => Just(CertMutation::ValiditySwappedByCa),
        2 => prop::sample::select(Flaw::ALL.to_vec()).prop_map(CertMutation::Flaw),
        1 => any::<bool>().prop_map(|after| CertMutation::OutOfWindow { after }),
        1 => any::<bool>().prop_map(|same_name| CertMutation::OtherCa { same_name }),
    ]
}

/// The mutant of `f.honest` (valid from 0 to `VALIDITY`), and the rejection
/// it must earn where the mutation determines one.
pub fn mutate_certificate(f: &Fixture, m: &CertMutation, now: u64) -> (Vec<u8>, Option<Rejection>) {
    let honest = f.honest.as_bytes();
    let (tbs, alg, sig) = der::parts(honest).expect("our certificate has the X.509 shape");
    let (other_tbs, _, _) = der::parts(f.other.as_bytes()).expect("X.509 shape");
    match m {
        CertMutation::Bytes(b) => {
            let expected = match b {
                Bytes::Truncate(_) | Bytes::Append(_) => Some(Rejection::Malformed),
                _ => None,
            };
            (apply_bytes(honest, b), expected)
        }
        CertMutation::SwapFields(a, b) => {
            let mut t = tbs.clone();
            let (a, b) = (a % t.len(), b % t.len());
            t.swap(a, b);
            (der::signed(&der::seq(&t), &alg, 0, &sig), None)
        }
        CertMutation::Splice {
            field,
            resign: signer,
        } => {
            let mut t = tbs.clone();
            let field = field % t.len();
            t[field] = other_tbs[field].clone();
            let bytes = match signer {
                Some(s) => resign(&t, &alg, &s.key()),
                None => der::signed(&der::seq(&t), &alg, 0, &sig),
            };
            (bytes, Some(Rejection::BadSignature))
        }
        CertMutation::Resign(s) => (resign(&tbs, &alg, &s.key()), Some(Rejection::BadSignature)),
        CertMutation::Algorithm {
            outer,
            inner,
            by_ca,
        } => {
            let mut t = tbs.clone();
            if let Some(i) = inner {
                t[TBS_ALG] = OTHER_ALGS[*i].to_vec();
            }
            let outer_alg = outer.map_or(ED25519, |i| OTHER_ALGS[i]);
            let key = if *by_ca {
                f.ca_key.clone()
            } else {
                Signer::Attacker(0).key()
            };
            let expected = if outer.is_some() {
                Rejection::UnsupportedSignatureAlgorithm
            } else {
                Rejection::SignatureAlgorithmMismatch
            };
            (resign(&t, outer_alg, &key), Some(expected))
        }
        CertMutation::UnusedBits(n) => (
            der::signed(&der::seq(&tbs), &alg, *n, &sig),
            Some(Rejection::Malformed),
        ),
        CertMutation::IssuerSubjectSwappedByCa => {
            let mut t = tbs.clone();
            t.swap(TBS_ISSUER, TBS_SUBJECT);
            (resign(&t, &alg, &f.ca_key), Some(Rejection::UnknownIssuer))
        }
        CertMutation::ValiditySwappedByCa => {
            let mut t = tbs.clone();
            let (_, content, _) = der::split(&t[TBS_VALIDITY]).expect("validity");
            let times = der::children(content).expect("two times");
            t[TBS_VALIDITY] = der::seq(&[times[1].clone(), times[0].clone()]);
            (resign(&t, &alg, &f.ca_key), None)
        }
        CertMutation::Flaw(flaw) => (
            forge::issue_flawed(&f.ca, &f.request, *flaw)
                .expect("flawed issue")
                .as_bytes()
                .to_vec(),
            Some(flaw.rejection()),
        ),
        CertMutation::OutOfWindow { after } => {
            let (nb, na, want) = if *after {
                // Ended before `now`.
                (0, now.saturating_sub(2000), Rejection::Expired)
            } else {
                (now + 2000, now + 2000 + DAY, Rejection::NotYetValid)
            };
            if *after && now < 4000 {
                // Nothing ends before time 0: use a window after instead.
                let der =
                    forge::with_validity(&f.ca, &f.request, now + 2000, now + DAY).expect("window");
                return (der.as_bytes().to_vec(), Some(Rejection::NotYetValid));
            }
            let der = forge::with_validity(&f.ca, &f.request, nb, na).expect("window");
            (der.as_bytes().to_vec(), Some(want))
        }
        CertMutation::OtherCa { same_name } => {
            let name = if *same_name { CA_NAME } else { "Other CA" };
            let other = CertificateAuthority::new(&key_seed(SEED, KeyStream::Ca, 7), name)
                .expect("other CA");
            let der = other.issue(&f.request).expect("issue");
            let want = if *same_name {
                Rejection::BadSignature
            } else {
                Rejection::UnknownIssuer
            };
            (der.as_bytes().to_vec(), Some(want))
        }
    }
}

// ---------------------------------------------------------------------------
// CRLs
// ---------------------------------------------------------------------------

#[derive(Clone, Debug)]
pub enum CrlMutation {
    Bytes(Bytes),
    /// The honest tbsCertList signed with another key.
    Resign(Signer),
    /// A CRL from another CA (another name, or an impostor with ours),
    /// possibly omitting revoked serials (a forged "un-revocation").
    OtherCa {
        same_name: bool,
        omit: bool,
    },
    /// Another signature algorithm declared outside.
    Algorithm(usize),
}

pub fn crl_mutation() -> impl Strategy<Value = CrlMutation> {
    prop_oneof![
        6 => bytes_mutation().prop_map(CrlMutation::Bytes),
        2 => signer().prop_map(CrlMutation::Resign),
        2 => (any::<bool>(), any::<bool>())
            .prop_map(|(same_name, omit)| CrlMutation::OtherCa { same_name, omit }),
        1 => (0..OTHER_ALGS.len()).prop_map(CrlMutation::Algorithm),
    ]
}

pub fn mutate_crl(f: &Fixture, m: &CrlMutation) -> (Vec<u8>, Option<Rejection>) {
    let honest = f.crl.as_bytes();
    match m {
        CrlMutation::Bytes(b) => {
            let expected = match b {
                Bytes::Truncate(_) | Bytes::Append(_) => Some(Rejection::CrlMalformed),
                _ => None,
            };
            (apply_bytes(honest, b), expected)
        }
        CrlMutation::Resign(s) => {
            let (tbs, alg, _) = der::parts(honest).expect("CRL shape");
            (
                resign(&tbs, &alg, &s.key()),
                Some(Rejection::CrlBadSignature),
            )
        }
        CrlMutation::OtherCa { same_name, omit } => {
            let name = if *same_name { CA_NAME } else { "Other CA" };
            let other = CertificateAuthority::new(&key_seed(SEED, KeyStream::Ca, 9), name)
                .expect("other CA");
            let revoked: &[u64] = if *omit {
                &[5]
            } else {
                &[5, 0x1234_5678, 1 << 40]
            };
            let crl = other.crl(4, revoked, DAY).expect("crl");
            let want = if *same_name {
                Rejection::CrlBadSignature
            } else {
                Rejection::CrlUnknownIssuer
            };
            (crl.as_bytes().to_vec(), Some(want))
        }
        CrlMutation::Algorithm(i) => {
            let (tbs, _, _) = der::parts(honest).expect("CRL shape");
            (
                resign(&tbs, OTHER_ALGS[*i], &f.ca_key),
                Some(Rejection::CrlUnsupportedSignatureAlgorithm),
            )
        }
    }
}
