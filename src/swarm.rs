//! `commoncert check --swarm`: flags and output of swarm checking
//! (`commoncert_model::swarm`); no search logic lives here.

use crate::cli::{progress_bar, report_json, report_text, show_progress, write_counterexamples};
use commoncert_model::checker::{CheckConfig, Verdict};
use commoncert_model::swarm::{Seeds, SwarmOptions, SwarmReport, swarm};
use commoncert_sim::shard::{CounterexampleRecord, Header, RunRecord, ShardArgs, write_shard};
use std::path::PathBuf;
use std::time::Duration;

/// Per-member state budget when `--max-states` is not given.
pub const DEFAULT_MEMBER_STATES: usize = 50_000;
/// Depth bounds when `--swarm-depth` is not given.
pub const DEFAULT_DEPTHS: (usize, usize) = (8, 64);
/// The budget when neither `--budget` nor `--swarm-seeds` bounds the swarm.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, clap::Args)]
pub struct SwarmArgs {
    /// Swarm checking, for configurations beyond exhaustive reach: many
    /// bounded, randomised depth-first searches (members), each with its
    /// own seed, search order and depth bound. It finds violations and never
    /// proves their absence: its verdicts are `VIOLATED` or `unknown`.
    #[arg(long)]
    pub swarm: bool,
    /// With --swarm: start no member after this much wall time (90s, 10m,
    /// 2h); default 1m when --swarm-seeds does not bound the swarm.
    #[arg(long, value_name = "DURATION", requires = "swarm", value_parser = parse_budget)]
    pub budget: Option<Duration>,
    /// With --swarm: the members' seeds, A..B (B excluded) or A.. (until
    /// the budget runs out); default 0..
    #[arg(long, value_name = "A..B", requires = "swarm", value_parser = parse_seeds)]
    pub swarm_seeds: Option<Seeds>,
    /// With --swarm: each member's depth bound is drawn from LO..HI
    /// (inclusive); default 8..64. --max-states is each member's state budget
    /// (default 50000).
    #[arg(long, value_name = "LO..HI", requires = "swarm", value_parser = parse_depths)]
    pub swarm_depth: Option<(usize, usize)>,
    /// With --swarm: run only shard I of N (0-based): the members whose seed
    /// is I modulo N, counted from the first seed.
    #[arg(
        long,
        value_name = "I/N",
        requires = "swarm",
        conflicts_with = "shards"
    )]
    pub shard: Option<String>,
    /// With --swarm: run one of N shards, its index taken from
    /// SLURM_ARRAY_TASK_ID (less SLURM_ARRAY_TASK_MIN) or
    /// JOB_COMPLETION_INDEX.
    #[arg(long, value_name = "N", requires = "swarm")]
    pub shards: Option<String>,
    /// With --swarm: write each member as a run to DIR/shard-I.jsonl, for
    /// `commoncert merge` (with its counterexamples' scenario files).
    #[arg(long, value_name = "DIR", requires = "swarm")]
    pub out: Option<PathBuf>,
}

fn parse_budget(text: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text)
        .map_err(|e| format!("{text:?}: {e} (a duration such as 90s, 10m or 2h)"))?;
    if d.is_zero() {
        return Err(format!("{text:?}: the budget must be more than zero"));
    }
    Ok(d)
}

fn parse_seeds(text: &str) -> Result<Seeds, String> {
    let err = || format!("{text:?}: expected A..B (A < B, B excluded) or A.., e.g. 0..1000");
    let (a, b) = text.split_once("..").ok_or_else(err)?;
    let start: u64 = a.trim().parse().map_err(|_| err())?;
    let end = match b.trim() {
        "" => None,
        b => Some(b.parse::<u64>().map_err(|_| err())?),
    };
    if end.is_some_and(|e| e <= start) {
        return Err(err());
    }
    Ok(Seeds { start, end })
}

