//! The command line as users call it: exit codes, JSON, the Explorer.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn commoncert() -> Command {
    Command::new(env!("CARGO_BIN_EXE_commoncert"))
}

#[test]
fn check_json_has_the_documented_shape_and_exit_code() {
    let out = commoncert()
        .args(["check", "--presentation", "bearer", "--attacker", "--json"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1), "a violated property exits 1");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    for key in [
        "config",
        "unique_states",
        "total_states",
        "max_depth",
        "seconds",
        "states_per_second",
        "properties",
        "coverage",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    let props = v["properties"].as_array().expect("array");
    let imp = props
        .iter()
        .find(|p| p["name"] == "no-impersonation")
        .expect("listed");
    assert_eq!(imp["kind"], "always");
    assert_eq!(imp["verdict"], "violated");
    assert_eq!(imp["expected"], false, "no --expect-violated named it");
    let ce = imp["counterexample"].as_array().expect("array");
    assert!(!ce.is_empty());
    assert!(ce[0].get("from").is_some() && ce[0].get("steps").is_some());
    assert!(
        v["coverage"].get("S20-4").is_some(),
        "labels as flows.md writes them"
    );
}

#[test]
fn check_text_prints_verdicts_counterexamples_and_coverage() {
    let out = commoncert()
        .args(["check", "--revocation", "push", "--actions", "4"])
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    assert!(text.contains("revoked-never-accepted"));
    assert!(text.contains("counterexample for revoked-never-accepted"));
    assert!(text.contains("step coverage"));
    assert!(text.contains("[S13, V1]"), "{text}");
}

#[test]
fn expected_violations_exit_0_and_anything_else_exits_1() {
    // one-certificate-per-user is the patent's own finding (S5).
    let run = |extra: &[&str]| {
        let mut args = vec!["check", "--actions", "2"];
        args.extend_from_slice(extra);
        commoncert().args(&args).output().expect("runs")
    };
    let out = run(&["--expect-violated", "one-certificate-per-user"]);
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("summary: violated as expected: one-certificate-per-user"),
        "{err}"
    );
    // The verdict line itself says the violation was expected; without the
    // flag the same line is a plain VIOLATED.
    let line = "always     one-certificate-per-user       VIOLATED";
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("{line} (expected)\n")), "{text}");
    let plain = run(&[]);
    let text = String::from_utf8_lossy(&plain.stdout);
    assert!(text.contains(&format!("{line}\n")), "{text}");
    assert!(!text.contains("(expected)"), "{text}");
    // In --json, the property says so.
    let json = run(&["--expect-violated", "one-certificate-per-user", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("one JSON object");
    for p in v["properties"].as_array().expect("array") {
        assert_eq!(
            p["expected"],
            p["name"] == "one-certificate-per-user",
            "{}",
            p["name"]
        );
    }
    // Expecting more than is violated, or nothing, is a difference.
    assert_eq!(
        run(&[
            "--expect-violated",
            "one-certificate-per-user,unique-serials"
        ])
        .status
        .code(),
        Some(1)
    );
    assert_eq!(run(&[]).status.code(), Some(1));
    // Not a property: a bad flag.
    assert_eq!(
        run(&["--expect-violated", "no-such-thing"]).status.code(),
        Some(2)
    );
}

#[test]
fn emitted_counterexamples_replay_in_the_simulator_to_the_same_violation() {
    let dir = std::env::temp_dir().join(format!("commoncert-emit-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = commoncert()
        .args([
            "check",
            "--presentation",
            "bearer",
            "--attacker",
            "--expect-violated",
            "no-impersonation,one-certificate-per-user,no-relay",
            "--emit-scenarios",
        ])
        .arg(&dir)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let file = dir.join("counterexample-no-impersonation.toml");
    let text = std::fs::read_to_string(&file).expect("written");
    assert!(text.contains("schedule = \"scripted\"") && text.contains("do = \"impersonate\""));
    let sim = commoncert().arg("sim").arg(&dir).output().expect("runs");
    let stdout = String::from_utf8_lossy(&sim.stdout);
    assert_eq!(sim.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("PASS counterexample-no-impersonation"),
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--clock-jumps`: time passes, the new verdicts are in the JSON and in
/// the flags a report repeats, and an emitted jump replays as a `wait`.
#[test]
fn clock_jumps_judge_expiry_and_replay_as_waits() {
    let dir = std::env::temp_dir().join(format!("commoncert-clock-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = commoncert()
        .args([
            "check",
            "--actions",
            "2",
            "--clock-jumps",
            "1",
            "--defect",
            "ignore-expiry",
            "--json",
            "--emit-scenarios",
        ])
        .arg(&dir)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["config"]["clock-jumps"], 1);
    let verdict = |name: &str| {
        v["properties"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == name))
            .map(|p| p["verdict"].clone())
    };
    assert_eq!(verdict("expired-never-accepted"), Some("violated".into()));
    assert_eq!(
        verdict("expired-refused"),
        Some("violated".into()),
        "not found"
    );
    let text = std::fs::read_to_string(dir.join("counterexample-expired-never-accepted.toml"))
        .expect("written");
    assert!(text.contains("--clock-jumps 1") && text.contains("do = \"wait\""));
    let sim = commoncert().arg("sim").arg(&dir).output().expect("runs");
    let stdout = String::from_utf8_lossy(&sim.stdout);
    assert_eq!(sim.status.code(), Some(0), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_limit_stops_the_run_cleanly_with_unknown_verdicts_and_exit_3() {
    for limit in [["--max-states", "40"], ["--depth", "3"]] {
        let out = commoncert()
            .args(["check", "--actions", "3"])
            .args(limit)
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(3), "{limit:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("unknown ("), "{text}");
    }
    // A budget below what the process already uses stops at once.
    let out = commoncert()
        .args(["check", "--actions", "3", "--max-memory", "1M"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(3));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("stopped at --max-memory"), "{text}");
    let out = commoncert()
        .args(["check", "--max-memory", "lots"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn progress_goes_to_stderr_when_it_is_not_a_terminal() {
    // Long enough to report at least once (every two seconds).
    let out = commoncert()
        .args(["check", "--services", "3", "--lossy", "--actions", "3"])
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("progress: states"), "{err}");
    assert!(err.contains("MiB"), "{err}");
}

#[test]
fn bad_flags_exit_2() {
    for args in [
        vec!["check", "--services", "1"],
        vec!["check", "--revocation", "sometimes"],
        vec!["check", "--bogus"],
        vec!["check", "--clock-jumps", "21"],
        vec!["check", "--clock-jumps", "-1"],
    ] {
        let out = commoncert().args(&args).output().expect("runs");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!out.stderr.is_empty());
    }
}

#[test]
fn pki_export_is_accepted_by_openssl() {
    let dir = std::env::temp_dir().join(format!("commoncert-cli-pki-{}", std::process::id()));
    let out = commoncert()
        .args(["pki", "--seed", "3", "--out"])
        .arg(&dir)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verify = Command::new("openssl")
        .arg("verify")
        .arg("-CAfile")
        .arg(dir.join("ca.pem"))
        .arg(dir.join("u0.pem"))
        .output()
        .expect("openssl is installed (CI installs it)");
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
    let _ = std::fs::remove_dir_all(dir);
}

fn get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    Some(body)
}

#[test]
fn explore_serves_the_explorer_on_loopback() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let mut child = commoncert()
        .args([
            "explore",
            "--revocation",
            "push",
            "--addr",
            &format!("127.0.0.1:{port}"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut index = None;
    while Instant::now() < deadline {
        if let Some(body) = get(port, "/") {
            index = Some(body);
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = get(port, "/.status");
    // The initial state and the first choices: names, labels, no ids.
    let init = get(port, "/.states");
    let first = get(port, "/.states/0");
    let _ = child.kill();
    let _ = child.wait();
    let index = index.expect("the Explorer answered");
    assert!(index.starts_with("HTTP/1.1 200"), "{index}");
    let status = status.expect("/.status answered");
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    assert!(
        status.contains("unique_state_count") || status.contains("done"),
        "{status}"
    );
    // The page names what it explores by its check flags, not by a type.
    let flags = "check --services 2 --revocation push --actions 2";
    assert!(
        status.contains(&format!("\"model\":\"{flags}\"")),
        "{status}"
    );
    assert!(
        index.contains(&format!("<title>{flags} - Stateright Explorer</title>")),
        "{index}"
    );
    let init = init.expect("/.states answered");
    // (the state is a JSON string inside the JSON answer: quotes escaped)
    assert!(
        init.contains("\\\"u0\\\"") && init.contains("\\\"CA\\\""),
        "{init}"
    );
    assert!(!init.contains("Id("), "{init}");
    let first = first.expect("/.states/0 answered");
    assert!(first.contains("u0 chooses issue at A"), "{first}");
    assert!(first.contains("STEPS: [S1]"), "{first}");
    assert!(!first.contains("Id("), "{first}");
}

/// Sharding through the real binary: the index from a Kubernetes Indexed
/// Job's `JOB_COMPLETION_INDEX`, a merge that names a shard never run, and
/// an index out of range refused naming the variable. (Here rather than in
/// `sim/tests/shards.rs`: only the root package's tests get a binary Cargo
/// has just built.)
#[test]
fn sim_shards_take_the_index_from_kubernetes_and_merge_names_a_missing_shard() {
    let root = std::env::temp_dir().join(format!("commoncert-shards-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let out = root.join("out");
    let dir = env!("CARGO_MANIFEST_DIR");
    let files = [
        format!("{dir}/scenarios/fig3a-issue-and-qualify.toml"),
        format!("{dir}/scenarios/push-stale-acceptance.toml"),
    ];
    for i in 0..3 {
        let run = commoncert()
            .arg("sim")
            .args(&files)
            .args(["--seeds", "0..6", "--shards", "3", "--out"])
            .arg(&out)
            .env_remove("SLURM_ARRAY_TASK_ID")
            .env("JOB_COMPLETION_INDEX", i.to_string())
            .output()
            .expect("the binary runs");
        assert_eq!(run.status.code(), Some(0), "{run:?}");
        assert!(out.join(format!("shard-{i}.jsonl")).is_file());
    }
    let merged = commoncert()
        .arg("merge")
        .arg(&out)
        .args(["--expect-shards", "3"])
        .output()
        .expect("the binary runs");
    let stdout = String::from_utf8_lossy(&merged.stdout);
    assert_eq!(merged.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("12 runs"), "{stdout}");
    let missing = commoncert()
        .arg("merge")
        .arg(&out)
        .args(["--expect-shards", "4"])
        .output()
        .expect("the binary runs");
    let stdout = String::from_utf8_lossy(&missing.stdout);
    assert_eq!(missing.status.code(), Some(2), "{stdout}");
    assert!(stdout.contains("shard 3 of 4: missing"), "{stdout}");
    let refused = commoncert()
        .arg("sim")
        .args(&files)
        .args(["--seeds", "0..6", "--shards", "3"])
        .env_remove("SLURM_ARRAY_TASK_ID")
        .env("JOB_COMPLETION_INDEX", "3")
        .output()
        .expect("the binary runs");
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("JOB_COMPLETION_INDEX"));
    let _ = std::fs::remove_dir_all(&root);
}

/// `check --swarm` end to end: two shards from Slurm's variables, their
/// union equal to one unsharded swarm, a merge that reports the distinct
/// failure with its shortest counterexample's scenario file, and that file
/// replayed by the simulator to the same violation.
#[test]
fn swarm_shards_merge_into_one_failure_whose_scenario_replays() {
    let root = std::env::temp_dir().join(format!("commoncert-swarm-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let swarm = |out: &std::path::Path, extra: &[&str], env: Option<(&str, &str)>| {
        let mut cmd = commoncert();
        cmd.args([
            "check",
            "--attacker",
            "--defect",
            "skip-proof-check",
            "--expect-violated",
            "one-certificate-per-user",
            "--swarm",
            "--swarm-seeds",
            "0..6",
            "--swarm-depth",
            "6..30",
            "--max-states",
            "2000",
            "--out",
        ])
        .arg(out)
        .args(extra)
        .env_remove("SLURM_ARRAY_TASK_ID")
        .env_remove("SLURM_ARRAY_TASK_COUNT")
        .env_remove("JOB_COMPLETION_INDEX");
        if let Some((k, v)) = env {
            cmd.env(k, v);
        }
        cmd.output().expect("the binary runs")
    };
    let whole = swarm(&root.join("whole"), &[], None);
    let stdout = String::from_utf8_lossy(&whole.stdout);
    // The defect is found: exit 1, and the verdict says only what it can.
    assert_eq!(whole.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("no-impersonation               VIOLATED\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("one-certificate-per-user       VIOLATED (expected)\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("none found (which proves nothing)"),
        "{stdout}"
    );
    assert!(stdout.contains("the shortest the swarm found"), "{stdout}");
    for i in ["0", "1"] {
        let run = swarm(
            &root.join("sharded"),
            &["--shards", "2"],
            Some(("SLURM_ARRAY_TASK_ID", i)),
        );
        assert_eq!(run.status.code(), Some(1), "{run:?}");
    }
    let merge = |dir: &str, report: Option<&std::path::Path>| {
        let mut cmd = commoncert();
        cmd.arg("merge").arg(root.join(dir));
        if let Some(r) = report {
            cmd.arg("--report").arg(r);
        }
        cmd.output().expect("the binary runs")
    };
    let report = root.join("report");
    let sharded = merge("sharded", Some(&report));
    let whole = merge("whole", None);
    let text = String::from_utf8_lossy(&sharded.stdout);
    assert_eq!(sharded.status.code(), Some(1), "{text}");
    assert_eq!(
        text,
        String::from_utf8_lossy(&whole.stdout).replace("1 shard files", "2 shard files")
    );
    assert!(text.contains("6 runs"), "{text}");
    assert!(text.contains("no-impersonation violated"), "{text}");
    assert!(text.contains("shortest counterexample found"), "{text}");
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(report.join("summary.json")).expect("written"),
    )
    .expect("JSON");
    let failure = &summary["failures"][0];
    let file = failure["scenario_file"].as_str().expect("a scenario file");
    let replay = failure["replay"].as_str().expect("a replay");
    assert!(replay.contains("--swarm-seeds"), "{replay}");
    let sim = commoncert()
        .arg("sim")
        .arg(report.join(file))
        .output()
        .expect("the binary runs");
    let out = String::from_utf8_lossy(&sim.stdout);
    assert_eq!(sim.status.code(), Some(0), "{out}");
    assert!(out.contains("PASS swarm-no-impersonation-seed-"), "{out}");
    let _ = std::fs::remove_dir_all(&root);
}
