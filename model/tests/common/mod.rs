//! Shared by the integration tests that include it with `mod common;`
//! (`adversarial.rs`, `webpki_differential.rs`): proptest configuration, the
//! committed bad-certificate corpus, and the certificate and CRL mutators
//! ([`mutations`]).
//!
//! Each test crate compiles its own copy of this module and uses only part of
//! it, hence `dead_code` is allowed here.
#![allow(dead_code)]

pub mod mutations;

use commoncert_model::x509::{CertificateAuthority, DAY, KeyStream, key_seed};
use mutations::CA_NAME;
use proptest::test_runner::{Config as ProptestConfig, FileFailurePersistence};
use std::path::{Path, PathBuf};

/// `PROPTEST_CASES` (and every other `PROPTEST_*` variable) honoured;
/// `default_cases` only when the variable is unset. Failures persist to
/// `regressions` (relative to `model/`).
pub fn config(regressions: &'static str, default_cases: u32) -> ProptestConfig {
    let mut c = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = default_cases;
    }
    c.failure_persistence = Some(Box::new(FileFailurePersistence::Direct(regressions)));
    c
}

// ---------------------------------------------------------------------------
// The bad-certificate corpus (`model/testdata/bad-certs/`)
// ---------------------------------------------------------------------------

/// Where the corpus lives.
pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/bad-certs")
}

/// The virtual time the corpus is checked at: ten days after 2025-01-01, inside
/// the honest window [0, 365 days].
pub const CORPUS_NOW: u64 = 10 * DAY;

/// The corpus's CA: `commoncert CA` with the Ed25519 key of (CORPUS_SEED, Ca, 0).
pub const CORPUS_SEED: u64 = 20_250_101;

pub fn corpus_ca() -> CertificateAuthority {
    CertificateAuthority::new(&key_seed(CORPUS_SEED, KeyStream::Ca, 0), CA_NAME)
        .expect("the corpus CA builds")
}

/// (name, bytes, reason code) of every `NAME.der` in the folder, sorted.
pub fn committed_corpus() -> Vec<(String, Vec<u8>, String)> {
    let dir = corpus_dir();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("model/testdata/bad-certs exists")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "der" || e == "reason"))
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .map(|name| {
            let der = std::fs::read(dir.join(format!("{name}.der")))
                .unwrap_or_else(|e| panic!("{name}.der: {e}"));
            let reason = std::fs::read_to_string(dir.join(format!("{name}.reason")))
                .unwrap_or_else(|e| panic!("{name}.reason: {e}"));
            (name, der, reason.trim().to_string())
        })
        .collect()
}
