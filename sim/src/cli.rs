//! `commoncert sim`: the command-line face of the simulator.
//!
//! `commoncert sim <FILE|DIR>... [--seed N] [--seeds A..B] [--report DIR]
//! [--export-pki DIR] [--json]`. Every file is parsed and checked before
//! anything runs; exit 0 when every run passes, 1 when one fails, 2 when
//! input is refused (a bad file, a bad flag value, an unwritable output).
//!
//! `commoncert sim FILES... --seeds A..B --shard I/N [--out DIR]` (or
//! `--shards N` with the index from Slurm or Kubernetes) runs one shard of
//! the swarm and writes `DIR/shard-I.jsonl` for `commoncert merge`
//! ([`crate::shard`], [`crate::merge`]).
//!
//! `commoncert sim --compare A.toml B.toml [C.toml...] [--seed N] [--report
//! DIR]` runs two or more workload scenarios (each with its own seed, or
//! N), prints their figures side by side, and with `--report` also writes
//! `DIR/compare.html` and `DIR/compare.md` with their charts overlaid. A
//! file without `[workload]` has no figures to compare and is refused.

use crate::report;
use crate::scenario::{self, Refused, Scenario};
use crate::shard::{self, Header, RunRecord, Shard, ShardArgs};
use crate::sim::{self, Options, Run};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

/// Arguments of `commoncert sim`.
#[derive(Debug, Clone, clap::Args)]
pub struct SimArgs {
    /// Scenario files, or folders searched recursively for `*.toml`.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Replay with this seed instead of each file's own.
    #[arg(long, conflicts_with = "seeds")]
    pub seed: Option<u64>,
    /// Swarm testing over seeds A (included) to B (excluded), each with its
    /// own randomised fault profile layered on the file's network.
    #[arg(long, value_name = "A..B")]
    pub seeds: Option<String>,
    /// Write trace.json, report.md and report.html per scenario (and a
    /// workload's charts), plus index.html, junit.xml and coverage.json,
    /// into this folder; with --compare also compare.html and compare.md.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// Write the run's CA certificate, user certificates and CRL as PEM.
    #[arg(long, value_name = "DIR")]
    pub export_pki: Option<PathBuf>,
    /// Print one JSON document instead of the PASS/FAIL lines.
    #[arg(long)]
    pub json: bool,
    /// Compare two or more workload scenarios: their figures side by side,
    /// and with --report DIR also DIR/compare.html with overlaid charts.
    #[arg(long, conflicts_with = "seeds")]
    pub compare: bool,
}

/// `commoncert sim` with its sharding flags. [`SimArgs`] stays as it was,
/// so that code building it (the tests' helpers) need not change.
#[derive(Debug, Clone, clap::Args)]
pub struct SimCommand {
    #[command(flatten)]
    pub sim: SimArgs,
    #[command(flatten)]
    pub shard: ShardArgs,
}

/// Print to stdout, ignoring a closed pipe (`| head`) instead of panicking.
macro_rules! out {
    ($($t:tt)*) => {{
        let _ = write!(std::io::stdout().lock(), $($t)*);
    }};
}
macro_rules! outln {
    ($($t:tt)*) => {{
        let _ = writeln!(std::io::stdout().lock(), $($t)*);
    }};
}

/// Exit codes.
pub const EXIT_PASS: i32 = 0;
pub const EXIT_FAIL: i32 = 1;
pub const EXIT_REFUSED: i32 = 2;

/// Run the command; the process exit code (0 pass, 1 a scenario failed, 2 input refused).
pub fn run(args: &SimArgs) -> i32 {
    run_sharded(args, &ShardArgs::default(), &|_| None)
}

/// Run `commoncert sim` with its sharding flags, the shard index looked up
/// in the process's environment when `--shards` asks for it.
pub fn run_command(cmd: &SimCommand) -> i32 {
    run_sharded(&cmd.sim, &cmd.shard, &|k| std::env::var(k).ok())
}

