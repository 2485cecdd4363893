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
use crate::counterexample::{Event, Line};
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
    /// Whose fault: a flaw of the patent as written, or of one of the
    /// project's hardenings (then `patent` runs with it on).
    #[serde(default)]
    pub of: Origin,
    /// What the shortest counterexample must show harmed.
    pub harm: Harm,
    /// How it comes about: what the counterexample must contain.
    pub mechanism: Vec<Mechanism>,
    /// Further explanation, written only of what `harm` and `mechanism`
    /// show and of what closes it.
    #[serde(default)]
    pub note: String,
}

/// Whose flaw a finding is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    #[default]
    Patent,
    Hardening,
}

/// The harm a finding's counterexample shows: a message some event sends
/// (a grant, a deletion's OK, a link's grant, an issuance) that hurts a
/// party other than the adversary.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Harm {
    /// Who is harmed: a user or an honest service (never the adversary).
    pub victim: String,
    /// What it suffers, in words ("its certificate invalidated").
    pub what: String,
    /// The harmful message, `from -> to: text`, `*` standing for any text:
    /// some event of the counterexample sends it. None only for a liveness
    /// finding, whose harm is the awaited thing never happening (`what`).
    #[serde(default)]
    pub sends: Option<String>,
}

/// One part of how a finding comes about.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Mechanism {
    pub kind: MechanismKind,
    /// The message (`from -> to: text`, `*` for any text) for `lost`,
    /// `in-flight` and `delivered`, the party for `timeout`, the party and
    /// what it chooses (`party: text`) for `choice`.
    pub event: String,
    /// For `before`: the delivery that must come later.
    #[serde(default)]
    pub then: Option<String>,
    /// In words, for the title and the note.
    pub what: String,
}

/// What kind of event a mechanism is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MechanismKind {
    /// The message is lost on the way.
    Lost,
    /// The message is still in flight when the harm happens.
    InFlight,
    /// The party's timer fires.
    Timeout,
    /// The party chooses a move (an adversary's, or a user's operation).
    Choice,
    /// The message is delivered.
    Delivered,
    /// `event` is delivered before `then` (a race).
    Before,
}

