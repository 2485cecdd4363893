//! The batch-system job files in `deploy/`: the Kubernetes manifest is
//! parsed (a minimal YAML reader for the subset it uses: block maps, block
//! lists, scalars, one-line flow lists) and its schema checked, also against
//! deliberately broken copies; `kubectl apply --dry-run=client` runs when
//! kubectl is installed and can reach what it needs; the Slurm scripts are
//! syntax-checked (and shellchecked when shellcheck is installed) and run
//! locally as the four tasks of an array and the dependent merge.

use std::path::{Path, PathBuf};
use std::process::Command;

const MANIFEST: &str = "deploy/k8s/sweep-job.yaml";
const SWEEP: &str = "deploy/slurm/sweep.sbatch";
const MERGE: &str = "deploy/slurm/merge.sbatch";
const SWARM: &str = "deploy/slurm/swarm.sbatch";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|d| d.join(tool).is_file()))
}

// ---------------------------------------------------------------------------
// A minimal YAML reader for the subset the manifest uses.

#[derive(Debug, Clone, PartialEq)]
enum Yaml {
    Map(Vec<(String, Yaml)>),
    List(Vec<Yaml>),
    Str(String),
}

impl Yaml {
    fn get(&self, key: &str) -> Result<&Yaml, String> {
        match self {
            Yaml::Map(entries) => entries
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v)
                .ok_or_else(|| format!("no `{key}`")),
            _ => Err(format!("not a map looking up `{key}`")),
        }
    }

    /// Follows a dotted path of map keys.
    fn at(&self, path: &str) -> Result<&Yaml, String> {
        let mut v = self;
        for key in path.split('.') {
            v = v.get(key).map_err(|e| format!("{path}: {e}"))?;
        }
        Ok(v)
    }

    fn str_at(&self, path: &str) -> Result<&str, String> {
        match self.at(path)? {
            Yaml::Str(s) => Ok(s),
            other => Err(format!("{path}: not a scalar: {other:?}")),
        }
    }

    fn u64_at(&self, path: &str) -> Result<u64, String> {
        let s = self.str_at(path)?;
        s.parse()
            .map_err(|_| format!("{path}: `{s}` is not a whole number"))
    }

    fn list_at(&self, path: &str) -> Result<&[Yaml], String> {
        match self.at(path)? {
            Yaml::List(items) => Ok(items),
            other => Err(format!("{path}: not a list: {other:?}")),
        }
    }

    fn strings_at(&self, path: &str) -> Result<Vec<&str>, String> {
        self.list_at(path)?
            .iter()
            .map(|v| match v {
                Yaml::Str(s) => Ok(s.as_str()),
                other => Err(format!("{path}: not a scalar item: {other:?}")),
            })
            .collect()
    }
}

struct Line {
    number: usize,
    indent: usize,
    text: String,
}

/// Strips a comment (`#` at the start or after a space, outside quotes).
fn strip_comment(line: &str) -> &str {
    let mut quote = None;
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), _) if c == q => quote = None,
            (None, '#') if prev == ' ' => return &line[..i],
            _ => {}
        }
        prev = c;
    }
    line
}

fn lines_of(doc: &str, first_line: usize) -> Result<Vec<Line>, String> {
    let mut out = Vec::new();
    for (i, raw) in doc.lines().enumerate() {
        let number = first_line + i;
        if raw.contains('\t') {
            return Err(format!("line {number}: a tab"));
        }
        let text = strip_comment(raw).trim_end();
        if text.trim().is_empty() {
            continue;
        }
        let indent = text.len() - text.trim_start().len();
        out.push(Line {
            number,
            indent,
            text: text.trim_start().to_string(),
        });
    }
    Ok(out)
}

fn is_item(text: &str) -> bool {
    text == "-" || text.starts_with("- ")
}

