//! `commoncert merge DIR... [--report OUT] [--expect-shards N]`: the shard
//! files of a sharded swarm ([`crate::shard`]) read back as one result.
//!
//! Merging is a pure function of the shard files' contents: runs are keyed
//! by (scenario, seed) and kept in that order, so the same files give the
//! same bytes whichever order the folders are named in, and a shard that ran
//! twice (re-run in another folder) counts once. Two copies of one run that
//! disagree on their trace hash mean the simulator was not deterministic or
//! the inputs differ: that is an error, not something to average away.
//!
//! A merge says what it could not see rather than guessing: a shard file
//! without its `end` line is partial (its runs are kept and counted), and a
//! shard index below N without a file is missing, N being `--expect-shards`
//! or the shard counts the headers declare. Exit 0 when every run passed and
//! nothing is missing or partial, 1 when a run failed, 2 when input is
//! unreadable or malformed (file:line) or shards are missing or partial.
//! Wall times (`duration_ms`) are read but kept out of `summary.json`, so
//! that the same runs merged from different shardings give the same summary
//! apart from its `shards` field.

use crate::report::escape;
use crate::shard::{Header, Line, RunRecord};
use commoncert_model::step::Step as Label;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Arguments of `commoncert merge`.
#[derive(Debug, Clone, clap::Args)]
pub struct MergeArgs {
    /// Folders holding shard-*.jsonl files (written by `sim --out`).
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Also write OUT/summary.json, OUT/junit.xml and OUT/index.html.
    #[arg(long, value_name = "OUT")]
    pub report: Option<PathBuf>,
    /// Shards 0..N must all be present; a missing one is named (exit 2).
    #[arg(long, value_name = "N")]
    pub expect_shards: Option<u64>,
}

pub const EXIT_PASS: i32 = 0;
pub const EXIT_FAIL: i32 = 1;
pub const EXIT_INCOMPLETE: i32 = 2;

/// One shard file as read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ShardFile {
    pub file: String,
    pub shard: u64,
    pub shards: u64,
    pub seeds: Option<String>,
    pub runs: usize,
    /// Whether its `end` line was there.
    pub complete: bool,
}

/// A failure shared by one or more runs of a scenario: its first message,
/// and the replay of the lowest failing seed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DistinctFailure {
    pub scenario: String,
    pub message: String,
    pub runs: usize,
    pub seeds: Vec<u64>,
    pub replay: String,
    /// For a swarm's failure: the events on the shortest counterexample any
    /// of its runs found (the lowest seed among equals; `replay` is then
    /// that run's), and the scenario file written for it under the report
    /// folder (`failures/`), which `commoncert sim` replays.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub steps: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scenario_file: Option<String>,
    #[serde(skip)]
    pub scenario_text: Option<String>,
}

/// What the shards say together.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub pass: bool,
    pub runs: usize,
    pub passed: usize,
    pub failed: usize,
    pub scenarios: Vec<String>,
    pub seeds: Vec<String>,
    /// Every label of the catalogue with how often it was realised over all
    /// runs, in catalogue order.
    pub coverage: BTreeMap<String, usize>,
    pub failures: Vec<DistinctFailure>,
    /// Files read, which are partial, which indices are missing, and the
    /// duplicates counted once.
    pub shards: ShardsSummary,
}

/// The shard-level part of a [`Summary`]: what differs between shardings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ShardsSummary {
    pub files: Vec<ShardFile>,
    pub partial: Vec<String>,
    pub missing: Vec<String>,
    pub duplicates: usize,
}

/// The merged runs, keyed by (scenario, seed), and the summary.
#[derive(Clone, Debug)]
pub struct Merged {
    pub runs: BTreeMap<(String, u64), RunRecord>,
    pub summary: Summary,
}

/// Every `shard-*.jsonl` in `dir`, sorted by name.
fn shard_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: cannot read the folder: {e}", dir.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| format!("{}: cannot read the folder: {e}", dir.display()))?
            .path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with("shard-") && name.ends_with(".jsonl") {
            files.push(path);
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(format!("{}: no shard-*.jsonl files here", dir.display()));
    }
    Ok(files)
}

