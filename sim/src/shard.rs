//! Sharded swarm runs (issue 14): `commoncert sim FILES... --seeds A..B
//! --shard I/N [--out DIR]`, and the shard file that `commoncert merge`
//! ([`crate::merge`]) reads back.
//!
//! The (scenario, seed) pairs are ordered as scenarios in load order times
//! seeds ascending, and shard I of N takes the pairs at positions p with
//! p % N == I. Round-robin rather than contiguous blocks, because a
//! scenario's runs cost about the same while scenarios differ a lot: blocks
//! would give one shard all the expensive scenario.
//!
//! The index may come from a batch system instead of the flag, so that one
//! job script serves every array task: with `--shards N` and no `--shard`,
//! Slurm's `SLURM_ARRAY_TASK_ID` (less `SLURM_ARRAY_TASK_MIN`, as arrays
//! need not start at 0; `SLURM_ARRAY_TASK_COUNT` checked against N) or a
//! Kubernetes Indexed Job's `JOB_COMPLETION_INDEX`. The environment is
//! passed in as a function, so that tests never touch the process's own.
//!
//! The shard file, `DIR/shard-I.jsonl`, is one JSON object per line: a
//! [`Header`], one [`RunRecord`] per run, and an `end` line. The `end` line
//! is what tells a complete file from a truncated copy; the file itself is
//! written to `shard-I.jsonl.tmp` and renamed, so a re-run shard replaces
//! its file whole and a killed one leaves no file that looks complete.

use crate::sim::Run;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The sharding flags of `commoncert sim`. Values are taken as text and
/// checked here, so that every refusal names its flag or variable the same
/// way (exit 2).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ShardArgs {
    /// Run only shard I of N (0-based) of the (scenario, seed) pairs, taken
    /// round-robin; needs --seeds.
    #[arg(long, value_name = "I/N", conflicts_with = "shards")]
    pub shard: Option<String>,
    /// Run one of N shards, its index taken from SLURM_ARRAY_TASK_ID (less
    /// SLURM_ARRAY_TASK_MIN) or JOB_COMPLETION_INDEX; needs --seeds.
    #[arg(long, value_name = "N")]
    pub shards: Option<String>,
    /// Write this shard's runs to DIR/shard-I.jsonl (shard-0.jsonl without
    /// sharding), for `commoncert merge`.
    #[arg(long, value_name = "DIR", conflicts_with = "compare")]
    pub out: Option<PathBuf>,
}

/// Shard `index` of `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    /// The whole run as one shard.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Whether the pair at `position` (scenario index x seeds + seed offset)
    /// belongs to this shard.
    pub fn takes(self, position: u64) -> bool {
        position % self.count == self.index
    }

    /// The shard file's name, `shard-I.jsonl`.
    pub fn file_name(self) -> String {
        format!("shard-{}.jsonl", self.index)
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Parse `--shard I/N`.
pub fn parse_shard(text: &str) -> Result<Shard, String> {
    let err = |why: &str| format!("--shard {text:?}: {why} (expected I/N, 0 <= I < N, e.g. 0/4)");
    let (i, n) = text.split_once('/').ok_or_else(|| err("no `/`"))?;
    let index: u64 = i.trim().parse().map_err(|_| err("I is not a number"))?;
    let count: u64 = n.trim().parse().map_err(|_| err("N is not a number"))?;
    if count == 0 {
        return Err(err("N must be at least 1"));
    }
    if index >= count {
        return Err(err("I must be less than N"));
    }
    Ok(Shard { index, count })
}

/// One environment variable as a number, naming it when it is not one.
fn env_number(env: &dyn Fn(&str) -> Option<String>, name: &str) -> Result<Option<u64>, String> {
    match env(name) {
        None => Ok(None),
        Some(v) => v
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| format!("{name}={v:?} is not a non-negative integer")),
    }
}

