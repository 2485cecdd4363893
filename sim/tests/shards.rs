//! Sharded swarms (issue 14): `sim --seeds --shard I/N --out DIR` and
//! `merge`. The shards of a swarm together are the unsharded swarm, merging
//! is idempotent and order-free, and what is missing or cut short is named.

mod common;

use clap::Parser;
use common::{args, data, scratch};
use commoncert_sim::cli::{self, SimCommand};
use commoncert_sim::merge::{self, MergeArgs, Merged};
use commoncert_sim::shard::ShardArgs;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const SEEDS: &str = "0..12";

fn scenarios() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    vec![
        dir.join("fig3a-issue-and-qualify.toml"),
        dir.join("push-stale-acceptance.toml"),
    ]
}

/// Run one shard (or, with `shard` None, the whole swarm) into `out`.
fn run_shard(shard: Option<&str>, out: &Path) -> i32 {
    let files = scenarios();
    let paths: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let mut a = args(&paths);
    a.seeds = Some(SEEDS.into());
    let s = ShardArgs {
        shard: shard.map(str::to_string),
        shards: None,
        out: Some(out.to_path_buf()),
    };
    cli::run_sharded(&a, &s, &|_| None)
}

fn merged(dirs: &[&Path], expect: Option<u64>) -> Merged {
    let dirs: Vec<PathBuf> = dirs.iter().map(|d| d.to_path_buf()).collect();
    match merge::merge(&dirs, expect) {
        Ok(m) => m,
        Err(e) => panic!("{e:?}"),
    }
}

/// (scenario, seed, pass, trace hash) of every merged run.
fn verdicts(m: &Merged) -> BTreeSet<(String, u64, bool, String)> {
    m.runs
        .values()
        .map(|r| (r.scenario.clone(), r.seed, r.pass, r.trace_hash.clone()))
        .collect()
}

fn summary_without_shards(m: &Merged) -> serde_json::Value {
    let mut v = serde_json::to_value(&m.summary).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.remove("shards");
    }
    v
}

/// Three shards and one whole run, written once for the tests below.
fn shards_and_whole(name: &str) -> (PathBuf, PathBuf) {
    let root = scratch(name);
    let three = root.join("three");
    let one = root.join("one");
    for i in 0..3 {
        assert_eq!(run_shard(Some(&format!("{i}/3")), &three), 0);
    }
    assert_eq!(run_shard(None, &one), 0);
    (three, one)
}

#[test]
fn shards_together_are_the_whole_swarm_and_merge_alike() {
    let (three, one) = shards_and_whole("shards-union");
    let m3 = merged(&[&three], Some(3));
    let m1 = merged(&[&one], None);
    assert_eq!(m3.runs.len(), 24);
    assert_eq!(verdicts(&m3), verdicts(&m1));
    // Round-robin: each shard holds 8 of the 24 pairs, none twice.
    for f in &m3.summary.shards.files {
        assert_eq!((f.runs, f.complete), (8, true), "{}", f.file);
    }
    assert_eq!(m3.summary.shards.duplicates, 0);
    // (b) the same summary apart from the shard files.
    assert_eq!(summary_without_shards(&m3), summary_without_shards(&m1));
    assert_eq!(m3.junit(), m1.junit());
    assert_eq!(m3.exit_code(), 0);
    // A shard re-run in another folder counts once.
    let both = merged(&[&three, &one], None);
    assert_eq!(both.runs.len(), 24);
    assert_eq!(both.summary.shards.duplicates, 24);
    assert_eq!(summary_without_shards(&both), summary_without_shards(&m1));
}

