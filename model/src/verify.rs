//! The standard verification matrix and its committed expectations.
//!
//! `commoncert verify` (and `cargo run --release`) checks every configuration
//! of the matrix and compares each property's verdict with
//! `verification/expectations.toml`; any difference fails the run. The
//! expectations are the project's claims about the patent: which property
//! holds or breaks under which reading.

use crate::checker::PropertyResult;
use crate::checker::{CheckConfig, CheckReport, NetworkKind, Verdict, check};
use crate::config::{Presentation, Revocation};
use crate::counterexample::Event;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt::Write;

/// One configuration of the matrix with its expected verdicts.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expected {
    pub name: String,
    pub config: CheckConfig,
    /// property name -> "holds" | "violated" (for `sometimes`: "holds" = found).
    pub expect: BTreeMap<String, Verdict>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectations {
    #[serde(rename = "run")]
    pub runs: Vec<Expected>,
    /// The findings table (`reports/findings.md`): rows of the matrix paired.
    #[serde(default, rename = "finding")]
    pub findings: Vec<Finding>,
}

/// One finding: a property the patent as written breaks, the run that shows
/// it, and the run that shows what closes it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Finding {
    pub name: String,
    /// One line: what goes wrong.
    pub title: String,
    pub property: String,
    /// The run (by name) on the patent as written, where `property` breaks.
    pub patent: String,
    /// The run with the fix, where `property` holds (or, for a residual,
    /// still breaks: then `closed-by = "none"`).
    pub hardened: String,
    /// The hardening option(s) or mode that close it, or "none".
    pub closed_by: String,
    /// The scenario pair: the violation, then its hardened twin.
    pub scenarios: Vec<String>,
    #[serde(default)]
    pub note: String,
}

impl Finding {
    /// A residual: nothing in the project closes it.
    pub fn is_residual(&self) -> bool {
        self.closed_by == "none"
    }
}

impl Expectations {
    /// Parse an expectations file. Unknown keys in a run or its config are
    /// refused by the TOML reader with their line; an `expect` naming no
    /// property of the model is refused here with its line.
    pub fn parse(text: &str) -> Result<Self, String> {
        let exp: Expectations = toml::from_str(text).map_err(|e| e.to_string())?;
        let known = crate::properties::names();
        for f in &exp.findings {
            let run = |name: &str| exp.runs.iter().find(|r| r.name == name);
            let expect = |name: &str| {
                run(name)
                    .ok_or_else(|| format!("finding `{}`: no run named `{name}`", f.name))
                    .map(|r| r.expect.get(&f.property).copied())
            };
            if !known.contains(&f.property.as_str()) {
                return Err(format!(
                    "finding `{}`: unknown property `{}`",
                    f.name, f.property
                ));
            }
            if expect(&f.patent)? != Some(Verdict::Violated) {
                return Err(format!(
                    "finding `{}`: run `{}` must expect `{}` violated",
                    f.name, f.patent, f.property
                ));
            }
            let hardened = if f.is_residual() {
                Verdict::Violated
            } else {
                Verdict::Holds
            };
            if expect(&f.hardened)? != Some(hardened) {
                return Err(format!(
                    "finding `{}`: run `{}` must expect `{}` {}",
                    f.name,
                    f.hardened,
                    f.property,
                    verdict_word("always", hardened)
                ));
            }
            if f.scenarios.len() != 2 {
                return Err(format!(
                    "finding `{}`: expected `scenarios = [violation, hardened twin]`",
                    f.name
                ));
            }
        }
        for run in &exp.runs {
            for name in run.expect.keys() {
                if !known.contains(&name.as_str()) {
                    let line = line_of_key(text, &run.name, name).unwrap_or(0);
                    return Err(format!(
                        "line {line}: run `{}`: unknown property `{name}` (one of: {})",
                        run.name,
                        known.join(", ")
                    ));
                }
            }
        }
        Ok(exp)
    }
}

