//! A peer as judge: `rustls-webpki` checks the same certificates and CRLs as
//! our own verifier (`TrustAnchor::verify_certificate`, `TrustAnchor::verify_crl`),
//! and every difference in verdict is listed and judged.
//!
//! # What is compared
//!
//! - **Certificates.** Our verdict (accept or refuse) on a certificate under
//!   our CA at virtual time `now`, against webpki's: the certificate as an end
//!   entity (`EndEntityCert::try_from`) verified for client authentication
//!   (`KeyUsage::client_auth()`) with our root as its only trust anchor
//!   (`anchor_from_trusted_cert`), no intermediates, every algorithm webpki
//!   has with ring (`ALL_VERIFICATION_ALGS`), no revocation, at the same
//!   instant (`UnixTime`, whole seconds: `now` rounded down).
//! - **CRLs.** webpki checks a CRL's signature only while checking a
//!   certificate's revocation, so a CRL is judged through two genuine
//!   certificates of its CA, one it lists (user 0's) and one it does not
//!   (user 1's): webpki accepts the CRL when both certificates verify with it
//!   as their revocation information (`RevocationOptionsBuilder`, the CRL
//!   parsed by `OwnedCertRevocationList::from_der`, end-entity depth, unknown
//!   status denied, expiry ignored as ours ignores it), each with `Ok` (not
//!   revoked) or `CertRevoked`; any other error means webpki refused the CRL.
//!   Where both accept, each certificate's revocation status must agree too.
//!
//! # Sources
//!
//! - `cert_mutation`/`mutate_certificate` and `crl_mutation`/`mutate_crl` of
//!   `tests/common/mutations.rs`, the generators of `tests/adversarial.rs`
//!   (random, proptest);
//! - every structured certificate mutation (all but the byte-level ones),
//!   enumerated, at one `now`;
//! - the committed corpus `model/testdata/bad-certs/`, at its `CORPUS_NOW`;
//! - certificates our CA issues honestly for random requests (serial, names,
//!   window), at random instants and at instants around the window's edges,
//!   and CRLs it issues honestly (number, revoked serials, thisUpdate): the
//!   sources where we accept, so where webpki must accept too. (Everything we
//!   accept carries our CA's signature, so only what our CA issues can show a
//!   disagreement of the failing kind.)
//!
//! # Verdicts
//!
//! Each difference is a [`Disagreement`]:
//! - we **accept** and webpki **refuses**, or both accept a CRL but disagree
//!   on a certificate's status: always a failure (a bug on our side until
//!   shown otherwise: report it, never allow-list it);
//! - we **refuse** and webpki **accepts**: allowed only for the kinds in
//!   [`STRICTER_ON_OUR_SIDE`], where our rule is stricter on purpose:
//!   - `invalid-subject-identity`: we require exactly one common name and
//!     exactly one rfc822Name e-mail (the user's identity in our tables);
//!     webpki does not read the subject for client authentication;
//!   - `required-eku-not-found`: we require an extKeyUsage listing clientAuth;
//!     webpki's `KeyUsage::client_auth()` also accepts a certificate with no
//!     extKeyUsage at all (RFC 5280 4.2.1.12);
//!   - `key-usage-missing`: we require keyUsage digitalSignature (the key signs
//!     proofs of possession); webpki ignores keyUsage on end entities;
//!   - `invalid-serial-number`: we require 0 < serial < 2^64 (our tables key
//!     on a u64); webpki takes any INTEGER (RFC 5280 4.1.2.2 asks users to
//!     tolerate zero and overlong serials);
//!   - `unsupported-key`: we require an Ed25519 subject key (proofs are
//!     Ed25519); webpki does not restrict an end entity's key algorithm;
//!   - `expired`, only at an instant that is not a whole second: we compare
//!     in milliseconds and read notAfter as an instant (issuance rounds the
//!     window inward to whole seconds), webpki's clock has whole seconds, so
//!     for it the whole second notAfter names is still inside the window.
//!
//!   No CRL kind is allowed: on CRLs webpki and we agree.
//!
//! A kind not in the list fails as well. The deterministic sources together
//! must show every allowed kind, so that the list keeps no entry that no
//! certificate needs (any more).
//!
//! The comparison can fail: the `planted_*` tests force our verdict (to accept
//! forgeries, to refuse for an unlisted reason, to misread a CRL) and check
//! that the same machinery reports it.
//!
//! # Running more cases
//!
//! Defaults: 1024 certificate mutants, 512 CRL mutants, 256 honest
//! certificates and 128 honest CRLs (about a second in all, in debug).
//! `PROPTEST_CASES` overrides each, e.g.
//!
//! ```sh
//! PROPTEST_CASES=100000 cargo test -p commoncert-model --test webpki_differential -- --nocapture
//! ```
//!
//! (`--nocapture` prints the allowed disagreements seen, per kind). Failures
//! persist to `model/proptest-regressions/webpki_differential.txt`.