/// Run the command with sharding; `env` looks up an environment variable
/// (passed in so that tests can give Slurm's or Kubernetes's).
pub fn run_sharded(
    args: &SimArgs,
    shard_args: &ShardArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> i32 {
    match execute(args, shard_args, env) {
        Ok(true) => EXIT_PASS,
        Ok(false) => EXIT_FAIL,
        Err(errors) => {
            for e in errors {
                eprintln!("{e}");
            }
            EXIT_REFUSED
        }
    }
}

/// Replay every scenario under `dir` with its own seed, printing one
/// PASS/FAIL line per scenario (the default `cargo run --release` job).
/// `Ok(true)` when all passed; an error when a file is refused or there is
/// no scenario to run.
pub fn replay_all(dir: &Path) -> anyhow::Result<bool> {
    let scenarios = load_all(&[dir.to_path_buf()]).map_err(|errors| {
        anyhow::anyhow!(
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        )
    })?;
    let started = std::time::Instant::now();
    let mut all = true;
    let mut failed = 0usize;
    let mut concrete_differences = 0usize;
    for sc in &scenarios {
        let opts = Options {
            seed: sc.seed,
            ..Options::default()
        };
        // Each file is replayed with the X.509 memo and concretely; a
        // difference is a failure of the memo, not of the scenario.
        let run = match crate::concretise::concretise(sc, opts) {
            Ok(run) => run,
            Err(difference) => {
                outln!("FAIL {} (concretisation): {difference}", sc.name);
                concrete_differences += 1;
                all = false;
                sim::run(sc, opts).map_err(|e| anyhow::anyhow!("{}: {e}", sc.file.display()))?
            }
        };
        out!("{}", run_lines(&run));
        all &= run.pass;
        failed += usize::from(!run.pass);
    }
    outln!(
        "sim: {} passed, {failed} failed ({} scenarios, each also replayed concretely: {} differ; {:.2} s)",
        scenarios.len() - failed,
        scenarios.len(),
        concrete_differences,
        started.elapsed().as_secs_f64()
    );
    Ok(all)
}

/// Parse `A..B` (A included, B excluded, A < B).
pub fn parse_seed_range(s: &str) -> Result<std::ops::Range<u64>, String> {
    let err = || {
        format!(
            "--seeds {s:?}: expected A..B with integers A < B (A included, B excluded), e.g. 0..100"
        )
    };
    let (a, b) = s.split_once("..").ok_or_else(err)?;
    let a: u64 = a.trim().parse().map_err(|_| err())?;
    let b: u64 = b.trim().parse().map_err(|_| err())?;
    if a >= b {
        return Err(err());
    }
    Ok(a..b)
}

/// Every `*.toml` under `paths` (folders walked recursively), sorted by path
/// within each folder, parsed and checked; names must be unique.
pub fn load_all(paths: &[PathBuf]) -> Result<Vec<Scenario>, Vec<String>> {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        if p.is_dir() {
            let before = files.len();
            if let Err(e) = walk(p, &mut files) {
                errors.push(format!("{}: cannot read the folder: {e}", p.display()));
            } else if files.len() == before {
                errors.push(format!("{}: no scenario files (*.toml) here", p.display()));
            }
        } else if p.is_file() {
            files.push(p.clone());
        } else {
            errors.push(format!("{}: no such file or folder", p.display()));
        }
    }
    let mut scenarios: Vec<Scenario> = Vec::new();
    for f in files {
        match scenario::load(&f) {
            Ok(sc) => {
                if let Some(other) = scenarios.iter().find(|o| o.name == sc.name) {
                    errors.push(
                        Refused {
                            file: sc.file.clone(),
                            line: sc.name_line,
                            column: 1,
                            message: format!(
                                "duplicate scenario name `{}` (also in {}): names must be unique",
                                sc.name,
                                other.file.display()
                            ),
                        }
                        .to_string(),
                    );
                } else {
                    scenarios.push(sc);
                }
            }
            Err(e) => errors.push(e.to_string()),
        }
    }
    if errors.is_empty() {
        Ok(scenarios)
    } else {
        Err(errors)
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out)?;
        } else if p.extension().is_some_and(|e| e == "toml") {
            out.push(p);
        }
    }
    Ok(())
}