/// The 1-based line of `key = ...` in the run named `run` (after its name).
fn line_of_key(text: &str, run: &str, key: &str) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.trim() == format!("name = \"{run}\""))?;
    lines[start..]
        .iter()
        .position(|l| {
            l.trim_start()
                .strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map(|i| start + i + 1)
}

/// The standard matrix: online and push, each presentation mode, with and
/// without loss and attacker, N = 2 and 3. The bound on user actions is the
/// smallest that reaches each configuration's interesting behaviour (four for
/// a stale push acceptance) while keeping the whole matrix within minutes.
pub fn standard_matrix() -> Vec<(String, CheckConfig)> {
    let mut out = Vec::new();
    for revocation in [Revocation::Online, Revocation::Push] {
        for presentation in [Presentation::ProofOfPossession, Presentation::Bearer] {
            for lossy in [false, true] {
                for attacker in [false, true] {
                    for services in [2, 3] {
                        let actions = match (lossy, attacker) {
                            (false, false) => 4,
                            (true, true) => 2,
                            _ => 3,
                        };
                        let name = format!(
                            "{}-{}-{}-{}-n{services}",
                            match revocation {
                                Revocation::Online => "online",
                                Revocation::Push => "push",
                            },
                            match presentation {
                                Presentation::ProofOfPossession => "pop",
                                Presentation::Bearer => "bearer",
                            },
                            if lossy { "lossy" } else { "reliable" },
                            if attacker { "attacker" } else { "honest" },
                        );
                        out.push((
                            name,
                            CheckConfig {
                                services,
                                revocation,
                                presentation,
                                network: NetworkKind::Unordered,
                                lossy,
                                attacker,
                                actions,
                                ..CheckConfig::default()
                            },
                        ));
                    }
                }
            }
        }
    }
    for revocation in [Revocation::Online, Revocation::Push] {
        let mode = match revocation {
            Revocation::Online => "online",
            Revocation::Push => "push",
        };
        let base = CheckConfig {
            revocation,
            ..CheckConfig::default()
        };
        let mut row = |name: &str, f: &dyn Fn(&mut CheckConfig)| {
            let mut c = base.clone();
            f(&mut c);
            out.push((format!("{mode}-pop-{name}"), c));
        };
        // Fig. 11: a portal and two banks, so the statement flow is checked too.
        row("portal-n3", &|c| {
            c.services = 3;
            c.portal = true;
            c.actions = 4;
        });
        // T1: Fig. 5 and Fig. 6 as one table.
        row("t1-n2", &|c| {
            c.merged_tables = true;
            c.actions = 4;
        });
        // V2: one template per user; a curious service A replays it at B.
        row("v2-curious-n2", &|c| {
            c.biometric = true;
            c.curious_service = true;
            c.actions = 3;
        });
        // The same curious service under passwords: its replay is refused.
        row("password-curious-n2", &|c| {
            c.curious_service = true;
            c.actions = 3;
        });
        // V3: the CA inside the portal.
        row("v3-portal-n3", &|c| {
            c.services = 3;
            c.ca_in_portal = true;
            c.actions = 4;
        });
        // Concurrency: one user with two operations in flight (a use racing
        // an invalidation, a prohibition racing a use) ...
        row("c2-n2", &|c| {
            c.concurrency = 2;
            c.actions = 3;
        });
        row("c2-a4-n2", &|c| {
            c.concurrency = 2;
            c.actions = 4;
        });
        // ... and two users, two operations each in flight.
        row("u2-c2-n2", &|c| {
            c.users = 2;
            c.concurrency = 2;
            c.actions = 2;
        });
        // Crashes: a node may crash and restart from what it persisted.
        row("crash-n2", &|c| {
            c.crashes = 1;
            c.actions = 3;
        });
    }
    out
}

/// One configuration's result against its expectation.
#[derive(Debug)]
pub struct Outcome {
    pub name: String,
    pub report: CheckReport,
    /// (property, expected, actual) where they differ.
    pub differences: Vec<(String, Option<Verdict>, Verdict)>,
    /// With two or more users: the unique states of the same check under
    /// `--symmetry`, whose verdicts must equal the plain check's (a verdict
    /// that differs is listed in `differences` as `<property> (symmetry)`).
    pub symmetric_states: Option<usize>,
}

/// Check every configuration of `expectations`.
pub fn run(
    expectations: &Expectations,
    mut on_done: impl FnMut(&Outcome),
) -> Result<Vec<Outcome>, String> {
    let mut out = Vec::new();
    for e in &expectations.runs {
        let report = check(&e.config, |_| {}).map_err(|err| format!("{}: {err}", e.name))?;
        let mut differences = Vec::new();
        for p in &report.properties {
            let expected = e.expect.get(&p.name).copied();
            if expected != Some(p.verdict) {
                differences.push((p.name.clone(), expected, p.verdict));
            }
        }
        for name in e.expect.keys() {
            if !report.properties.iter().any(|p| &p.name == name) {
                differences.push((name.clone(), e.expect.get(name).copied(), Verdict::Unknown));
            }
        }
        // Symmetry is sound only if it changes no verdict: every row with
        // interchangeable users is checked both ways.
        let mut symmetric_states = None;
        if e.config.users >= 2 && !e.config.symmetry && e.config.malicious_service.is_none() {
            let sym = CheckConfig {
                symmetry: true,
                threads: 1,
                ..e.config.clone()
            };
            let reduced = check(&sym, |_| {}).map_err(|err| format!("{}: {err}", e.name))?;
            for p in &report.properties {
                let v = reduced.verdict(&p.name).unwrap_or(Verdict::Unknown);
                if v != p.verdict {
                    differences.push((format!("{} (symmetry)", p.name), Some(p.verdict), v));
                }
            }
            symmetric_states = Some(reduced.unique_states);
        }
        let o = Outcome {
            name: e.name.clone(),
            report,
            differences,
            symmetric_states,
        };
        on_done(&o);
        out.push(o);
    }
    Ok(out)
}

fn verdict_word(kind: &str, v: Verdict) -> &'static str {
    match (kind, v) {
        ("sometimes", Verdict::Holds) => "found",
        ("sometimes", Verdict::Violated) => "not found",
        (_, Verdict::Holds) => "holds",
        (_, Verdict::Violated) => "violated",
        (_, Verdict::Unknown) => "unknown",
    }
}

