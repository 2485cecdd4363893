//! Helpers shared by the integration tests.
#![allow(dead_code)]

use commoncert_sim::scenario::{self, Scenario};
use commoncert_sim::sim::{self, Options, Run};
use std::path::{Path, PathBuf};

pub fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

pub fn load(name: &str) -> Scenario {
    match scenario::load(&data(name)) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    }
}

pub fn run(sc: &Scenario, seed: u64) -> Run {
    run_with(sc, seed, false)
}

/// A swarm run: `seed`'s randomised fault profile over the file's network.
pub fn swarm_run(sc: &Scenario, seed: u64) -> Run {
    run_with(sc, seed, true)
}

fn run_with(sc: &Scenario, seed: u64, swarm: bool) -> Run {
    match sim::run(
        sc,
        Options {
            seed,
            swarm,
            ..Options::default()
        },
    ) {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    }
}

/// A scenario file by its path from the `sim` crate's folder (shipped
/// files are under `../scenarios`).
pub fn load_at(relative: &str) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    match scenario::load(&path) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    }
}

/// A fresh scratch folder under the target dir.
pub fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
    d
}

pub fn args(paths: &[&Path]) -> commoncert_sim::cli::SimArgs {
    commoncert_sim::cli::SimArgs {
        paths: paths.iter().map(|p| p.to_path_buf()).collect(),
        seed: None,
        seeds: None,
        report: None,
        export_pki: None,
        json: false,
        compare: false,
    }
}