/// The shard to run: from `--shard`, or from `--shards` and the batch
/// system's environment (`env` looks a variable up), or none.
pub fn resolve(
    args: &ShardArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Shard>, String> {
    if let Some(text) = &args.shard {
        return parse_shard(text).map(Some);
    }
    let Some(n) = &args.shards else {
        return Ok(None);
    };
    let count: u64 = n
        .trim()
        .parse()
        .map_err(|_| format!("--shards {n:?}: N is not a number"))?;
    if count == 0 {
        return Err(format!("--shards {n:?}: N must be at least 1"));
    }
    let out_of_range =
        |var: &str, index: u64| format!("{var}: shard index {index} is not below --shards {count}");
    if let Some(id) = env_number(env, "SLURM_ARRAY_TASK_ID")? {
        let min = env_number(env, "SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
        let index = id.checked_sub(min).ok_or_else(|| {
            format!("SLURM_ARRAY_TASK_ID={id} is below SLURM_ARRAY_TASK_MIN={min}")
        })?;
        if let Some(tasks) = env_number(env, "SLURM_ARRAY_TASK_COUNT")?
            && tasks != count
        {
            return Err(format!(
                "SLURM_ARRAY_TASK_COUNT={tasks} differs from --shards {count}: the array and the shards must match"
            ));
        }
        if index >= count {
            return Err(out_of_range("SLURM_ARRAY_TASK_ID", index));
        }
        return Ok(Some(Shard { index, count }));
    }
    if let Some(index) = env_number(env, "JOB_COMPLETION_INDEX")? {
        if index >= count {
            return Err(out_of_range("JOB_COMPLETION_INDEX", index));
        }
        return Ok(Some(Shard { index, count }));
    }
    Err(format!(
        "--shards {count} needs the shard index: set SLURM_ARRAY_TASK_ID (a Slurm job array) or JOB_COMPLETION_INDEX (a Kubernetes Indexed Job), or give --shard I/{count}"
    ))
}

/// The first line of a shard file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub shard: u64,
    pub shards: u64,
    /// `A..B`, or none when each file ran with its own (or `--seed`'s) seed.
    pub seeds: Option<String>,
    /// Every scenario file loaded, in load order (not only those with runs
    /// in this shard), so that shards can be seen to come from one command.
    pub scenarios: Vec<String>,
    /// How many runs the shard holds.
    pub runs: usize,
}

/// One run, as a line of a shard file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    pub scenario: String,
    pub file: String,
    pub seed: u64,
    pub pass: bool,
    pub trace_hash: String,
    pub coverage: BTreeMap<String, usize>,
    /// Wall time of the run, for scheduling; it reaches no merged verdict.
    pub duration_ms: u64,
    pub failures: Vec<String>,
    pub replay: String,
    /// A swarm member's counterexamples (`check --swarm --out`), one per
    /// failure and in the same order, each with the scenario file that
    /// replays it; empty (and absent from the line) for a scenario run,
    /// whose file is its own replay.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub counterexamples: Vec<CounterexampleRecord>,
}

/// A counterexample a swarm member found, shrunk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CounterexampleRecord {
    pub property: String,
    /// Events on the path (after shrinking).
    pub steps: usize,
    /// The scenario file (TOML) that `commoncert sim` replays to the same
    /// violation.
    pub scenario: String,
}

impl RunRecord {
    /// The record of `run`, which took `duration_ms` of wall time.
    pub fn of(run: &Run, duration_ms: u64) -> RunRecord {
        RunRecord {
            scenario: run.name.clone(),
            file: run.file.display().to_string(),
            seed: run.seed,
            pass: run.pass,
            trace_hash: run.trace_hash.clone(),
            coverage: run.coverage(),
            duration_ms,
            failures: run.failures.iter().map(|f| f.message.clone()).collect(),
            replay: run.replay_command(),
            counterexamples: Vec::new(),
        }
    }
}

/// A line of a shard file, tagged by `kind`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Line {
    Shard(Header),
    Run(RunRecord),
    End { runs: usize },
}

/// The text of a shard file: header, runs, end.
pub fn shard_text(header: &Header, runs: &[RunRecord]) -> Result<String, serde_json::Error> {
    let mut text = serde_json::to_string(&Line::Shard(header.clone()))? + "\n";
    for r in runs {
        text.push_str(&serde_json::to_string(&Line::Run(r.clone()))?);
        text.push('\n');
    }
    text.push_str(&serde_json::to_string(&Line::End { runs: runs.len() })?);
    text.push('\n');
    Ok(text)
}

