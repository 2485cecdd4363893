//! Reports of a set of runs: per run `trace.json`, `report.md` (outcome
//! table and a Mermaid sequence diagram) and `report.html` (self-contained,
//! with an SVG sequence diagram drawn here); over all runs `index.html`,
//! `junit.xml` and `coverage.json` (which step labels were realised, how
//! often, never-realised first).
//!
//! Everything put into HTML or XML goes through [`escape`].

use crate::sim::Run;
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
    let _ = writeln!(
        m,
        "# {} ({})\n",
        run.name,
        if run.pass { "PASS" } else { "FAIL" }
    );
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
                "- `{}` at event {} (t={}ms){}",
                v.property,
                v.event,
                v.time,
                if v.expected { ", expected" } else { "" }
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
        let _ = writeln!(m, "    {line}");
    }
    let _ = writeln!(m, "```");
    m
}

fn cause(e: &Event) -> String {
    e.cause.map_or("-".to_string(), |c| c.to_string())
}

// ---------------------------------------------------------------------------
// HTML + SVG
// ---------------------------------------------------------------------------

const CSS: &str = "body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}\
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left}\
.pass{color:#080;font-weight:bold}.fail{color:#b00;font-weight:bold}code{background:#f4f4f4}\
svg text{font-family:ui-monospace,monospace;font-size:11px}";

const COL: i64 = 170;
const ROW: i64 = 26;
const TOP: i64 = 50;
const LEFT: i64 = 90;

/// An SVG sequence diagram of the run: a lifeline per party, an arrow per
/// message labelled with its summary and step labels; a lost message ends in
/// an X halfway; crashes and restarts are marked on the lifeline; steps,
/// timers, partitions and heals are notes.
pub fn svg(run: &Run) -> String {
    let n = run.parties.len().max(1) as i64;
    let rows = run.trace.events.len() as i64;
    let width = LEFT * 2 + COL * (n - 1) + 200;
    let height = TOP + ROW * (rows + 1) + 20;
    let x = |name: &str| {
        run.parties
            .iter()
            .position(|p| p == name)
            .map(|i| LEFT + COL * i as i64)
    };
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\">\
<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\">\
<path d=\"M0,0 L10,5 L0,10 z\" fill=\"#333\"/></marker></defs>"
    );
    for (i, p) in run.parties.iter().enumerate() {
        let px = LEFT + COL * i as i64;
        let _ = write!(
            s,
            "<rect x=\"{}\" y=\"10\" width=\"120\" height=\"24\" rx=\"4\" fill=\"#eef\" stroke=\"#88a\"/>\
<text x=\"{px}\" y=\"26\" text-anchor=\"middle\" font-weight=\"bold\">{}</text>\
<line x1=\"{px}\" y1=\"34\" x2=\"{px}\" y2=\"{}\" stroke=\"#aaa\" stroke-dasharray=\"4 3\"/>",
            px - 60,
            escape(p),
            height - 10
        );
    }
    for (k, e) in run.trace.events.iter().enumerate() {
        let y = TOP + ROW * (k as i64 + 1);
        let labels = if e.steps.is_empty() {
            String::new()
        } else {
            format!(" [{}]", e.steps.join(" "))
        };
        let text = escape(&format!("#{} t={} {}{labels}", e.index, e.time, e.what));
        match (e.kind, x(&e.from), x(&e.to)) {
            (Kind::Delivered | Kind::Duplicated, Some(x1), Some(x2)) if x1 != x2 => {
                let dash = if e.kind == Kind::Duplicated {
                    " stroke-dasharray=\"6 3\""
                } else {
                    ""
                };
                let _ = write!(
                    s,
                    "<line x1=\"{x1}\" y1=\"{y}\" x2=\"{x2}\" y2=\"{y}\" stroke=\"#333\"{dash} marker-end=\"url(#arrow)\"/>\
<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{text}</text>",
                    (x1 + x2) / 2,
                    y - 4
                );
            }
            (Kind::Dropped, Some(x1), Some(x2)) => {
                let xm = if x1 == x2 { x1 + 40 } else { (x1 + x2) / 2 };
                let why = e
                    .reason
                    .map(|r| format!("{r:?}").to_lowercase())
                    .unwrap_or_default();
                let _ = write!(
                    s,
                    "<line x1=\"{x1}\" y1=\"{y}\" x2=\"{xm}\" y2=\"{y}\" stroke=\"#b00\" stroke-dasharray=\"5 3\"/>\
<path d=\"M{} {} L{} {} M{} {} L{} {}\" stroke=\"#b00\" stroke-width=\"2\"/>\
<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#b00\">lost ({why}): {text}</text>",
                    xm - 5,
                    y - 5,
                    xm + 5,
                    y + 5,
                    xm - 5,
                    y + 5,
                    xm + 5,
                    y - 5,
                    (x1 + xm) / 2,
                    y - 4
                );
            }
            (Kind::Crash, Some(x1), _) => {
                let _ = write!(
                    s,
                    "<path d=\"M{} {} L{} {} M{} {} L{} {}\" stroke=\"#b00\" stroke-width=\"3\"/>\
<text x=\"{}\" y=\"{}\" fill=\"#b00\" font-weight=\"bold\">CRASH {text}</text>",
                    x1 - 8,
                    y - 8,
                    x1 + 8,
                    y + 8,
                    x1 - 8,
                    y + 8,
                    x1 + 8,
                    y - 8,
                    x1 + 12,
                    y + 4
                );
            }
            (Kind::Restart, Some(x1), _) => {
                let _ = write!(
                    s,
                    "<circle cx=\"{x1}\" cy=\"{y}\" r=\"7\" fill=\"#cfc\" stroke=\"#080\"/>\
<text x=\"{}\" y=\"{}\" fill=\"#080\">restart {text}</text>",
                    x1 + 12,
                    y + 4
                );
            }
            (_, Some(x1), _) => {
                let fill = if e.kind == Kind::Timer {
                    "#fed"
                } else {
                    "#ffc"
                };
                let _ = write!(
                    s,
                    "<rect x=\"{}\" y=\"{}\" width=\"10\" height=\"14\" fill=\"{fill}\" stroke=\"#997\"/>\
<text x=\"{}\" y=\"{}\">step {} {text}</text>",
                    x1 - 5,
                    y - 7,
                    x1 + 10,
                    y + 4,
                    cause(e)
                );
            }
            _ => {
                let _ = write!(
                    s,
                    "<line x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"#c90\" stroke-width=\"2\" stroke-dasharray=\"2 2\"/>\
<text x=\"{}\" y=\"{}\" fill=\"#960\">step {} {text}</text>",
                    LEFT - 40,
                    LEFT + COL * (n - 1) + 40,
                    LEFT - 40,
                    y - 4,
                    cause(e)
                );
            }
        }
    }
    s.push_str("</svg>");
    s
}