/// A shard file as read: its header, its runs with their line numbers, and
/// whether its `end` line was there.
type ReadShard = (Header, Vec<(usize, RunRecord)>, bool);

/// Read one shard file; malformed lines are refused with file:line.
fn read_shard(path: &Path) -> Result<ReadShard, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let truncated_tail = !text.is_empty() && !text.ends_with('\n');
    let lines: Vec<&str> = text.lines().collect();
    let at = |n: usize, why: String| format!("{}:{n}: {why}", path.display());
    let mut header = None;
    let mut runs = Vec::new();
    let mut ended = false;
    for (i, line) in lines.iter().enumerate() {
        let n = i + 1;
        let parsed: Line = match serde_json::from_str(line) {
            Ok(l) => l,
            // A last line cut off mid-object is a truncated copy: partial.
            Err(_) if truncated_tail && n == lines.len() => break,
            Err(e) => return Err(at(n, format!("not a shard line: {e}"))),
        };
        if ended {
            return Err(at(n, "a line after the `end` line".into()));
        }
        match (parsed, &header) {
            (Line::Shard(h), None) if n == 1 => header = Some(h),
            (_, None) => return Err(at(n, "the first line must be the `shard` header".into())),
            (Line::Shard(_), Some(_)) => return Err(at(n, "a second `shard` header".into())),
            (Line::Run(r), Some(_)) => runs.push((n, r)),
            (Line::End { runs: count }, Some(_)) => {
                if count != runs.len() {
                    return Err(at(
                        n,
                        format!(
                            "the `end` line counts {count} runs, the file holds {}",
                            runs.len()
                        ),
                    ));
                }
                ended = true;
            }
        }
    }
    let Some(header) = header else {
        // Empty, or cut inside its first line: a truncated file with nothing
        // in it. Its index is in its name; its shard count is unknown (0).
        let index = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| {
                n.strip_prefix("shard-")?
                    .strip_suffix(".jsonl")?
                    .parse()
                    .ok()
            })
            .ok_or_else(|| {
                at(
                    1,
                    "no `shard` header, and no index in the file's name".into(),
                )
            })?;
        let header = Header {
            shard: index,
            shards: 0,
            seeds: None,
            scenarios: Vec::new(),
            runs: 0,
        };
        return Ok((header, Vec::new(), false));
    };
    let expected = format!("shard-{}.jsonl", header.shard);
    if path.file_name().and_then(|n| n.to_str()) != Some(expected.as_str()) {
        return Err(at(
            1,
            format!(
                "the header says shard {}, so the file should be named {expected}",
                header.shard
            ),
        ));
    }
    if header.shard >= header.shards {
        return Err(at(
            1,
            format!(
                "shard {} is not below shards {}",
                header.shard, header.shards
            ),
        ));
    }
    if ended && header.runs != runs.len() {
        return Err(at(
            1,
            format!(
                "the header counts {} runs, the file holds {}",
                header.runs,
                runs.len()
            ),
        ));
    }
    Ok((header, runs, ended))
}