/// Write `DIR/shard-I.jsonl` through `shard-I.jsonl.tmp` and a rename, so
/// the file is either the old one or the new one whole. Returns its path.
pub fn write_shard(dir: &Path, header: &Header, runs: &[RunRecord]) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let name = Shard {
        index: header.shard,
        count: header.shards,
    }
    .file_name();
    let target = dir.join(&name);
    let tmp = dir.join(format!("{name}.tmp"));
    let text = shard_text(header, runs).map_err(std::io::Error::other)?;
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &target)?;
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    fn shards(n: &str) -> ShardArgs {
        ShardArgs {
            shards: Some(n.to_string()),
            ..ShardArgs::default()
        }
    }

    #[test]
    fn shard_flag_is_parsed_and_checked() {
        assert_eq!(parse_shard("2/3"), Ok(Shard { index: 2, count: 3 }));
        assert_eq!(parse_shard("0/1"), Ok(Shard::ALL));
        for bad in ["3/3", "0/0", "x/3", "1/y", "2", "-1/3", ""] {
            let e = parse_shard(bad).err().unwrap_or_default();
            assert!(e.starts_with("--shard "), "{bad}: {e}");
        }
    }

    #[test]
    fn round_robin_covers_every_position_once() {
        let n = 3;
        for p in 0..30u64 {
            let owners = (0..n)
                .filter(|&i| Shard { index: i, count: n }.takes(p))
                .count();
            assert_eq!(owners, 1);
        }
        assert!(Shard { index: 1, count: 3 }.takes(4));
    }

    #[test]
    fn no_flags_no_shard() {
        assert_eq!(resolve(&ShardArgs::default(), &env(&[])), Ok(None));
    }

    #[test]
    fn slurm_array_gives_the_index() {
        let got = resolve(&shards("4"), &env(&[("SLURM_ARRAY_TASK_ID", "2")]));
        assert_eq!(got, Ok(Some(Shard { index: 2, count: 4 })));
        // Arrays numbered from 1 (--array=1-4).
        let got = resolve(
            &shards("4"),
            &env(&[
                ("SLURM_ARRAY_TASK_ID", "4"),
                ("SLURM_ARRAY_TASK_MIN", "1"),
                ("SLURM_ARRAY_TASK_COUNT", "4"),
            ]),
        );
        assert_eq!(got, Ok(Some(Shard { index: 3, count: 4 })));
        // Slurm wins over Kubernetes when both are set.
        let got = resolve(
            &shards("4"),
            &env(&[("SLURM_ARRAY_TASK_ID", "1"), ("JOB_COMPLETION_INDEX", "3")]),
        );
        assert_eq!(got, Ok(Some(Shard { index: 1, count: 4 })));
    }

    #[test]
    fn kubernetes_indexed_job_gives_the_index() {
        let got = resolve(&shards("3"), &env(&[("JOB_COMPLETION_INDEX", "0")]));
        assert_eq!(got, Ok(Some(Shard { index: 0, count: 3 })));
    }

    #[test]
    fn the_flag_wins_over_the_environment() {
        let a = ShardArgs {
            shard: Some("1/2".into()),
            ..ShardArgs::default()
        };
        let got = resolve(&a, &env(&[("JOB_COMPLETION_INDEX", "0")]));
        assert_eq!(got, Ok(Some(Shard { index: 1, count: 2 })));
    }

    #[test]
    fn bad_environments_are_refused_naming_the_variable() {
        let refused = |n: &str, vars: &[(&str, &str)], names: &str| {
            let e = resolve(&shards(n), &env(vars)).err().unwrap_or_default();
            assert!(e.contains(names), "{vars:?}: {e}");
        };
        refused("3", &[], "SLURM_ARRAY_TASK_ID");
        refused("3", &[], "JOB_COMPLETION_INDEX");
        refused("0", &[("JOB_COMPLETION_INDEX", "0")], "--shards");
        refused("x", &[("JOB_COMPLETION_INDEX", "0")], "--shards");
        refused(
            "3",
            &[("JOB_COMPLETION_INDEX", "3")],
            "JOB_COMPLETION_INDEX",
        );
        refused(
            "3",
            &[("JOB_COMPLETION_INDEX", "a")],
            "JOB_COMPLETION_INDEX",
        );
        refused("3", &[("SLURM_ARRAY_TASK_ID", "-1")], "SLURM_ARRAY_TASK_ID");
        refused("3", &[("SLURM_ARRAY_TASK_ID", "3")], "SLURM_ARRAY_TASK_ID");
        refused(
            "3",
            &[("SLURM_ARRAY_TASK_ID", "0"), ("SLURM_ARRAY_TASK_MIN", "1")],
            "SLURM_ARRAY_TASK_MIN",
        );
        refused(
            "3",
            &[("SLURM_ARRAY_TASK_ID", "1"), ("SLURM_ARRAY_TASK_MIN", "z")],
            "SLURM_ARRAY_TASK_MIN",
        );
        refused(
            "3",
            &[
                ("SLURM_ARRAY_TASK_ID", "1"),
                ("SLURM_ARRAY_TASK_COUNT", "4"),
            ],
            "SLURM_ARRAY_TASK_COUNT",
        );
    }

    #[test]
    fn shard_text_has_header_runs_and_end() {
        let h = Header {
            shard: 1,
            shards: 2,
            seeds: Some("0..4".into()),
            scenarios: vec!["a.toml".into()],
            runs: 0,
        };
        let text = shard_text(&h, &[]).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with(r#"{"kind":"shard","shard":1,"shards":2,"seeds":"0..4""#));
        assert_eq!(lines[1], r#"{"kind":"end","runs":0}"#);
        let back: Result<Line, _> = serde_json::from_str(lines[0]);
        assert_eq!(back.ok(), Some(Line::Shard(h)));
    }
}
