//! Simulator throughput with real X.509, and its cost split (issue 4,
//! "Performance").
//!
//! - `sim/<scenario>`: one deterministic replay of a shipped scenario through
//!   `commoncert_sim::sim::run` (system build, keys, root certificate, every
//!   event, property checks after each event, the trace and its fingerprint),
//!   as simulated events per second (`Throughput::Elements(events)`).
//! - `crypto/*`: the unit cost of each cryptographic operation the run does:
//!   issue (`CertificateAuthority::issue`), verify a certificate uncached (a
//!   fresh `TrustAnchor`) and cached, a proof-of-possession signature
//!   (`SigningKey::sign`) and its check (`x509::verify_proof`), a CRL's
//!   signing and verification, and the per-run setup (`CertificateAuthority::new`,
//!   `SigningKey::from_seed`, a password digest).
//! - after the groups, a table per scenario: how many of each operation one
//!   run does (counted from its trace), times the unit cost, against the whole
//!   run: the rest is the simulator's (and `World`'s) own work.
//!
//! `cargo bench --bench sim`; results in `reports/performance.md`.
//! `CC_SPLIT=off` skips the table.

#[global_allocator]
static GLOBAL: commoncert_sim::alloc::Allocator = commoncert_sim::alloc::Allocator;

use commoncert_model::x509::{
    CertRequest, CertificateAuthority, KeyStream, SigningKey, TrustAnchor, challenge_bytes,
    key_seed, verify_proof,
};
use commoncert_sim::scenario::{self, Scenario};
use commoncert_sim::sim::{self, Options, Run};
use commoncert_sim::trace::Kind;
use criterion::{BatchSize, Criterion, Throughput};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

const SCENARIOS: &[&str] = &[
    "fig3a-issue-and-qualify",
    "fig11-portal-statement",
    "push-stale-acceptance",
];

fn load(name: &str) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(format!("{name}.toml"));
    scenario::load(&path).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()))
}

fn replay(sc: &Scenario) -> Run {
    let run = sim::run(
        sc,
        Options {
            seed: sc.seed,
            ..Options::default()
        },
    )
    .expect("the scenario builds");
    assert!(run.pass, "{} must pass: {:?}", sc.name, run.failures);
    run
}

fn bench_sim(c: &mut Criterion) {
    let mut group = c.benchmark_group("sim");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for name in SCENARIOS {
        let sc = load(name);
        let events = replay(&sc).events;
        group.throughput(Throughput::Elements(events as u64));
        group.bench_function(*name, |b| b.iter(|| replay(&sc).events));
    }
    group.finish();
}

/// A CA, a user key, one issued certificate and a CRL, as the runs make them.
struct Fixture {
    ca: CertificateAuthority,
    key: SigningKey,
    request: CertRequest,
    der: Vec<u8>,
    challenge: Vec<u8>,
    signature: Vec<u8>,
    crl: Vec<u8>,
}

const NOW: u64 = 1_000;

fn fixture() -> Fixture {
    let ca =
        CertificateAuthority::new(&key_seed(7, KeyStream::Ca, 0), "commoncert CA").expect("a root");
    let key = SigningKey::from_seed(&key_seed(7, KeyStream::User, 0));
    let request = CertRequest {
        serial: 1,
        common_name: "Taro Yamada".into(),
        email: "taro@example.org".into(),
        public_key: key.public_key(),
        not_before: 0,
        not_after: 365 * 24 * 3600 * 1000,
    };
    let der = ca.issue(&request).expect("issued").as_bytes().to_vec();
    let challenge = challenge_bytes("A", 7);
    let signature = key.sign(&challenge);
    let crl = ca.crl(1, &[1], NOW).expect("a CRL").as_bytes().to_vec();
    Fixture {
        ca,
        key,
        request,
        der,
        challenge,
        signature,
        crl,
    }
}

fn fresh_anchor(f: &Fixture) -> TrustAnchor {
    TrustAnchor::from_root_der(f.ca.root().as_bytes()).expect("our root")
}