mod common;

use common::mutations::{
    CertMutation, FIXTURE, Fixture, OTHER_ALGS, Signer, VALIDITY, cert_mutation, crl_mutation,
    mutate_certificate, mutate_crl,
};
use common::{CORPUS_NOW, committed_corpus, corpus_ca};
use commoncert_model::rejection::Rejection;
use commoncert_model::x509::forge::{self, Flaw};
use commoncert_model::x509::{CertRequest, DAY, EPOCH_UNIX_SECONDS, TrustAnchor, VirtualTime};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
use rustls_pki_types::{CertificateDer, UnixTime};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::time::Duration;
use webpki::{
    ALL_VERIFICATION_ALGS, CertRevocationList, EndEntityCert, KeyUsage, OwnedCertRevocationList,
    RevocationCheckDepth, RevocationOptions, RevocationOptionsBuilder,
};

const REGRESSIONS: &str = "proptest-regressions/webpki_differential.txt";

// ---------------------------------------------------------------------------
// The allow-list
// ---------------------------------------------------------------------------

/// A kind of disagreement where our rule is stricter than webpki's: we refuse
/// with `rejection` at an instant `when` holds for, webpki accepts.
struct Stricter {
    rejection: Rejection,
    when: fn(VirtualTime) -> bool,
}

fn always(_: VirtualTime) -> bool {
    true
}

fn not_a_whole_second(now: VirtualTime) -> bool {
    !now.is_multiple_of(1000)
}

/// Every allowed disagreement; nothing else may differ. See the module
/// documentation.
const STRICTER_ON_OUR_SIDE: &[Stricter] = &[
    // Exactly one common name and one rfc822Name, the user's identity in our
    // tables; webpki does not read the subject for client authentication.
    Stricter {
        rejection: Rejection::InvalidSubjectIdentity,
        when: always,
    },
    // An EKU listing clientAuth is required; webpki's client_auth() also
    // takes a certificate without any EKU (RFC 5280 4.2.1.12).
    Stricter {
        rejection: Rejection::RequiredEkuNotFound,
        when: always,
    },
    // keyUsage digitalSignature is required (the key signs proofs); webpki
    // ignores keyUsage on end entities.
    Stricter {
        rejection: Rejection::KeyUsageMissing,
        when: always,
    },
    // 0 < serial < 2^64, the u64 our tables key on; webpki takes any INTEGER
    // (RFC 5280 4.1.2.2 asks users to tolerate non-conforming serials).
    Stricter {
        rejection: Rejection::InvalidSerialNumber,
        when: always,
    },
    // An Ed25519 subject key (proofs are Ed25519); webpki does not restrict
    // the end entity's key algorithm.
    Stricter {
        rejection: Rejection::UnsupportedKey,
        when: always,
    },
    // Within the second after notAfter: we compare in milliseconds, webpki's
    // clock has whole seconds. At a whole second the two must agree.
    Stricter {
        rejection: Rejection::Expired,
        when: not_a_whole_second,
    },
];

/// One difference between our verdict and webpki's.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Disagreement {
    /// We refuse with this rejection, webpki accepts.
    OursStricter(Rejection),
    /// We accept, webpki refuses with this error (its `Debug`).
    PeerStricter(String),
    /// Both accept a CRL, but disagree on whether this serial is revoked.
    RevocationStatus { serial: u64, ours: bool, peer: bool },
}

