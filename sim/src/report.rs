//! Reports of a set of runs: per run `trace.json`, `report.md` (outcome
//! table and a Mermaid sequence diagram) and `report.html` (self-contained,
//! with an SVG sequence diagram drawn here); over all runs `index.html`,
//! `junit.xml` and `coverage.json` (which step labels were realised, how
//! often, never-realised first).
//!
//! Everything put into HTML or XML goes through [`escape`].
//!
//! A run that shows exactly the violations its file expects (`[expect]
//! violations`, a known finding reproduced) passes, but it is not a run where
//! every property held: the reports give it its own badge naming each
//! violated property ([`Verdict::Expected`]), and the sequence diagram marks
//! the event that broke each property. Times are virtual milliseconds
//! ([`crate::clock::Time`]) and every `t=` says so.

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
    /// An expectation not met, or a violation the file does not expect.
    Fail,
}

impl Verdict {
    /// The verdict of `run`. An unexpected violation is a failure even if
    /// the run's own verdict were to say otherwise.
    pub fn of(run: &Run) -> Verdict {
        if !run.pass || run.violations.iter().any(|v| !v.expected) {
            return Verdict::Fail;
        }
        let mut names: Vec<String> = Vec::new();
        for v in &run.violations {
            if !names.contains(&v.property) {
                names.push(v.property.clone());
            }
        }
        if names.is_empty() {
            Verdict::Pass
        } else {
            Verdict::Expected(names)
        }
    }

    /// The badge's text: `PASS`, `FAIL`, or `expected violation: a, b`.
    pub fn text(&self) -> String {
        match self {
            Verdict::Pass => "PASS".to_string(),
            Verdict::Fail => "FAIL".to_string(),
            Verdict::Expected(names) => format!(
                "expected violation{}: {}",
                if names.len() > 1 { "s" } else { "" },
                names.join(", ")
            ),
        }
    }