fn bench_crypto(c: &mut Criterion) {
    let f = fixture();
    let mut group = c.benchmark_group("crypto");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    group.bench_function("issue", |b| b.iter(|| f.ca.issue(&f.request).is_ok()));
    group.bench_function("verify-uncached", |b| {
        b.iter_batched(
            || fresh_anchor(&f),
            |a| a.verify_certificate(&f.der, NOW).is_ok(),
            BatchSize::SmallInput,
        )
    });
    let cached = f.ca.trust_anchor();
    let _ = cached.verify_certificate(&f.der, NOW);
    group.bench_function("verify-cached", |b| {
        b.iter(|| cached.verify_certificate(&f.der, NOW).is_ok())
    });
    group.bench_function("sign", |b| b.iter(|| f.key.sign(&f.challenge)));
    let pk = f.key.public_key();
    group.bench_function("verify-proof", |b| {
        b.iter(|| verify_proof(&pk, &f.challenge, &f.signature).is_ok())
    });
    group.bench_function("crl-sign", |b| b.iter(|| f.ca.crl(2, &[1], NOW).is_ok()));
    group.bench_function("crl-verify", |b| {
        b.iter(|| cached.verify_crl(&f.crl).is_ok())
    });
    group.bench_function("ca-new", |b| {
        b.iter(|| {
            CertificateAuthority::new(&key_seed(7, KeyStream::Ca, 0), "commoncert CA").is_ok()
        })
    });
    group.bench_function("key-from-seed", |b| {
        b.iter(|| SigningKey::from_seed(&key_seed(7, KeyStream::User, 3)).public_key())
    });
    group.bench_function("password-digest", |b| {
        b.iter(|| commoncert_model::tables::password_digest("t.yamada", "pw-ba"))
    });
    group.finish();
}

/// Mean seconds per call of `f` over ~`secs` (after a short warm-up).
fn unit(secs: f64, mut f: impl FnMut() -> bool) -> f64 {
    for _ in 0..3 {
        std::hint::black_box(f());
    }
    let start = Instant::now();
    let mut n = 0u64;
    while n < 5 || start.elapsed().as_secs_f64() < secs {
        std::hint::black_box(f());
        n += 1;
    }
    start.elapsed().as_secs_f64() / n as f64
}

/// Unit costs in seconds, measured here (the criterion group reports the
/// same operations with confidence intervals).
struct Units {
    issue: f64,
    verify_uncached: f64,
    verify_cached: f64,
    sign: f64,
    verify_proof: f64,
    crl_sign: f64,
    crl_verify: f64,
    ca_new: f64,
    key_from_seed: f64,
    digest: f64,
}

fn units() -> Units {
    let f = fixture();
    let cached = f.ca.trust_anchor();
    let pk = f.key.public_key();
    Units {
        issue: unit(0.3, || f.ca.issue(&f.request).is_ok()),
        // Includes building the fresh anchor (parse and verify the root);
        // subtract that measured alone.
        verify_uncached: unit(0.3, || {
            fresh_anchor(&f).verify_certificate(&f.der, NOW).is_ok()
        }) - unit(0.2, || fresh_anchor(&f).public_key()[0] != 1),
        verify_cached: unit(0.2, || cached.verify_certificate(&f.der, NOW).is_ok()),
        sign: unit(0.2, || !f.key.sign(&f.challenge).is_empty()),
        verify_proof: unit(0.2, || {
            verify_proof(&pk, &f.challenge, &f.signature).is_ok()
        }),
        crl_sign: unit(0.2, || f.ca.crl(2, &[1], NOW).is_ok()),
        crl_verify: unit(0.2, || cached.verify_crl(&f.crl).is_ok()),
        ca_new: unit(0.3, || {
            CertificateAuthority::new(&key_seed(7, KeyStream::Ca, 0), "commoncert CA").is_ok()
        }),
        key_from_seed: unit(0.2, || {
            SigningKey::from_seed(&key_seed(7, KeyStream::User, 3)).public_key()[0] != 1
        }),
        digest: unit(0.2, || {
            commoncert_model::tables::password_digest("t.yamada", "pw-ba")[0] != 1
        }),
    }
}

/// How many of each crypto operation one run of `sc` does, from its trace.
#[derive(Default)]
struct Counts {
    issue: usize,
    verify_uncached: usize,
    verify_cached: usize,
    sign: usize,
    verify_proof: usize,
    crl_sign: usize,
    crl_verify: usize,
    ca_new: usize,
    key_from_seed: usize,
    digest: usize,
}