/// `Ok` for a disagreement at `now` that the allow-list covers, otherwise
/// why it fails the test.
fn judge(d: &Disagreement, now: VirtualTime) -> Result<(), String> {
    match d {
        Disagreement::OursStricter(r) => STRICTER_ON_OUR_SIDE
            .iter()
            .any(|s| s.rejection == *r && (s.when)(now))
            .then_some(())
            .ok_or_else(|| {
                format!(
                    "at {now} ms we refuse with `{}` and webpki accepts, which the allow-list \
                     does not cover",
                    r.code()
                )
            }),
        Disagreement::PeerStricter(e) => Err(format!(
            "at {now} ms we ACCEPT and webpki refuses ({e}): a bug in our verifier"
        )),
        Disagreement::RevocationStatus { serial, ours, peer } => Err(format!(
            "both accept the CRL, but for serial {serial:#x} we say revoked={ours} and webpki \
             revoked={peer}"
        )),
    }
}

fn compare<T, U>(
    ours: Result<T, Rejection>,
    peer: Result<U, webpki::Error>,
) -> Option<Disagreement> {
    match (ours, peer) {
        (Ok(_), Ok(_)) | (Err(_), Err(_)) => None,
        (Err(r), Ok(_)) => Some(Disagreement::OursStricter(r)),
        (Ok(_), Err(e)) => Some(Disagreement::PeerStricter(format!("{e:?}"))),
    }
}

/// The allow-listed rejections that `observed` does not show.
fn unused_entries(observed: &BTreeSet<Rejection>) -> Vec<&'static str> {
    STRICTER_ON_OUR_SIDE
        .iter()
        .filter(|s| !observed.contains(&s.rejection))
        .map(|s| s.rejection.code())
        .collect()
}

// ---------------------------------------------------------------------------
// The two verifiers
// ---------------------------------------------------------------------------

/// Our verdict on a certificate; a stand-in in the planted tests.
type OurCheck<'a> = &'a dyn Fn(&TrustAnchor, &[u8], VirtualTime) -> Result<(), Rejection>;

fn ours(anchor: &TrustAnchor, der: &[u8], now: VirtualTime) -> Result<(), Rejection> {
    anchor.verify_certificate(der, now).map(drop)
}

/// Virtual time as webpki's `UnixTime` (whole seconds, rounded down).
fn unix_time(now: VirtualTime) -> UnixTime {
    let epoch = Duration::from_secs(EPOCH_UNIX_SECONDS.unsigned_abs());
    UnixTime::since_unix_epoch(epoch + Duration::from_millis(now))
}

/// webpki's verdict on `der` as a client-authentication end entity under
/// `root` at `now`, checked for revocation with `revocation` if given.
fn webpki_verify(
    root: &[u8],
    der: &[u8],
    now: VirtualTime,
    revocation: Option<RevocationOptions<'_>>,
) -> Result<(), webpki::Error> {
    let root = CertificateDer::from(root);
    let anchors = [webpki::anchor_from_trusted_cert(&root).expect("our root is an anchor")];
    let cert = CertificateDer::from(der);
    EndEntityCert::try_from(&cert)?
        .verify_for_usage(
            ALL_VERIFICATION_ALGS,
            &anchors,
            &[],
            unix_time(now),
            KeyUsage::client_auth(),
            revocation,
            None,
        )
        .map(drop)
}

/// The disagreement, if any, over one certificate under `f`'s CA at `now`.
fn certificate_case(
    f: &Fixture,
    der: &[u8],
    now: VirtualTime,
    ours: OurCheck<'_>,
) -> Option<Disagreement> {
    let peer = webpki_verify(f.ca.root().as_bytes(), der, now, None);
    compare(ours(&f.anchor, der, now), peer)
}

