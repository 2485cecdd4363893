//! The command: PASS/FAIL exit codes, --json, --report, --export-pki, --seeds.

mod common;

use common::{args, data, scratch};
use commoncert_sim::cli;

#[test]
fn passing_and_failing_runs_give_exit_codes_0_and_1() {
    assert_eq!(cli::run(&args(&[&data("fig3a.toml")])), 0);
    let mut a = args(&[&data("lossy.toml")]);
    a.seed = Some(1); // this seed's losses differ from the file's expectations
    assert_eq!(cli::run(&a), 1);
}

#[test]
fn report_writes_every_file() {
    let dir = scratch("report");
    let mut a = args(&[&data("")]);
    a.report = Some(dir.clone());
    assert_eq!(cli::run(&a), 0);
    for f in ["index.html", "junit.xml", "coverage.json"] {
        assert!(dir.join(f).is_file(), "{f}");
    }
    for name in [
        "test-fig3a",
        "test-push-stale",
        "test-ca-crash",
        "test-lossy",
    ] {
        for f in ["trace.json", "report.md", "report.html"] {
            assert!(dir.join(name).join(f).is_file(), "{name}/{f}");
        }
    }
    let html = std::fs::read_to_string(dir.join("test-push-stale/report.html")).unwrap_or_default();
    assert!(html.contains("<svg"));
    assert!(html.contains("lost (partition)"));
    let crash = std::fs::read_to_string(dir.join("test-ca-crash/report.html")).unwrap_or_default();
    assert!(crash.contains("CRASH"));
    let md = std::fs::read_to_string(dir.join("test-fig3a/report.md")).unwrap_or_default();
    assert!(md.contains("```mermaid\nsequenceDiagram"));
    let junit = std::fs::read_to_string(dir.join("junit.xml")).unwrap_or_default();
    assert_eq!(junit.matches("<testcase ").count(), 4);
    let cov: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("coverage.json")).unwrap_or_default(),
    )
    .unwrap_or_default();
    let lines = cov.as_array().cloned().unwrap_or_default();
    assert_eq!(lines.len(), commoncert_model::step::Step::ALL.len());
    // Never-realised first.
    let counts: Vec<u64> = lines.iter().filter_map(|l| l["count"].as_u64()).collect();
    let first_realised = counts.iter().position(|c| *c > 0).unwrap_or(counts.len());
    assert!(counts[first_realised..].iter().all(|c| *c > 0));
}