fn parse_depths(text: &str) -> Result<(usize, usize), String> {
    let err = || format!("{text:?}: expected LO..HI with 1 <= LO <= HI, e.g. 8..64");
    let (a, b) = text.split_once("..").ok_or_else(err)?;
    let lo: usize = a.trim().parse().map_err(|_| err())?;
    let hi: usize = b.trim().parse().map_err(|_| err())?;
    if lo == 0 || lo > hi {
        return Err(err());
    }
    Ok((lo, hi))
}

/// The options of a swarm, or why the flags are refused.
fn options(
    config: &CheckConfig,
    args: &SwarmArgs,
    expect_violated: &[String],
) -> Result<SwarmOptions, String> {
    if config.depth.is_some() {
        return Err(
            "--depth does not apply to --swarm: give each member's range with --swarm-depth LO..HI"
                .into(),
        );
    }
    if config.max_memory.is_some() {
        return Err("--max-memory does not apply to --swarm: a member keeps only its path and fingerprints; bound it with --max-states".into());
    }
    if config.liveness {
        return Err("--liveness needs the whole state graph; a swarm sees parts of it".into());
    }
    let shard_args = ShardArgs {
        shard: args.shard.clone(),
        shards: args.shards.clone(),
        out: None,
    };
    let shard = commoncert_sim::shard::resolve(&shard_args, &|k| std::env::var(k).ok())?
        .map_or((0, 1), |s| (s.index, s.count));
    let seeds = args.swarm_seeds.unwrap_or(Seeds {
        start: 0,
        end: None,
    });
    let budget = match (args.budget, seeds.end) {
        (Some(b), _) => Some(b),
        (None, None) => Some(DEFAULT_BUDGET),
        (None, Some(_)) => None,
    };
    Ok(SwarmOptions {
        seeds,
        shard,
        budget,
        depths: args.swarm_depth.unwrap_or(DEFAULT_DEPTHS),
        max_states: config.max_states.unwrap_or(DEFAULT_MEMBER_STATES),
        threads: config.threads,
        expected: expect_violated.to_vec(),
    })
}

/// The configuration's `check` flags, with `--symmetry` (a search option
/// that `CheckConfig::flags` leaves out, but that changes the members).
fn config_flags(config: &CheckConfig) -> String {
    format!(
        "{}{}",
        config.flags(),
        if config.symmetry { " --symmetry" } else { "" }
    )
}

/// The `check` command that re-runs member `seed` alone.
fn member_replay(config: &CheckConfig, options: &SwarmOptions, seed: u64) -> String {
    format!(
        "commoncert check {} {} --swarm-seeds {seed}..{}",
        config_flags(config),
        options.flags(),
        seed.saturating_add(1)
    )
}

/// Of the members that found `property` violated: how many, and the one
/// with the shortest path (the lowest seed among equals), as (seed, its
/// path's length as found).
fn finders(s: &SwarmReport, property: &str) -> (usize, Option<(u64, usize)>) {
    let found: Vec<(usize, u64, usize)> = s
        .members
        .iter()
        .filter_map(|m| {
            m.violated()
                .find(|f| f.property == property)
                .map(|f| (f.steps, m.plan.seed, f.found_steps))
        })
        .collect();
    let best = found.iter().min().map(|&(_, seed, steps)| (seed, steps));
    (found.len(), best)
}

/// Write every violated property's counterexample as a scenario file that
/// says it is the swarm's shortest found and names the member.
fn emit_swarm_scenarios(
    config: &CheckConfig,
    options: &SwarmOptions,
    s: &SwarmReport,
    dir: &std::path::Path,
) -> Result<Vec<PathBuf>, String> {
    write_counterexamples(&s.report, dir, |name, p| {
        let (seed, _) = finders(s, &p.name).1?;
        Some(commoncert_sim::emit::swarm_counterexample_scenario(
            config,
            &s.report.dir,
            name,
            p,
            &member_replay(config, options, seed),
        ))
    })
}

