//! Model-checking throughput (issue 3, "Performance").
//!
//! `checker/push-2s-1u-5a`: exhaustive single-threaded BFS of one fixed
//! configuration (2 services, 1 user, push revocation, 5 actions) by
//! stateright's checker, reported as unique states per second
//! (`Throughput::Elements(unique states)`); `checker/explore-push-2s-1u-5a`:
//! the same configuration through `checker::check`, the project's own BFS
//! (`explore.rs`: first discovery kept, shortest counterexamples, limits),
//! which is what `commoncert check` runs.
//!
//! After the criterion group, a table of how the unique-state count grows with
//! services N (2, 3, 4) and users M (1, 2), each configuration checked once.
//! The three M = 2, N >= 3 rows take about a minute together, so they run only
//! with `CC_GROWTH=full`; `CC_GROWTH=off` skips the table.
//! The "symmetry" column runs `checker::check` with `symmetry: true` (its
//! breadth-first search with the user-permuting representative); where the
//! checker refuses a configuration it says so instead of a count.
//!
//! `cargo bench --bench checker`; results in `reports/performance.md`.

#[global_allocator]
static GLOBAL: commoncert_sim::alloc::Allocator = commoncert_sim::alloc::Allocator;

use commoncert_model::checker::{CheckConfig, check};
use commoncert_model::config::Revocation;
use criterion::{Criterion, Throughput};
use stateright::{Checker, Model};
use std::time::{Duration, Instant};

/// The benchmarked configuration: about 34k unique states, ~1.4 s on one core.
fn fixed() -> CheckConfig {
    CheckConfig {
        services: 2,
        users: 1,
        revocation: Revocation::Push,
        actions: 5,
        ..CheckConfig::default()
    }
}

struct Counts {
    unique: usize,
    total: usize,
    depth: usize,
    seconds: f64,
}

/// One exhaustive single-threaded BFS, as `commoncert check` runs it but
/// without its progress polling and counterexample labelling.
fn explore(cfg: &CheckConfig) -> Counts {
    let (model, _coverage) = cfg.into_model().expect("the configuration builds");
    let start = Instant::now();
    let checker = model.checker().threads(1).spawn_bfs().join();
    Counts {
        unique: checker.unique_state_count(),
        total: checker.state_count(),
        depth: checker.max_depth(),
        seconds: start.elapsed().as_secs_f64(),
    }
}

fn bench_fixed(c: &mut Criterion) {
    let cfg = fixed();
    let counts = explore(&cfg);
    eprintln!(
        "checker/push-2s-1u-5a: unique {} total {} depth {} ({:.2} s, {:.0} unique/s, {:.0} total/s)",
        counts.unique,
        counts.total,
        counts.depth,
        counts.seconds,
        counts.unique as f64 / counts.seconds,
        counts.total as f64 / counts.seconds,
    );
    let mut group = c.benchmark_group("checker");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(15))
        .throughput(Throughput::Elements(counts.unique as u64));
    group.bench_function("push-2s-1u-5a", |b| {
        b.iter(|| std::hint::black_box(explore(&cfg).unique))
    });
    group.bench_function("explore-push-2s-1u-5a", |b| {
        b.iter(|| {
            let r = check(&cfg, |_| {}).expect("the configuration builds");
            assert_eq!(r.unique_states, counts.unique, "the same state space");
            std::hint::black_box(r.unique_states)
        })
    });
    group.finish();
}

/// How the unique-state count grows with N and M (actions = 2 per user, push
/// revocation, no loss, unordered network), each configuration checked once.
fn growth() {
    let mode = std::env::var("CC_GROWTH").unwrap_or_default();
    if mode == "off" {
        return;
    }
    let full = mode == "full";
    eprintln!();
    eprintln!("growth (push, actions 2 per user, BFS, 1 thread)");
    eprintln!(
        "| services N | users M | unique states | total states | depth | seconds | unique/s | unique with symmetry |"
    );
    eprintln!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for users in [1, 2] {
        for services in [2, 3, 4] {
            if users == 2 && services > 2 && !full {
                eprintln!("| {services} | {users} | (CC_GROWTH=full) | | | | | |");
                continue;
            }
            let cfg = CheckConfig {
                services,
                users,
                revocation: Revocation::Push,
                actions: 2,
                ..CheckConfig::default()
            };
            let c = explore(&cfg);
            let sym = match check(
                &CheckConfig {
                    symmetry: true,
                    ..cfg.clone()
                },
                |_| {},
            ) {
                Ok(r) => r.unique_states.to_string(),
                Err(e) => format!("refused: {e}"),
            };
            eprintln!(
                "| {services} | {users} | {} | {} | {} | {:.2} | {:.0} | {sym} |",
                c.unique,
                c.total,
                c.depth,
                c.seconds,
                c.unique as f64 / c.seconds
            );
        }
    }
}

fn main() {
    // As `commoncert check` runs (`commoncert_sim::alloc`).
    commoncert_sim::alloc::huge_pages(false);
    let mut c = Criterion::default().configure_from_args();
    bench_fixed(&mut c);
    c.final_summary();
    // `cargo test --benches` / `cargo bench -- --list` pass `--test`/`--list`: skip the table.
    let args: Vec<String> = std::env::args().collect();
    if !args.iter().any(|a| a == "--test" || a == "--list") {
        growth();
    }
}