/// The certificates a CRL is judged through, and when.
struct CrlProbe<'a> {
    root: &'a [u8],
    /// Genuine certificates of the CRL's CA: (serial, DER).
    certs: [(u64, &'a [u8]); 2],
    now: VirtualTime,
}

impl CrlProbe<'_> {
    fn fixture(f: &Fixture) -> CrlProbe<'_> {
        CrlProbe {
            root: f.ca.root().as_bytes(),
            certs: [
                (f.request.serial, f.honest.as_bytes()),
                (0x42, f.other.as_bytes()),
            ],
            // Inside both certificates' windows.
            now: 2 * DAY,
        }
    }

    /// Ours: whether the CRL revokes each certificate, or why it is refused.
    fn ours(&self, anchor: &TrustAnchor, crl: &[u8]) -> Result<[bool; 2], Rejection> {
        let revoked = anchor.verify_crl(crl)?;
        Ok(self.certs.map(|(serial, _)| revoked.contains(&serial)))
    }

    /// webpki's: each certificate verified with the CRL as its revocation
    /// information; `CertRevoked` means revoked, any other error a refused CRL.
    fn webpki(&self, crl: &[u8]) -> Result<[bool; 2], webpki::Error> {
        let crl = CertRevocationList::from(OwnedCertRevocationList::from_der(crl)?);
        let crls = [&crl];
        let options = RevocationOptionsBuilder::new(&crls)
            .expect("one CRL")
            .with_depth(RevocationCheckDepth::EndEntity)
            .build();
        let mut revoked = [false; 2];
        for (slot, (_, cert)) in revoked.iter_mut().zip(self.certs) {
            *slot = match webpki_verify(self.root, cert, self.now, Some(options)) {
                Ok(()) => false,
                Err(webpki::Error::CertRevoked) => true,
                Err(e) => return Err(e),
            };
        }
        Ok(revoked)
    }

    /// The disagreements over one CRL, given our verdict on it.
    fn compare(&self, ours: Result<[bool; 2], Rejection>, crl: &[u8]) -> Vec<Disagreement> {
        let peer = self.webpki(crl);
        if let (Ok(ours), Ok(peer)) = (&ours, &peer) {
            return (0..2)
                .filter(|&i| ours[i] != peer[i])
                .map(|i| Disagreement::RevocationStatus {
                    serial: self.certs[i].0,
                    ours: ours[i],
                    peer: peer[i],
                })
                .collect();
        }
        compare(ours, peer).into_iter().collect()
    }
}

// ---------------------------------------------------------------------------
// Running a source
// ---------------------------------------------------------------------------

/// How many times each allowed disagreement was seen.
type Tally = BTreeMap<Disagreement, usize>;

/// Judge `found` at `now` into `tally`: the first disagreement not allowed is
/// the error.
fn record(
    tally: &mut Tally,
    now: VirtualTime,
    found: impl IntoIterator<Item = Disagreement>,
) -> Result<(), String> {
    for d in found {
        judge(&d, now)?;
        *tally.entry(d).or_default() += 1;
    }
    Ok(())
}

/// Run `case` (its instant and disagreements) over `strategy`. A case with a
/// disagreement the allow-list does not cover fails, shrunk to a minimal
/// input; otherwise the tally of the allowed ones.
fn differential<S, I>(
    config: ProptestConfig,
    strategy: S,
    case: impl Fn(&S::Value) -> (VirtualTime, I),
) -> Result<Tally, String>
where
    S: Strategy,
    S::Value: Debug,
    I: IntoIterator<Item = Disagreement>,
{
    let tally = RefCell::new(Tally::new());
    TestRunner::new(config)
        .run(&strategy, |value| {
            let (now, found) = case(&value);
            record(&mut tally.borrow_mut(), now, found).map_err(TestCaseError::fail)
        })
        .map_err(|e| e.to_string())?;
    Ok(tally.into_inner())
}

/// [`differential`] over a random source with `default_cases` cases unless
/// `PROPTEST_CASES` says otherwise; panics with the failing case.
fn judge_source<S, I>(
    source: &str,
    default_cases: u32,
    strategy: S,
    case: impl Fn(&S::Value) -> (VirtualTime, I),
) where
    S: Strategy,
    S::Value: Debug,
    I: IntoIterator<Item = Disagreement>,
{
    let config = common::config(REGRESSIONS, default_cases);
    let tally = differential(config, strategy, case).unwrap_or_else(|e| panic!("{source}: {e}"));
    print_tally(source, &tally);
}

fn print_tally(source: &str, tally: &Tally) {
    eprintln!("{source}: allowed disagreements by kind:");
    for (d, n) in tally {
        eprintln!("  {n:6}  {d:?}");
    }
}

