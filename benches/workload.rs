//! Workloads at scale through the simulator (issue 13), with the cost split
//! between cryptography, the model and the simulator itself.
//!
//! - `workload/<users>`: criterion timings of one seeded workload run
//!   (`commoncert_sim::sim::run`: the system built, every operation through
//!   the same network, clock, invariants and trace as any scenario), as
//!   operations per second, at 1,000 and 100,000 users.
//! - then, unless `CC_SCALE=off`, the scale target: 1,000,000 users × 8
//!   services × 1,000,000 operations with latency 1-20 ms and 1% loss, run
//!   once (it takes a minute), printing wall time, peak memory (VmHWM) and
//!   the split of the event loop's time: cryptography and X.509 (the
//!   arena's tally), the model's handlers and invariants, and the
//!   simulator's own share (agenda, network, trace hashing, metrics), with
//!   the simulator's share as a fraction of the cryptography's.
//!
//! `cargo bench --bench workload`; results in `reports/performance.md`.
//! `CC_SCALE_USERS=N` changes the scale run's population.

#[global_allocator]
static GLOBAL: commoncert_sim::alloc::Allocator = commoncert_sim::alloc::Allocator;

use commoncert_sim::scenario::{self, Scenario};
use commoncert_sim::sim::{self, Options, Run};
use criterion::{Criterion, Throughput};
use std::path::Path;
use std::time::{Duration, Instant};

fn workload(users: usize, ops: u64, rate: f64) -> Scenario {
    let duration_ms = (ops as f64 / rate * 1000.0).ceil() as u64 + 1;
    let text = format!(
        r#"
name = "bench {users} users"
seed = 1
[config]
revocation = "push"
[config.network]
latency_ms = [1, 20]
loss = 0.01
[workload]
users = {users}
services = 8
rate = {rate}
duration_ms = {duration_ms}
ops = {ops}
[expect]
under_faults = ["one-certificate-per-user", "revoked-never-accepted"]
"#
    );
    scenario::parse(Path::new("bench.toml"), &text).expect("the bench workload parses")
}

fn run(sc: &Scenario) -> Run {
    let r = sim::run(
        sc,
        Options {
            seed: sc.seed,
            ..Options::default()
        },
    )
    .expect("the workload builds");
    assert!(r.pass, "{}: {:?}", sc.name, r.failures);
    r
}

fn bench_workload(c: &mut Criterion) {
    let mut group = c.benchmark_group("workload");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    for (users, ops) in [(1_000, 20_000), (100_000, 100_000)] {
        let sc = workload(users, ops, 2_000.0);
        group.throughput(Throughput::Elements(ops));
        group.bench_function(format!("{users}"), |b| b.iter(|| run(&sc)));
    }
    group.finish();
}

/// Peak resident set (VmHWM), in MiB.
fn peak_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn scale() {
    let users = std::env::var("CC_SCALE_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let sc = workload(users, 1_000_000, 10_000.0);
    let started = Instant::now();
    let r = run(&sc);
    let wall = started.elapsed();
    let t = r.timing;
    let m = r.metrics.as_ref().expect("a workload has figures");
    let secs = |d: Duration| d.as_secs_f64();
    println!(
        "\nscale: {users} users x 8 services x {} operations ({} events), latency 1-20 ms, loss 1%",
        m.ops.started, r.events
    );
    println!(
        "  wall {:.1} s (setup {:.1} s, events {:.1} s), peak {:.0} MiB, trace {}",
        secs(wall),
        secs(t.setup),
        secs(t.events),
        peak_mib(),
        r.trace_hash
    );
    let model = t.model.saturating_sub(t.crypto);
    println!(
        "  event loop: cryptography {:.1} s, model {:.1} s, simulator {:.1} s; simulator / cryptography = {:.0}%",
        secs(t.crypto),
        secs(model),
        secs(t.simulator()),
        100.0 * secs(t.simulator()) / secs(t.crypto).max(f64::MIN_POSITIVE)
    );
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench_workload(&mut c);
    c.final_summary();
    if std::env::var("CC_SCALE").as_deref() != Ok("off") {
        scale();
    }
}