    /// The CSS class of the badge (see [`CSS`]).
    fn class(&self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Expected(_) => "expected",
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
            "events": run.trace.events,
        });
        std::fs::write(
            d.join("trace.json"),
            serde_json::to_string_pretty(&trace).map_err(std::io::Error::other)?,
        )?;
        std::fs::write(d.join("report.md"), markdown(run))?;
        std::fs::write(d.join("report.html"), html(run))?;
    }
    let cov = coverage(runs);
    std::fs::write(
        dir.join("coverage.json"),
        serde_json::to_string_pretty(&cov).map_err(std::io::Error::other)?,
    )?;
    std::fs::write(dir.join("index.html"), index(runs, &dirs, &cov))?;
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
        let _ = writeln!(m, "\n## Tolerated under swarm (fault-dependent)\n");
        for f in &run.tolerated {
            let _ = writeln!(m, "- {}", f.message);
        }
    }
    if !run.violations.is_empty() {
        let _ = writeln!(m, "\n## Invariant violations\n");
        for v in &run.violations {
            let _ = writeln!(
                m,
                "- `{}` at event {} (t={} ms){}",
                v.property,
                v.event,
                v.time,
                if v.expected {
                    ", expected"
                } else {
                    ", UNEXPECTED"
                }
            );
        }
    }
    let _ = writeln!(m, "\n## Sequence\n\n```mermaid\nsequenceDiagram");
    for (i, p) in run.parties.iter().enumerate() {
        let _ = writeln!(m, "    participant p{i} as {}", mermaid_text(p));
    }
    let alias = |name: &str| {
        run.parties
            .iter()
            .position(|p| p == name)
            .map(|i| format!("p{i}"))
    };
    let everyone = format!("p0,p{}", run.parties.len().saturating_sub(1));
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
                    mermaid_text(&violation_marker(vs))
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
fn violation_marker(vs: &[&Violation]) -> String {
    let names: Vec<String> = vs
        .iter()
        .map(|v| {
            format!(
                "{} ({})",
                v.property,
                if v.expected { "expected" } else { "UNEXPECTED" }
            )
        })
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

    /// A lost message's line: from the sender to the X halfway.
    fn lost(&self, from: usize, to: usize) -> (i64, i64) {
        let (x1, x2) = (self.x(from), self.x(to));
        (x1, if x1 == x2 { x1 + 40 } else { (x1 + x2) / 2 })
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
    /// A message that did not arrive: an X halfway.
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
fn shape(run: &Run, e: &Event) -> (Shape, String) {
    let lane = |name: &str| run.parties.iter().position(|p| p == name);
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
            (Shape::Lost { from, to }, format!("lost ({why}): {text}"))
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
/// and step labels; a lost message ends in an X halfway; crashes and
/// restarts are marked on the lifeline; steps, timers, partitions and heals
/// are notes. Lane boxes are as wide as the longest (cut) party name and
/// never closer than [`MIN_GAP`]; the picture is as wide as its text.
///
/// The event that broke a property is drawn in red on a band the width of
/// the diagram, with a line naming the properties (and whether the file
/// expects them), inside a group whose id is its anchor (`#event-<index>`),
/// which the report's list of violations links to.
pub fn svg(run: &Run) -> String {
    let mut lanes = Lanes::new(&run.parties);
    let n = run.parties.len().max(1) as i64;
    let hot = violations_by_event(run);
    let rows: Vec<(Shape, String)> = run.trace.events.iter().map(|e| shape(run, e)).collect();
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
                .map(|vs| MARGIN / 2 + text_w(&violation_marker(vs))),
        )
        .chain([lanes.x(run.parties.len().saturating_sub(1)) + lanes.box_w / 2])
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
    for (i, (p, label)) in run.parties.iter().zip(&lanes.labels).enumerate() {
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
            let marker = violation_marker(vs);
            let band = if vs.iter().all(|v| v.expected) {
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
        row(&mut s, *sh, text, y, ink, &lanes, n);
        if broke.is_some() {
            y += MARK;
        }
    }
    s.push_str("</svg>");
    s
}

/// One row of the diagram at height `y`, with its (unescaped) `label`.
fn row(s: &mut String, shape: Shape, label: &str, y: i64, ink: Ink, lanes: &Lanes, n: i64) {
    let width = ink.width;
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
                "<line x1=\"{x1}\" y1=\"{y}\" x2=\"{x2}\" y2=\"{y}\" stroke=\"{}\" stroke-width=\"{width}\"{dash} marker-end=\"url(#{})\"/>\
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
                "<line x1=\"{x1}\" y1=\"{y}\" x2=\"{xm}\" y2=\"{y}\" stroke=\"#b00\" stroke-width=\"{width}\" stroke-dasharray=\"5 3\"/>\
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
        ("Tolerated under swarm", &run.tolerated),
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
                if v.expected {
                    "<span class=\"badge expected\">expected</span>"
                } else {
                    "<span class=\"badge fail\">UNEXPECTED</span>"
                }
            );
        }
        h.push_str("</ul>");
    }
    h.push_str("<h2>Sequence</h2>");
    if run.trace.events.len() < run.events {
        let _ = write!(
            h,
            "<p>The first {} of {} events.</p>",
            run.trace.events.len(),
            run.events
        );
    }
    h.push_str(&svg(run));
    h.push_str("</body></html>\n");
    h
}

/// The index over all runs, with step coverage.
pub fn index(runs: &[Run], dirs: &[String], cov: &[CoverageLine]) -> String {
    let verdicts: Vec<Verdict> = runs.iter().map(Verdict::of).collect();
    let passed = verdicts.iter().filter(|v| **v != Verdict::Fail).count();
    let expected = verdicts
        .iter()
        .filter(|v| matches!(v, Verdict::Expected(_)))
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
        }
    );
    for ((r, d), v) in runs.iter().zip(dirs).zip(&verdicts) {
        let d = escape(d);
        // An expected violation links straight to the report's list of them.
        let result = match v {
            Verdict::Expected(_) => {
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
    let never = cov.iter().filter(|c| c.count == 0).count();
    let _ = write!(
        h,
        "</table><h2>Step coverage</h2><p>{} of {} labels realised; never realised first.</p><table><tr><th>label</th><th>count</th><th>step</th></tr>",
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
        if let v @ Verdict::Expected(_) = Verdict::of(r) {
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
            let marker = violation_marker(vs);
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