/// The self-contained HTML report of one run.
pub fn html(run: &Run) -> String {
    let mut h = String::new();
    let status = if run.pass {
        "<span class=\"pass\">PASS</span>"
    } else {
        "<span class=\"fail\">FAIL</span>"
    };
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{CSS}</style></head><body>\
<h1>{} {status}</h1><p>{}</p><p>File <code>{}</code>, seed {}, {} events, trace <code>{}</code>.</p>\
<p>Replay: <code>{}</code></p>",
        escape(&run.name),
        escape(&run.name),
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
        h.push_str("<h2>Invariant violations</h2><ul>");
        for v in &run.violations {
            let _ = write!(
                h,
                "<li><code>{}</code> at event {} (t={}ms){}</li>",
                escape(&v.property),
                v.event,
                v.time,
                if v.expected { ", expected" } else { "" }
            );
        }
        h.push_str("</ul>");
    }
    h.push_str("<h2>Sequence</h2>");
    h.push_str(&svg(run));
    h.push_str("</body></html>\n");
    h
}

/// The index over all runs, with step coverage.
pub fn index(runs: &[Run], dirs: &[String], cov: &[CoverageLine]) -> String {
    let passed = runs.iter().filter(|r| r.pass).count();
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>commoncert sim</title><style>{CSS}</style></head><body>\
<h1>commoncert sim</h1><p>{passed} of {} runs passed.</p><table><tr><th>scenario</th><th>seed</th><th>result</th><th>events</th><th>trace</th><th></th></tr>",
        runs.len()
    );
    for (r, d) in runs.iter().zip(dirs) {
        let _ = write!(
            h,
            "<tr><td><a href=\"{d}/report.html\">{}</a></td><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td><code>{}</code></td><td><a href=\"{d}/report.md\">md</a> <a href=\"{d}/trace.json\">trace</a></td></tr>",
            escape(&r.name),
            r.seed,
            if r.pass { "pass" } else { "fail" },
            if r.pass { "PASS" } else { "FAIL" },
            r.events,
            escape(&r.trace_hash),
            d = escape(d)
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

    #[test]
    fn coverage_lists_never_realised_first() {
        let cov = coverage(&[]);
        assert_eq!(cov.len(), Label::ALL.len());
        assert!(cov.iter().all(|c| c.count == 0));
    }
}