/// `key: value` or `key:` with a plain key; None when the text is not one.
fn split_key(text: &str) -> Option<(&str, &str)> {
    let (key, rest) = if let Some(k) = text.strip_suffix(':') {
        (k, "")
    } else {
        let at = text.find(": ")?;
        (&text[..at], text[at + 2..].trim())
    };
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./".contains(c));
    plain.then_some((key, rest))
}

fn scalar(text: &str, number: usize) -> Result<Yaml, String> {
    let bad = |what: &str| format!("line {number}: {what}: `{text}`");
    if let Some(inner) = text.strip_prefix('[') {
        let inner = inner.strip_suffix(']').ok_or_else(|| bad("unclosed ["))?;
        if inner.trim().is_empty() {
            return Ok(Yaml::List(Vec::new()));
        }
        return inner
            .split(',')
            .map(|s| scalar(s.trim(), number))
            .collect::<Result<_, _>>()
            .map(Yaml::List);
    }
    for q in ['"', '\''] {
        if let Some(inner) = text.strip_prefix(q) {
            let inner = inner.strip_suffix(q).ok_or_else(|| bad("unclosed quote"))?;
            if inner.contains(q) || inner.contains('\\') {
                return Err(bad("escapes are outside this subset"));
            }
            return Ok(Yaml::Str(inner.to_string()));
        }
    }
    if text.starts_with(['{', '&', '*', '!', '|', '>', '%', '@', '`']) {
        return Err(bad("outside this subset"));
    }
    Ok(Yaml::Str(text.to_string()))
}

struct Parser {
    lines: Vec<Line>,
    i: usize,
}

impl Parser {
    fn block(&mut self, indent: usize) -> Result<Yaml, String> {
        if is_item(&self.lines[self.i].text) {
            self.list(indent)
        } else {
            self.map(indent)
        }
    }

    /// The value of `key:` with nothing after it: a deeper block, or a list
    /// at the key's own indentation.
    fn nested(&mut self, indent: usize, number: usize) -> Result<Yaml, String> {
        match self.lines.get(self.i) {
            Some(next) if next.indent > indent => {
                let deeper = next.indent;
                self.block(deeper)
            }
            Some(next) if next.indent == indent && is_item(&next.text) => self.list(indent),
            _ => Err(format!("line {number}: a key without a value")),
        }
    }

    fn map(&mut self, indent: usize) -> Result<Yaml, String> {
        let mut entries: Vec<(String, Yaml)> = Vec::new();
        while let Some(line) = self.lines.get(self.i) {
            if line.indent < indent || (line.indent == indent && is_item(&line.text)) {
                break;
            }
            let number = line.number;
            if line.indent > indent {
                return Err(format!("line {number}: unexpected indentation"));
            }
            let (key, rest) =
                split_key(&line.text).ok_or_else(|| format!("line {number}: not `key: value`"))?;
            let (key, rest) = (key.to_string(), rest.to_string());
            if entries.iter().any(|(k, _)| *k == key) {
                return Err(format!("line {number}: duplicate key `{key}`"));
            }
            self.i += 1;
            let value = if rest.is_empty() {
                self.nested(indent, number)?
            } else {
                scalar(&rest, number)?
            };
            entries.push((key, value));
        }
        Ok(Yaml::Map(entries))
    }

    fn list(&mut self, indent: usize) -> Result<Yaml, String> {
        let mut items = Vec::new();
        while let Some(line) = self.lines.get(self.i) {
            if line.indent < indent || (line.indent == indent && !is_item(&line.text)) {
                break;
            }
            let number = line.number;
            if line.indent > indent {
                return Err(format!("line {number}: unexpected indentation"));
            }
            let rest = line.text[1..].trim_start().to_string();
            if rest.is_empty() {
                self.i += 1;
                items.push(self.nested(indent, number)?);
            } else if split_key(&rest).is_some() {
                // `- key: value` opens a map whose keys sit after the dash.
                let inner = indent + (line.text.len() - rest.len());
                self.lines[self.i].indent = inner;
                self.lines[self.i].text = rest;
                items.push(self.map(inner)?);
            } else {
                items.push(scalar(&rest, number)?);
                self.i += 1;
            }
        }
        Ok(Yaml::List(items))
    }
}