#[test]
fn merging_twice_gives_the_same_bytes() {
    let (three, _) = shards_and_whole("shards-idempotent");
    let root = three.parent().map(Path::to_path_buf).unwrap_or_default();
    let read = |d: &Path| {
        ["summary.json", "junit.xml", "index.html"].map(|f| {
            std::fs::read(d.join(f)).unwrap_or_else(|e| panic!("{}: {e}", d.join(f).display()))
        })
    };
    let mut outputs = Vec::new();
    for out in ["r1", "r2"] {
        let a = MergeArgs {
            dirs: vec![three.clone()],
            report: Some(root.join(out)),
            expect_shards: Some(3),
        };
        assert_eq!(merge::run(&a), 0);
        outputs.push(read(&root.join(out)));
    }
    assert_eq!(outputs[0], outputs[1]);
    // Running a shard again replaces its file whole (runs differ only in
    // wall time, which no merged output shows).
    assert_eq!(run_shard(Some("1/3"), &three), 0);
    assert!(!three.join("shard-1.jsonl.tmp").exists());
    let a = MergeArgs {
        dirs: vec![three.clone()],
        report: Some(root.join("r3")),
        expect_shards: Some(3),
    };
    assert_eq!(merge::run(&a), 0);
    assert_eq!(read(&root.join("r3")), outputs[0]);
}

#[test]
fn partial_and_missing_shards_are_named_exit_2() {
    let (three, _) = shards_and_whole("shards-incomplete");
    let bad = three.with_file_name("bad");
    std::fs::create_dir_all(&bad).unwrap_or_default();
    // Shard 0 intact, shard 1 cut inside its third line, shard 2 gone.
    let text = std::fs::read_to_string(three.join("shard-0.jsonl")).unwrap_or_default();
    std::fs::write(bad.join("shard-0.jsonl"), &text).unwrap_or_default();
    let text = std::fs::read_to_string(three.join("shard-1.jsonl")).unwrap_or_default();
    let cut: usize = text.lines().take(2).map(|l| l.len() + 1).sum::<usize>() + 10;
    std::fs::write(bad.join("shard-1.jsonl"), &text[..cut]).unwrap_or_default();
    let m = merged(&[&bad], Some(3));
    assert_eq!(m.summary.shards.partial.len(), 1);
    assert!(
        m.summary.shards.partial[0].ends_with("shard-1.jsonl: partial (1 runs)"),
        "{:?}",
        m.summary.shards.partial
    );
    assert_eq!(
        m.summary.shards.missing,
        vec!["shard 2 of 3: missing (no shard-2.jsonl)".to_string()]
    );
    assert_eq!(m.runs.len(), 9);
    assert_eq!(m.exit_code(), 2);
    assert!(!m.summary.pass);
    let html = m.index_html();
    assert!(html.contains("partial (1 runs)") && html.contains("missing"));
    let a = MergeArgs {
        dirs: vec![bad.clone()],
        report: None,
        expect_shards: Some(3),
    };
    assert_eq!(merge::run(&a), 2);
    // Without --expect-shards the headers' count still finds shard 2 missing.
    assert_eq!(merged(&[&bad], None).summary.shards.missing.len(), 1);
    // A complete shard set with a line that is not JSON is malformed: file:line.
    let broken = three.with_file_name("broken");
    std::fs::create_dir_all(&broken).unwrap_or_default();
    let text = std::fs::read_to_string(three.join("shard-0.jsonl")).unwrap_or_default();
    std::fs::write(
        broken.join("shard-0.jsonl"),
        text.replacen("{\"kind\":\"run\"", "{oops", 1),
    )
    .unwrap_or_default();
    let e = merge::merge(std::slice::from_ref(&broken), None)
        .err()
        .unwrap_or_default();
    assert!(e.iter().any(|e| e.contains("shard-0.jsonl:2:")), "{e:?}");
    // Two copies of a run that disagree on their trace are an error.
    let other = three.with_file_name("other");
    std::fs::create_dir_all(&other).unwrap_or_default();
    let text = std::fs::read_to_string(three.join("shard-2.jsonl")).unwrap_or_default();
    let hash = m
        .runs
        .values()
        .next()
        .map(|r| r.trace_hash.clone())
        .unwrap_or_default();
    let changed = text.lines().fold(String::new(), |acc, l| {
        let l = if l.contains("\"trace_hash\"") {
            let start = l.find("\"trace_hash\":\"").map_or(0, |i| i + 14);
            format!(
                "{}{}{}",
                &l[..start],
                "0".repeat(hash.len()),
                &l[start + hash.len()..]
            )
        } else {
            l.to_string()
        };
        acc + &l + "\n"
    });
    std::fs::write(other.join("shard-2.jsonl"), changed).unwrap_or_default();
    let e = merge::merge(&[three.clone(), other], None)
        .err()
        .unwrap_or_default();
    assert!(e.iter().any(|e| e.contains("disagrees")), "{e:?}");
    // No shard files at all.
    let empty = three.with_file_name("empty");
    std::fs::create_dir_all(&empty).unwrap_or_default();
    assert_eq!(
        merge::run(&MergeArgs {
            dirs: vec![empty],
            report: None,
            expect_shards: None
        }),
        2
    );
}

