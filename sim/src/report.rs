//! Reports of a set of runs: per run `trace.json`, `report.md` (outcome
//! table and a Mermaid sequence diagram) and `report.html` (with an SVG
//! sequence diagram drawn here); over all runs `index.html`, `junit.xml` and
//! `coverage.json` (which step labels were realised, how often,
//! never-realised first).
//!
//! A workload run (one with [`crate::metrics::Summary`]) also gets its
//! figures as tables and its charts ([`crate::charts`]) as SVG files in
//! `charts/` beside its report, which both reports link (files rather than
//! inline SVG, so that each chart can be opened, linked and checked on its
//! own). Its trace keeps only its first events (`keep_events`), and the
//! sequence diagram says so. [`write_compare`] adds `compare.html` and
//! `compare.md`: several workload runs side by side, their charts overlaid.
//!
//! Everything put into HTML or XML goes through [`escape`].
//!
//! A run that shows exactly the violations its file expects (`[expect]
//! violations`, a known finding reproduced) passes, but it is not a run where
//! every property held: the reports give it its own badge naming each
//! violated property ([`Verdict::Expected`]), and the sequence diagram marks
//! the event that broke each property. Times are virtual milliseconds
//! ([`crate::clock::Time`]) and every `t=` says so.

use crate::charts::{self, Labelled};
use crate::metrics::{Percentiles, Summary};
use crate::sim::{Run, Violation};
use crate::trace::{Event, Kind};
use commoncert_model::step::Step as Label;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// A file or folder name made of `[A-Za-z0-9._-]` only, never empty, never
/// starting with a dot (the same rule as the PKI export's file names).
pub fn file_stem(name: &str) -> String {
    commoncert_model::x509::sanitise_file_stem(name)
}

/// Escape text for HTML and XML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // XML 1.0 forbids most control characters even escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

/// One line of the coverage report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CoverageLine {
    pub label: String,
    pub count: usize,
    pub description: String,
}

/// Step coverage over `runs`: every label of `Step::ALL`, never-realised
/// first, each group in catalogue order.
pub fn coverage(runs: &[Run]) -> Vec<CoverageLine> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for r in runs {
        for (label, n) in r.coverage() {
            *counts.entry(label).or_default() += n;
        }
    }
    let line = |s: &Label| CoverageLine {
        label: s.label().to_string(),
        count: counts.get(s.label()).copied().unwrap_or(0),
        description: s.description().to_string(),
    };
    let mut lines: Vec<CoverageLine> = Label::ALL
        .iter()
        .map(line)
        .filter(|l| l.count == 0)
        .collect();
    lines.extend(Label::ALL.iter().map(line).filter(|l| l.count > 0));
    lines
}

/// The folder name of each run: the scenario's name, with the seed when
/// one scenario ran under several seeds.
fn run_dirs(runs: &[Run]) -> Vec<String> {
    runs.iter()
        .map(|r| {
            let several = runs.iter().filter(|o| o.name == r.name).count() > 1;
            if several {
                format!("{}-seed{}", file_stem(&r.name), r.seed)
            } else {
                file_stem(&r.name)
            }
        })
        .collect()
}

/// How a run reads at a glance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every expectation met and no property violated.
    Pass,
    /// Every expectation met, and the properties named (each once, in the
    /// order first broken) were violated as the file expects: a finding
    /// reproduced. Not a plain PASS, so nobody reads it as "all properties
    /// held".
    Expected(Vec<String>),
    /// Every expectation met, and the properties named were violated after a
    /// fault, as the file's `[expect] under_faults` allows (a swarm run, or
    /// a workload on a lossy network): the run passes, but not with every
    /// property held, so it is not a plain PASS either.
    Tolerated(Vec<String>),
    /// An expectation not met, or a violation the file does not expect.
    Fail,
}

/// Whether the run tolerated `v`: a finding its file declares under
/// `[expect] under_faults`, shown after a fault. The engine then lists it
/// under `tolerated`, in the words it would have used for a failure.
fn tolerated(run: &Run, v: &Violation) -> bool {
    let prefix = format!("invariant {} violated at event {} ", v.property, v.event);
    !v.expected && run.tolerated.iter().any(|f| f.message.starts_with(&prefix))
}

/// How the run judged violation `v`: `expected`, `tolerated` or `UNEXPECTED`.
fn judgement(run: &Run, v: &Violation) -> &'static str {
    if v.expected {
        "expected"
    } else if tolerated(run, v) {
        "tolerated"
    } else {
        "UNEXPECTED"
    }
}

impl Verdict {
    /// The verdict of `run`. A violation neither expected nor tolerated is
    /// a failure even if the run's own verdict were to say otherwise.
    pub fn of(run: &Run) -> Verdict {
        if !run.pass
            || run
                .violations
                .iter()
                .any(|v| judgement(run, v) == "UNEXPECTED")
        {
            return Verdict::Fail;
        }
        let names = |expected: bool| {
            let mut names: Vec<String> = Vec::new();
            for v in run.violations.iter().filter(|v| v.expected == expected) {
                if !names.contains(&v.property) {
                    names.push(v.property.clone());
                }
            }
            names
        };
        let (expected, tolerated) = (names(true), names(false));
        if !expected.is_empty() {
            Verdict::Expected(expected)
        } else if !tolerated.is_empty() {
            Verdict::Tolerated(tolerated)
        } else {
            Verdict::Pass
        }
    }

    /// The badge's text: `PASS`, `FAIL`, `expected violation: a, b` or
    /// `PASS, tolerated after faults: a`.
    pub fn text(&self) -> String {
        match self {
            Verdict::Pass => "PASS".to_string(),
            Verdict::Fail => "FAIL".to_string(),
            Verdict::Expected(names) => format!(
                "expected violation{}: {}",
                if names.len() > 1 { "s" } else { "" },
                names.join(", ")
            ),
            Verdict::Tolerated(names) => {
                format!("PASS, tolerated after faults: {}", names.join(", "))
            }
        }
    }

    /// The CSS class of the badge (see [`CSS`]).
    fn class(&self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Expected(_) => "expected",
            Verdict::Tolerated(_) => "tolerated",
        }
    }

    /// The badge as HTML, escaped.
    fn badge(&self) -> String {
        format!(
            "<span class=\"badge {}\">{}</span>",
            self.class(),
            escape(&self.text())
        )
    }
}

/// Write every report for `runs` into `dir` (created if missing).
pub fn write_all(dir: &Path, runs: &[Run]) -> std::io::Result<()> {
    write_reports(dir, runs, false)
}

/// Write every report for `runs` into `dir`, as [`write_all`], plus
/// `compare.html` and `compare.md`: the workload runs' key figures side by
/// side and their charts overlaid (in `dir/charts/`), one colour per run.
pub fn write_compare(dir: &Path, runs: &[Run]) -> std::io::Result<()> {
    write_reports(dir, runs, true)?;
    let dirs = run_dirs(runs);
    let labelled: Vec<Labelled<'_>> = runs
        .iter()
        .filter_map(|r| {
            r.metrics.as_ref().map(|m| Labelled {
                label: &r.name,
                summary: m,
            })
        })
        .collect();
    write_charts(&dir.join(CHARTS_DIR), &charts::charts(&labelled))?;
    std::fs::write(dir.join("compare.html"), compare_html(runs, &dirs))?;
    std::fs::write(dir.join("compare.md"), compare_markdown(runs, &dirs))?;
    Ok(())
}

/// The folder, beside a report, that holds its charts.
pub const CHARTS_DIR: &str = "charts";

fn write_charts(dir: &Path, drawn: &[charts::Chart]) -> std::io::Result<()> {
    if drawn.is_empty() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)?;
    for c in drawn {
        std::fs::write(dir.join(c.file), &c.svg)?;
    }
    Ok(())
}

/// The charts of one run: none without workload figures.
pub fn run_charts(run: &Run) -> Vec<charts::Chart> {
    match &run.metrics {
        Some(m) => charts::charts(&[Labelled {
            label: &run.name,
            summary: m,
        }]),
        None => Vec::new(),
    }
}