/// The documents of a YAML stream (separated by `---` lines).
fn parse_yaml(text: &str) -> Result<Vec<Yaml>, String> {
    let mut docs = Vec::new();
    let mut current = String::new();
    let mut first_line = 1;
    let mut flush = |chunk: &str, first_line: usize| -> Result<(), String> {
        let lines = lines_of(chunk, first_line)?;
        if lines.is_empty() {
            return Ok(());
        }
        let indent = lines[0].indent;
        let mut p = Parser { lines, i: 0 };
        let doc = p.block(indent)?;
        if let Some(extra) = p.lines.get(p.i) {
            return Err(format!("line {}: left over", extra.number));
        }
        docs.push(doc);
        Ok(())
    };
    for (i, line) in text.lines().enumerate() {
        if line.trim_end() == "---" {
            flush(&current, first_line)?;
            current.clear();
            first_line = i + 2;
        } else {
            current.push_str(line);
            current.push('\n');
        }
    }
    flush(&current, first_line)?;
    Ok(docs)
}

#[test]
fn the_yaml_reader_reads_its_subset_and_refuses_the_rest() {
    let docs =
        parse_yaml("# c\na: 1\nb:\n  - x\n  - k: \"v\" # c\n    j: [p, 'q']\nc:\n- y\n---\nd: e\n")
            .unwrap();
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0].str_at("a").unwrap(), "1");
    let b = docs[0].list_at("b").unwrap();
    assert_eq!(b[0], Yaml::Str("x".into()));
    assert_eq!(b[1].str_at("k").unwrap(), "v");
    assert_eq!(b[1].strings_at("j").unwrap(), ["p", "q"]);
    assert_eq!(docs[0].strings_at("c").unwrap(), ["y"]);
    assert_eq!(docs[1].str_at("d").unwrap(), "e");
    for bad in [
        "a: 1\n  b: 2\n",
        "a: 1\na: 2\n",
        "a:\n",
        "a: \"x\n",
        "a: {b: 1}\n",
        "a:\n\t- x\n",
        "just text\n",
        "a:\n  - x\n    - y\n",
    ] {
        assert!(parse_yaml(bad).is_err(), "accepted: {bad:?}");
    }
}

// ---------------------------------------------------------------------------
// The manifest's schema.

/// The value after `flag` in `args`.
fn flag_value<'a>(args: &[&'a str], flag: &str) -> Result<&'a str, String> {
    let at = args
        .iter()
        .position(|a| *a == flag)
        .ok_or_else(|| format!("no `{flag}` in {args:?}"))?;
    args.get(at + 1)
        .copied()
        .ok_or_else(|| format!("`{flag}` has no value in {args:?}"))
}

/// A container's command and args, and (mount path, claim name) pairs.
type JobParts = (Vec<String>, Vec<(String, String)>);