/// The findings table: per finding, the property and configuration, the
/// patent-mode verdict with its shortest counterexample, what closes it, and
/// the closed verdict with its state count. Generated from the matrix run,
/// never edited by hand; nothing in it depends on timing.
pub fn findings_markdown(exp: &Expectations, outcomes: &[Outcome]) -> String {
    let mut s = String::from(
        "# Findings

",
    );
    s.push_str(
        "Generated by `cargo run --release -- verify` from `verification/expectations.toml` \
         (`[[finding]]`); do not edit. Each row is a property the patent as written \
         (the project's reading of it) breaks, the shortest counterexample the \
         breadth-first search found, and the configuration that closes it, \
         checked exhaustively within the same bound. Each finding ships as a \
         scenario pair under `scenarios/findings/`: the violation, and its hardened \
         twin that passes.\n\n",
    );
    let outcome = |name: &str| outcomes.iter().find(|o| o.name == name);
    let _ = writeln!(
        s,
        "| finding | property | configuration (`commoncert check ...`) | patent | counterexample | closed by | closed | unique states | scenarios |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|");
    for f in &exp.findings {
        let (Some(p), Some(h)) = (outcome(&f.patent), outcome(&f.hardened)) else {
            continue;
        };
        let verdict = |o: &Outcome| {
            o.report
                .verdict(&f.property)
                .map_or("-", |v| verdict_word("always", v))
        };
        let steps = p
            .report
            .properties
            .iter()
            .find(|r| r.name == f.property)
            .map_or(0, |r| r.counterexample.len());
        let _ = writeln!(
            s,
            "| [{}](#{}) | `{}` | `{}` | {} | {} steps | {} | {} | {} | {} |",
            f.title,
            mermaid_id(&f.name),
            f.property,
            p.report.config.flags(),
            verdict(p),
            steps,
            if f.is_residual() {
                "none (residual)".to_string()
            } else {
                format!("`{}`", f.closed_by)
            },
            verdict(h),
            h.report.unique_states,
            f.scenarios
                .iter()
                .map(|x| format!("`{x}`"))
                .collect::<Vec<_>>()
                .join(", "),
        );
    }
    for f in &exp.findings {
        let (Some(p), Some(h)) = (outcome(&f.patent), outcome(&f.hardened)) else {
            continue;
        };
        let _ = writeln!(
            s,
            "\n## <a id=\"{}\"></a>{}\n",
            mermaid_id(&f.name),
            f.title
        );
        if !f.note.is_empty() {
            let _ = writeln!(s, "{}\n", f.note.trim());
        }
        // One run's line: its command, the property's verdict, its bound.
        let run = |lead: &str, o: &Outcome| {
            format!(
                "- {lead}: `commoncert check {}`: `{}` {} ({} unique states, {}).",
                o.report.config.flags(),
                f.property,
                o.report
                    .verdict(&f.property)
                    .map_or("-", |v| verdict_word("always", v)),
                o.report.unique_states,
                o.report.bound
            )
        };
        let closed_by = if f.is_residual() {
            "Closed by nothing here".to_string()
        } else {
            format!("Closed by `{}`", f.closed_by)
        };
        let _ = writeln!(s, "{}\n{}\n", run("Patent", p), run(&closed_by, h));
        if let Some(r) = p.report.properties.iter().find(|r| r.name == f.property) {
            s.push_str("The shortest counterexample on the patent as written:\n\n```text\n");
            for line in &r.counterexample {
                let _ = writeln!(s, "{line}");
            }
            s.push_str("```\n\n");
            s.push_str(&mermaid(r));
        }
    }
    s
}