#[test]
fn a_failing_run_is_one_distinct_failure_with_its_replay_exit_1() {
    let out = scratch("shards-failing");
    let mut a = args(&[&data("lossy.toml")]);
    a.seed = Some(1); // as in cli.rs: this seed's losses differ from the file's expectations
    let s = ShardArgs {
        out: Some(out.clone()),
        ..ShardArgs::default()
    };
    assert_eq!(cli::run_sharded(&a, &s, &|_| None), 1);
    let m = merged(&[&out], Some(1));
    assert_eq!(m.exit_code(), 1);
    assert_eq!(m.summary.failures.len(), 1);
    let f = &m.summary.failures[0];
    assert!(f.replay.ends_with("lossy.toml --seed 1"), "{}", f.replay);
    assert!(m.junit().contains("<failure message="));
}

/// The command line as a user types it, parsed by clap as the binary does.
#[derive(Parser)]
struct Sim {
    #[command(flatten)]
    cmd: SimCommand,
}

#[derive(Parser)]
struct Merge {
    #[command(flatten)]
    args: MergeArgs,
}

#[test]
fn command_line_shards_and_merges() {
    let root = scratch("shards-cli");
    let out = root.join("out");
    let files: Vec<String> = scenarios()
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    for i in 0..3 {
        let shard = format!("{i}/3");
        let argv = [
            "sim", &files[0], &files[1], "--seeds", SEEDS, "--shard", &shard, "--out",
        ]
        .map(str::to_string)
        .into_iter()
        .chain([out.display().to_string()]);
        let sim = Sim::try_parse_from(argv).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cli::run_command(&sim.cmd), 0);
    }
    let report = root.join("report");
    let argv = [
        "merge".to_string(),
        out.display().to_string(),
        "--report".into(),
    ]
    .into_iter()
    .chain([
        report.display().to_string(),
        "--expect-shards".into(),
        "3".into(),
    ]);
    let m = Merge::try_parse_from(argv).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(merge::run(&m.args), 0);
    let junit = std::fs::read_to_string(report.join("junit.xml")).unwrap_or_default();
    assert_eq!(junit.matches("<testcase ").count(), 24);
    // Refusals: --shard without --seeds, a bad --shard, --out with --compare.
    let refused = |extra: &[&str]| {
        let argv = ["sim", files[0].as_str()]
            .into_iter()
            .chain(extra.iter().copied())
            .map(str::to_string);
        match Sim::try_parse_from(argv) {
            Ok(sim) => cli::run_command(&sim.cmd),
            Err(e) => e.exit_code(),
        }
    };
    assert_eq!(refused(&["--shard", "0/2"]), 2);
    assert_eq!(refused(&["--seeds", "0..4", "--shard", "2/2"]), 2);
    assert_eq!(
        refused(&["--seeds", "0..4", "--shard", "0/2", "--shards", "2"]),
        2
    );
    assert_eq!(refused(&["--compare", "--out", "x"]), 2);
}