/// A Job's common schema; returns its one container's command and args
/// and the PersistentVolumeClaim mounted at each mount path.
fn job(doc: &Yaml, which: &str) -> Result<JobParts, String> {
    let ctx = |e: String| format!("{which}: {e}");
    if doc.str_at("apiVersion").map_err(ctx)? != "batch/v1" {
        return Err(format!("{which}: apiVersion is not batch/v1"));
    }
    if doc.str_at("kind").map_err(ctx)? != "Job" {
        return Err(format!("{which}: kind is not Job"));
    }
    if doc.str_at("metadata.name").map_err(ctx)?.is_empty() {
        return Err(format!("{which}: metadata.name is empty"));
    }
    doc.u64_at("spec.backoffLimit").map_err(ctx)?;
    let pod = doc.at("spec.template.spec").map_err(ctx)?;
    if pod.str_at("restartPolicy").map_err(ctx)? != "Never" {
        return Err(format!("{which}: restartPolicy is not Never"));
    }
    let containers = pod.list_at("containers").map_err(ctx)?;
    let [container] = containers else {
        return Err(format!("{which}: not exactly one container"));
    };
    container.str_at("image").map_err(ctx)?;
    let mut words: Vec<String> = Vec::new();
    for key in ["command", "args"] {
        if container.get(key).is_ok() {
            words.extend(
                container
                    .strings_at(key)
                    .map_err(ctx)?
                    .into_iter()
                    .map(String::from),
            );
        }
    }
    let volumes = pod.list_at("volumes").map_err(ctx)?;
    let mut mounts = Vec::new();
    for m in container.list_at("volumeMounts").map_err(ctx)? {
        let name = m.str_at("name").map_err(ctx)?;
        let path = m.str_at("mountPath").map_err(ctx)?;
        let volume = volumes
            .iter()
            .find(|v| v.str_at("name") == Ok(name))
            .ok_or_else(|| format!("{which}: no volume `{name}` for the mount at {path}"))?;
        let claim = volume
            .str_at("persistentVolumeClaim.claimName")
            .map_err(ctx)?;
        mounts.push((path.to_string(), claim.to_string()));
    }
    Ok((words, mounts))
}

/// The claim mounted at `path` (a mount at it or at a folder above it).
fn claim_at(mounts: &[(String, String)], path: &str, which: &str) -> Result<String, String> {
    mounts
        .iter()
        .find(|(m, _)| Path::new(path).starts_with(m.as_str()) || path == m.trim_end_matches('/'))
        .map(|(_, c)| c.clone())
        .ok_or_else(|| format!("{which}: {path} is not on a mounted volume ({mounts:?})"))
}

/// Checks the two-Job manifest; returns the shard count N.
fn check_manifest(text: &str) -> Result<u64, String> {
    let docs = parse_yaml(text)?;
    let [sweep, merge] = docs.as_slice() else {
        return Err(format!("{} documents, not 2 (sweep, merge)", docs.len()));
    };

    let (words, mounts) = job(sweep, "sweep")?;
    let args: Vec<&str> = words.iter().map(String::as_str).collect();
    if !args.contains(&"sim") {
        return Err(format!("sweep: does not run `sim`: {args:?}"));
    }
    if sweep.str_at("spec.completionMode")? != "Indexed" {
        return Err("sweep: completionMode is not Indexed".into());
    }
    let shards: u64 = flag_value(&args, "--shards")?
        .parse()
        .map_err(|_| "sweep: --shards is not a number".to_string())?;
    let completions = sweep.u64_at("spec.completions")?;
    let parallelism = sweep.u64_at("spec.parallelism")?;
    if completions != shards || parallelism != shards {
        return Err(format!(
            "sweep: completions {completions}, parallelism {parallelism} and --shards {shards} differ"
        ));
    }
    flag_value(&args, "--seeds")?;
    let out = flag_value(&args, "--out")?;
    let claim = claim_at(&mounts, out, "sweep")?;

    let (words, mounts) = job(merge, "merge")?;
    let args: Vec<&str> = words.iter().map(String::as_str).collect();
    let at = args
        .iter()
        .position(|a| *a == "merge")
        .ok_or_else(|| format!("merge: does not run `merge`: {args:?}"))?;
    let expect: u64 = flag_value(&args, "--expect-shards")?
        .parse()
        .map_err(|_| "merge: --expect-shards is not a number".to_string())?;
    if expect != shards {
        return Err(format!(
            "merge: --expect-shards {expect} differs from --shards {shards}"
        ));
    }
    let dir = args.get(at + 1).ok_or("merge: no folder after `merge`")?;
    if *dir != out {
        return Err(format!("merge: reads {dir}, the sweep writes {out}"));
    }
    if claim_at(&mounts, dir, "merge")? != claim {
        return Err("merge: mounts another claim than the sweep".into());
    }
    let report = flag_value(&args, "--report")?;
    claim_at(&mounts, report, "merge")?;
    Ok(shards)
}

