//! The HTML report is a page people read, so it is tested in a real browser:
//! a report of shipped scenarios (one of them a finding whose file expects
//! its violations) is written with the library, and headless Chromium opens
//! the index, scenario pages and any chart page or SVG. Each must load with
//! nothing on the console, its screenshot must not be blank, and every link
//! of every generated page must resolve (files in the report folder,
//! fragments to an id of the target page).
//!
//! Each detector is first shown to fire on a page made to trip it (a script
//! that throws, `console.error`, an empty page, a dangling link) and to stay
//! quiet on a good page: a check that cannot fail proves nothing.
//!
//! Without Chromium (`chromium`, `chromium-browser` or `google-chrome` on
//! PATH) the browser test says so and returns, except under `CI=true`,
//! where `.ci/run` installs it and its absence is a failure.

mod common;
#[path = "browser/png.rs"]
mod png;

use commoncert_sim::report;
use commoncert_sim::scenario;
use commoncert_sim::sim::{self, Options, Run};
use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Shipped scenarios the report is made of: a finding whose file expects
/// `no-impersonation` and `no-relay`, a plain figure, a crash, a lossy
/// push race (also a finding), and a workload of the push-against-online
/// study, whose report has charts (and, written with `write_compare`, a
/// comparison page).
const SCENARIOS: &[&str] = &[
    "bearer-impersonation.toml",
    "fig3a-issue-and-qualify.toml",
    "ca-crash-restart.toml",
    "push-stale-acceptance.toml",
    WORKLOAD,
];

/// The workload among [`SCENARIOS`].
const WORKLOAD: &str = "studies/study-push-loss-0.10.toml";

/// Longest one page may take in the browser before the test gives up on it.
const PAGE_TIMEOUT: Duration = Duration::from_secs(60);

fn shipped(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios")
        .join(name)
}

/// Run the shipped scenarios with their own seeds and write every report
/// into a fresh folder `name`; the folder and the runs.
fn write_report(name: &str) -> (PathBuf, Vec<Run>) {
    let dir = common::scratch(name);
    let runs: Vec<Run> = SCENARIOS
        .iter()
        .map(|f| {
            let sc = scenario::load(&shipped(f)).unwrap_or_else(|e| panic!("{e}"));
            sim::run(
                &sc,
                Options {
                    seed: sc.seed,
                    ..Options::default()
                },
            )
            .unwrap_or_else(|e| panic!("{f}: {e}"))
        })
        .collect();
    let out = dir.join("report");
    report::write_compare(&out, &runs).expect("the report is written");
    (out, runs)
}

/// The run whose file expects violations (and shows them).
fn finding(runs: &[Run]) -> &Run {
    runs.iter()
        .find(|r| r.name == "bearer-impersonation")
        .expect("bearer-impersonation ran")
}

// ---------------------------------------------------------------------------
// Links
// ---------------------------------------------------------------------------

/// Undo [`report::escape`] in an attribute value.
fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The values of attribute `name` (quoted either way) in `page`.
fn attributes(page: &str, name: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (at, _) in page.match_indices(&format!("{name}=")) {
        // The whole attribute name, not the end of a longer one (`data-href=`).
        let before = page[..at].chars().next_back();
        if !before.is_some_and(char::is_whitespace) {
            continue;
        }
        let rest = &page[at + name.len() + 1..];
        let Some(quote) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') else {
            continue;
        };
        if let Some(end) = rest[1..].find(quote) {
            found.push(unescape(&rest[1..1 + end]));
        }
    }
    found
}

/// Every `id` of a page.
fn ids(page: &str) -> BTreeSet<String> {
    attributes(page, "id").into_iter().collect()
}

/// Every reference a page makes: `href`, `src`, `xlink:href`, and the
/// `url(#…)` of SVG markers and CSS.
fn references(page: &str) -> Vec<String> {
    let mut refs: Vec<String> = ["href", "src", "xlink:href"]
        .iter()
        .flat_map(|a| attributes(page, a))
        .collect();
    for (at, _) in page.match_indices("url(") {
        if let Some(end) = page[at + 4..].find(')') {
            refs.push(unescape(
                page[at + 4..at + 4 + end].trim_matches(['"', '\'']),
            ));
        }
    }
    refs
}