fn write_reports(dir: &Path, runs: &[Run], compare: bool) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let dirs = run_dirs(runs);
    for (run, sub) in runs.iter().zip(&dirs) {
        let d = dir.join(sub);
        std::fs::create_dir_all(&d)?;
        let trace = serde_json::json!({
            "name": run.name,
            "file": run.file,
            "seed": run.seed,
            "profile": run.profile,
            "trace_hash": run.trace_hash,
            "events_total": run.events,
            "events": run.trace.events,
        });
        std::fs::write(
            d.join("trace.json"),
            serde_json::to_string_pretty(&trace).map_err(std::io::Error::other)?,
        )?;
        std::fs::write(d.join("report.md"), markdown(run))?;
        std::fs::write(d.join("report.html"), html(run))?;
        write_charts(&d.join(CHARTS_DIR), &run_charts(run))?;
    }
    let cov = coverage(runs);
    std::fs::write(
        dir.join("coverage.json"),
        serde_json::to_string_pretty(&cov).map_err(std::io::Error::other)?,
    )?;
    std::fs::write(
        dir.join("index.html"),
        index_page(runs, &dirs, &cov, compare),
    )?;
    std::fs::write(dir.join("junit.xml"), junit(runs))?;
    Ok(())
}

fn outcome_rows(run: &Run) -> Vec<[String; 6]> {
    run.steps
        .iter()
        .map(|s| {
            [
                s.number.to_string(),
                s.line.to_string(),
                s.action.clone(),
                s.expected.clone().unwrap_or_else(|| "-".into()),
                s.actual.clone().unwrap_or_else(|| "-".into()),
                if s.pass {
                    "ok".into()
                } else {
                    "DIFFERS".into()
                },
            ]
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Markdown + Mermaid
// ---------------------------------------------------------------------------

/// Mermaid message text: no `;`, `#` or line breaks, which it would parse.
fn mermaid_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '#' => out.push_str("#35;"),
            ';' => out.push_str("#59;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The Markdown report of one run.
pub fn markdown(run: &Run) -> String {
    let mut m = String::new();
    let _ = writeln!(m, "# {} ({})\n", run.name, Verdict::of(run).text());
    if !run.description.is_empty() {
        let _ = writeln!(m, "{}\n", run.description);
    }
    let _ = writeln!(
        m,
        "File `{}`, seed {}, {} events, trace `{}`.\n",
        run.file.display(),
        run.seed,
        run.events,
        run.trace_hash
    );
    if let Some(p) = &run.profile {
        let _ = writeln!(m, "Swarm fault profile: {p}.\n");
    }
    let _ = writeln!(m, "Replay: `{}`\n", run.replay_command());
    let _ = writeln!(
        m,
        "| step | line | action | expected | actual | |\n|---|---|---|---|---|---|"
    );
    for r in outcome_rows(run) {
        let _ = writeln!(m, "| {} |", r.map(|c| c.replace('|', "\\|")).join(" | "));
    }
    if !run.failures.is_empty() {
        let _ = writeln!(m, "\n## What differed\n");
        for f in &run.failures {
            let _ = writeln!(m, "- {}", f.message);
        }
    }
    if !run.tolerated.is_empty() {
        let _ = writeln!(
            m,
            "\n## Tolerated after faults (swarm, or a workload's own losses)\n"
        );
        for f in &run.tolerated {
            let _ = writeln!(m, "- {}", f.message);
        }
    }
    if !run.violations.is_empty() {
        let _ = writeln!(m, "\n## Invariant violations\n");
        for v in &run.violations {
            let _ = writeln!(
                m,
                "- `{}` at event {} (t={} ms), {}",
                v.property,
                v.event,
                v.time,
                judgement(run, v)
            );
        }
    }
    if let Some(metrics) = &run.metrics {
        m.push_str(&figures_markdown(metrics));
    }
    let _ = writeln!(m, "\n## Sequence\n");
    if let Some(note) = partial_trace_note(run) {
        let _ = writeln!(m, "{note}\n");
    }
    let _ = writeln!(m, "```mermaid\nsequenceDiagram");
    let parties = drawn_parties(run);
    for (i, p) in parties.iter().enumerate() {
        let _ = writeln!(m, "    participant p{i} as {}", mermaid_text(p));
    }
    let alias = |name: &str| {
        parties
            .iter()
            .position(|p| p == name)
            .map(|i| format!("p{i}"))
    };
    let everyone = format!("p0,p{}", parties.len().saturating_sub(1));
    let hot = violations_by_event(run);
    for e in &run.trace.events {
        let labels = if e.steps.is_empty() {
            String::new()
        } else {
            format!(" [{}]", e.steps.join(" "))
        };
        let text = mermaid_text(&format!("{}{labels}", e.what));
        let (from, to) = (alias(&e.from), alias(&e.to));
        let line = match (e.kind, from, to) {
            (Kind::Delivered, Some(f), Some(t)) => format!("{f}->>{t}: {text}"),
            (Kind::Duplicated, Some(f), Some(t)) => format!("{f}->>{t}: (copy) {text}"),
            (Kind::Dropped, Some(f), Some(t)) => {
                let why = e
                    .reason
                    .map(|r| format!("{r:?}").to_lowercase())
                    .unwrap_or_default();
                format!("{f}-x{t}: lost ({why}) {text}")
            }
            (Kind::Start, Some(f), Some(t)) if f != t => {
                format!("Note over {f},{t}: step {} {text}", cause(e))
            }
            (Kind::Crash, Some(f), _) => format!("Note over {f}: CRASH"),
            (Kind::Restart, Some(f), _) => format!("Note over {f}: restart{labels}"),
            (Kind::Timer, Some(f), _) => format!("Note over {f}: {text}"),
            (_, Some(f), _) => format!("Note over {f}: {text}"),
            _ => format!("Note over {everyone}: step {} {text}", cause(e)),
        };
        match hot.get(&e.index) {
            // The violating event in a red band with a note naming what it broke.
            Some(vs) => {
                let _ = writeln!(
                    m,
                    "    rect rgb(255, 221, 221)\n    {line}\n    Note over {everyone}: {}\n    end",
                    mermaid_text(&violation_marker(run, vs))
                );
            }
            None => {
                let _ = writeln!(m, "    {line}");
            }
        }
    }
    let _ = writeln!(m, "```");
    m
}

/// The parties a sequence diagram draws a lane for: all of them, in node
/// order, except for a workload (a thousand users would make a diagram
/// hundreds of thousands of pixels wide), which gets only the parties its
/// kept events name, still in node order.
fn drawn_parties(run: &Run) -> Vec<String> {
    if run.metrics.is_none() && run.trace.is_complete() {
        return run.parties.clone();
    }
    let named: std::collections::BTreeSet<&str> = run
        .trace
        .events
        .iter()
        .flat_map(|e| [e.from.as_str(), e.to.as_str()])
        .collect();
    run.parties
        .iter()
        .filter(|p| named.contains(p.as_str()))
        .cloned()
        .collect()
}

fn cause(e: &Event) -> String {
    e.cause.map_or("-".to_string(), |c| c.to_string())
}

/// The run's violations by the index of the trace event that broke them.
fn violations_by_event(run: &Run) -> BTreeMap<usize, Vec<&Violation>> {
    let mut by: BTreeMap<usize, Vec<&Violation>> = BTreeMap::new();
    for v in &run.violations {
        by.entry(v.event).or_default().push(v);
    }
    by
}

/// What a violating event broke, for the diagram's marker:
/// `violates no-impersonation (expected), no-relay (UNEXPECTED)`.
fn violation_marker(run: &Run, vs: &[&Violation]) -> String {
    let names: Vec<String> = vs
        .iter()
        .map(|v| format!("{} ({})", v.property, judgement(run, v)))
        .collect();
    format!("violates {}", names.join(", "))
}

/// The anchor of trace event `index` in a run's HTML report.
fn event_anchor(index: usize) -> String {
    format!("event-{index}")
}

// ---------------------------------------------------------------------------
// HTML + SVG
// ---------------------------------------------------------------------------

const CSS: &str = "body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}\
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left}\
.pass{color:#080;font-weight:bold}.fail{color:#b00;font-weight:bold}\
.expected{color:#7a4500;background:#ffe9c7;font-weight:bold}\
.tolerated{color:#444;background:#eeeeee;font-weight:bold}\
.badge{display:inline-block;padding:.1em .5em;border-radius:.3em;border:1px solid currentColor;font-size:.8em;vertical-align:middle}\
code{background:#f4f4f4}svg text{font-family:ui-monospace,monospace;font-size:11px}";

/// Advance of one character of the diagram's 11 px monospace font, rounded
/// up (DejaVu Sans Mono and the usual monospace faces advance 0.6 em, 6.6
/// px), so a label sized with it never spills out of its box.
const CHAR_W: i64 = 7;
/// The longest lane label drawn whole. A longer party name is cut with `…`
/// and shown whole in the lane's `<title>` tooltip, so one long name cannot
/// push every lane off the page.
const LABEL_MAX_CHARS: usize = 28;
/// Room inside a lane box on either side of its label, together.
const BOX_PAD: i64 = 16;
/// The narrowest lane box, and the narrowest distance between lifelines.
const MIN_BOX: i64 = 120;
const MIN_COL: i64 = 170;
/// The least space between two neighbouring lane boxes.
const MIN_GAP: i64 = 24;
/// Space left of the first lane box.
const MARGIN: i64 = 30;
const ROW: i64 = 26;
/// Extra height of a violating event's row: the line naming what it broke.
const MARK: i64 = 16;
const TOP: i64 = 50;
/// How far short of its receiver's lifeline a lost message's X is drawn:
/// clear of that lifeline, and far nearer it than any other ([`MIN_COL`]).
const LOST_SHORT: i64 = 14;

/// Where the lanes go: every box as wide as the widest label needs,
/// lifelines far enough apart that neighbouring boxes keep [`MIN_GAP`], and
/// the first lifeline far enough right that no row's text starts left of
/// the picture.
struct Lanes {
    /// The label drawn in each lane (cut to [`LABEL_MAX_CHARS`]).
    labels: Vec<String>,
    box_w: i64,
    /// Distance between neighbouring lifelines.
    col: i64,
    /// The first lifeline's x.
    left: i64,
}

impl Lanes {
    fn new(parties: &[String]) -> Lanes {
        let labels: Vec<String> = parties.iter().map(|p| lane_label(p)).collect();
        let longest = labels.iter().map(|l| text_w(l)).max().unwrap_or(0);
        let box_w = (longest + BOX_PAD).max(MIN_BOX);
        Lanes {
            labels,
            box_w,
            col: (box_w + MIN_GAP).max(MIN_COL),
            left: box_w / 2 + MARGIN,
        }
    }

    fn x(&self, lane: usize) -> i64 {
        self.left + self.col * lane as i64
    }

    /// Where `shape`'s text starts and ends, given its label's width.
    fn span(&self, shape: Shape, w: i64) -> (i64, i64) {
        let centred = |c: i64| (c - w / 2, c + w / 2);
        match shape {
            Shape::Arrow { from, to, .. } => centred((self.x(from) + self.x(to)) / 2),
            Shape::Lost { from, to } => {
                let (x1, xm) = self.lost(from, to);
                centred((x1 + xm) / 2)
            }
            Shape::Crash(l) | Shape::Restart(l) => (self.x(l) + 12, self.x(l) + 12 + w),
            Shape::Note { lane, .. } => (self.x(lane) + 10, self.x(lane) + 10 + w),
            Shape::Everyone => (self.left - 40, self.left - 40 + w),
        }
    }

    /// A lost message's line: from the sender towards the receiver, to the
    /// X just short of the receiver's lifeline. An X halfway would sit on a
    /// middle party's lifeline when the receiver is two lanes away, and read
    /// as sent to that party.
    fn lost(&self, from: usize, to: usize) -> (i64, i64) {
        let (x1, x2) = (self.x(from), self.x(to));
        (
            x1,
            if x1 == x2 {
                x1 + 40
            } else {
                x2 - LOST_SHORT * (x2 - x1).signum()
            },
        )
    }
}

/// Width of `s` in the diagram's font.
fn text_w(s: &str) -> i64 {
    s.chars().count() as i64 * CHAR_W
}

/// A party's name as its lane shows it: whole up to [`LABEL_MAX_CHARS`]
/// characters, else cut with `…`.
fn lane_label(name: &str) -> String {
    if name.chars().count() <= LABEL_MAX_CHARS {
        name.to_string()
    } else {
        let mut cut: String = name.chars().take(LABEL_MAX_CHARS - 1).collect();
        cut.push('…');
        cut
    }
}

/// What a row of the diagram draws, by lane index.
#[derive(Clone, Copy)]
enum Shape {
    /// A message that arrived (dashed: the duplicate copy).
    Arrow {
        from: usize,
        to: usize,
        dashed: bool,
    },
    /// A message that did not arrive: an X just short of its receiver.
    Lost {
        from: usize,
        to: usize,
    },
    Crash(usize),
    Restart(usize),
    /// A step, timer or other note on one lifeline.
    Note {
        lane: usize,
        timer: bool,
    },
    /// A note across the whole network (partitions, heals, waits).
    Everyone,
}

/// An event's shape and the text beside it (unescaped).
fn shape(parties: &[String], e: &Event) -> (Shape, String) {
    let lane = |name: &str| parties.iter().position(|p| p == name);
    let labels = if e.steps.is_empty() {
        String::new()
    } else {
        format!(" [{}]", e.steps.join(" "))
    };
    let text = format!("#{} t={} ms {}{labels}", e.index, e.time, e.what);
    match (e.kind, lane(&e.from), lane(&e.to)) {
        (Kind::Delivered | Kind::Duplicated, Some(from), Some(to)) if from != to => (
            Shape::Arrow {
                from,
                to,
                dashed: e.kind == Kind::Duplicated,
            },
            text,
        ),
        (Kind::Dropped, Some(from), Some(to)) => {
            let why = e
                .reason
                .map(|r| format!("{r:?}").to_lowercase())
                .unwrap_or_default();
            let ends = format!("{} → {}", e.from, e.to);
            (
                Shape::Lost { from, to },
                format!("{text} {ends}, lost ({why})"),
            )
        }
        (Kind::Crash, Some(l), _) => (Shape::Crash(l), format!("CRASH {text}")),
        (Kind::Restart, Some(l), _) => (Shape::Restart(l), format!("restart {text}")),
        (_, Some(lane), _) => (
            Shape::Note {
                lane,
                timer: e.kind == Kind::Timer,
            },
            format!("step {} {text}", cause(e)),
        ),
        _ => (Shape::Everyone, format!("step {} {text}", cause(e))),
    }
}

/// How a row of the diagram is drawn: plainly, or (the event that broke a
/// property) in red and bold, so the violation stands out of a long trace.
#[derive(Clone, Copy)]
struct Ink {
    /// Stroke of a message arrow.
    stroke: &'static str,
    /// Stroke width of arrows and marks.
    width: &'static str,
    /// The arrowhead's marker id.
    arrow: &'static str,
    /// Whether this is a violating row (red, bold text).
    hot: bool,
}

impl Ink {
    const PLAIN: Ink = Ink {
        stroke: "#333",
        width: "1",
        arrow: "arrow",
        hot: false,
    };
    const HOT: Ink = Ink {
        stroke: "#d00",
        width: "2.5",
        arrow: "arrow-hot",
        hot: true,
    };

    /// Text attributes: red and bold on a violating row, else `usual`'s fill.
    fn text(self, usual: Option<&str>) -> String {
        match (self.hot, usual) {
            (true, _) => " fill=\"#b00\" font-weight=\"bold\"".to_string(),
            (false, Some(c)) => format!(" fill=\"{c}\""),
            (false, None) => String::new(),
        }
    }
}

/// An SVG sequence diagram of the run: a lifeline per party, an arrow per
/// message labelled with its time (`t=… ms`, virtual milliseconds), summary
/// and step labels; a lost message ends in an X just short of its
/// receiver, its label naming sender and receiver; crashes and
/// restarts are marked on the lifeline; steps, timers, partitions and heals
/// are notes. Lane boxes are as wide as the longest (cut) party name and
/// never closer than [`MIN_GAP`]; the picture is as wide as its text.
///
/// The event that broke a property is drawn in red on a band the width of
/// the diagram, with a line naming the properties (and whether the file
/// expects them), inside a group whose id is its anchor (`#event-<index>`),
/// which the report's list of violations links to.
pub fn svg(run: &Run) -> String {
    let parties = drawn_parties(run);
    let mut lanes = Lanes::new(&parties);
    let hot = violations_by_event(run);
    let rows: Vec<(Shape, String)> = run
        .trace
        .events
        .iter()
        .map(|e| shape(&parties, e))
        .collect();
    // Move every lane right until no text starts left of the margin.
    let spans: Vec<(i64, i64)> = rows
        .iter()
        .map(|(sh, t)| lanes.span(*sh, text_w(t)))
        .collect();
    let lowest = spans.iter().map(|s| s.0).min().unwrap_or(0);
    lanes.left += (MARGIN / 2 - lowest).max(0);
    let widest = rows
        .iter()
        .map(|(sh, t)| lanes.span(*sh, text_w(t)).1)
        .chain(
            hot.values()
                .map(|vs| MARGIN / 2 + text_w(&violation_marker(run, vs))),
        )
        .chain([lanes.x(parties.len().saturating_sub(1)) + lanes.box_w / 2])
        .max()
        .unwrap_or(0);
    let width = widest + MARGIN;
    let height = TOP + ROW * (rows.len() as i64 + 1) + MARK * hot.len() as i64 + 20;
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\">\
<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\">\
<path d=\"M0,0 L10,5 L0,10 z\" fill=\"#333\"/></marker>\
<marker id=\"arrow-hot\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"5\" markerHeight=\"5\" orient=\"auto-start-reverse\">\
<path d=\"M0,0 L10,5 L0,10 z\" fill=\"#d00\"/></marker></defs>"
    );
    for (i, (p, label)) in parties.iter().zip(&lanes.labels).enumerate() {
        let px = lanes.x(i);
        let _ = write!(
            s,
            "<g><title>{}</title><rect class=\"lane\" x=\"{}\" y=\"10\" width=\"{}\" height=\"24\" rx=\"4\" fill=\"#eef\" stroke=\"#88a\"/>\
<text x=\"{px}\" y=\"26\" text-anchor=\"middle\" font-weight=\"bold\">{}</text></g>\
<line x1=\"{px}\" y1=\"34\" x2=\"{px}\" y2=\"{}\" stroke=\"#aaa\" stroke-dasharray=\"4 3\"/>",
            escape(p),
            px - lanes.box_w / 2,
            lanes.box_w,
            escape(label),
            height - 10
        );
    }
    let mut y = TOP;
    for (e, (sh, text)) in run.trace.events.iter().zip(&rows) {
        y += ROW;
        let broke = hot.get(&e.index);
        let ink = if broke.is_some() {
            Ink::HOT
        } else {
            Ink::PLAIN
        };
        if let Some(vs) = broke {
            let marker = violation_marker(run, vs);
            let band = if vs.iter().all(|v| judgement(run, v) != "UNEXPECTED") {
                "#ffe9c7"
            } else {
                "#ffd0d0"
            };
            let _ = write!(
                s,
                "<g id=\"{}\" class=\"violation\"><title>{}</title>\
<rect x=\"0\" y=\"{}\" width=\"{width}\" height=\"{}\" fill=\"{band}\" fill-opacity=\"0.75\" stroke=\"#d00\" stroke-width=\"1\"/>\
<text x=\"{}\" y=\"{}\" fill=\"#b00\" font-weight=\"bold\">{}</text></g>",
                escape(&event_anchor(e.index)),
                escape(&format!("event {}: {marker}", e.index)),
                y - 18,
                18 + MARK + 6,
                MARGIN / 2,
                y + MARK,
                escape(&marker)
            );
        }
        row(&mut s, *sh, text, y, ink, &lanes, e.index);
        if broke.is_some() {
            y += MARK;
        }
    }
    s.push_str("</svg>");
    s
}

/// One row of the diagram at height `y`, with its (unescaped) `label`. A
/// message's line carries its trace event's index (`data-event`), so a test
/// can hold its ends against the trace's sender and receiver.
fn row(s: &mut String, shape: Shape, label: &str, y: i64, ink: Ink, lanes: &Lanes, event: usize) {
    let width = ink.width;
    let n = lanes.labels.len().max(1) as i64;
    let (tx, _) = lanes.span(shape, text_w(label));
    let text = escape(label);
    match shape {
        Shape::Arrow { from, to, dashed } => {
            let (x1, x2) = (lanes.x(from), lanes.x(to));
            let dash = if dashed {
                " stroke-dasharray=\"6 3\""
            } else {
                ""
            };
            let _ = write!(
                s,
                "<line data-event=\"{event}\" x1=\"{x1}\" y1=\"{y}\" x2=\"{x2}\" y2=\"{y}\" stroke=\"{}\" stroke-width=\"{width}\"{dash} marker-end=\"url(#{})\"/>\
<text x=\"{}\" y=\"{}\" text-anchor=\"middle\"{}>{text}</text>",
                ink.stroke,
                ink.arrow,
                (x1 + x2) / 2,
                y - 4,
                ink.text(None)
            );
        }
        Shape::Lost { from, to } => {
            let (x1, xm) = lanes.lost(from, to);
            let _ = write!(
                s,
                "<line data-event=\"{event}\" x1=\"{x1}\" y1=\"{y}\" x2=\"{xm}\" y2=\"{y}\" stroke=\"#b00\" stroke-width=\"{width}\" stroke-dasharray=\"5 3\"/>\
<path d=\"M{} {} L{} {} M{} {} L{} {}\" stroke=\"#b00\" stroke-width=\"2\"/>\
<text x=\"{}\" y=\"{}\" text-anchor=\"middle\"{}>{text}</text>",
                xm - 5,
                y - 5,
                xm + 5,
                y + 5,
                xm - 5,
                y + 5,
                xm + 5,
                y - 5,
                (x1 + xm) / 2,
                y - 4,
                ink.text(Some("#b00"))
            );
        }
        Shape::Crash(l) => {
            let x1 = lanes.x(l);
            let _ = write!(
                s,
                "<path d=\"M{} {} L{} {} M{} {} L{} {}\" stroke=\"#b00\" stroke-width=\"3\"/>\
<text x=\"{tx}\" y=\"{}\" fill=\"#b00\" font-weight=\"bold\">{text}</text>",
                x1 - 8,
                y - 8,
                x1 + 8,
                y + 8,
                x1 - 8,
                y + 8,
                x1 + 8,
                y - 8,
                y + 4
            );
        }
        Shape::Restart(l) => {
            let x1 = lanes.x(l);
            let _ = write!(
                s,
                "<circle cx=\"{x1}\" cy=\"{y}\" r=\"7\" fill=\"#cfc\" stroke=\"#080\" stroke-width=\"{width}\"/>\
<text x=\"{tx}\" y=\"{}\"{}>{text}</text>",
                y + 4,
                ink.text(Some("#080"))
            );
        }
        Shape::Note { lane, timer } => {
            let x1 = lanes.x(lane);
            let fill = if timer { "#fed" } else { "#ffc" };
            let stroke = if ink.hot { "#d00" } else { "#997" };
            let _ = write!(
                s,
                "<rect x=\"{}\" y=\"{}\" width=\"10\" height=\"14\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"{width}\"/>\
<text x=\"{tx}\" y=\"{}\"{}>{text}</text>",
                x1 - 5,
                y - 7,
                y + 4,
                ink.text(None)
            );
        }
        Shape::Everyone => {
            let stroke = if ink.hot { "#d00" } else { "#c90" };
            let _ = write!(
                s,
                "<line x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"{stroke}\" stroke-width=\"2\" stroke-dasharray=\"2 2\"/>\
<text x=\"{tx}\" y=\"{}\"{}>{text}</text>",
                lanes.left - 40,
                lanes.left + lanes.col * (n - 1) + 40,
                y - 4,
                ink.text(Some("#960"))
            );
        }
    }
}

/// The self-contained HTML report of one run.
pub fn html(run: &Run) -> String {
    let mut h = String::new();
    let verdict = Verdict::of(run);
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{CSS}</style></head><body>\
<h1>{} {}</h1><p>{}</p><p>File <code>{}</code>, seed {}, {} events, trace <code>{}</code>.</p>\
<p>Replay: <code>{}</code></p>",
        escape(&run.name),
        escape(&run.name),
        verdict.badge(),
        escape(&run.description),
        escape(&run.file.display().to_string()),
        run.seed,
        run.events,
        escape(&run.trace_hash),
        escape(&run.replay_command())
    );
    if let Some(p) = &run.profile {
        let _ = write!(h, "<p>Swarm fault profile: {}</p>", escape(p));
    }
    h.push_str("<h2>Outcomes</h2><table><tr><th>step</th><th>line</th><th>action</th><th>expected</th><th>actual</th><th></th></tr>");
    for r in outcome_rows(run) {
        h.push_str("<tr>");
        for c in r {
            let _ = write!(h, "<td>{}</td>", escape(&c));
        }
        h.push_str("</tr>");
    }
    h.push_str("</table>");
    for (title, list) in [
        ("What differed", &run.failures),
        (
            "Tolerated after faults (swarm, or a workload's own losses)",
            &run.tolerated,
        ),
    ] {
        if !list.is_empty() {
            let _ = write!(h, "<h2>{title}</h2><ul>");
            for f in list {
                let _ = write!(h, "<li>{}</li>", escape(&f.message));
            }
            h.push_str("</ul>");
        }
    }
    if !run.violations.is_empty() {
        h.push_str("<h2 id=\"violations\">Invariant violations</h2><ul>");
        for v in &run.violations {
            // The diagram draws only the events the trace kept (its first
            // ones); a link to any other would dangle.
            let drawn = run
                .trace
                .events
                .get(v.event)
                .is_some_and(|e| e.index == v.event);
            let at = if drawn {
                format!(
                    "<a href=\"#{}\">event {}</a>",
                    escape(&event_anchor(v.event)),
                    v.event
                )
            } else {
                format!("event {} (not drawn)", v.event)
            };
            let _ = write!(
                h,
                "<li><code>{}</code> at {at} (t={} ms): {}</li>",
                escape(&v.property),
                v.time,
                match judgement(run, v) {
                    "expected" => "<span class=\"badge expected\">expected</span>",
                    "tolerated" => {
                        "<span class=\"badge tolerated\">tolerated after a fault</span>"
                    }
                    _ => "<span class=\"badge fail\">UNEXPECTED</span>",
                }
            );
        }
        h.push_str("</ul>");
    }
    if let Some(m) = &run.metrics {
        h.push_str(&figures_html(m));
    }
    h.push_str("<h2 id=\"sequence\">Sequence</h2>");
    if let Some(note) = partial_trace_note(run) {
        let _ = write!(h, "<p class=\"partial\">{}</p>", escape(&note));
    }
    h.push_str(&svg(run));
    h.push_str("</body></html>\n");
    h
}

/// The index over all runs, with step coverage.
pub fn index(runs: &[Run], dirs: &[String], cov: &[CoverageLine]) -> String {
    index_page(runs, dirs, cov, false)
}

/// The index; with the key figures of the workload runs, and with a link to
/// `compare.html` when `compare` (written by [`write_compare`]).
fn index_page(runs: &[Run], dirs: &[String], cov: &[CoverageLine], compare: bool) -> String {
    let verdicts: Vec<Verdict> = runs.iter().map(Verdict::of).collect();
    let passed = verdicts.iter().filter(|v| **v != Verdict::Fail).count();
    let expected = verdicts
        .iter()
        .filter(|v| matches!(v, Verdict::Expected(_)))
        .count();
    let tolerated = verdicts
        .iter()
        .filter(|v| matches!(v, Verdict::Tolerated(_)))
        .count();
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>commoncert sim</title><style>{CSS}</style></head><body>\
<h1>commoncert sim</h1><p>{passed} of {} runs passed{}.</p><table><tr><th>scenario</th><th>seed</th><th>result</th><th>events</th><th>trace</th><th></th></tr>",
        runs.len(),
        if expected > 0 {
            format!("; {expected} of them show the violations their file expects")
        } else {
            String::new()
        } + &if tolerated > 0 {
            format!("; {tolerated} of them show violations tolerated after faults")
        } else {
            String::new()
        }
    );
    for ((r, d), v) in runs.iter().zip(dirs).zip(&verdicts) {
        let d = escape(d);
        // An expected violation links straight to the report's list of them.
        let result = match v {
            Verdict::Expected(_) | Verdict::Tolerated(_) => {
                format!("<a href=\"{d}/report.html#violations\">{}</a>", v.badge())
            }
            _ => v.badge(),
        };
        let _ = write!(
            h,
            "<tr><td><a href=\"{d}/report.html\">{}</a></td><td>{}</td><td>{result}</td><td>{}</td><td><code>{}</code></td><td><a href=\"{d}/report.md\">md</a> <a href=\"{d}/trace.json\">trace</a></td></tr>",
            escape(&r.name),
            r.seed,
            r.events,
            escape(&r.trace_hash),
        );
    }
    h.push_str("</table>");
    h.push_str(&workload_index(runs, dirs, compare));
    let never = cov.iter().filter(|c| c.count == 0).count();
    let _ = write!(
        h,
        "<h2>Step coverage</h2><p>{} of {} labels realised; never realised first.</p><table><tr><th>label</th><th>count</th><th>step</th></tr>",
        cov.len() - never,
        cov.len()
    );
    for c in cov {
        let _ = write!(
            h,
            "<tr><td{}>{}</td><td>{}</td><td>{}</td></tr>",
            if c.count == 0 { " class=\"fail\"" } else { "" },
            escape(&c.label),
            c.count,
            escape(&c.description)
        );
    }
    h.push_str("</table></body></html>\n");
    h
}

// ---------------------------------------------------------------------------
// Workload figures
// ---------------------------------------------------------------------------

/// What the revocation figures measure, for the reader of a report: the
/// words of `metrics.rs`, short.
const DEFINITIONS: [(&str, &str); 3] = [
    (
        "Staleness",
        "per invalidated serial, from the CA's deletion of its row to the last grant of that serial by any service (0 if none). It is observed only when someone presents the revoked certificate, and only up to the run's end.",
    ),
    (
        "Exposure",
        "per invalidated serial, from the deletion to the delivery of the last V1 push notification (a CRL) to a service that links the serial. A lost notification is never sent again (unless the run has the push-ack hardening, whose CA pushes it again until the service acknowledges it), so that service would accept the serial until the certificate expires: such a window is measured to the run's end, a lower bound. Online checking asks the CA at every use and pushes nothing: exposure 0.",
    ),
    (
        "Time",
        "all times are virtual milliseconds of the simulation, not wall-clock time.",
    ),
];

/// A table of text cells, written as HTML (every cell escaped) or Markdown.
struct Table {
    head: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn new(head: &[&str]) -> Table {
        Table {
            head: head.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    fn html(&self) -> String {
        let mut h = String::from("<table><tr>");
        for c in &self.head {
            let _ = write!(h, "<th>{}</th>", escape(c));
        }
        h.push_str("</tr>");
        for r in &self.rows {
            h.push_str("<tr>");
            for c in r {
                let _ = write!(h, "<td>{}</td>", escape(c));
            }
            h.push_str("</tr>");
        }
        h.push_str("</table>");
        h
    }

    fn markdown(&self) -> String {
        let cell = |c: &String| c.replace('|', "\\|").replace('\n', " ");
        let mut m = format!(
            "| {} |\n|{}\n",
            self.head.iter().map(cell).collect::<Vec<_>>().join(" | "),
            "---|".repeat(self.head.len())
        );
        for r in &self.rows {
            let _ = writeln!(
                m,
                "| {} |",
                r.iter().map(cell).collect::<Vec<_>>().join(" | ")
            );
        }
        m
    }
}

fn ms(v: u64) -> String {
    format!("{v} ms")
}

/// `p50 / p90 / p99 / max` of a distribution, in ms.
fn spread(p: &Percentiles) -> String {
    format!("{} / {} / {} / {} ms", p.p50, p.p90, p.p99, p.max)
}

/// `p50 / p99 / max` of a distribution, in ms (the compared key figures).
fn p50_p99_max(p: &Percentiles) -> String {
    format!("{} / {} / {} ms", p.p50, p.p99, p.max)
}

/// A workload's figures as titled tables: operations, latency, revocation,
/// CA load, and revoked serials accepted per service.
fn figure_tables(m: &Summary) -> Vec<(&'static str, Table)> {
    let mut ops = Table::new(&["operations", "count"]);
    ops.row(vec!["started".into(), m.ops.started.to_string()]);
    ops.row(vec!["ended".into(), m.ops.ended.to_string()]);
    ops.row(vec![
        "skipped: the user was busy".into(),
        m.ops.busy.to_string(),
    ]);
    ops.row(vec![
        "skipped: the user was down".into(),
        m.ops.down.to_string(),
    ]);
    ops.row(vec!["virtual duration".into(), ms(m.duration_ms)]);
    for (kind, outcomes) in &m.outcomes {
        let list: Vec<String> = outcomes.iter().map(|(o, n)| format!("{o} {n}")).collect();
        ops.row(vec![format!("{kind}: outcomes"), list.join(", ")]);
    }

    let mut latency = Table::new(&["kind", "n", "p50", "p90", "p99", "max"]);
    for p in &m.latency {
        latency.row(vec![
            p.what.clone(),
            p.count.to_string(),
            ms(p.p50),
            ms(p.p90),
            ms(p.p99),
            ms(p.max),
        ]);
    }

    let st = &m.staleness;
    let mut revocation = Table::new(&["revocation", "value"]);
    revocation.row(vec![
        "serials invalidated".into(),
        st.invalidated.to_string(),
    ]);
    revocation.row(vec![
        "serials granted after their deletion (grants)".into(),
        format!("{} ({})", st.accepted_after, st.grants_after),
    ]);
    revocation.row(vec![
        "staleness p50 / p90 / p99 / max".into(),
        spread(&st.percentiles),
    ]);
    revocation.row(vec![
        "notifications pushed / lost".into(),
        format!("{} / {}", st.notifications, st.notifications_lost),
    ]);
    revocation.row(vec![
        "exposure p50 / p90 / p99 / max".into(),
        spread(&st.exposure),
    ]);
    revocation.row(vec![
        "run went on after the last invalidation".into(),
        st.observed_after_last_ms.map_or_else(|| "-".into(), ms),
    ]);

    let mut ca = Table::new(&["CA load", "value"]);
    ca.row(vec![
        "messages received".into(),
        m.ca_load.messages.to_string(),
    ]);
    ca.row(vec![
        "mean per virtual second".into(),
        format!("{:.1}", m.ca_load.mean_per_s),
    ]);
    ca.row(vec![
        "peak per virtual second".into(),
        m.ca_load.peak_per_s.to_string(),
    ]);

    let mut by_service = Table::new(&["service", "grants of serials the CA had deleted"]);
    for (service, n) in &m.revoked_accepted_by_service {
        by_service.row(vec![service.clone(), n.to_string()]);
    }
    if m.revoked_accepted_by_service.is_empty() {
        by_service.row(vec!["(none)".into(), "0".into()]);
    }
    vec![
        ("Operations", ops),
        ("Latency (virtual ms)", latency),
        ("Revocation staleness and exposure", revocation),
        ("CA load", ca),
        ("Revoked serials accepted, per service", by_service),
    ]
}

/// The figures compared across runs, one line each: (figure, value).
pub fn key_figures(m: &Summary) -> Vec<(&'static str, String)> {
    let st = &m.staleness;
    let all = m.latency.first();
    vec![
        (
            "ops started / ended",
            format!("{} / {}", m.ops.started, m.ops.ended),
        ),
        (
            "latency (all) p50 / p99 / max",
            all.map_or_else(|| "-".into(), p50_p99_max),
        ),
        ("serials invalidated", st.invalidated.to_string()),
        (
            "granted after deletion: serials (grants)",
            format!("{} ({})", st.accepted_after, st.grants_after),
        ),
        ("staleness p50 / p99 / max", p50_p99_max(&st.percentiles)),
        (
            "notifications pushed / lost",
            format!("{} / {}", st.notifications, st.notifications_lost),
        ),
        ("exposure p50 / p99 / max", p50_p99_max(&st.exposure)),
        (
            "CA messages: total, mean / peak per s",
            format!(
                "{}, {:.1} / {}",
                m.ca_load.messages, m.ca_load.mean_per_s, m.ca_load.peak_per_s
            ),
        ),
        (
            "revoked serials accepted, by service",
            if m.revoked_accepted_by_service.is_empty() {
                "none".into()
            } else {
                m.revoked_accepted_by_service
                    .iter()
                    .map(|(s, n)| format!("{s}: {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        ),
        ("virtual duration", ms(m.duration_ms)),
    ]
}

/// The definitions as an HTML list.
fn definitions_html() -> String {
    let mut h = String::from("<ul>");
    for (term, text) in DEFINITIONS {
        let _ = write!(h, "<li><b>{}</b>: {}</li>", escape(term), escape(text));
    }
    h.push_str("</ul>");
    h
}

fn definitions_markdown() -> String {
    DEFINITIONS
        .iter()
        .map(|(term, text)| format!("- **{term}**: {text}\n"))
        .collect()
}

/// Each chart of [`charts::CATALOGUE`] as a figure: an `<img>` of
/// `charts/file`, its title as caption.
fn charts_html() -> String {
    let mut h = String::new();
    for (file, title) in charts::CATALOGUE {
        let src = escape(&format!("{CHARTS_DIR}/{file}"));
        let _ = write!(
            h,
            "<figure><a href=\"{src}\"><img src=\"{src}\" alt=\"{}\" style=\"max-width:100%\"></a><figcaption>{}</figcaption></figure>",
            escape(title),
            escape(title)
        );
    }
    h
}

fn charts_markdown() -> String {
    charts::CATALOGUE
        .iter()
        .map(|(file, title)| format!("![{title}]({CHARTS_DIR}/{file})\n\n"))
        .collect()
}

/// The HTML section of one run's workload figures: definitions, tables, charts.
fn figures_html(m: &Summary) -> String {
    let mut h = String::from("<h2 id=\"figures\">Workload figures</h2>");
    h.push_str(&definitions_html());
    for (title, table) in figure_tables(m) {
        let _ = write!(h, "<h3>{}</h3>{}", escape(title), table.html());
    }
    h.push_str("<h3>Charts</h3>");
    h.push_str(&charts_html());
    h
}

fn figures_markdown(m: &Summary) -> String {
    let mut md = format!("\n## Workload figures\n\n{}", definitions_markdown());
    for (title, table) in figure_tables(m) {
        let _ = write!(md, "\n### {title}\n\n{}", table.markdown());
    }
    let _ = write!(md, "\n### Charts\n\n{}", charts_markdown());
    md
}

/// The sentence under "Sequence" when the trace kept only its first events.
fn partial_trace_note(run: &Run) -> Option<String> {
    (!run.trace.is_complete()).then(|| {
        format!(
            "The diagram shows only the first {} of {} events: a workload's trace keeps its first keep_events events for the report (the trace hash and the step coverage cover every event).",
            run.trace.events.len(),
            run.events
        )
    })
}

/// The key figures of `runs` side by side: a row per figure, a column per
/// run (runs without figures left out).
fn compare_table(runs: &[&Run]) -> Table {
    let mut head = vec!["figure"];
    head.extend(runs.iter().map(|r| r.name.as_str()));
    let mut t = Table::new(&head);
    let columns: Vec<Vec<(&str, String)>> = runs
        .iter()
        .filter_map(|r| r.metrics.as_ref().map(key_figures))
        .collect();
    let Some(first) = columns.first() else {
        return t;
    };
    for (i, (figure, _)) in first.iter().enumerate() {
        let mut row = vec![figure.to_string()];
        row.extend(
            columns
                .iter()
                .map(|c| c.get(i).map_or_else(|| "-".to_string(), |(_, v)| v.clone())),
        );
        t.row(row);
    }
    t
}

/// The index's section on workload runs: their key figures, a row each.
fn workload_index(runs: &[Run], dirs: &[String], compare: bool) -> String {
    let shown = workloads(runs, dirs);
    if shown.is_empty() {
        return String::new();
    }
    let mut h = String::from("<h2 id=\"workloads\">Workload figures</h2>");
    if compare {
        h.push_str("<p><a href=\"compare.html\">These runs compared</a>: key figures side by side, charts overlaid.</p>");
    }
    h.push_str("<p>Virtual time. Staleness: CA deletion to the last grant of the serial; exposure: deletion to the last notification, a lost one open to the run's end.</p><table><tr><th>scenario</th>");
    let Some(names) = shown
        .first()
        .and_then(|(r, _)| r.metrics.as_ref())
        .map(key_figures)
    else {
        return String::new();
    };
    for (figure, _) in &names {
        let _ = write!(h, "<th>{}</th>", escape(figure));
    }
    h.push_str("</tr>");
    for (r, d) in &shown {
        let _ = write!(
            h,
            "<tr><td><a href=\"{}/report.html#figures\">{}</a></td>",
            escape(d),
            escape(&r.name)
        );
        for (_, value) in r.metrics.as_ref().map(key_figures).unwrap_or_default() {
            let _ = write!(h, "<td>{}</td>", escape(&value));
        }
        h.push_str("</tr>");
    }
    h.push_str("</table>");
    h
}

/// The runs that have workload figures, with their report folders.
fn workloads<'a>(runs: &'a [Run], dirs: &'a [String]) -> Vec<(&'a Run, &'a String)> {
    runs.iter()
        .zip(dirs)
        .filter(|(r, _)| r.metrics.is_some())
        .collect()
}

/// `compare.html`: key figures side by side, then the overlaid charts.
fn compare_html(runs: &[Run], dirs: &[String]) -> String {
    let shown = workloads(runs, dirs);
    let names: Vec<&str> = shown.iter().map(|(r, _)| r.name.as_str()).collect();
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Comparison: {}</title><style>{CSS}</style></head><body>\
<h1>Comparison of {} workload runs</h1><p>{}. Each run with the seed shown; the verdicts and step coverage are in <a href=\"index.html\">the index</a>.</p>",
        escape(&names.join(", ")),
        shown.len(),
        escape(&names.join(", "))
    );
    h.push_str(&definitions_html());
    h.push_str("<h2 id=\"figures\">Key figures</h2><table><tr><th>figure</th>");
    for (r, d) in &shown {
        let _ = write!(
            h,
            "<th><a href=\"{}/report.html\">{}</a><br>seed {} {}</th>",
            escape(d),
            escape(&r.name),
            r.seed,
            Verdict::of(r).badge()
        );
    }
    h.push_str("</tr>");
    let table = compare_table(&shown.iter().map(|(r, _)| *r).collect::<Vec<_>>());
    for row in &table.rows {
        h.push_str("<tr>");
        for c in row {
            let _ = write!(h, "<td>{}</td>", escape(c));
        }
        h.push_str("</tr>");
    }
    h.push_str("</table><h2 id=\"charts\">Charts</h2>");
    h.push_str(&charts_html());
    h.push_str("</body></html>\n");
    h
}

/// `compare.md`: the same as [`compare_html`], for reading in a repository.
fn compare_markdown(runs: &[Run], dirs: &[String]) -> String {
    let shown = workloads(runs, dirs);
    let mut m = format!("# Comparison of {} workload runs\n\n", shown.len());
    for (r, d) in &shown {
        let _ = writeln!(
            m,
            "- [{}]({d}/report.md): seed {}, {}; replay `{}`",
            r.name,
            r.seed,
            Verdict::of(r).text(),
            r.replay_command()
        );
    }
    let _ = write!(m, "\n{}\n## Key figures\n\n", definitions_markdown());
    m.push_str(&compare_table(&shown.iter().map(|(r, _)| *r).collect::<Vec<_>>()).markdown());
    let _ = write!(m, "\n## Charts\n\n{}", charts_markdown());
    m
}

/// JUnit XML: one testcase per run (scenario and seed).
pub fn junit(runs: &[Run]) -> String {
    let failures = runs.iter().filter(|r| !r.pass).count();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"commoncert sim\" tests=\"{}\" failures=\"{failures}\">\n  <testsuite name=\"scenarios\" tests=\"{}\" failures=\"{failures}\">",
        runs.len(),
        runs.len()
    );
    for r in runs {
        let _ = write!(
            x,
            "    <testcase classname=\"{}\" name=\"{}\" file=\"{}\">",
            escape(&format!("scenarios.{}", r.name)),
            escape(&format!("{} seed={}", r.name, r.seed)),
            escape(&r.file.display().to_string())
        );
        if !r.pass {
            let body: Vec<String> = r
                .failures
                .iter()
                .map(|f| f.message.clone())
                .chain([format!("replay: {}", r.replay_command())])
                .collect();
            let _ = write!(
                x,
                "<failure message=\"{}\">{}</failure>",
                escape(r.failures.first().map_or("failed", |f| f.message.as_str())),
                escape(&body.join("\n"))
            );
        }
        if let v @ (Verdict::Expected(_) | Verdict::Tolerated(_)) = Verdict::of(r) {
            let _ = write!(x, "<system-out>{}</system-out>", escape(&v.text()));
        }
        let _ = writeln!(x, "</testcase>");
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_and_controls() {
        assert_eq!(
            escape("<a href=\"x\">&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(escape("a\u{1}b"), "a?b");
    }

    #[test]
    fn mermaid_text_escapes_once() {
        assert_eq!(mermaid_text("Issued(#1; x)\n"), "Issued(#35;1#59; x) ");
    }

    #[test]
    fn file_stems_cannot_climb() {
        assert_eq!(file_stem("../etc"), "_.._etc");
        assert_eq!(file_stem(""), "_");
        assert_eq!(file_stem("fig3a-issue"), "fig3a-issue");
    }

    /// A shipped scenario, run with its own seed.
    fn shipped(file: &str) -> Run {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../scenarios")
            .join(file);
        let sc = crate::scenario::load(&path).expect("a shipped scenario parses");
        crate::sim::run(
            &sc,
            crate::sim::Options {
                seed: sc.seed,
                ..Default::default()
            },
        )
        .expect("a shipped scenario runs")
    }

    /// The bearer finding: its file expects no-impersonation and no-relay.
    fn bearer() -> Run {
        let run = shipped("bearer-impersonation.toml");
        assert!(run.pass, "the shipped finding passes");
        assert!(!run.violations.is_empty() && run.violations.iter().all(|v| v.expected));
        run
    }

    #[test]
    fn an_expected_violation_has_its_own_badge_not_pass() {
        let run = bearer();
        let v = Verdict::of(&run);
        assert_eq!(
            v,
            Verdict::Expected(vec!["no-impersonation".into(), "no-relay".into()])
        );
        let text = "expected violations: no-impersonation, no-relay";
        assert_eq!(v.text(), text);
        let page = html(&run);
        let badge = format!("<span class=\"badge expected\">{text}</span>");
        assert!(page.contains(&format!("<h1>bearer-impersonation {badge}</h1>")));
        assert!(!page.contains(">PASS<"));
        assert!(markdown(&run).starts_with(&format!("# bearer-impersonation ({text})\n")));
        let dirs = vec!["bearer".to_string()];
        let idx = index(std::slice::from_ref(&run), &dirs, &coverage(&[]));
        assert!(idx.contains(&format!(
            "<a href=\"bearer/report.html#violations\">{badge}</a>"
        )));
        assert!(idx.contains("1 of 1 runs passed; 1 of them show"));
        assert!(
            junit(std::slice::from_ref(&run)).contains(&format!("<system-out>{text}</system-out>"))
        );

        // The same run with one violation the file does not expect fails.
        let mut wrong = run.clone();
        wrong.violations[0].expected = false;
        assert_eq!(Verdict::of(&wrong), Verdict::Fail);
        let page = html(&wrong);
        assert!(page.contains("<span class=\"badge fail\">FAIL</span>"));
        assert!(page.contains("UNEXPECTED"));
        // And without violations it is a plain PASS.
        let mut clean = run.clone();
        clean.violations.clear();
        assert_eq!(Verdict::of(&clean), Verdict::Pass);
        assert!(html(&clean).contains("<span class=\"badge pass\">PASS</span>"));
        assert_eq!(
            Verdict::Expected(vec!["a".into()]).text(),
            "expected violation: a"
        );
    }

    #[test]
    fn a_violation_tolerated_after_a_fault_passes_with_its_own_badge() {
        let mut run = bearer();
        run.violations.truncate(1);
        let v = run.violations[0].clone();
        run.violations[0].expected = false;
        // Not listed as tolerated: a failure.
        assert_eq!(Verdict::of(&run), Verdict::Fail);
        run.tolerated.push(crate::sim::Failure {
            step: None,
            line: None,
            message: format!(
                "invariant {} violated at event {} (t={}ms), not expected",
                v.property, v.event, v.time
            ),
        });
        let verdict = Verdict::of(&run);
        assert_eq!(verdict, Verdict::Tolerated(vec![v.property.clone()]));
        let text = format!("PASS, tolerated after faults: {}", v.property);
        assert_eq!(verdict.text(), text);
        let page = html(&run);
        assert!(page.contains(&format!("<span class=\"badge tolerated\">{text}</span>")));
        assert!(page.contains("tolerated after a fault"));
        assert!(!page.contains("UNEXPECTED"));
        assert!(markdown(&run).contains(&format!("`{}` at event {}", v.property, v.event)));
        assert!(svg(&run).contains(&format!("{} (tolerated)", v.property)));
        let idx = index(
            std::slice::from_ref(&run),
            &["b".to_string()],
            &coverage(&[]),
        );
        assert!(idx.contains("1 of 1 runs passed; 1 of them show violations tolerated"));
    }

    #[test]
    fn the_violating_event_is_highlighted_and_linked() {
        let run = bearer();
        let page = html(&run);
        let diagram = svg(&run);
        let md = markdown(&run);
        let hot = violations_by_event(&run);
        for (event, vs) in &hot {
            let anchor = format!("<g id=\"event-{event}\" class=\"violation\">");
            assert_eq!(diagram.matches(&anchor).count(), 1, "{anchor}");
            assert!(page.contains(&format!("<a href=\"#event-{event}\">event {event}</a>")));
            let marker = violation_marker(&run, vs);
            for v in vs {
                assert!(marker.contains(&format!("{} (expected)", v.property)));
            }
            assert!(diagram.contains(&format!(">{}</text></g>", escape(&marker))));
            // The event's own row, right after its band, is drawn in red.
            let at = diagram.find(&anchor).expect("the band is drawn");
            let rest = &diagram[at..];
            let row_end = rest
                .find(&format!("#{} t=", event + 1))
                .unwrap_or(rest.len());
            let row = &rest[..row_end];
            assert!(row.contains(&format!("#{event} t=")), "{row}");
            assert!(row.contains("stroke=\"#d00\""), "{row}");
            assert!(row.contains("fill=\"#b00\" font-weight=\"bold\">"), "{row}");
            assert!(md.contains(&mermaid_text(&marker)));
        }
        // In Mermaid: a red band per violating event.
        assert_eq!(
            md.matches("    rect rgb(255, 221, 221)\n").count(),
            hot.len()
        );
        // Only violating rows are red arrows.
        assert!(diagram.matches("url(#arrow-hot)").count() <= hot.len());
        let mut quiet = run.clone();
        quiet.violations.clear();
        let plain = svg(&quiet);
        assert!(!plain.contains("class=\"violation\""));
        assert!(!plain.contains("url(#arrow-hot)"));
        assert!(!markdown(&quiet).contains("rect rgb"));
    }

    /// Every lane box's (x, width) in the order drawn, and its label.
    fn lane_boxes(diagram: &str) -> Vec<(i64, i64, String)> {
        let num = |s: &str, key: &str| -> i64 {
            let at = s.find(key).expect("attribute present") + key.len();
            s[at..]
                .split('"')
                .next()
                .and_then(|v| v.parse().ok())
                .expect("a number")
        };
        diagram
            .split("<rect class=\"lane\"")
            .skip(1)
            .map(|rest| {
                let label = rest
                    .split("font-weight=\"bold\">")
                    .nth(1)
                    .and_then(|t| t.split("</text>").next())
                    .expect("a lane label")
                    .to_string();
                (num(rest, " x=\""), num(rest, " width=\""), label)
            })
            .collect()
    }

    #[test]
    fn lane_labels_never_overlap() {
        let mut run = bearer();
        // Give every party a long name (one past the cut), renaming its events.
        let long: Vec<String> = run
            .parties
            .iter()
            .enumerate()
            .map(|(i, p)| {
                if i % 2 == 0 {
                    format!("{p} of the Very Long Organisation Name Incorporated")
                } else {
                    format!("{p}-{}", "x".repeat(i * 3))
                }
            })
            .collect();
        for e in &mut run.trace.events {
            for end in [&mut e.from, &mut e.to] {
                if let Some(i) = run.parties.iter().position(|p| p == end) {
                    *end = long[i].clone();
                }
            }
        }
        run.parties = long.clone();
        let diagram = svg(&run);
        let boxes = lane_boxes(&diagram);
        assert_eq!(boxes.len(), long.len());
        assert!(boxes[0].0 >= 0);
        for (b, name) in boxes.iter().zip(&long) {
            let shown = b.2.chars().count();
            assert!(shown <= LABEL_MAX_CHARS, "{}", b.2);
            assert!(shown as i64 * CHAR_W + BOX_PAD <= b.1, "{} in {}", b.2, b.1);
            if name.chars().count() > LABEL_MAX_CHARS {
                assert!(b.2.ends_with('…'), "{}", b.2);
                assert!(diagram.contains(&format!("<g><title>{}</title>", escape(name))));
            } else {
                assert_eq!(&b.2, name);
            }
        }
        for w in boxes.windows(2) {
            assert!(
                w[0].0 + w[0].1 + MIN_GAP <= w[1].0,
                "lane boxes {:?} and {:?} closer than {MIN_GAP}",
                w[0],
                w[1]
            );
        }
        // Short names keep the usual spacing.
        let lanes = Lanes::new(&["A".to_string(), "B".to_string()]);
        assert_eq!((lanes.box_w, lanes.col), (MIN_BOX, MIN_COL));
    }

    #[test]
    fn no_text_is_cut_off_at_either_edge() {
        let mut run = bearer();
        // The first party's messages carry long summaries, centred near the
        // left edge; the last party's notes run off to the right.
        for e in &mut run.trace.events {
            e.what = format!("{} {}", e.what, "detail ".repeat(12));
        }
        let diagram = svg(&run);
        let width: i64 = diagram
            .split("width=\"")
            .nth(1)
            .and_then(|w| w.split('"').next())
            .and_then(|w| w.parse().ok())
            .expect("the picture's width");
        let unescape = |t: &str| {
            t.replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&amp;", "&")
        };
        let mut texts = 0;
        for piece in diagram.split("<text x=\"").skip(1) {
            let x: i64 = piece
                .split('"')
                .next()
                .and_then(|v| v.parse().ok())
                .expect("a text's x");
            let (attrs, rest) = piece.split_once('>').expect("a text element");
            let body = rest.split("</text>").next().expect("a closed text");
            let w = text_w(&unescape(body));
            let (lo, hi) = if attrs.contains("text-anchor=\"middle\"") {
                (x - w / 2, x + w / 2)
            } else {
                (x, x + w)
            };
            assert!(
                lo >= 0 && hi <= width,
                "{lo}..{hi} outside 0..{width}: {body}"
            );
            texts += 1;
        }
        assert!(texts > run.trace.events.len());
    }

    #[test]
    fn every_time_states_its_unit() {
        let run = bearer();
        for (what, text) in [
            ("svg", svg(&run)),
            ("html", html(&run)),
            ("md", markdown(&run)),
        ] {
            let mut seen = 0;
            for (at, _) in text.match_indices("t=") {
                // `t=` as a word of its own, not the end of `set=` or `count=`.
                if text[..at]
                    .chars()
                    .next_back()
                    .is_some_and(|c| c.is_alphanumeric() || c == '_')
                {
                    continue;
                }
                let rest = &text[at + 2..];
                let digits = rest.chars().take_while(char::is_ascii_digit).count();
                assert!(digits > 0, "{what}: {}", &rest[..rest.len().min(30)]);
                assert!(
                    rest[digits..].starts_with(" ms"),
                    "{what}: t= without its unit: t={}",
                    &rest[..rest.len().min(30)]
                );
                seen += 1;
            }
            assert!(seen > 0, "{what} has no t= label");
        }
    }

    #[test]
    fn coverage_lists_never_realised_first() {
        let cov = coverage(&[]);
        assert_eq!(cov.len(), Label::ALL.len());
        assert!(cov.iter().all(|c| c.count == 0));
    }
}