/// Merge the shard files under `dirs`. `Err` lists the unreadable or
/// malformed input (exit 2, nothing written).
pub fn merge(dirs: &[PathBuf], expect_shards: Option<u64>) -> Result<Merged, Vec<String>> {
    let mut errors = Vec::new();
    let mut files = Vec::new();
    for d in dirs {
        match shard_files(d) {
            Ok(f) => files.extend(f),
            Err(e) => errors.push(e),
        }
    }
    let mut runs: BTreeMap<(String, u64), (String, RunRecord)> = BTreeMap::new();
    let mut read = Vec::new();
    let mut scenarios = BTreeSet::new();
    let mut seeds = BTreeSet::new();
    let mut duplicates = 0;
    for path in &files {
        let (header, records, complete) = match read_shard(path) {
            Ok(r) => r,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        scenarios.extend(header.scenarios.iter().cloned());
        seeds.extend(header.seeds.iter().cloned());
        read.push(ShardFile {
            file: path.display().to_string(),
            shard: header.shard,
            shards: header.shards,
            seeds: header.seeds.clone(),
            runs: records.len(),
            complete,
        });
        for (n, r) in records {
            let here = format!("{}:{n}", path.display());
            let key = (r.scenario.clone(), r.seed);
            match runs.get(&key) {
                Some((there, other)) => {
                    if other.trace_hash != r.trace_hash || other.pass != r.pass {
                        errors.push(format!(
                            "{here}: {} seed={} disagrees with {there}: trace {} against {} (the simulator is meant to be deterministic)",
                            r.scenario, r.seed, r.trace_hash, other.trace_hash
                        ));
                    }
                    duplicates += 1;
                }
                None => {
                    runs.insert(key, (here, r));
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    read.sort_by(|a, b| (a.shards, a.shard, &a.file).cmp(&(b.shards, b.shard, &b.file)));
    let partial = read
        .iter()
        .filter(|f| !f.complete)
        .map(|f| format!("{}: partial ({} runs)", f.file, f.runs))
        .collect();
    // The shard counts to check: the one expected, or every one declared.
    // A file cut before its header has shard count 0 (unknown): it stands
    // for its index whatever the count.
    let counts: BTreeSet<u64> = match expect_shards {
        Some(n) => [n].into(),
        None => read.iter().map(|f| f.shards).filter(|n| *n > 0).collect(),
    };
    let mut missing = Vec::new();
    for n in counts {
        for i in 0..n {
            if !read
                .iter()
                .any(|f| (f.shards == n || f.shards == 0) && f.shard == i)
            {
                missing.push(format!("shard {i} of {n}: missing (no shard-{i}.jsonl)"));
            }
        }
    }
    let runs: BTreeMap<(String, u64), RunRecord> =
        runs.into_iter().map(|(k, (_, r))| (k, r)).collect();
    let summary = summarise(&runs, read, partial, missing, duplicates, scenarios, seeds);
    Ok(Merged { runs, summary })
}

fn summarise(
    runs: &BTreeMap<(String, u64), RunRecord>,
    files: Vec<ShardFile>,
    partial: Vec<String>,
    missing: Vec<String>,
    duplicates: usize,
    scenarios: BTreeSet<String>,
    seeds: BTreeSet<String>,
) -> Summary {
    let mut coverage: BTreeMap<String, usize> = Label::ALL
        .iter()
        .map(|l| (l.label().to_string(), 0))
        .collect();
    for r in runs.values() {
        for (label, n) in &r.coverage {
            *coverage.entry(label.clone()).or_default() += n;
        }
    }
    // Runs are in (scenario, seed) order, so the first of a group is the
    // lowest seed and its replay the minimal one; for a swarm, the run with
    // the shortest counterexample (the first such) replaces it.
    let mut groups: BTreeMap<(String, String), DistinctFailure> = BTreeMap::new();
    for r in runs.values().filter(|r| !r.pass) {
        let message = r
            .failures
            .first()
            .cloned()
            .unwrap_or_else(|| "failed".into());
        let group = groups
            .entry((r.scenario.clone(), message.clone()))
            .or_insert_with(|| DistinctFailure {
                scenario: r.scenario.clone(),
                message,
                runs: 0,
                seeds: Vec::new(),
                replay: r.replay.clone(),
                steps: None,
                scenario_file: None,
                scenario_text: None,
            });
        group.seeds.push(r.seed);
        if let Some(cx) = r.counterexamples.first()
            && group.steps.is_none_or(|s| cx.steps < s)
        {
            group.steps = Some(cx.steps);
            group.replay = r.replay.clone();
            group.scenario_text = Some(cx.scenario.clone());
        }
    }
    let failures: Vec<DistinctFailure> = groups
        .into_values()
        .enumerate()
        .map(|(i, mut f)| {
            f.runs = f.seeds.len();
            if f.scenario_text.is_some() {
                f.scenario_file = Some(format!("failures/failure-{}.toml", i + 1));
            }
            f
        })
        .collect();
    let failed = runs.values().filter(|r| !r.pass).count();
    Summary {
        pass: failed == 0 && partial.is_empty() && missing.is_empty(),
        runs: runs.len(),
        passed: runs.len() - failed,
        failed,
        scenarios: scenarios.into_iter().collect(),
        seeds: seeds.into_iter().collect(),
        coverage,
        failures,
        shards: ShardsSummary {
            files,
            partial,
            missing,
            duplicates,
        },
    }
}

impl Merged {
    /// The exit code: 2 when shards are missing or partial (the verdict is
    /// over fewer runs than asked for), else 1 when a run failed, else 0.
    pub fn exit_code(&self) -> i32 {
        let s = &self.summary;
        if !s.shards.partial.is_empty() || !s.shards.missing.is_empty() {
            EXIT_INCOMPLETE
        } else if s.failed > 0 {
            EXIT_FAIL
        } else {
            EXIT_PASS
        }
    }

    /// The printed summary.
    pub fn text(&self) -> String {
        let s = &self.summary;
        let mut t = String::new();
        let realised = s.coverage.values().filter(|n| **n > 0).count();
        let _ = writeln!(
            t,
            "merge: {} shard files, {} runs: {} passed, {} failed ({} duplicate runs counted once); {realised} of {} step labels realised",
            s.shards.files.len(),
            s.runs,
            s.passed,
            s.failed,
            s.shards.duplicates,
            s.coverage.len()
        );
        if !s.failures.is_empty() {
            let _ = writeln!(t, "distinct failures ({}):", s.failures.len());
            for f in &s.failures {
                let _ = writeln!(
                    t,
                    "  {}: {} ({} runs, lowest seed {})\n    replay: {}",
                    f.scenario,
                    f.message,
                    f.runs,
                    f.seeds.first().copied().unwrap_or_default(),
                    f.replay
                );
                if let Some(steps) = f.steps {
                    let _ = writeln!(
                        t,
                        "    shortest counterexample found: {steps} events{}",
                        f.scenario_file
                            .as_ref()
                            .map(|file| format!(" (scenario: REPORT/{file}, with --report)"))
                            .unwrap_or_default()
                    );
                }
            }
        }
        for p in &s.shards.partial {
            let _ = writeln!(t, "{p}");
        }
        for m in &s.shards.missing {
            let _ = writeln!(t, "{m}");
        }
        t
    }

    /// `summary.json`.
    pub fn summary_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(&self.summary).map(|s| s + "\n")
    }

    /// `junit.xml`: one testcase per run, named as `sim --report` names them.
    pub fn junit(&self) -> String {
        let s = &self.summary;
        let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(
            x,
            "<testsuites name=\"commoncert sim\" tests=\"{}\" failures=\"{}\">\n  <testsuite name=\"scenarios\" tests=\"{}\" failures=\"{}\">",
            s.runs, s.failed, s.runs, s.failed
        );
        for r in self.runs.values() {
            let _ = write!(
                x,
                "    <testcase classname=\"{}\" name=\"{}\" file=\"{}\">",
                escape(&format!("scenarios.{}", r.scenario)),
                escape(&format!("{} seed={}", r.scenario, r.seed)),
                escape(&r.file)
            );
            if !r.pass {
                let body: Vec<String> = r
                    .failures
                    .iter()
                    .cloned()
                    .chain([format!("replay: {}", r.replay)])
                    .collect();
                let _ = write!(
                    x,
                    "<failure message=\"{}\">{}</failure>",
                    escape(r.failures.first().map_or("failed", String::as_str)),
                    escape(&body.join("\n"))
                );
            }
            let _ = writeln!(x, "</testcase>");
        }
        x.push_str("  </testsuite>\n</testsuites>\n");
        x
    }

    /// `index.html`: the summary, the distinct failures with their replay
    /// commands, the incomplete shards and the coverage table.
    pub fn index_html(&self) -> String {
        let s = &self.summary;
        let mut h = String::from(
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>commoncert merge</title>\
<style>body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse}\
td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}.fail{color:#b00}.none{color:#888}</style></head><body>\
<h1>commoncert merge</h1>",
        );
        let _ = write!(
            h,
            "<p>{} of {} runs passed over {} shard files ({} duplicate runs counted once); seeds {}.</p>",
            s.passed,
            s.runs,
            s.shards.files.len(),
            s.shards.duplicates,
            escape(&s.seeds.join(", "))
        );
        if !s.shards.partial.is_empty() || !s.shards.missing.is_empty() {
            h.push_str("<h2>Incomplete</h2><ul>");
            for p in s.shards.partial.iter().chain(&s.shards.missing) {
                let _ = write!(h, "<li class=\"fail\">{}</li>", escape(p));
            }
            h.push_str("</ul>");
        }
        let _ = write!(h, "<h2>Distinct failures ({})</h2>", s.failures.len());
        if !s.failures.is_empty() {
            h.push_str("<table><tr><th>scenario</th><th>failure</th><th>runs</th><th>replay (lowest seed; for a swarm, the shortest counterexample)</th></tr>");
            for f in &s.failures {
                let file = f
                    .scenario_file
                    .as_ref()
                    .map(|file| {
                        format!(
                            "<br><a href=\"{}\">scenario file</a> ({} events)",
                            escape(file),
                            f.steps.unwrap_or_default()
                        )
                    })
                    .unwrap_or_default();
                let _ = write!(
                    h,
                    "<tr><td>{}</td><td class=\"fail\">{}</td><td>{}</td><td><code>{}</code>{file}</td></tr>",
                    escape(&f.scenario),
                    escape(&f.message),
                    f.runs,
                    escape(&f.replay)
                );
            }
            h.push_str("</table>");
        }
        h.push_str(
            "<h2>Step coverage</h2><table><tr><th>label</th><th>count</th><th>meaning</th></tr>",
        );
        for l in Label::ALL {
            let n = s.coverage.get(l.label()).copied().unwrap_or(0);
            let _ = write!(
                h,
                "<tr{}><td>{}</td><td>{n}</td><td>{}</td></tr>",
                if n == 0 { " class=\"none\"" } else { "" },
                escape(l.label()),
                escape(l.description())
            );
        }
        h.push_str("</table></body></html>\n");
        h
    }

    /// Write `summary.json`, `junit.xml` and `index.html` into `dir`.
    pub fn write_report(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let json = self.summary_json().map_err(std::io::Error::other)?;
        std::fs::write(dir.join("summary.json"), json)?;
        std::fs::write(dir.join("junit.xml"), self.junit())?;
        std::fs::write(dir.join("index.html"), self.index_html())?;
        for f in &self.summary.failures {
            if let (Some(file), Some(text)) = (&f.scenario_file, &f.scenario_text) {
                let path = dir.join(file);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::write(path, text)?;
            }
        }
        Ok(())
    }
}

/// Run `commoncert merge`; the process exit code.
pub fn run(args: &MergeArgs) -> i32 {
    if args.expect_shards == Some(0) {
        eprintln!("--expect-shards 0: N must be at least 1");
        return EXIT_INCOMPLETE;
    }
    let merged = match merge(&args.dirs, args.expect_shards) {
        Ok(m) => m,
        Err(errors) => {
            for e in errors {
                eprintln!("{e}");
            }
            return EXIT_INCOMPLETE;
        }
    };
    let _ = write!(std::io::stdout().lock(), "{}", merged.text());
    if let Some(dir) = &args.report
        && let Err(e) = merged.write_report(dir)
    {
        eprintln!("{}: cannot write the report: {e}", dir.display());
        return EXIT_INCOMPLETE;
    }
    merged.exit_code()
}