/// Whether `text` matches `pattern`, whose `*` stand for any text.
fn matches_pattern(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    for (i, part) in parts.iter().enumerate() {
        if i + 1 == parts.len() {
            return rest.ends_with(part);
        }
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.is_empty()
}

impl Finding {
    /// The title, written from the declared harm and mechanism.
    pub fn title(&self) -> String {
        let how: Vec<&str> = self.mechanism.iter().map(|m| m.what.as_str()).collect();
        let mut t = format!("{}: {}", self.harm.victim, self.harm.what);
        if !how.is_empty() {
            let _ = write!(t, ", after {}", how.join(", then "));
        }
        t
    }

    /// What the counterexample `p` lacks of this finding's declared harm
    /// and mechanism (empty: it shows all of them).
    pub fn missing_in(&self, p: &PropertyResult) -> Vec<String> {
        let line = |l: &Line| format!("{} -> {}: {}", l.from, l.to, l.message);
        let mut missing = Vec::new();
        match &self.harm.sends {
            Some(harm) => {
                let harmed = p
                    .counterexample
                    .iter()
                    .any(|l| l.sent.iter().any(|s| matches_pattern(harm, s)));
                if !harmed {
                    missing.push(format!("harm: no event sends `{harm}`"));
                }
            }
            None if p.loop_from.is_none() => {
                missing.push("harm: only a liveness lasso may leave `sends` out".into());
            }
            None => {}
        }
        let delivered_at = |pattern: &str| {
            p.counterexample.iter().position(|l| {
                matches!(l.event, Event::Deliver | Event::Duplicate)
                    && matches_pattern(pattern, &line(l))
            })
        };
        for m in &self.mechanism {
            let found = match m.kind {
                MechanismKind::Lost => p.counterexample.iter().any(|l| {
                    l.event == Event::Lost
                        && matches_pattern(
                            &m.event,
                            &format!(
                                "{} -> {}: {}",
                                l.from,
                                l.to,
                                l.message.trim_end_matches(" (lost)")
                            ),
                        )
                }),
                MechanismKind::InFlight => p.in_flight.iter().any(|f| matches_pattern(&m.event, f)),
                MechanismKind::Timeout => p
                    .counterexample
                    .iter()
                    .any(|l| l.event == Event::Timeout && l.from == m.event),
                MechanismKind::Choice => p.counterexample.iter().any(|l| {
                    l.event == Event::Choice
                        && matches_pattern(&m.event, &format!("{}: {}", l.from, l.message))
                }),
                MechanismKind::Delivered => delivered_at(&m.event).is_some(),
                MechanismKind::Before => match (delivered_at(&m.event), m.then.as_deref()) {
                    (Some(first), Some(then)) => {
                        delivered_at(then).is_some_and(|second| first < second)
                    }
                    _ => false,
                },
            };
            if !found {
                missing.push(format!(
                    "mechanism ({:?}): `{}` ({})",
                    m.kind, m.event, m.what
                ));
            }
        }
        missing
    }
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

/// Words a note may use only when the finding declares the mechanism
/// they name, so that a note cannot promise what its trace lacks.
const MECHANISM_WORDS: &[(&str, MechanismKind)] = &[
    ("lost", MechanismKind::Lost),
    ("loss", MechanismKind::Lost),
    ("in flight", MechanismKind::InFlight),
    ("timer fires", MechanismKind::Timeout),
    ("times out", MechanismKind::Timeout),
    ("overtake", MechanismKind::Before),
];

/// What is wrong with the findings against the matrix's outcomes: a patent
/// run's counterexample that lacks the finding's declared harm or
/// mechanism, a note that names a mechanism not declared, a harm done to
/// the adversary itself. `verify` fails on any.
pub fn finding_faults(exp: &Expectations, outcomes: &[Outcome]) -> Vec<String> {
    let mut faults = Vec::new();
    for f in &exp.findings {
        let result = outcomes
            .iter()
            .find(|o| o.name == f.patent)
            .and_then(|o| o.report.properties.iter().find(|r| r.name == f.property));
        let Some(result) = result else {
            faults.push(format!(
                "finding `{}`: run `{}` has no `{}` result",
                f.name, f.patent, f.property
            ));
            continue;
        };
        for m in f.missing_in(result) {
            faults.push(format!(
                "finding `{}`: its counterexample lacks the {m}",
                f.name
            ));
        }
        let note = f.note.to_lowercase();
        for (word, kind) in MECHANISM_WORDS {
            if note.contains(word) && !f.mechanism.iter().any(|m| m.kind == *kind) {
                faults.push(format!(
                    "finding `{}`: the note says `{word}`, but no `{kind:?}` mechanism is declared",
                    f.name
                ));
            }
        }
    }
    faults
}

/// The findings report: two tables (the patent's flaws, then the
/// hardenings' own), each row with its configuration and what closes it,
/// then per finding its declared harm and mechanism, both runs, and the
/// shortest counterexample, which `finding_faults` has checked contains
/// them. Generated from the matrix run, never edited by hand; nothing in it
/// depends on timing.
pub fn findings_markdown(exp: &Expectations, outcomes: &[Outcome]) -> String {
    let mut s = String::from("# Findings\n\n");
    s.push_str(
        "Generated by `cargo run --release -- verify` from `verification/expectations.toml` \
         (`[[finding]]`); do not edit. Each finding names the harm its shortest \
         counterexample shows and how it comes about; `verify` checks the counterexample \
         against both, and the titles are written from them. \"holds\" means holds \
         exhaustively within the bound given. Each finding ships as a scenario pair \
         under `scenarios/findings/`: the violation, and its hardened twin that passes.\n",
    );
    let outcome = |name: &str| outcomes.iter().find(|o| o.name == name);
    for (origin, heading) in [
        (Origin::Patent, "Findings of the patent as written"),
        (Origin::Hardening, "Findings of the project's hardenings"),
    ] {
        let _ = writeln!(s, "\n## {heading}\n");
        let _ = writeln!(
            s,
            "| finding | property | configuration (`commoncert check ...`) | counterexample | closed by | closed | unique states |"
        );
        let _ = writeln!(s, "|---|---|---|---|---|---|---|");
        for f in exp.findings.iter().filter(|f| f.of == origin) {
            let (Some(p), Some(h)) = (outcome(&f.patent), outcome(&f.hardened)) else {
                continue;
            };
            let steps = p
                .report
                .properties
                .iter()
                .find(|r| r.name == f.property)
                .map_or(0, |r| r.counterexample.len());
            let _ = writeln!(
                s,
                "| [{}](#{}) | `{}` | `{}` | {} steps | {} | {} | {} |",
                f.title(),
                mermaid_id(&f.name),
                f.property,
                p.report.config.flags(),
                steps,
                if f.is_residual() {
                    "none (residual)".to_string()
                } else {
                    format!("`{}`", f.closed_by)
                },
                h.report
                    .verdict(&f.property)
                    .map_or("-", |v| verdict_word("always", v)),
                h.report.unique_states,
            );
        }
    }
    for f in &exp.findings {
        let (Some(p), Some(h)) = (outcome(&f.patent), outcome(&f.hardened)) else {
            continue;
        };
        finding_section(&mut s, f, p, h);
    }
    s
}

/// One finding's section of the report.
fn finding_section(s: &mut String, f: &Finding, p: &Outcome, h: &Outcome) {
    let _ = writeln!(
        s,
        "\n## <a id=\"{}\"></a>{}\n",
        mermaid_id(&f.name),
        f.title()
    );
    let _ = match &f.harm.sends {
        Some(sends) => writeln!(
            s,
            "- Harm to {}: {}: `{sends}`.",
            f.harm.victim, f.harm.what
        ),
        None => writeln!(s, "- Harm to {}: {}.", f.harm.victim, f.harm.what),
    };
    for m in &f.mechanism {
        let _ = writeln!(s, "- Mechanism ({:?}): {}: `{}`.", m.kind, m.what, m.event);
    }
    let _ = writeln!(
        s,
        "- Scenarios: {}.\n",
        f.scenarios
            .iter()
            .map(|x| format!("`{x}`"))
            .collect::<Vec<_>>()
            .join(", ")
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
    let lead = match f.of {
        Origin::Patent => "Patent",
        Origin::Hardening => "With the hardening",
    };
    let _ = writeln!(s, "{}\n{}\n", run(lead, p), run(&closed_by, h));
    if let Some(r) = p.report.properties.iter().find(|r| r.name == f.property) {
        let _ = writeln!(
            s,
            "The shortest counterexample (`{}`):\n\n```text",
            p.report.config.flags()
        );
        for line in &r.counterexample {
            let _ = writeln!(s, "{line}");
        }
        s.push_str("```\n\n");
        s.push_str(&mermaid(r));
    }
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
            || l.starts_with("| S")
            || l.starts_with("| V")));
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

    /// A finding is refused when its counterexample lacks the harm or the
    /// mechanism it declares, or its note names a mechanism it does not
    /// declare; the true declaration passes.
    #[test]
    fn a_finding_whose_trace_lacks_its_mechanism_is_refused() {
        let text = r#"
[[run]]
name = "patent"
[run.config]
actions = 3
lossy = true
[run.expect]
one-certificate-per-user = "violated"

[[run]]
name = "fixed"
[run.config]
actions = 3
lossy = true
harden = ["one-per-subject"]
[run.expect]
one-certificate-per-user = "holds"

[[finding]]
name = "retry"
property = "one-certificate-per-user"
patent = "patent"
hardened = "fixed"
closed-by = "one-per-subject"
scenarios = ["a.toml", "b.toml"]
harm = { victim = "u0", what = "a second certificate", sends = "CA -> A: Issued(*" }
mechanism = [{ kind = "timeout", event = "u0", what = "u0's timer fires" }]
"#;
        let exp = Expectations::parse(text).expect("valid");
        let outcomes = run(&exp, |_| {}).expect("runs");
        assert_eq!(finding_faults(&exp, &outcomes), Vec::<String>::new());
        // The shortest counterexample loses nothing: a planted loss is refused.
        let planted = text.replace(
            r#"{ kind = "timeout", event = "u0", what = "u0's timer fires" }"#,
            r#"{ kind = "lost", event = "CA -> A: Issued(*", what = "the CA's answer is lost" }"#,
        );
        let exp = Expectations::parse(&planted).expect("valid");
        let faults = finding_faults(&exp, &outcomes);
        assert!(
            faults.len() == 1 && faults[0].contains("lacks the mechanism (Lost)"),
            "{faults:?}"
        );
        // A harm the trace does not show is refused.
        let planted = text.replace("CA -> A: Issued(*", "CA -> B: Issued(*");
        let exp = Expectations::parse(&planted).expect("valid");
        let faults = finding_faults(&exp, &outcomes);
        assert!(
            faults.iter().any(|f| f.contains("lacks the harm")),
            "{faults:?}"
        );
        // A note that promises a loss the finding does not declare.
        let planted = text.replace(
            r#"scenarios = ["a.toml", "b.toml"]"#,
            "scenarios = [\"a.toml\", \"b.toml\"]\nnote = \"The answer is lost.\"",
        );
        let exp = Expectations::parse(&planted).expect("valid");
        let faults = finding_faults(&exp, &outcomes);
        assert!(
            faults.iter().any(|f| f.contains("says `lost`")),
            "{faults:?}"
        );
    }

    #[test]
    fn matching_patterns_take_any_text_for_a_star() {
        assert!(matches_pattern(
            "CA -> C: Answer(#*, OK)",
            "CA -> C: Answer(#12, OK)"
        ));
        assert!(!matches_pattern(
            "CA -> C: Answer(#*, OK)",
            "CA -> C: Answer(#12, NG)"
        ));
        assert!(matches_pattern(
            "B -> u0: Granted(*",
            "B -> u0: Granted(#1, OwnTable)"
        ));
        assert!(!matches_pattern(
            "B -> u0: Granted(*",
            "A -> u0: Granted(#1, OwnTable)"
        ));
        assert!(matches_pattern("u0", "u0"));
        assert!(!matches_pattern("u0", "u01"));
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