/// A Mermaid sequence diagram of a counterexample: one arrow per event
/// (lost messages crossed, duplicates and crashes marked), the violating
/// event marked with what it sent, and what was still in flight as notes.
pub fn mermaid(p: &PropertyResult) -> String {
    let lines = &p.counterexample;
    let mut parts: Vec<&str> = Vec::new();
    for l in lines {
        for x in [&l.from, &l.to] {
            if !parts.contains(&x.as_str()) {
                parts.push(x);
            }
        }
    }
    let clean = |t: &str| t.replace([';', '#'], " ");
    let mut s = String::from("```mermaid\nsequenceDiagram\n");
    for x in &parts {
        let _ = writeln!(s, "    participant {}", mermaid_id(x));
    }
    let last = lines.len();
    let over_all = || {
        format!(
            "{},{}",
            parts.first().map(|x| mermaid_id(x)).unwrap_or_default(),
            parts.last().map(|x| mermaid_id(x)).unwrap_or_default()
        )
    };
    for (i, l) in lines.iter().enumerate() {
        if p.loop_from == Some(i) {
            let _ = writeln!(s, "    loop forever (a fair loop)");
        }
        let labels: Vec<&str> = l.steps.iter().map(|s| s.label()).collect();
        let text = clean(&format!(
            "{}. {}{}",
            i + 1,
            l.message,
            if labels.is_empty() {
                String::new()
            } else {
                format!(" [{}]", labels.join(", "))
            }
        ));
        let arrow = match l.event {
            Event::Lost => "-x",
            Event::Crash | Event::Restart => "-)",
            _ => "->>",
        };
        let (from, to) = (mermaid_id(&l.from), mermaid_id(&l.to));
        let _ = writeln!(s, "    {from}{arrow}{to}: {text}");
        if l.event == Event::Crash {
            let _ = writeln!(s, "    Note over {to}: crashed: memory lost, storage kept");
        }
        if i + 1 == last && p.kind == "always" {
            for sent in &l.sent {
                let _ = writeln!(
                    s,
                    "    Note over {to}: VIOLATION of {}: sends {}",
                    p.name,
                    clean(sent)
                );
            }
        }
    }
    match p.loop_from {
        Some(k) if k < last => {
            let _ = writeln!(s, "    end");
        }
        Some(_) => {
            let _ = writeln!(
                s,
                "    Note over {}: {} never comes: the run stays here forever (nothing weakly fair is enabled)",
                over_all(),
                p.name
            );
        }
        None => {}
    }
    if !p.in_flight.is_empty() {
        let _ = writeln!(
            s,
            "    Note over {}: still in flight: {}",
            over_all(),
            clean(&p.in_flight.join(" / "))
        );
    }
    s.push_str("```\n");
    s
}