fn count(sc: &Scenario, run: &Run) -> Counts {
    let mut c = Counts {
        // spec.build: the CA (key, self-signed root, its anchor) and one key per user.
        ca_new: 1,
        key_from_seed: sc.spec.users.len(),
        // every service enrols every account's password digest at start.
        digest: sc.spec.users.iter().map(|u| u.accounts.len()).sum(),
        ..Counts::default()
    };
    let mut seen_certs = BTreeSet::new();
    let mut seen_crls = BTreeSet::new();
    for e in &run.trace.events {
        if e.steps.iter().any(|s| s == "P2") {
            c.issue += 1;
        }
        if e.what.starts_with("Revocation(") {
            seen_crls.insert(e.what.clone());
        }
        if !matches!(e.kind, Kind::Delivered | Kind::Duplicated) {
            continue;
        }
        if e.what.starts_with("Challenge(") {
            c.sign += 1;
        } else if let Some(rest) = e.what.strip_prefix("Present(") {
            let cert = rest
                .split("cert ")
                .nth(1)
                .unwrap_or("")
                .split([',', ')'])
                .next();
            if seen_certs.insert(cert.unwrap_or("").to_string()) {
                c.verify_uncached += 1;
            } else {
                c.verify_cached += 1;
            }
            if rest.contains(", signed") {
                c.verify_proof += 1;
            }
        } else if e.what.starts_with("Revocation(") {
            c.crl_verify += 1;
        } else if e.what.starts_with("Login(") {
            c.digest += 1;
        }
    }
    c.crl_sign = seen_crls.len();
    c
}

fn split() {
    if std::env::var("CC_SPLIT").is_ok_and(|v| v == "off") {
        return;
    }
    let u = units();
    eprintln!();
    eprintln!(
        "unit costs (µs): issue {:.1}, verify uncached {:.1}, verify cached {:.2}, sign {:.1}, \
         verify proof {:.1}, CRL sign {:.1}, CRL verify {:.1}, CA new {:.1}, key from seed {:.1}, digest {:.2}",
        u.issue * 1e6,
        u.verify_uncached * 1e6,
        u.verify_cached * 1e6,
        u.sign * 1e6,
        u.verify_proof * 1e6,
        u.crl_sign * 1e6,
        u.crl_verify * 1e6,
        u.ca_new * 1e6,
        u.key_from_seed * 1e6,
        u.digest * 1e6
    );
    eprintln!(
        "| scenario | events | run µs | events/s | issue | verify (uncached+cached) | sign | proof | CRL s+v | setup (CA, keys, digests) | crypto µs | crypto share | harness µs/event |"
    );
    eprintln!("|---|---:|---:|---:|---|---|---:|---:|---|---|---:|---:|---:|");
    for name in SCENARIOS {
        let sc = load(name);
        let run = replay(&sc);
        let whole = unit(1.0, || replay(&sc).events > 0);
        let c = count(&sc, &run);
        let parts = [
            c.issue as f64 * u.issue,
            c.verify_uncached as f64 * u.verify_uncached + c.verify_cached as f64 * u.verify_cached,
            c.sign as f64 * u.sign,
            c.verify_proof as f64 * u.verify_proof,
            c.crl_sign as f64 * u.crl_sign + c.crl_verify as f64 * u.crl_verify,
            c.ca_new as f64 * u.ca_new
                + c.key_from_seed as f64 * u.key_from_seed
                + c.digest as f64 * u.digest,
        ];
        let crypto: f64 = parts.iter().sum();
        eprintln!(
            "| {name} | {} | {:.0} | {:.0} | {}× = {:.0} | {}+{} = {:.0} | {}× = {:.0} | {}× = {:.0} | {}+{} = {:.0} | 1+{}+{} = {:.0} | {:.0} | {:.0}% | {:.1} |",
            run.events,
            whole * 1e6,
            run.events as f64 / whole,
            c.issue,
            parts[0] * 1e6,
            c.verify_uncached,
            c.verify_cached,
            parts[1] * 1e6,
            c.sign,
            parts[2] * 1e6,
            c.verify_proof,
            parts[3] * 1e6,
            c.crl_sign,
            c.crl_verify,
            parts[4] * 1e6,
            c.key_from_seed,
            c.digest,
            parts[5] * 1e6,
            crypto * 1e6,
            100.0 * crypto / whole,
            (whole - crypto) * 1e6 / run.events as f64
        );
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench_sim(&mut c);
    bench_crypto(&mut c);
    c.final_summary();
    let args: Vec<String> = std::env::args().collect();
    if !args.iter().any(|a| a == "--test" || a == "--list") {
        split();
    }
}