/// Run `check --swarm`. Exit 0 when no violation beyond `expect_violated`
/// was found (which proves nothing), 1 when one was, 2 for refused flags or
/// unwritable output.
pub fn run(
    config: &CheckConfig,
    args: &SwarmArgs,
    json: bool,
    expect_violated: &[String],
    emit: Option<&std::path::Path>,
) -> i32 {
    let options = match options(config, args, expect_violated) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    // Refuse a name this configuration does not check before the budget
    // is spent, not after.
    match config.into_model() {
        Ok((model, _)) => {
            let checked: Vec<&str> = stateright::Model::properties(&model)
                .iter()
                .map(|p| p.name)
                .collect();
            if let Some(missing) = expect_violated
                .iter()
                .find(|n| !checked.contains(&n.as_str()))
            {
                eprintln!(
                    "error: --expect-violated {missing}: this configuration does not check it (it checks: {})",
                    checked.join(", ")
                );
                return 2;
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    }
    let bar = progress_bar(!json);
    let result = swarm(config, &options, |p| {
        let line = format!(
            "swarm: {} members, {} states, {} violations found, {:.0} s",
            p.members,
            p.states,
            p.violations,
            p.elapsed.as_secs_f64()
        );
        show_progress(&bar, line);
    });
    bar.finish_and_clear();
    let s = match result {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let unexpected: Vec<&str> = s
        .report
        .violated()
        .into_iter()
        .filter(|v| {
            s.report
                .properties
                .iter()
                .any(|p| p.name == *v && p.kind == "always")
                && !expect_violated.iter().any(|e| e == v)
        })
        .collect();
    if json {
        let mut doc = report_json(&s.report, expect_violated);
        doc["swarm"] = serde_json::json!({
            "members": s.members,
            "budget_ran_out": s.budget_ran_out,
            "seeds": options.seeds.to_string(),
            "shard": [options.shard.0, options.shard.1],
        });
        println!("{doc}");
    } else {
        print!("{}", report_text(&s.report, expect_violated));
        print!("{}", members_text(config, &options, &s));
    }
    if let Some(dir) = emit {
        match emit_swarm_scenarios(config, &options, &s, dir) {
            Ok(files) => {
                for f in files {
                    eprintln!("wrote {}", f.display());
                }
            }
            Err(e) => {
                eprintln!("error: {}: {e}", dir.display());
                return 2;
            }
        }
    }
    if let Some(dir) = &args.out {
        match write_records(config, &options, &s, expect_violated, dir) {
            Ok(file) => eprintln!("wrote {}", file.display()),
            Err(e) => {
                eprintln!("error: {}: {e}", dir.display());
                return 2;
            }
        }
    }
    eprintln!(
        "summary: {}; {} members, {} states in all, {:.1} s{}",
        if unexpected.is_empty() {
            let expected: Vec<&str> = s
                .report
                .violated()
                .into_iter()
                .filter(|v| expect_violated.iter().any(|e| e == v))
                .collect();
            format!(
                "{}no unexpected violation found (a swarm never proves there is none)",
                if expected.is_empty() {
                    String::new()
                } else {
                    format!("violated as expected: {}; ", expected.join(", "))
                }
            )
        } else {
            format!("violated: {}", unexpected.join(", "))
        },
        s.members.len(),
        s.report.unique_states,
        s.report.seconds,
        if s.budget_ran_out {
            "; the budget ran out"
        } else {
            ""
        }
    );
    i32::from(!unexpected.is_empty())
}

/// The members in a few lines: how much ground they covered and who found
/// what first.
fn members_text(config: &CheckConfig, options: &SwarmOptions, s: &SwarmReport) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let mut states: Vec<usize> = s.members.iter().map(|m| m.unique_states).collect();
    states.sort_unstable();
    let median = states.get(states.len() / 2).copied().unwrap_or(0);
    let _ = writeln!(
        out,
        "\nswarm: {} members (seeds {}{}), median {median} states each, {} stopped by their state budget{}",
        s.members.len(),
        options.seeds,
        if options.shard.1 > 1 {
            format!(", shard {}/{}", options.shard.0, options.shard.1)
        } else {
            String::new()
        },
        s.members
            .iter()
            .filter(|m| m.ended == commoncert_model::swarm::MemberEnded::StateBudget)
            .count(),
        if s.budget_ran_out {
            "; the budget ran out"
        } else {
            ""
        }
    );
    for p in s
        .report
        .properties
        .iter()
        .filter(|p| p.kind == "always" && p.verdict == Verdict::Violated)
    {
        let (count, best) = finders(s, &p.name);
        if let Some((seed, found_steps)) = best {
            let _ = writeln!(
                out,
                "  {}: found by {count} members; shortest {} steps (from member {seed}'s {found_steps}: shrunk, then reordered)\n    replay: {}",
                p.name,
                p.counterexample.len(),
                member_replay(config, options, seed)
            );
        }
    }
    out
}

/// Write the members as runs of a shard file, for `commoncert merge`.
fn write_records(
    config: &CheckConfig,
    options: &SwarmOptions,
    s: &SwarmReport,
    expect_violated: &[String],
    dir: &std::path::Path,
) -> std::io::Result<PathBuf> {
    // The runs' key in a merge: the configuration and the members' plan
    // flags, so that swarms that differ in either never pass for re-runs
    // of each other.
    let scenario = format!("swarm {} {}", config_flags(config), options.flags());
    let runs: Vec<RunRecord> = s
        .members
        .iter()
        .map(|m| {
            let replay = member_replay(config, options, m.plan.seed);
            let unexpected: Vec<_> = m
                .violated()
                .filter(|f| !expect_violated.contains(&f.property))
                .collect();
            RunRecord {
                scenario: scenario.clone(),
                file: String::new(),
                seed: m.plan.seed,
                pass: unexpected.is_empty(),
                trace_hash: m.digest.clone(),
                coverage: m
                    .coverage
                    .iter()
                    .map(|(step, n)| (step.label().to_string(), *n as usize))
                    .collect(),
                duration_ms: (m.seconds * 1000.0) as u64,
                failures: unexpected
                    .iter()
                    .map(|f| format!("{} violated", f.property))
                    .collect(),
                counterexamples: unexpected
                    .iter()
                    .map(|f| CounterexampleRecord {
                        property: f.property.clone(),
                        steps: f.steps,
                        scenario: commoncert_sim::emit::swarm_counterexample_scenario(
                            config,
                            &s.report.dir,
                            &format!("swarm-{}-seed-{}", f.property, m.plan.seed),
                            &s.explained(f),
                            &replay,
                        ),
                    })
                    .collect(),
                replay,
            }
        })
        .collect();
    let header = Header {
        shard: options.shard.0,
        shards: options.shard.1,
        seeds: Some(options.seeds.to_string()),
        scenarios: vec![scenario],
        runs: runs.len(),
    };
    write_shard(dir, &header, &runs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_parsed_and_refused_by_name() {
        assert_eq!(parse_budget("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_budget("90s"), Ok(Duration::from_secs(90)));
        assert!(parse_budget("0s").is_err());
        assert!(parse_budget("ten minutes").is_err());
        assert_eq!(
            parse_seeds("5..9"),
            Ok(Seeds {
                start: 5,
                end: Some(9)
            })
        );
        assert_eq!(
            parse_seeds("3.."),
            Ok(Seeds {
                start: 3,
                end: None
            })
        );
        for bad in ["9..5", "5..5", "x..", "..", "7"] {
            assert!(parse_seeds(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_depths("4..40"), Ok((4, 40)));
        for bad in ["0..4", "9..4", "4", "a..b"] {
            assert!(parse_depths(bad).is_err(), "{bad}");
        }
    }
}