/// What is wrong with the links of `page` (the file at `path` inside the
/// report folder `root`): each an explanation; none if all resolve.
fn broken_links(root: &Path, path: &Path, page: &str) -> Vec<String> {
    let root = root.canonicalize().expect("the report folder exists");
    let own = ids(page);
    let mut broken = Vec::new();
    for link in references(page) {
        let (file, fragment) = match link.split_once('#') {
            Some((f, frag)) => (f, Some(frag)),
            None => (link.as_str(), None),
        };
        if link.is_empty() {
            broken.push("an empty link".to_string());
            continue;
        }
        if file.starts_with("data:") {
            continue;
        }
        if file.contains("://") || file.starts_with("//") || file.starts_with("mailto:") {
            broken.push(format!(
                "{link}: leaves the report, which is self-contained"
            ));
            continue;
        }
        let target_ids = if file.is_empty() {
            own.clone()
        } else {
            let dir = path.parent().expect("a page lies in a folder");
            let target = match dir.join(file).canonicalize() {
                Ok(t) => t,
                Err(e) => {
                    broken.push(format!("{link}: {e}"));
                    continue;
                }
            };
            if !target.starts_with(&root) {
                broken.push(format!("{link}: outside the report folder"));
                continue;
            }
            if !target.is_file() {
                broken.push(format!("{link}: not a file"));
                continue;
            }
            match fragment {
                Some(_) => ids(&std::fs::read_to_string(&target).unwrap_or_default()),
                None => BTreeSet::new(),
            }
        };
        if let Some(frag) = fragment
            && !target_ids.contains(frag)
        {
            broken.push(format!("{link}: no element with id {frag:?}"));
        }
    }
    broken
}

/// Every file under `dir` whose name ends with one of `exts`, sorted.
fn files(dir: &Path, exts: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).expect("a readable report folder") {
            let p = entry.expect("a readable entry").path();
            if p.is_dir() {
                todo.push(p);
            } else if exts.iter().any(|e| p.extension().is_some_and(|x| x == *e)) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_link_of_the_report_resolves() {
    let (dir, runs) = write_report("browser-links");
    let pages = files(&dir, &["html", "svg"]);
    assert!(pages.len() > SCENARIOS.len(), "{pages:?}");
    let mut checked = 0;
    for p in &pages {
        let page = std::fs::read_to_string(p).expect("a generated page is UTF-8");
        let broken = broken_links(&dir, p, &page);
        assert!(broken.is_empty(), "{}: {broken:#?}", p.display());
        checked += references(&page).len();
    }
    assert!(checked > 0);
    // The violation list links each violating event of the finding's diagram.
    let run = finding(&runs);
    let page = std::fs::read_to_string(dir.join("bearer-impersonation/report.html"))
        .expect("the finding's page");
    for v in &run.violations {
        assert!(references(&page).contains(&format!("#event-{}", v.event)));
    }
    let index = std::fs::read_to_string(dir.join("index.html")).expect("the index");
    assert!(
        references(&index).contains(&"bearer-impersonation/report.html#violations".to_string())
    );

    // The checker itself catches a dangling file, fragment and escape.
    let bad = "<a href=\"nope.html\">x</a><a href=\"#nowhere\">y</a>\
<a href=\"index.html#nowhere\">z</a><a href=\"../../x\">w</a>\
<svg><path marker-end=\"url(#gone)\"/></svg><a id=\"here\" href=\"#here\">ok</a>";
    let found = broken_links(&dir, &dir.join("index.html"), bad);
    assert_eq!(found.len(), 5, "{found:#?}");
}

// ---------------------------------------------------------------------------
// Chromium
// ---------------------------------------------------------------------------

/// The first of `chromium`, `chromium-browser`, `google-chrome` on PATH.
fn find_chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |d| d.join(name)))
        .find(|p| {
            use std::os::unix::fs::PermissionsExt;
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// What one page did in the browser.
struct Visit {
    /// The DOM after load (`--dump-dom`).
    dom: String,
    /// Console messages and uncaught errors Chromium logged.
    console: Vec<String>,
    shot: png::Image,
}

struct Browser {
    exe: PathBuf,
    scratch: PathBuf,
}

impl Browser {
    /// Open `url` headless at 1200x900: its DOM, console and screenshot.
    fn visit(&self, url: &str, name: &str) -> Visit {
        self.visit_sized(url, name, 900)
    }

    /// Open `url` headless in a window 1200 wide and `height` high.
    fn visit_sized(&self, url: &str, name: &str, height: u32) -> Visit {
        let shot = self.scratch.join(format!("{name}.png"));
        let out = self.scratch.join(format!("{name}.dom"));
        let err = self.scratch.join(format!("{name}.stderr"));
        let _ = std::fs::remove_file(&shot);
        let mut child = Command::new(&self.exe)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--no-first-run",
                "--enable-logging=stderr",
                "--v=0",
                "--virtual-time-budget=2000",
            ])
            .arg(format!("--window-size=1200,{height}"))
            // Its own profile: no state shared with another run or user.
            .arg(format!(
                "--user-data-dir={}",
                self.scratch.join(format!("profile-{name}")).display()
            ))
            .arg(format!("--screenshot={}", shot.display()))
            .arg("--dump-dom")
            .arg(url)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).expect("a scratch file"))
            .stderr(std::fs::File::create(&err).expect("a scratch file"))
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", self.exe.display()));
        let started = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().expect("waiting for Chromium") {
                break s;
            }
            if started.elapsed() > PAGE_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{url}: Chromium took over {PAGE_TIMEOUT:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let stderr = std::fs::read_to_string(&err).unwrap_or_default();
        assert!(status.success(), "{url}: Chromium {status}\n{stderr}");
        let bytes =
            std::fs::read(&shot).unwrap_or_else(|e| panic!("{url}: no screenshot ({e})\n{stderr}"));
        Visit {
            dom: std::fs::read_to_string(&out).unwrap_or_default(),
            console: console_lines(&stderr),
            shot: png::decode(&bytes).unwrap_or_else(|e| panic!("{url}: screenshot: {e}")),
        }
    }
}