fn mermaid_id(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// `reports/verification.md`: the matrix's verdicts (one column per
/// property of any row, `-` where a row does not check it), its step
/// coverage, and the counterexamples.
pub fn markdown(outcomes: &[Outcome], total_seconds: f64) -> String {
    let mut s = String::from("# Verification matrix\n\n");
    let unique: usize = outcomes.iter().map(|o| o.report.unique_states).sum();
    let _ = writeln!(
        s,
        "Generated by `cargo run --release -- verify` against `verification/expectations.toml`: \
         {} configurations, {unique} unique states in all, {total_seconds:.1} s. \
         Each row's bound (users, actions per user, operations in flight) is in its columns; \
         \"holds\" means holds within that bound (the search was complete). \
         Rows with two users were also checked under `--symmetry` (users interchangeable), \
         with the same verdicts; the reduced state count is in parentheses.\n",
        outcomes.len()
    );
    let mut props: Vec<String> = Vec::new();
    for o in outcomes {
        for p in &o.report.properties {
            if !props.contains(&p.name) {
                props.push(p.name.clone());
            }
        }
    }
    let _ = writeln!(
        s,
        "| configuration | users | actions | in flight | unique states | seconds | {} | as expected |",
        props.join(" | ")
    );
    let _ = writeln!(
        s,
        "|---|---|---|---|---|---|{}---|",
        "---|".repeat(props.len())
    );
    for o in outcomes {
        let cells: Vec<&str> = props
            .iter()
            .map(|name| {
                o.report
                    .properties
                    .iter()
                    .find(|p| &p.name == name)
                    .map_or("-", |p| verdict_word(p.kind, p.verdict))
            })
            .collect();
        let c = &o.report.config;
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {:.2} | {} | {} |",
            o.name,
            c.users,
            c.actions,
            c.concurrency.max(1),
            match o.symmetric_states {
                Some(n) => format!("{} ({n})", o.report.unique_states),
                None => o.report.unique_states.to_string(),
            },
            o.report.seconds,
            cells.join(" | "),
            if o.differences.is_empty() {
                "yes"
            } else {
                "**NO**"
            }
        );
    }
    s.push_str(
        "\n## Step coverage\n\nHow many explored transitions realised each label of `shared/flows.md`, \
         summed over the matrix, and in how many configurations it was reached.\n\n\
         | label | transitions | configurations |\n|---|---|---|\n",
    );
    for step in crate::step::Step::ALL {
        let counts: Vec<u64> = outcomes
            .iter()
            .map(|o| o.report.coverage.get(step).copied().unwrap_or(0))
            .collect();
        let _ = writeln!(
            s,
            "| {} | {} | {} of {} |",
            step.label(),
            counts.iter().sum::<u64>(),
            counts.iter().filter(|n| **n > 0).count(),
            outcomes.len()
        );
    }
    s.push_str("\n## Counterexamples\n\nA shortest counterexample per violated property and configuration (breadth-first, first discovery): each arrow is an event with the step labels it realised; a crossed arrow a lost message; the last event is the violation, with what it sent; what was still in flight at the end is a note.\n");
    for o in outcomes {
        for p in o
            .report
            .properties
            .iter()
            .filter(|p| p.kind != "sometimes" && p.verdict == Verdict::Violated)
        {
            let _ = writeln!(s, "\n### {} — `{}`\n", o.name, p.name);
            s.push_str(&mermaid(p));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_expectations_file_with_an_unknown_key_is_refused_with_its_line() {
        let good = "[[run]]\nname = \"r\"\n[run.config]\nactions = 1\n[run.expect]\nunique-serials = \"holds\"\n";
        assert!(Expectations::parse(good).is_ok());
        let bad_property = good.replace("unique-serials", "unique-serial");
        let e = Expectations::parse(&bad_property).expect_err("refused");
        assert!(
            e.starts_with("line 6:") && e.contains("unique-serial"),
            "{e}"
        );
        let bad_config = good.replace("actions = 1", "actoins = 1");
        let e = Expectations::parse(&bad_config).expect_err("refused");
        assert!(e.contains("line 4") && e.contains("actoins"), "{e}");
        let bad_verdict = good.replace("\"holds\"", "\"maybe\"");
        assert!(Expectations::parse(&bad_verdict).is_err());
    }

    #[test]
    fn the_mermaid_diagram_marks_the_violation_and_what_was_in_flight() {
        let r = check(
            &CheckConfig {
                revocation: Revocation::Push,
                actions: 4,
                ..CheckConfig::default()
            },
            |_| {},
        )
        .expect("runs");
        let p = r
            .properties
            .iter()
            .find(|p| p.name == "revoked-never-accepted")
            .expect("listed");
        let m = mermaid(p);
        assert!(
            m.contains("Note over") && m.contains("VIOLATION of revoked-never-accepted: sends"),
            "{m}"
        );
        assert!(
            m.contains("still in flight: ") && m.contains("Revocation"),
            "{m}"
        );
        // Every row of the report's table has as many cells as its header.
        let o = Outcome {
            name: "push".into(),
            report: r,
            differences: Vec::new(),
            symmetric_states: None,
        };
        let md = markdown(std::slice::from_ref(&o), 1.0);
        let table: Vec<&str> = md.lines().filter(|l| l.starts_with("| ")).collect();
        let cells = |l: &str| l.matches('|').count();
        assert!(table.iter().all(|l| cells(l) == cells(table[0])
            || l.starts_with("| label")
            || l.starts_with("| P")
            || l.starts_with("| S")));
        assert!(md.contains("## Step coverage"));
    }

    /// A lost message is crossed out on its way to its own receiver: the
    /// CRL the CA loses on its way to service A is `CA-xA`, whatever lanes
    /// lie between them.
    #[test]
    fn the_mermaid_diagram_crosses_a_lost_message_at_its_receiver() {
        let r = check(
            &CheckConfig {
                revocation: Revocation::Push,
                lossy: true,
                liveness: true,
                ..CheckConfig::default()
            },
            |_| {},
        )
        .expect("runs");
        let p = r
            .properties
            .iter()
            .find(|p| p.name == "invalidation-reaches-all")
            .expect("listed");
        let m = mermaid(p);
        let lost: Vec<_> = p
            .counterexample
            .iter()
            .enumerate()
            .filter(|(_, l)| l.event == Event::Lost)
            .collect();
        assert!(
            lost.iter()
                .any(|(_, l)| l.from == "CA" && l.to == "A" && l.message.starts_with("Revocation")),
            "{m}"
        );
        for (i, l) in lost {
            let arrow = format!(
                "    {}-x{}: {}. ",
                mermaid_id(&l.from),
                mermaid_id(&l.to),
                i + 1
            );
            assert!(m.contains(&arrow), "{arrow} not in\n{m}");
        }
    }

    #[test]
    fn the_committed_expectations_parse() {
        let text = include_str!("../../verification/expectations.toml");
        let exp = Expectations::parse(text).expect("valid");
        // Every configuration of the standard matrix is there, as generated;
        // the adversary, hardening and liveness rows come on top.
        for (name, config) in standard_matrix() {
            let run = exp.runs.iter().find(|r| r.name == name);
            assert_eq!(run.map(|r| &r.config), Some(&config), "{name}");
        }
        assert!(!exp.findings.is_empty());
    }

    /// Prints the matrix's verdicts as expectations TOML (development aid:
    /// every line must be reviewed against the claims before it is committed).
    #[test]
    #[ignore]
    fn print_matrix_verdicts() {
        let mut out = String::new();
        let defaults = toml::Table::try_from(CheckConfig::default()).expect("serialises");
        for (name, config) in standard_matrix() {
            let r = check(&config, |_| {}).expect("valid");
            let _ = writeln!(out, "[[run]]\nname = \"{name}\"\n[run.config]");
            let table = toml::Table::try_from(&config).expect("serialises");
            for (k, v) in &table {
                // Only what differs from the defaults, and always the modes.
                if defaults.get(k) != Some(v)
                    || ["services", "revocation", "presentation", "actions"].contains(&k.as_str())
                {
                    let _ = writeln!(out, "{k} = {v}");
                }
            }
            let _ = writeln!(out, "[run.expect]");
            for p in &r.properties {
                let _ = writeln!(
                    out,
                    "{} = \"{}\"",
                    p.name,
                    match p.verdict {
                        Verdict::Holds => "holds",
                        Verdict::Violated => "violated",
                        Verdict::Unknown => "unknown",
                    }
                );
            }
            let _ = writeln!(
                out,
                "# {} unique states, {:.2}s\n",
                r.unique_states, r.seconds
            );
            eprintln!("{name}: {:.2}s", r.seconds);
        }
        std::fs::write("/tmp/matrix.toml", out).expect("write");
    }
}