/// The rejections of the (allowed) disagreements in `found`.
fn kinds<'a>(found: impl IntoIterator<Item = &'a Disagreement>) -> BTreeSet<Rejection> {
    found
        .into_iter()
        .filter_map(|d| match d {
            Disagreement::OursStricter(r) => Some(*r),
            _ => None,
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Sources
// ---------------------------------------------------------------------------

/// Every certificate mutation but the byte-level ones.
fn structured_mutations() -> Vec<CertMutation> {
    let signers: Vec<Signer> = (0..4)
        .flat_map(|i| [Signer::User(i), Signer::Attacker(i), Signer::OtherCa(i)])
        .collect();
    let algs = || std::iter::once(None).chain((0..OTHER_ALGS.len()).map(Some));
    let mut all = Vec::new();
    for a in 0..8 {
        all.extend((0..8).map(|b| CertMutation::SwapFields(a, b)));
    }
    for field in 1..8 {
        let resigns = std::iter::once(None).chain(signers.iter().copied().map(Some));
        all.extend(resigns.map(|resign| CertMutation::Splice { field, resign }));
    }
    all.extend(signers.iter().map(|&s| CertMutation::Resign(s)));
    for outer in algs() {
        for inner in algs().filter(|i| outer.is_some() || i.is_some()) {
            all.extend([true, false].map(|by_ca| CertMutation::Algorithm {
                outer,
                inner,
                by_ca,
            }));
        }
    }
    all.extend((1..8).map(CertMutation::UnusedBits));
    all.push(CertMutation::IssuerSubjectSwappedByCa);
    all.push(CertMutation::ValiditySwappedByCa);
    all.extend(Flaw::ALL.map(CertMutation::Flaw));
    all.extend([true, false].map(|after| CertMutation::OutOfWindow { after }));
    all.extend([true, false].map(|same_name| CertMutation::OtherCa { same_name }));
    all
}

/// The structured mutants at 10 days, judged.
fn structured_sweep() -> Tally {
    let f = &*FIXTURE;
    let now = 10 * DAY;
    let mut tally = Tally::new();
    for m in structured_mutations() {
        let (mutant, _) = mutate_certificate(f, &m, now);
        let found = certificate_case(f, &mutant, now, &ours);
        record(&mut tally, now, found).unwrap_or_else(|why| panic!("{m:?}: {why}"));
    }
    tally
}

/// The committed bad-certs corpus, judged: the disagreeing files.
fn corpus_sweep() -> BTreeMap<String, Disagreement> {
    let ca = corpus_ca();
    let (anchor, root) = (ca.trust_anchor(), ca.root().as_bytes());
    let mut found = BTreeMap::new();
    for (name, der, _) in committed_corpus() {
        let peer = webpki_verify(root, &der, CORPUS_NOW, None);
        if let Some(d) = compare(ours(&anchor, &der, CORPUS_NOW), peer) {
            judge(&d, CORPUS_NOW).unwrap_or_else(|why| panic!("bad-certs/{name}.der: {why}"));
            found.insert(name, d);
        }
    }
    found
}

/// User 1's honest certificate (window 2 s to 2 s + 365 days) at instants
/// around both edges of its window, judged.
fn window_edge_sweep() -> Tally {
    let f = &*FIXTURE;
    let (nb, na) = (2000, 2000 + VALIDITY);
    let mut tally = Tally::new();
    for edge in [nb, na] {
        for delta in [-1001, -1000, -999, -1, 0, 1, 500, 999, 1000, 1001] {
            let now = edge.saturating_add_signed(delta);
            let found = certificate_case(f, f.other.as_bytes(), now, &ours);
            record(&mut tally, now, found).unwrap_or_else(|why| panic!("{why}"));
        }
    }
    tally
}

/// A request our CA issues honestly, and an instant to check it at: anywhere,
/// or within 3 s of either edge of its window.
fn honest_request() -> impl Strategy<Value = (CertRequest, VirtualTime)> {
    const YEAR: u64 = 365 * DAY;
    (
        1..=u64::MAX,
        "\\PC{1,12}",
        "[ -~]{1,24}",
        0..=80 * YEAR,
        0..=30 * YEAR,
        0..3usize,
        0..=120 * YEAR,
        -3000..=3000i64,
    )
        .prop_map(
            |(serial, common_name, email, not_before, length, at, anywhere, delta)| {
                let not_after = not_before + length;
                let now = match at {
                    0 => anywhere,
                    1 => not_before.saturating_add_signed(delta),
                    _ => not_after.saturating_add_signed(delta),
                };
                let public_key = FIXTURE.request.public_key;
                let request = CertRequest {
                    serial,
                    common_name,
                    email,
                    public_key,
                    not_before,
                    not_after,
                };
                (request, now)
            },
        )
}

/// A CRL our CA issues honestly: its number, revoked serials (among them,
/// perhaps, the two probe certificates') and thisUpdate.
fn honest_crl() -> impl Strategy<Value = (u64, Vec<u64>, VirtualTime)> {
    let f = &*FIXTURE;
    let serial = prop_oneof![Just(f.request.serial), Just(0x42), 1..=u64::MAX];
    (
        any::<u64>(),
        prop::collection::vec(serial, 0..6),
        0..=120 * 365 * DAY,
    )
}

// ---------------------------------------------------------------------------
// The comparisons
// ---------------------------------------------------------------------------

#[test]
fn honest_certificate_and_crl_are_accepted_by_both() {
    let f = &*FIXTURE;
    let root = f.ca.root().as_bytes();
    for now in [0, 1, DAY, VALIDITY - 1, VALIDITY] {
        assert_eq!(ours(&f.anchor, f.honest.as_bytes(), now), Ok(()));
        assert_eq!(webpki_verify(root, f.honest.as_bytes(), now, None), Ok(()));
    }
    for now in [VALIDITY + 1000, VALIDITY + DAY] {
        assert!(ours(&f.anchor, f.honest.as_bytes(), now).is_err());
        assert!(webpki_verify(root, f.honest.as_bytes(), now, None).is_err());
    }
    let probe = CrlProbe::fixture(f);
    // User 0 is on the honest CRL, user 1 is not; both verifiers read it so.
    assert_eq!(probe.ours(&f.anchor, f.crl.as_bytes()), Ok([true, false]));
    assert_eq!(probe.webpki(f.crl.as_bytes()), Ok([true, false]));
}

#[test]
fn certificate_mutants_differ_only_where_we_are_stricter() {
    let f = &*FIXTURE;
    let strategy = (cert_mutation(), 0..=VALIDITY);
    judge_source("certificate mutants", 1024, strategy, |(m, now)| {
        let (mutant, _) = mutate_certificate(f, m, *now);
        (*now, certificate_case(f, &mutant, *now, &ours))
    });
}

#[test]
fn crl_mutants_differ_only_where_we_are_stricter() {
    let (f, probe) = (&*FIXTURE, CrlProbe::fixture(&FIXTURE));
    judge_source("CRL mutants", 512, crl_mutation(), |m| {
        let (mutant, _) = mutate_crl(f, m);
        (
            probe.now,
            probe.compare(probe.ours(&f.anchor, &mutant), &mutant),
        )
    });
}

#[test]
fn honestly_issued_certificates_differ_only_where_we_are_stricter() {
    let f = &*FIXTURE;
    judge_source(
        "honest certificates",
        256,
        honest_request(),
        |(req, now)| {
            // The CA refuses some requests (a window empty in whole seconds).
            let Ok(der) = f.ca.issue(req) else {
                return (*now, None);
            };
            (*now, certificate_case(f, der.as_bytes(), *now, &ours))
        },
    );
}

#[test]
fn honestly_issued_crls_are_read_alike() {
    let (f, probe) = (&*FIXTURE, CrlProbe::fixture(&FIXTURE));
    judge_source("honest CRLs", 128, honest_crl(), |(number, revoked, at)| {
        let crl = f.ca.crl(*number, revoked, *at).expect("an honest CRL");
        let crl = crl.as_bytes();
        (probe.now, probe.compare(probe.ours(&f.anchor, crl), crl))
    });
}

#[test]
fn structured_certificate_mutants_differ_only_where_we_are_stricter() {
    print_tally("structured certificate mutants", &structured_sweep());
}

#[test]
fn bad_cert_corpus_differs_only_where_we_are_stricter() {
    eprintln!("bad-certs webpki accepts: {:#?}", corpus_sweep());
}

#[test]
fn window_edges_differ_only_below_a_second() {
    let tally = window_edge_sweep();
    print_tally("window edges", &tally);
    // notAfter + 1, + 500 and + 999 ms.
    assert_eq!(
        tally.get(&Disagreement::OursStricter(Rejection::Expired)),
        Some(&3)
    );
}

/// The deterministic sources together show every allow-listed kind.
#[test]
fn every_allow_list_entry_is_needed() {
    let mut observed = kinds(structured_sweep().keys());
    observed.extend(kinds(corpus_sweep().values()));
    observed.extend(kinds(window_edge_sweep().keys()));
    assert_eq!(unused_entries(&observed), Vec::<&str>::new());
}

// ---------------------------------------------------------------------------
// The comparison can fail
// ---------------------------------------------------------------------------

/// Not a judge at all: accepts everything.
fn accepts_everything(_: &TrustAnchor, _: &[u8], _: VirtualTime) -> Result<(), Rejection> {
    Ok(())
}

/// Proptest without a regressions file, for runs that are meant to fail.
fn planted_config() -> ProptestConfig {
    ProptestConfig {
        cases: 32,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

#[test]
fn planted_acceptance_of_a_forgery_fails_the_comparison() {
    let f = &*FIXTURE;
    // A real mutant that webpki refuses, with our verdict forced to accept.
    let (mutant, _) = mutate_certificate(f, &CertMutation::Resign(Signer::Attacker(0)), DAY);
    let d = certificate_case(f, &mutant, DAY, &accepts_everything).expect("a disagreement");
    assert!(
        matches!(&d, Disagreement::PeerStricter(e) if e.contains("InvalidSignatureForPublicKey")),
        "{d:?}"
    );
    assert!(judge(&d, DAY).unwrap_err().contains("we ACCEPT"));
    // And through the runner the property uses: it fails.
    let strategy = (cert_mutation(), 0..=VALIDITY);
    let run = differential(planted_config(), strategy, |(m, now)| {
        let (mutant, _) = mutate_certificate(f, m, *now);
        (
            *now,
            certificate_case(f, &mutant, *now, &accepts_everything),
        )
    });
    let err = run.expect_err("a verifier that accepts every mutant is caught");
    assert!(err.contains("we ACCEPT"), "{err}");
}

#[test]
fn planted_unlisted_rejection_fails_the_comparison() {
    let f = &*FIXTURE;
    // webpki accepts the honest certificate; ours is forced to refuse it.
    let malformed = |_: &TrustAnchor, _: &[u8], _| Err(Rejection::Malformed);
    let d = certificate_case(f, f.honest.as_bytes(), DAY, &malformed).expect("a disagreement");
    assert_eq!(d, Disagreement::OursStricter(Rejection::Malformed));
    assert!(judge(&d, DAY).unwrap_err().contains("allow-list"));
    // An allow-listed reason passes the same comparison...
    let d = Disagreement::OursStricter(Rejection::KeyUsageMissing);
    assert_eq!(judge(&d, DAY), Ok(()));
    // ...and `expired` only below a second.
    let d = Disagreement::OursStricter(Rejection::Expired);
    assert_eq!(judge(&d, DAY + 1), Ok(()));
    assert!(judge(&d, DAY).is_err());
    // An allow-list entry no source needs is reported.
    let unused = unused_entries(&kinds(&[Disagreement::OursStricter(
        Rejection::KeyUsageMissing,
    )]));
    assert!(
        unused.contains(&Rejection::UnsupportedKey.code()),
        "{unused:?}"
    );
    assert!(
        !unused.contains(&Rejection::KeyUsageMissing.code()),
        "{unused:?}"
    );
}

#[test]
fn planted_misreading_of_a_crl_fails_the_comparison() {
    let f = &*FIXTURE;
    let probe = CrlProbe::fixture(f);
    let crl = f.crl.as_bytes();
    // Forced: the CRL read as revoking nobody (an "un-revocation").
    let found = probe.compare(Ok([false, false]), crl);
    let want = Disagreement::RevocationStatus {
        serial: f.request.serial,
        ours: false,
        peer: true,
    };
    assert_eq!(found, vec![want]);
    assert!(judge(&found[0], probe.now).is_err());
    // Forced: a forged CRL accepted.
    let forged = forge::flip_signature_bit(crl, 3);
    let found = probe.compare(Ok([true, false]), &forged);
    assert!(
        matches!(found.as_slice(), [Disagreement::PeerStricter(e)] if e.contains("InvalidCrlSignature")),
        "{found:?}"
    );
    assert!(judge(&found[0], probe.now).is_err());
}