#[test]
fn the_kubernetes_manifest_has_an_indexed_sweep_and_a_matching_merge() {
    let text = read(MANIFEST);
    assert_eq!(check_manifest(&text), Ok(4));
}

#[test]
fn broken_copies_of_the_manifest_are_refused() {
    let text = read(MANIFEST);
    let broken: &[(&str, &str, &str)] = &[
        ("completions: 4", "completions: 5", "completions"),
        ("parallelism: 4", "parallelism: 3", "parallelism"),
        (
            "completionMode: Indexed",
            "completionMode: NonIndexed",
            "Indexed",
        ),
        (
            "- --expect-shards\n            - \"4\"",
            "- --expect-shards\n            - \"3\"",
            "--expect-shards",
        ),
        (
            "- --shards\n            - \"4\"",
            "- --shards\n            - \"8\"",
            "differ",
        ),
        (
            "restartPolicy: Never",
            "restartPolicy: OnFailure",
            "restartPolicy",
        ),
        ("mountPath: /results", "mountPath: /data", "mounted"),
        ("apiVersion: batch/v1", "apiVersion: batch/v2", "apiVersion"),
        ("kind: Job", "kind: Pod", "kind"),
        ("            - sim\n", "            - check\n", "sim"),
        (
            "claimName: commoncert-results\n---",
            "claimName: other\n---",
            "claim",
        ),
        ("---\n", "", "duplicate key"),
        ("  parallelism: 4\n", "   parallelism: 4\n", "indentation"),
    ];
    for (from, to, why) in broken {
        assert!(text.contains(from), "the manifest no longer has {from:?}");
        let copy = text.replacen(from, to, 1);
        match check_manifest(&copy) {
            Ok(n) => panic!("accepted a copy with {from:?} -> {to:?} (N = {n})"),
            Err(e) => assert!(e.contains(why), "{from:?} -> {to:?}: {e} (wanted {why:?})"),
        }
    }
}

#[test]
fn kubectl_client_dry_run_accepts_the_manifest() {
    if !on_path("kubectl") {
        eprintln!(
            "kubectl is not on PATH: skipping the client dry-run (the schema test still runs)"
        );
        return;
    }
    let out = Command::new("kubectl")
        .args(["apply", "--dry-run=client", "--validate=false"])
        .args(["--request-timeout=10s", "-f", MANIFEST])
        .current_dir(root())
        .output()
        .expect("kubectl runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        for name in ["job.batch/commoncert-sweep", "job.batch/commoncert-merge"] {
            assert!(stdout.contains(name), "{name} not in {stdout}");
        }
        return;
    }
    // Without a cluster kubectl cannot map the kinds (API discovery fails);
    // that is not the manifest's fault, so the schema test stands in. A
    // manifest kubectl cannot even read fails here.
    for unreadable in ["error converting YAML", "error parsing", "yaml:"] {
        assert!(
            !stderr.contains(unreadable),
            "kubectl cannot read {MANIFEST}: {stderr}"
        );
    }
    eprintln!(
        "kubectl has no cluster to map the kinds against: skipping the client dry-run \
         (the schema test still runs)\n{stderr}"
    );
}

// ---------------------------------------------------------------------------
// The Slurm scripts.