/// The console lines in Chromium's log. Chromium logs every console message
/// (`[…:INFO:CONSOLE:1] "…", source: …`, or `CONSOLE(1)` in older builds)
/// and every uncaught exception (`Uncaught …`) at the same level, so
/// `console.log` and `console.error` look alike here; the report has no
/// script at all, so any console line at all is an error.
fn console_lines(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE") || l.contains("CONSOLE(") || l.contains("Uncaught"))
        .map(str::to_string)
        .collect()
}

/// Why a screenshot looks blank, if it does: at most 1% of its pixels are
/// not near-white, or it has fewer than 5 distinct colours.
fn blank(img: &png::Image) -> Option<String> {
    let total = img.pixels.len().max(1);
    let inked = img
        .pixels
        .iter()
        .filter(|p| p[..3].iter().any(|c| *c < 240))
        .count();
    let colours: BTreeSet<[u8; 4]> = img.pixels.iter().copied().collect();
    if inked * 100 <= total || colours.len() < 5 {
        Some(format!(
            "{}x{}: {inked} of {total} pixels inked, {} colours",
            img.width,
            img.height,
            colours.len()
        ))
    } else {
        None
    }
}

/// Pixels of the diagram's violation red (`#d00` strokes, `#b00` text).
fn red_pixels(img: &png::Image) -> usize {
    img.pixels
        .iter()
        .filter(|p| p[0] > 150 && p[1] < 90 && p[2] < 90)
        .count()
}

fn file_url(p: &Path) -> String {
    let abs = p.canonicalize().expect("the page exists");
    format!("file://{}", abs.display())
}

/// Chromium, or why not; `None` means skip (outside CI only).
fn chromium_or_skip() -> Option<PathBuf> {
    let found = find_chromium();
    if found.is_none() {
        let why = "no Chromium on PATH (tried chromium, chromium-browser, google-chrome)";
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{why}, and CI=true: .ci/run installs it, so this is a failure");
        }
        // Straight to the stderr handle, which the test harness does not
        // capture (it captures `print!`/`eprint!`): a skip is always seen.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED the browser test: {why}; install one (apt-get install chromium) to run it"
        );
    }
    found
}