/// The PASS/FAIL line of a run, for a failure what differed and how to
/// replay it, and a workload's figures.
pub fn run_lines(run: &Run) -> String {
    let mut s = verdict_lines(run);
    if let Some(m) = &run.metrics {
        s.push_str(&metrics_lines(m));
    }
    s
}

/// The PASS/FAIL line of a run, and for a failure what differed and how to replay it.
pub fn verdict_lines(run: &Run) -> String {
    let mut s = format!(
        "{} {} seed={} events={} trace={}\n",
        if run.pass { "PASS" } else { "FAIL" },
        run.name,
        run.seed,
        run.events,
        run.trace_hash
    );
    if !run.pass {
        if let Some(p) = &run.profile {
            s.push_str(&format!("  faults: {p}\n"));
        }
        for f in &run.failures {
            s.push_str(&format!("  {}\n", f.message));
        }
        s.push_str(&format!("  replay: {}\n", run.replay_command()));
    }
    s
}

/// The key figures of workload runs side by side, one row per figure and
/// a column per run (virtual time), for `--compare`.
pub fn compare_lines(runs: &[Run]) -> String {
    let columns: Vec<(&str, Vec<(&str, String)>)> = runs
        .iter()
        .filter_map(|r| {
            r.metrics
                .as_ref()
                .map(|m| (r.name.as_str(), report::key_figures(m)))
        })
        .collect();
    let Some((_, first)) = columns.first() else {
        return String::new();
    };
    let label_w = first
        .iter()
        .map(|(f, _)| f.chars().count())
        .max()
        .unwrap_or(0);
    let widths: Vec<usize> = columns
        .iter()
        .map(|(name, figures)| {
            figures
                .iter()
                .map(|(_, v)| v.chars().count())
                .chain([name.chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut lines = Vec::new();
    let mut head = format!("{:<label_w$}", "");
    for ((name, _), w) in columns.iter().zip(&widths) {
        head.push_str(&format!("  {name:<w$}"));
    }
    lines.push(head);
    for (i, (figure, _)) in first.iter().enumerate() {
        let mut line = format!("{figure:<label_w$}");
        for ((_, figures), w) in columns.iter().zip(&widths) {
            let value = figures.get(i).map_or("-", |(_, v)| v.as_str());
            line.push_str(&format!("  {value:<w$}"));
        }
        lines.push(line);
    }
    lines
        .iter()
        .map(|l| format!("{}\n", l.trim_end()))
        .collect()
}

/// `--compare` needs two or more scenarios, each with a `[workload]`: the
/// refusals, naming the files.
pub fn check_comparable(scenarios: &[Scenario]) -> Result<(), Vec<String>> {
    let mut errors: Vec<String> = scenarios
        .iter()
        .filter(|sc| sc.workload.is_none())
        .map(|sc| {
            format!(
                "{}: no [workload] table: --compare compares the figures of workload runs (see scenarios/README.md, \"Studies and comparisons\")",
                sc.file.display()
            )
        })
        .collect();
    if scenarios.len() < 2 {
        errors.push(format!(
            "--compare needs at least two workload scenario files, got {}",
            scenarios.len()
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// A workload's figures in a few lines (virtual time).
pub fn metrics_lines(m: &crate::metrics::Summary) -> String {
    let mut s = format!(
        "  ops: {} started, {} ended, {} skipped (busy), {} skipped (down) over {} ms\n",
        m.ops.started, m.ops.ended, m.ops.busy, m.ops.down, m.duration_ms
    );
    for p in &m.latency {
        s.push_str(&format!(
            "  latency {:<10} n={:<8} p50={} p90={} p99={} max={} ms\n",
            p.what, p.count, p.p50, p.p90, p.p99, p.max
        ));
    }
    let st = &m.staleness;
    s.push_str(&format!(
        "  staleness: {} invalidated, {} accepted after deletion ({} grants); p50={} p99={} max={} ms\n",
        st.invalidated,
        st.accepted_after,
        st.grants_after,
        st.percentiles.p50,
        st.percentiles.p99,
        st.percentiles.max
    ));
    s.push_str(&format!(
        "  exposure: {} notifications, {} lost; p50={} p99={} max={} ms (lost ones open to the run's end)\n",
        st.notifications,
        st.notifications_lost,
        st.exposure.p50,
        st.exposure.p99,
        st.exposure.max
    ));
    s.push_str(&format!(
        "  CA load: {} messages, {:.1}/s mean, {}/s peak\n",
        m.ca_load.messages, m.ca_load.mean_per_s, m.ca_load.peak_per_s
    ));
    s
}

fn execute(
    args: &SimArgs,
    shard_args: &ShardArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<bool, Vec<String>> {
    let seeds = match &args.seeds {
        Some(s) => Some(parse_seed_range(s).map_err(|e| vec![e])?),
        None => None,
    };
    let sharded = shard::resolve(shard_args, env).map_err(|e| vec![e])?;
    if sharded.is_some() && seeds.is_none() {
        let flag = if shard_args.shard.is_some() {
            "--shard"
        } else {
            "--shards"
        };
        return Err(vec![format!(
            "{flag} needs --seeds A..B: shards split a swarm's (scenario, seed) pairs"
        )]);
    }
    if args.compare && shard_args.out.is_some() {
        return Err(vec!["--out does not apply to --compare".to_string()]);
    }
    let this_shard = sharded.unwrap_or(Shard::ALL);
    let scenarios = load_all(&args.paths)?;
    if args.compare {
        check_comparable(&scenarios)?;
    }
    let swarm = seeds.is_some();
    let per_scenario = seeds.as_ref().map_or(1, |r| r.end - r.start);
    // Positions run scenarios in load order x seeds ascending; this shard
    // takes every N-th (see `shard`).
    let positions = (scenarios.len() as u64)
        .checked_mul(per_scenario)
        .ok_or_else(|| {
            vec![format!(
                "--seeds: too many (scenario, seed) pairs to number"
            )]
        })?;
    let total =
        positions / this_shard.count + u64::from(this_shard.index < positions % this_shard.count);
    let bar = if swarm && !args.json && std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(total);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} runs {msg} ({eta})")
        {
            bar.set_style(style);
        }
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let started = std::time::Instant::now();
    let mut runs: Vec<Run> = Vec::new();
    let mut records: Vec<RunRecord> = Vec::new();
    let mut errors = Vec::new();
    for (index, sc) in scenarios.iter().enumerate() {
        let seed_list: Vec<u64> = match &seeds {
            Some(r) => r
                .clone()
                .filter(|s| this_shard.takes(index as u64 * per_scenario + (s - r.start)))
                .collect(),
            None => vec![args.seed.unwrap_or(sc.seed)],
        };
        let mut scenario_runs = Vec::new();
        for seed in seed_list {
            bar.set_message(sc.name.clone());
            let run_started = std::time::Instant::now();
            match sim::run(
                sc,
                Options {
                    seed,
                    swarm,
                    // A workload's own bar (virtual time) when one run is
                    // long; a swarm has its bar over runs instead.
                    progress: !swarm && !args.json && std::io::stderr().is_terminal(),
                    ..Options::default()
                },
            ) {
                Ok(r) => {
                    if shard_args.out.is_some() {
                        let ms =
                            u64::try_from(run_started.elapsed().as_millis()).unwrap_or(u64::MAX);
                        records.push(RunRecord::of(&r, ms));
                    }
                    scenario_runs.push(r);
                }
                Err(e) => errors.push(format!("{}:1:1: {e}", sc.file.display())),
            }
            bar.inc(1);
        }
        if args.compare && !args.json {
            for r in &scenario_runs {
                out!("{}", verdict_lines(r));
            }
        } else if !args.json {
            bar.suspend(|| print_scenario(&scenario_runs, seeds.as_ref()));
        }
        runs.extend(scenario_runs);
    }
    bar.finish_and_clear();
    if !errors.is_empty() {
        return Err(errors);
    }
    if swarm && !args.json {
        let failing: Vec<&Run> = runs.iter().filter(|r| !r.pass).collect();
        if !failing.is_empty() {
            outln!("failing seeds ({}):", failing.len());
            for r in failing {
                outln!("  {} seed={}: {}", r.name, r.seed, r.replay_command());
            }
        }
    }
    if args.compare && !args.json {
        out!("{}", compare_lines(&runs));
    }
    if args.json {
        let doc = serde_json::json!({
            "pass": runs.iter().all(|r| r.pass),
            "runs": runs,
        });
        match serde_json::to_string_pretty(&doc) {
            Ok(s) => outln!("{s}"),
            Err(e) => return Err(vec![format!("cannot write JSON: {e}")]),
        }
    }
    let mut out_errors = Vec::new();
    if let Some(dir) = &shard_args.out {
        let header = Header {
            shard: this_shard.index,
            shards: this_shard.count,
            seeds: seeds.as_ref().map(|r| format!("{}..{}", r.start, r.end)),
            scenarios: scenarios
                .iter()
                .map(|sc| sc.file.display().to_string())
                .collect(),
            runs: records.len(),
        };
        if let Err(e) = shard::write_shard(dir, &header, &records) {
            out_errors.push(format!(
                "{}: cannot write the shard file: {e}",
                dir.join(this_shard.file_name()).display()
            ));
        }
    }
    if let Some(dir) = &args.report
        && let Err(e) = if args.compare {
            report::write_compare(dir, &runs)
        } else {
            report::write_all(dir, &runs)
        }
    {
        out_errors.push(format!("{}: cannot write the report: {e}", dir.display()));
    }
    if let Some(dir) = &args.export_pki {
        for r in &runs {
            let Some(pki) = &r.pki else { continue };
            let target = if runs.len() == 1 {
                dir.clone()
            } else if swarm {
                dir.join(format!("{}-seed{}", report::file_stem(&r.name), r.seed))
            } else {
                dir.join(report::file_stem(&r.name))
            };
            if let Err(e) =
                commoncert_model::x509::export_pem(&target, &pki.root, &pki.users, &pki.crls)
            {
                out_errors.push(format!("{}: cannot export the PKI: {e}", target.display()));
            }
        }
    }
    if !out_errors.is_empty() {
        return Err(out_errors);
    }
    if !args.json {
        // One closing line: verdict, counts, time.
        let failed = runs.iter().filter(|r| !r.pass).count();
        let tolerated = runs.iter().filter(|r| !r.tolerated.is_empty()).count();
        outln!(
            "sim: {} passed, {failed} failed ({} scenarios, {} runs, {tolerated} with tolerated fault effects{}, {:.2} s)",
            runs.len() - failed,
            scenarios.len(),
            runs.len(),
            sharded.map_or(String::new(), |s| format!(", shard {s}")),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(runs.iter().all(|r| r.pass))
}

fn print_scenario(runs: &[Run], seeds: Option<&std::ops::Range<u64>>) {
    match seeds {
        None => {
            for r in runs {
                out!("{}", run_lines(r));
            }
        }
        Some(range) => {
            let Some(first) = runs.first() else { return };
            let failed: Vec<&Run> = runs.iter().filter(|r| !r.pass).collect();
            let tolerated = runs.iter().filter(|r| !r.tolerated.is_empty()).count();
            for r in &failed {
                out!("{}", run_lines(r));
            }
            outln!(
                "{} {} seeds={}..{} runs={} failed={} tolerated={}",
                if failed.is_empty() { "PASS" } else { "FAIL" },
                first.name,
                range.start,
                range.end,
                runs.len(),
                failed.len(),
                tolerated
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_ranges_are_validated() {
        assert_eq!(parse_seed_range("0..10"), Ok(0..10));
        assert!(parse_seed_range("5..5").is_err());
        assert!(parse_seed_range("7..2").is_err());
        assert!(parse_seed_range("x..2").is_err());
        assert!(parse_seed_range("3").is_err());
    }
}