#[test]
fn export_pki_writes_pem_that_openssl_verifies() {
    let dir = scratch("pki");
    let text = std::fs::read_to_string(data("fig3a.toml")).unwrap_or_default();
    // Valid for ten years from the virtual epoch (2025-01-01), so that a
    // verification at today's date succeeds.
    let long = text.replace(
        "seed = 7\n",
        "seed = 7\n\n[config]\nvalidity_ms = 315360000000\n",
    );
    let file = dir.join("long.toml");
    std::fs::write(&file, long).unwrap_or_else(|e| panic!("{e}"));
    let out = dir.join("out");
    let mut a = args(&[&file]);
    a.export_pki = Some(out.clone());
    assert_eq!(cli::run(&a), 0);
    assert!(out.join("ca.pem").is_file());
    assert!(out.join("crl.pem").is_file());
    let status = std::process::Command::new("openssl")
        .arg("verify")
        .arg("-CAfile")
        .arg(out.join("ca.pem"))
        .arg(out.join("u31.pem"))
        .output();
    match status {
        Ok(o) => assert!(
            o.status.success(),
            "openssl verify: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => panic!("openssl is required for this test: {e}"),
    }
}

#[test]
fn json_summary_and_swarm_run() {
    let mut a = args(&[&data("push-stale.toml")]);
    a.json = true;
    assert_eq!(cli::run(&a), 0);
    let mut a = args(&[&data("ca-crash.toml"), &data("push-stale.toml")]);
    a.seeds = Some("0..8".into());
    a.json = true;
    // Swarm never forgives an unexpected invariant violation, but tolerates
    // fault-dependent outcomes; these scenarios hold under any faults.
    assert_eq!(cli::run(&a), 0);
}

#[test]
fn replay_all_runs_a_folder() {
    assert!(matches!(cli::replay_all(&data("")), Ok(true)));
    assert!(cli::replay_all(std::path::Path::new("/nonexistent")).is_err());
}

/// A small workload file named `name` with `revocation`, in `dir`.
fn small_workload(dir: &std::path::Path, name: &str, revocation: &str) -> std::path::PathBuf {
    let text = format!(
        "name = \"{name}\"\nseed = 3\n\n[config]\nrevocation = \"{revocation}\"\n\n\
[config.network]\nlatency_ms = [1, 20]\n\n\
[workload]\nusers = 50\nservices = 3\nrate = 20.0\nduration_ms = 20000\nkeep_events = 50\n"
    );
    let file = dir.join(format!("{name}.toml"));
    std::fs::write(&file, text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    file
}

#[test]
fn compare_runs_two_workloads_side_by_side_and_writes_the_overlay() {
    let dir = scratch("compare");
    let push = small_workload(&dir, "small-push", "push");
    let online = small_workload(&dir, "small-online", "online");
    let out = dir.join("report");
    let mut a = args(&[&push, &online]);
    a.compare = true;
    a.report = Some(out.clone());
    assert_eq!(cli::run(&a), 0);
    let read = |p: &std::path::Path| {
        std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    };
    let page = read(&out.join("compare.html"));
    for name in ["small-push", "small-online"] {
        assert!(page.contains(&format!("<a href=\"{name}/report.html\">{name}</a>")));
        // Each run's own report, with its own charts and figures.
        let own = read(&out.join(name).join("report.html"));
        assert!(own.contains("<h2 id=\"figures\">Workload figures</h2>"));
        assert!(own.contains("The diagram shows only the first 50 of"));
        for (file, _) in commoncert_sim::charts::CATALOGUE {
            assert!(own.contains(&format!("<img src=\"charts/{file}\"")));
            assert!(read(&out.join(name).join("charts").join(file)).starts_with("<svg"));
        }
    }
    // The overlay: every chart names both runs.
    for (file, _) in commoncert_sim::charts::CATALOGUE {
        assert!(page.contains(&format!("<img src=\"charts/{file}\"")));
        let svg = read(&out.join("charts").join(file));
        assert!(svg.starts_with("<svg"), "{file}");
        assert!(
            svg.contains("small-push") && svg.contains("small-online"),
            "{file}"
        );
    }
    assert!(page.contains("notifications pushed / lost"));
    assert!(read(&out.join("compare.md")).contains("| figure | small-push | small-online |"));
    assert!(read(&out.join("index.html")).contains("<a href=\"compare.html\">"));

    // The side-by-side text: a header naming both runs, a row per figure.
    let runs: Vec<_> = [&push, &online]
        .iter()
        .map(|f| {
            let sc = commoncert_sim::scenario::load(f).unwrap_or_else(|e| panic!("{e}"));
            common::run(&sc, sc.seed)
        })
        .collect();
    let text = cli::compare_lines(&runs);
    let mut lines = text.lines();
    let head = lines.next().unwrap_or_default();
    assert!(
        head.contains("small-push") && head.contains("small-online"),
        "{text}"
    );
    assert!(text.contains("exposure p50 / p99 / max"), "{text}");
    // Online pushes nothing.
    let pushed = text
        .lines()
        .find(|l| l.starts_with("notifications pushed / lost"))
        .unwrap_or_default();
    assert!(pushed.trim_end().ends_with("0 / 0"), "{pushed}");
}

#[test]
fn compare_refuses_a_file_without_a_workload_and_a_single_file() {
    let dir = scratch("compare-refused");
    let push = small_workload(&dir, "small-push", "push");
    let mut a = args(&[&push, &data("fig3a.toml")]);
    a.compare = true;
    assert_eq!(cli::run(&a), 2);
    let fig3a =
        commoncert_sim::scenario::load(&data("fig3a.toml")).unwrap_or_else(|e| panic!("{e}"));
    let workload = commoncert_sim::scenario::load(&push).unwrap_or_else(|e| panic!("{e}"));
    let errors = cli::check_comparable(&[workload.clone(), fig3a]).expect_err("refused");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("fig3a.toml: no [workload] table"),
        "{}",
        errors[0]
    );
    // One file is not a comparison.
    let mut a = args(&[&push]);
    a.compare = true;
    assert_eq!(cli::run(&a), 2);
    let errors = cli::check_comparable(&[workload]).expect_err("refused");
    assert!(errors[0].contains("at least two"), "{}", errors[0]);
}