#[test]
fn the_slurm_scripts_are_well_formed() {
    for script in [SWEEP, MERGE, SWARM] {
        let st = Command::new("bash")
            .args(["-n", script])
            .current_dir(root())
            .status()
            .expect("bash runs");
        assert!(st.success(), "bash -n {script}");
        let text = read(script);
        assert!(
            text.starts_with("#!/usr/bin/env bash\n"),
            "{script}: shebang"
        );
        assert!(
            text.contains("\nset -euo pipefail\n"),
            "{script}: set -euo pipefail"
        );
        // #SBATCH lines are only read before the first command.
        let first_command = text
            .lines()
            .position(|l| !l.is_empty() && !l.starts_with('#'))
            .unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let last_sbatch = lines
            .iter()
            .rposition(|l| l.starts_with("#SBATCH"))
            .unwrap();
        assert!(
            last_sbatch < first_command,
            "{script}: #SBATCH after a command"
        );
    }
    let sweep = read(SWEEP);
    assert!(sweep.contains("\n#SBATCH --array=0-3\n"), "sweep: --array");
    assert!(sweep.contains(" sim "), "sweep: runs sim");
    assert!(
        sweep.contains("--shards \"$SLURM_ARRAY_TASK_COUNT\""),
        "sweep: --shards"
    );
    assert!(sweep.contains("--seeds \"$SEEDS\""), "sweep: --seeds");
    assert!(sweep.contains("--out \"$OUT\""), "sweep: --out");
    assert!(
        sweep.contains("--dependency=afterany:"),
        "sweep: documents the merge"
    );
    let merge = read(MERGE);
    assert!(merge.contains(" merge \"$OUT\""), "merge: runs merge");
    assert!(
        merge.contains("--expect-shards \"$SHARDS\""),
        "merge: --expect-shards"
    );
    assert!(
        merge.contains("SHARDS=${SHARDS:-4}"),
        "merge: 4 shards as the array"
    );

    let swarm = read(SWARM);
    assert!(swarm.contains("\n#SBATCH --array=0-3\n"), "swarm: --array");
    for flag in [
        "--swarm",
        "--budget \"$BUDGET\"",
        "--swarm-seeds \"$SEEDS\"",
        "--shards \"$SLURM_ARRAY_TASK_COUNT\"",
        "--out \"$OUT\"",
    ] {
        assert!(swarm.contains(flag), "swarm: {flag}");
    }
    assert!(swarm.contains("merge.sbatch"), "swarm: documents the merge");

    if on_path("shellcheck") {
        let out = Command::new("shellcheck")
            .args([SWEEP, MERGE, SWARM])
            .current_dir(root())
            .output()
            .expect("shellcheck runs");
        assert!(
            out.status.success(),
            "shellcheck:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
    } else {
        eprintln!("shellcheck is not on PATH: skipping it");
    }
}

fn run_script(script: &str, cwd: &Path, env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new("bash");
    cmd.arg(root().join(script)).current_dir(cwd);
    for var in [
        "SLURM_ARRAY_TASK_ID",
        "SLURM_ARRAY_TASK_MIN",
        "SLURM_ARRAY_TASK_COUNT",
        "SLURM_ARRAY_JOB_ID",
        "SLURM_JOB_DEPENDENCY",
        "JOB_COMPLETION_INDEX",
        "OUT",
        "SEEDS",
        "SCENARIOS",
        "SHARDS",
        "REPORT",
        "SWEEP_JOB_ID",
        "CHECK",
        "EXPECT",
        "BUDGET",
        "DEPTH",
        "STATES",
        "SLURM_CPUS_PER_TASK",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("COMMONCERT", env!("CARGO_BIN_EXE_commoncert"));
    cmd.envs(env.iter().copied());
    cmd.output().expect("bash runs")
}

/// The scripts without Slurm: four array tasks (ids 1..4, as `--array=1-4`
/// gives), each with its defaults for OUT, then the dependent merge finding
/// the folder through SLURM_JOB_DEPENDENCY.
#[test]
fn the_slurm_scripts_run_as_an_array_and_merge_locally() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("deploy-slurm-local");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let scenario = root().join("scenarios/fig3a-issue-and-qualify.toml");
    let scenario = scenario.to_str().unwrap();
    for id in ["1", "2", "3", "4"] {
        let out = run_script(
            SWEEP,
            &dir,
            &[
                ("SLURM_ARRAY_TASK_ID", id),
                ("SLURM_ARRAY_TASK_MIN", "1"),
                ("SLURM_ARRAY_TASK_COUNT", "4"),
                ("SLURM_ARRAY_JOB_ID", "77"),
                ("SEEDS", "0..8"),
                ("SCENARIOS", scenario),
            ],
        );
        assert!(
            out.status.success(),
            "task {id}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for i in 0..4 {
        assert!(
            dir.join(format!("results/77/shard-{i}.jsonl")).is_file(),
            "shard {i}"
        );
    }

    let merged = run_script(MERGE, &dir, &[("SLURM_JOB_DEPENDENCY", "afterany:77")]);
    let said = format!(
        "{}\n{}",
        String::from_utf8_lossy(&merged.stdout),
        String::from_utf8_lossy(&merged.stderr)
    );
    assert_eq!(merged.status.code(), Some(0), "{said}");
    let summary = std::fs::read_to_string(dir.join("results/77/merged/summary.json")).unwrap();
    let summary: serde_json::Value = serde_json::from_str(&summary).unwrap();
    assert_eq!(summary["pass"], true, "{summary}");
    assert_eq!(summary["runs"], 8, "{summary}");
    for file in ["junit.xml", "index.html"] {
        assert!(dir.join("results/77/merged").join(file).is_file(), "{file}");
    }

    // A lost shard: the merge still runs, names it and exits 2.
    std::fs::remove_file(dir.join("results/77/shard-2.jsonl")).unwrap();
    let merged = run_script(
        MERGE,
        &dir,
        &[("OUT", "results/77"), ("REPORT", "report-without-2")],
    );
    let said = format!(
        "{}\n{}",
        String::from_utf8_lossy(&merged.stdout),
        String::from_utf8_lossy(&merged.stderr)
    );
    assert_eq!(merged.status.code(), Some(2), "{said}");
    assert!(said.contains("shard 2 of 4: missing"), "{said}");

    // Outside an array the sweep refuses before running anything.
    let out = run_script(SWEEP, &dir, &[("SCENARIOS", scenario)]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("SLURM_ARRAY_TASK_COUNT"));
}

/// The swarm script without Slurm: two array tasks over members 0..6 of a
/// configuration with a deliberate defect, then the merge: it reports the
/// one distinct failure with the scenario file of its shortest
/// counterexample, and exits 1.
#[test]
fn the_swarm_script_runs_as_an_array_and_merges_locally() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("deploy-swarm-local");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for id in ["0", "1"] {
        let out = run_script(
            SWARM,
            &dir,
            &[
                ("SLURM_ARRAY_TASK_ID", id),
                ("SLURM_ARRAY_TASK_COUNT", "2"),
                ("SLURM_ARRAY_JOB_ID", "88"),
                ("CHECK", "--services 2 --attacker --defect skip-proof-check"),
                ("SEEDS", "0..6"),
                ("STATES", "2000"),
                ("DEPTH", "6..30"),
                ("BUDGET", "5m"),
            ],
        );
        // The defect is found: exit 1, with a complete shard file.
        assert_eq!(
            out.status.code(),
            Some(1),
            "task {id}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(dir.join(format!("results/88/shard-{id}.jsonl")).is_file());
    }
    let merged = run_script(
        MERGE,
        &dir,
        &[("SLURM_JOB_DEPENDENCY", "afterany:88"), ("SHARDS", "2")],
    );
    let said = String::from_utf8_lossy(&merged.stdout);
    assert_eq!(merged.status.code(), Some(1), "{said}");
    assert!(said.contains("6 runs"), "{said}");
    assert!(said.contains("no-impersonation violated"), "{said}");
    let summary = std::fs::read_to_string(dir.join("results/88/merged/summary.json")).unwrap();
    let summary: serde_json::Value = serde_json::from_str(&summary).unwrap();
    assert_eq!(summary["failures"].as_array().map(Vec::len), Some(1));
    let file = summary["failures"][0]["scenario_file"].as_str().unwrap();
    assert!(dir.join("results/88/merged").join(file).is_file(), "{file}");
}
