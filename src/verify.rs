//! `commoncert verify`: the standard matrix against the committed expectations.

use commoncert_model::verify::{
    Expectations, finding_faults, findings_markdown, markdown, run as run_matrix,
};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Check the matrix of `expectations` and write its report to every path of
/// `reports`; 0 when every verdict is as expected.
pub fn run(expectations: &Path, reports: &[PathBuf]) -> i32 {
    let text = match std::fs::read_to_string(expectations) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {}: {e}", expectations.display());
            return 2;
        }
    };
    let exp = match Expectations::parse(&text) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {}: {e}", expectations.display());
            return 2;
        }
    };
    println!(
        "== verification matrix ({} configurations) ==",
        exp.runs.len()
    );
    let bar = crate::cli::progress_bar(true);
    bar.set_length(exp.runs.len() as u64);
    let start = Instant::now();
    let mut replay_failures: Vec<String> = Vec::new();
    let mut replayed = 0usize;
    let outcomes = run_matrix(&exp, |o| {
        // Every counterexample replays in the simulator to the same violation.
        let (n, failed) = commoncert_sim::emit::replay_counterexamples(&o.name, &o.report);
        replayed += n;
        replay_failures.extend(failed);
        bar.suspend(|| {
            let status = if o.differences.is_empty() {
                "ok  "
            } else {
                "DIFF"
            };
            println!(
                "{status} {:<36} unique {:>8}  {:>6.2}s",
                o.name, o.report.unique_states, o.report.seconds
            );
            for (p, expected, actual) in &o.differences {
                println!("     {p}: expected {expected:?}, got {actual:?}");
            }
        });
        bar.inc(1);
    });
    bar.finish_and_clear();
    let outcomes = match outcomes {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let seconds = start.elapsed().as_secs_f64();
    let text = markdown(&outcomes, seconds);
    let findings = findings_markdown(&exp, &outcomes);
    for report in reports {
        if let Some(dir) = report.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        // The findings table goes beside each report.
        for (path, text) in [
            (report.clone(), &text),
            (report.with_file_name("findings.md"), &findings),
        ] {
            match std::fs::write(&path, text) {
                Ok(()) => println!("wrote {}", path.display()),
                Err(e) => eprintln!("warning: {}: {e}", path.display()),
            }
        }
    }
    let differing = outcomes
        .iter()
        .filter(|o| !o.differences.is_empty())
        .count();
    for f in &replay_failures {
        println!("REPLAY FAILED {f}");
    }
    // A finding must be what its counterexample shows.
    let faults = finding_faults(&exp, &outcomes);
    for f in &faults {
        println!("FINDING {f}");
    }
    println!(
        "{} configurations, {differing} differ from the expectations; {replayed} counterexamples replayed in the simulator, {} failed; {seconds:.1}s",
        outcomes.len(),
        replay_failures.len()
    );
    if differing == 0 && replay_failures.is_empty() && faults.is_empty() {
        0
    } else {
        1
    }
}