#[test]
fn the_report_renders_in_headless_chromium() {
    let Some(exe) = chromium_or_skip() else {
        return;
    };
    let started = Instant::now();
    let scratch = common::scratch("browser-chromium");
    let browser = Browser {
        exe,
        scratch: scratch.clone(),
    };

    // The detectors fire on pages made to trip them, and not on a good one.
    let probe = |name: &str, body: &str| {
        let p = scratch.join(format!("{name}.html"));
        std::fs::write(
            &p,
            format!("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{name}</title></head><body>{body}</body></html>"),
        )
        .expect("a probe page");
        browser.visit(&file_url(&p), name)
    };
    let good = probe(
        "probe-good",
        "<h1>Good</h1><div style=\"width:600px;height:300px;background:linear-gradient(90deg,#c00,#00c)\"></div>",
    );
    assert!(good.console.is_empty(), "{:?}", good.console);
    assert_eq!(blank(&good.shot), None);
    let thrown = probe(
        "probe-throws",
        "<h1>x</h1><script>throw new Error('deliberate')</script>",
    );
    assert!(
        thrown
            .console
            .iter()
            .any(|l| l.contains("Uncaught") && l.contains("deliberate")),
        "an uncaught error went unseen: {:?}",
        thrown.console
    );
    let logged = probe(
        "probe-console-error",
        "<h1>x</h1><script>console.error('logged on purpose')</script>",
    );
    assert!(
        logged
            .console
            .iter()
            .any(|l| l.contains("logged on purpose")),
        "console.error went unseen: {:?}",
        logged.console
    );
    let empty = probe("probe-blank", "");
    assert!(
        blank(&empty.shot).is_some(),
        "an empty page did not look blank"
    );

    // The report.
    let (dir, runs) = write_report("browser-report");
    let run = finding(&runs);
    let first_violation = run
        .violations
        .first()
        .expect("the finding shows its violations")
        .event;
    let mut pages: Vec<(String, PathBuf)> = vec![
        ("index".into(), dir.join("index.html")),
        (
            "finding".into(),
            dir.join("bearer-impersonation/report.html"),
        ),
        (
            "figure".into(),
            dir.join("fig3a-issue-and-qualify/report.html"),
        ),
        (
            "workload".into(),
            dir.join("study-push-loss-0.10/report.html"),
        ),
    ];
    // Any chart page or standalone SVG the report holds.
    for p in files(&dir, &["html", "svg"]) {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let is_chart = p.extension().is_some_and(|e| e == "svg")
            || (name != "index.html" && name != "report.html");
        if is_chart {
            let label =
                report::file_stem(&p.strip_prefix(&dir).unwrap_or(&p).display().to_string());
            pages.push((format!("chart-{label}"), p));
        }
    }
    for (name, path) in &pages {
        let url = file_url(path);
        let v = browser.visit(&url, name);
        assert!(v.console.is_empty(), "{url}: console: {:#?}", v.console);
        if let Some(why) = blank(&v.shot) {
            panic!(
                "{url}: blank screenshot ({why}), see {}",
                scratch.join(format!("{name}.png")).display()
            );
        }
        assert!(
            !v.dom.contains("<parsererror") && !v.dom.contains("ERR_FILE_NOT_FOUND"),
            "{url}: did not load:\n{}",
            v.dom
        );
        let page = std::fs::read_to_string(path).expect("the page");
        if path.extension().is_some_and(|e| e == "html") {
            assert!(v.dom.contains("<body"), "{url}: no body in the DOM");
            let broken = broken_links(&dir, path, &page);
            assert!(broken.is_empty(), "{url}: {broken:#?}");
        }
        match name.as_str() {
            "index" => {
                assert!(v.dom.contains("badge expected"), "{url}");
                assert!(
                    v.dom
                        .contains("expected violations: no-impersonation, no-relay")
                );
            }
            "finding" => {
                assert!(v.dom.contains("<svg"));
                assert!(v.dom.contains(&format!("id=\"event-{first_violation}\"")));
            }
            "workload" => {
                assert!(v.dom.contains("Workload figures"), "{url}");
                assert!(v.dom.contains("<img src=\"charts/staleness.svg\""), "{url}");
                assert!(v.dom.contains("The diagram shows only the first"), "{url}");
            }
            _ => {}
        }
    }

    // The violating events stand out in red: the whole finding page, tall
    // enough to hold its diagram, against the same page drawn without
    // violations.
    let tall = 700 + 40 * u32::try_from(run.trace.events.len()).expect("a short trace");
    let marked = browser.visit_sized(
        &file_url(&dir.join("bearer-impersonation/report.html")),
        "finding-tall",
        tall,
    );
    let mut quiet = run.clone();
    quiet.violations.clear();
    let quiet_page = scratch.join("finding-without-violations.html");
    std::fs::write(&quiet_page, report::html(&quiet)).expect("a scratch page");
    let unmarked = browser.visit_sized(&file_url(&quiet_page), "finding-tall-unmarked", tall);
    assert!(marked.console.is_empty() && unmarked.console.is_empty());
    let (red, calm) = (red_pixels(&marked.shot), red_pixels(&unmarked.shot));
    assert!(
        red > 500 && red > 10 * calm.max(1),
        "the violations are not visibly red: {red} red pixels marked, {calm} unmarked"
    );
    println!(
        "browser: 4 probes and {} report pages in {:.1} s",
        pages.len() + 2,
        started.elapsed().as_secs_f64()
    );
}
