//! A workload run's figures ([`crate::metrics::Summary`]) drawn as SVG, one
//! or more labelled runs per chart, so that push and online revocation (or
//! one loss rate against another) can be read off the same axes.
//!
//! Every function here is pure: figures in, an SVG string out, drawn with
//! plotters' `SVGBackend::with_string`. Nothing is written to disk here
//! (the report decides where charts go) and nothing reads the wall clock,
//! so the same runs give the same bytes.
//!
//! Text needs no font file: plotters without its `ttf`/`ab_glyph` features
//! estimates text extents itself and the SVG backend writes `<text>`
//! elements that the browser lays out with its own sans-serif face.
//!
//! A chart must never take the report down with it: no data (no serial
//! invalidated, no operation ended, zero-length series) draws an explicit
//! "no data" chart ([`no_data`]); an error from plotters is returned as a
//! [`ChartError`], and [`charts`] turns it into a "no data" chart that says
//! why. Legends are drawn below the plot, one row per run, so that a long
//! run name or a tall curve never hides behind them.

use crate::metrics::{Percentiles, Summary};
use plotters::coord::Shift;
use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, Ranged, ValueFormatter};
use plotters::prelude::*;

/// Width of every chart, and height of its plot (the legend adds rows below).
pub const WIDTH: u32 = 860;
pub const PLOT_HEIGHT: u32 = 420;
/// Height of one legend row, and the legend's padding above and below.
const LEGEND_ROW: u32 = 20;
const LEGEND_PAD: u32 = 10;
/// Font sizes as plotters takes them (it writes size / 1.24 px): about
/// 17.7 px for titles and 12.9 px for everything else.
const CAPTION: f64 = 22.0;
const LABEL: f64 = 16.0;
/// The highest point of a load series stays below the top of its panel.
const HEADROOM: f64 = 1.1;

/// One run's figures and the label that names it in the legend.
#[derive(Clone, Copy, Debug)]
pub struct Labelled<'a> {
    pub label: &'a str,
    pub summary: &'a Summary,
}

/// Why a chart could not be drawn (plotters' own error, in words).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ChartError(String);

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for ChartError {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        ChartError(e.to_string())
    }
}

/// A drawn chart: the file name the report gives it, its title and its SVG.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chart {
    pub file: &'static str,
    pub title: &'static str,
    pub svg: String,
}

pub const STALENESS_FILE: &str = "staleness.svg";
pub const STALENESS_TITLE: &str =
    "Revocation staleness: CA deletion to the last grant of the serial";
pub const EXPOSURE_FILE: &str = "exposure.svg";
pub const EXPOSURE_TITLE: &str =
    "Exposure: CA deletion to the last notification (lost: open to the run's end)";

/// Every chart [`charts`] draws: (file name, title), in order. A report
/// links these without drawing them.
pub const CATALOGUE: [(&str, &str); 4] = [
    (STALENESS_FILE, STALENESS_TITLE),
    (EXPOSURE_FILE, EXPOSURE_TITLE),
    (LATENCY_FILE, LATENCY_TITLE),
    (LOAD_FILE, LOAD_TITLE),
];

/// Every chart of `runs`, in the order a report shows them: staleness and
/// exposure CDFs, latency, throughput and CA load. A chart that fails is
/// replaced by a "no data" chart that names the error, so this never fails.
pub fn charts(runs: &[Labelled<'_>]) -> Vec<Chart> {
    let chart = |file, title, drawn: Result<String, ChartError>| Chart {
        file,
        title,
        svg: or_no_data(title, drawn),
    };
    vec![
        chart(
            Cdf::Staleness.file(),
            Cdf::Staleness.title(),
            cdf(Cdf::Staleness, runs),
        ),
        chart(
            Cdf::Exposure.file(),
            Cdf::Exposure.title(),
            cdf(Cdf::Exposure, runs),
        ),
        chart(LATENCY_FILE, LATENCY_TITLE, latency(runs)),
        chart(LOAD_FILE, LOAD_TITLE, load(runs)),
    ]
}

/// `drawn`, or if it failed a "no data" chart saying why.
pub fn or_no_data(title: &str, drawn: Result<String, ChartError>) -> String {
    drawn.unwrap_or_else(|e| no_data(title, &format!("the chart could not be drawn ({e})")))
}

/// A chart with a title, an empty grey plot and the words "no data: why".
/// Hand-written, so it cannot fail.
pub fn no_data(title: &str, why: &str) -> String {
    let (w, h) = (WIDTH, PLOT_HEIGHT);
    let (cx, cy) = (w / 2, h / 2 + 10);
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">\
<rect width=\"{w}\" height=\"{h}\" fill=\"#ffffff\"/>\
<text x=\"{cx}\" y=\"30\" text-anchor=\"middle\" font-family=\"sans-serif\" font-size=\"18\">{}</text>\
<rect x=\"64\" y=\"50\" width=\"{}\" height=\"{}\" fill=\"#e4e4ec\" stroke=\"#888888\"/>\
<text class=\"no-data\" x=\"{cx}\" y=\"{cy}\" text-anchor=\"middle\" font-family=\"sans-serif\" font-size=\"16\" fill=\"#444444\">no data: {}</text>\
</svg>\n",
        crate::report::escape(title),
        w - 64 - 24,
        h - 50 - 40,
        crate::report::escape(why)
    )
}

/// Distinct, colour-blind-friendlier colours (matplotlib's "tab10" order),
/// one per run, cycling after eight.
const COLOURS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

fn colour(i: usize) -> RGBColor {
    COLOURS[i % COLOURS.len()]
}

/// A label as plotters may write it: it escapes markup itself, but XML 1.0
/// forbids most control characters even escaped.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() && c != '\t' { '?' } else { c })
        .collect()
}

/// Virtual milliseconds in words: `0 ms`, `15 ms`, `7.0 s`, `62.6 s`.
pub fn duration_text(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

/// Draw on a fresh SVG of `size` and return its text. A panic inside
/// plotters (it asserts on some degenerate inputs) becomes an error: a
/// chart is never worth losing the rest of a report.
fn render<F>(size: (u32, u32), draw: F) -> Result<String, ChartError>
where
    F: FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<(), ChartError>,
{
    let mut svg = String::new();
    let drawn = std::panic::catch_unwind(std::panic::AssertUnwindSafe(
        || -> Result<(), ChartError> {
            let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
            root.fill(&WHITE)?;
            draw(&root)?;
            root.present()?;
            Ok(())
        },
    ));
    match drawn {
        Ok(Ok(())) => Ok(svg),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(ChartError("the plotting library panicked".into())),
    }
}

/// A linear f64 axis whose ticks are exactly the given points (plotters'
/// `with_key_points` cannot be combined with a custom label formatter on
/// f64): the time axis ticks each decade, the latency axis each kind.
#[derive(Clone)]
struct Ticked {
    from: f64,
    to: f64,
    ticks: Vec<f64>,
}

impl Ranged for Ticked {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        if self.to <= self.from {
            return (limit.0 + limit.1) / 2;
        }
        let share = (v - self.from) / (self.to - self.from);
        limit.0 + (share * f64::from(limit.1 - limit.0)).round() as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.from..self.to
    }
}

impl ValueFormatter<f64> for Ticked {
    fn format(value: &f64) -> String {
        format!("{value}")
    }
}

// ---------------------------------------------------------------------------
// Legends
// ---------------------------------------------------------------------------

/// What a legend item shows before its text.
#[derive(Clone, Copy)]
enum Mark {
    Line(RGBColor),
    Box(RGBColor),
    Marker(Percentile),
}

/// The percentiles of the latency chart, each with its own marker shape.
#[derive(Clone, Copy)]
enum Percentile {
    P50,
    P90,
    P99,
    Max,
}

impl Percentile {
    const ALL: [Percentile; 4] = [
        Percentile::P50,
        Percentile::P90,
        Percentile::P99,
        Percentile::Max,
    ];

    fn name(self) -> &'static str {
        match self {
            Percentile::P50 => "p50",
            Percentile::P90 => "p90",
            Percentile::P99 => "p99",
            Percentile::Max => "max",
        }
    }

    fn of(self, p: &Percentiles) -> u64 {
        match self {
            Percentile::P50 => p.p50,
            Percentile::P90 => p.p90,
            Percentile::P99 => p.p99,
            Percentile::Max => p.max,
        }
    }
}

/// Height of a legend of `rows` rows.
fn legend_height(rows: usize) -> u32 {
    if rows == 0 {
        0
    } else {
        2 * LEGEND_PAD + LEGEND_ROW * rows as u32
    }
}

/// Draw one percentile marker of the legend centred at pixel `(x, y)` in `c`
/// (the same shapes as the latency chart's series).
fn marker(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    p: Percentile,
    (x, y): (i32, i32),
    c: RGBColor,
) -> Result<(), ChartError> {
    match p {
        Percentile::P50 => area.draw(&Circle::new((x, y), 4, c.filled()))?,
        Percentile::P90 => area.draw(&TriangleMarker::new((x, y), 6, c.filled()))?,
        Percentile::P99 => area.draw(&Rectangle::new(
            [(x - 4, y - 4), (x + 4, y + 4)],
            c.filled(),
        ))?,
        Percentile::Max => area.draw(&Cross::new((x, y), 5, c.stroke_width(2)))?,
    }
    Ok(())
}

/// Rows of legend items below a plot, left-aligned.
fn legend(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    rows: &[Vec<(Mark, String)>],
) -> Result<(), ChartError> {
    let font = ("sans-serif", LABEL).into_font();
    for (r, items) in rows.iter().enumerate() {
        let y = (LEGEND_PAD + LEGEND_ROW * r as u32 + LEGEND_ROW / 2) as i32;
        let mut x = 64i32;
        for (mark, text) in items {
            match mark {
                Mark::Line(c) => area.draw(&PathElement::new(
                    vec![(x, y), (x + 24, y)],
                    c.stroke_width(3),
                ))?,
                Mark::Box(c) => area.draw(&Rectangle::new(
                    [(x + 4, y - 6), (x + 20, y + 6)],
                    c.filled(),
                ))?,
                Mark::Marker(p) => marker(area, *p, (x + 12, y), BLACK)?,
            }
            let text = clean(text);
            area.draw(&Text::new(
                text.clone(),
                (x + 32, y - 7),
                font.clone().color(&BLACK),
            ))?;
            // The naive font's estimate: about 0.6 em per character.
            x += 32 + 8 * text.chars().count() as i32 + 24;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// CDFs of staleness and exposure
// ---------------------------------------------------------------------------

/// Which revocation window a CDF shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cdf {
    /// CA deletion to the last grant of the serial anywhere.
    Staleness,
    /// CA deletion to the last service's notification (lost: open to the end).
    Exposure,
}

impl Cdf {
    pub fn file(self) -> &'static str {
        match self {
            Cdf::Staleness => STALENESS_FILE,
            Cdf::Exposure => EXPOSURE_FILE,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Cdf::Staleness => STALENESS_TITLE,
            Cdf::Exposure => EXPOSURE_TITLE,
        }
    }

    fn x_desc(self) -> &'static str {
        match self {
            Cdf::Staleness => "staleness, virtual time (0, then one step per decade from 1 ms)",
            Cdf::Exposure => "exposure, virtual time (0, then one step per decade from 1 ms)",
        }
    }

    fn points(self, s: &Summary) -> &[(u64, f64)] {
        match self {
            Cdf::Staleness => &s.staleness.cdf,
            Cdf::Exposure => &s.staleness.exposure_cdf,
        }
    }

    fn percentiles(self, s: &Summary) -> &Percentiles {
        match self {
            Cdf::Staleness => &s.staleness.percentiles,
            Cdf::Exposure => &s.staleness.exposure,
        }
    }
}

/// The CDFs' time axis: linear from 0 to 1 ms, then one unit per decade
/// (1 ms at 1, 10 ms at 2, 1 s at 4, 100 s at 6). Windows are whole
/// milliseconds, so 0 (online checking, a notification in the same
/// instant) and minutes (a lost notification) both stay visible.
pub fn time_axis(ms: f64) -> f64 {
    if ms <= 1.0 {
        ms.max(0.0)
    } else {
        1.0 + ms.log10()
    }
}

/// The label of the time axis at `x`: only whole units are ticks.
fn time_tick(x: f64) -> String {
    let k = x.round();
    if (x - k).abs() > 1e-6 || k < 0.0 {
        String::new()
    } else if k == 0.0 {
        "0".to_string()
    } else {
        duration_text(10f64.powi(k as i32 - 1).round() as u64)
    }
}

/// The CDF as a step line on the time axis, from (0, 0) to the right edge.
fn step_path(points: &[(u64, f64)], right: f64) -> Vec<(f64, f64)> {
    let mut path = vec![(0.0, 0.0)];
    let mut last = 0.0;
    for (v, f) in points {
        let x = time_axis(*v as f64);
        path.push((x, last));
        path.push((x, *f));
        last = *f;
    }
    path.push((right, last));
    path
}

/// The CDF of `which` for each run, overlaid; the legend gives each run's
/// count, p50, p99 and max.
pub fn cdf(which: Cdf, runs: &[Labelled<'_>]) -> Result<String, ChartError> {
    let title = which.title();
    if runs.iter().all(|r| which.points(r.summary).is_empty()) {
        return Ok(no_data(title, "no serial was invalidated in any run"));
    }
    let longest = runs
        .iter()
        .flat_map(|r| which.points(r.summary))
        .map(|p| p.0)
        .max()
        .unwrap_or(0);
    // At least up to 100 ms, so that a run of zeros is not squeezed flat.
    let top = time_axis(longest as f64).ceil().max(3.0);
    let right = top + 0.15;
    let ticks: Vec<f64> = (0..=top as i64).map(|k| k as f64).collect();
    let rows: Vec<Vec<(Mark, String)>> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let p = which.percentiles(r.summary);
            let text = if which.points(r.summary).is_empty() {
                format!("{}: no serial invalidated", r.label)
            } else {
                format!(
                    "{}: {} serials, p50 {}, p99 {}, max {}",
                    r.label,
                    p.count,
                    duration_text(p.p50),
                    duration_text(p.p99),
                    duration_text(p.max)
                )
            };
            vec![(Mark::Line(colour(i)), text)]
        })
        .collect();
    let size = (WIDTH, PLOT_HEIGHT + legend_height(rows.len()));
    render(size, |root| {
        let (plot, below) = root.split_vertically(PLOT_HEIGHT);
        let mut chart = ChartBuilder::on(&plot)
            .caption(title, ("sans-serif", CAPTION))
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(64)
            // A little room left of 0, so a jump at 0 ms is not hidden by the axis.
            .build_cartesian_2d(
                Ticked {
                    from: -0.25,
                    to: right,
                    ticks,
                },
                -0.02..1.05f64,
            )?;
        chart
            .configure_mesh()
            .axis_desc_style(("sans-serif", LABEL))
            .label_style(("sans-serif", LABEL))
            .x_desc(which.x_desc())
            .y_desc("invalidated serials at or below (cumulative %)")
            .x_label_formatter(&|x| time_tick(*x))
            .y_label_formatter(&|y| format!("{:.0}%", y * 100.0))
            .draw()?;
        for (i, r) in runs.iter().enumerate() {
            let c = colour(i);
            let points = which.points(r.summary);
            chart.draw_series(LineSeries::new(step_path(points, right), c.stroke_width(2)))?;
            chart.draw_series(
                points
                    .iter()
                    .map(|(v, f)| Circle::new((time_axis(*v as f64), *f), 3, c.filled())),
            )?;
        }
        legend(&below, &rows)
    })
}

// ---------------------------------------------------------------------------
// Latency
// ---------------------------------------------------------------------------

pub const LATENCY_FILE: &str = "latency.svg";
pub const LATENCY_TITLE: &str = "Operation latency per kind: p50, p90, p99 and max";

/// Latency percentiles per operation kind ("all" first), one column of
/// markers per run inside each kind's band, joined from p50 to max.
pub fn latency(runs: &[Labelled<'_>]) -> Result<String, ChartError> {
    let mut kinds: Vec<&str> = Vec::new();
    for r in runs {
        for p in &r.summary.latency {
            if !kinds.contains(&p.what.as_str()) {
                kinds.push(&p.what);
            }
        }
    }
    if kinds.is_empty() {
        return Ok(no_data(LATENCY_TITLE, "no operation ended in any run"));
    }
    let highest = runs
        .iter()
        .flat_map(|r| &r.summary.latency)
        .map(|p| p.max)
        .max()
        .unwrap_or(0);
    // The CDFs' time axis, upright: a timeout of 1 s and a p50 of 0 or 15 ms
    // both stay readable.
    let y_top = time_axis(highest as f64).ceil().max(2.0);
    let y_ticks: Vec<f64> = (0..=y_top as i64).map(|k| k as f64).collect();
    let (k, n) = (kinds.len(), runs.len());
    let ticks: Vec<f64> = (0..k).map(|i| i as f64 + 0.5).collect();
    let mut rows: Vec<Vec<(Mark, String)>> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| vec![(Mark::Box(colour(i)), r.label.to_string())])
        .collect();
    rows.push(
        Percentile::ALL
            .iter()
            .map(|p| (Mark::Marker(*p), p.name().to_string()))
            .collect(),
    );
    let size = (WIDTH, PLOT_HEIGHT + legend_height(rows.len()));
    render(size, |root| {
        let (plot, below) = root.split_vertically(PLOT_HEIGHT);
        let mut chart = ChartBuilder::on(&plot)
            .caption(LATENCY_TITLE, ("sans-serif", CAPTION))
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(64)
            .build_cartesian_2d(
                Ticked {
                    from: 0.0,
                    to: k as f64,
                    ticks,
                },
                Ticked {
                    from: -0.1,
                    to: y_top + 0.15,
                    ticks: y_ticks,
                },
            )?;
        let kind_at = |x: &f64| {
            let i = x.floor();
            if i >= 0.0 && (i as usize) < k && (x - i - 0.5).abs() < 1e-6 {
                kinds[i as usize].to_string()
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .axis_desc_style(("sans-serif", LABEL))
            .label_style(("sans-serif", LABEL))
            .disable_x_mesh()
            .x_desc("operation kind (a column of markers per run)")
            .y_desc("latency, virtual time (0, then one step per decade)")
            .x_label_formatter(&kind_at)
            .y_label_formatter(&|y| time_tick(*y))
            .draw()?;
        for (r, run) in runs.iter().enumerate() {
            let c = colour(r);
            let dx = (r + 1) as f64 / (n + 1) as f64;
            let column = |p: &Percentiles| {
                kinds
                    .iter()
                    .position(|k| *k == p.what)
                    .map(|i| i as f64 + dx)
            };
            chart.draw_series(run.summary.latency.iter().filter_map(|p| {
                column(p).map(|x| {
                    PathElement::new(
                        vec![(x, time_axis(p.p50 as f64)), (x, time_axis(p.max as f64))],
                        c.stroke_width(2),
                    )
                })
            }))?;
            let at = |pct: Percentile| {
                run.summary
                    .latency
                    .iter()
                    .filter_map(move |p| column(p).map(|x| (x, time_axis(pct.of(p) as f64))))
            };
            chart.draw_series(at(Percentile::P50).map(|xy| Circle::new(xy, 4, c.filled())))?;
            chart.draw_series(
                at(Percentile::P90).map(|xy| TriangleMarker::new(xy, 6, c.filled())),
            )?;
            chart.draw_series(
                at(Percentile::P99).map(|xy| {
                    EmptyElement::at(xy) + Rectangle::new([(-4, -4), (4, 4)], c.filled())
                }),
            )?;
            chart
                .draw_series(at(Percentile::Max).map(|xy| Cross::new(xy, 5, c.stroke_width(2))))?;
        }
        legend(&below, &rows)
    })
}

// ---------------------------------------------------------------------------
// Throughput and CA load
// ---------------------------------------------------------------------------

pub const LOAD_FILE: &str = "load.svg";
pub const LOAD_TITLE: &str = "Throughput and CA load over virtual time";

/// Which per-second series a panel of the load chart draws.
#[derive(Clone, Copy)]
enum Series {
    Throughput,
    CaLoad,
}

impl Series {
    fn of(self, s: &Summary) -> &[u64] {
        match self {
            Series::Throughput => &s.throughput_per_s,
            Series::CaLoad => &s.ca_load.per_s,
        }
    }

    fn caption(self) -> &'static str {
        match self {
            Series::Throughput => "throughput: operations ended per virtual second",
            Series::CaLoad => "CA load: messages the CA received per virtual second",
        }
    }

    fn y_desc(self) -> &'static str {
        match self {
            Series::Throughput => "ops/s",
            Series::CaLoad => "messages/s",
        }
    }
}

/// Throughput (operations ended per second) above CA load (messages the CA
/// received per second), each run a line, against virtual seconds.
pub fn load(runs: &[Labelled<'_>]) -> Result<String, ChartError> {
    let panels = [Series::Throughput, Series::CaLoad];
    if panels
        .iter()
        .all(|p| runs.iter().all(|r| p.of(r.summary).is_empty()))
    {
        return Ok(no_data(
            LOAD_TITLE,
            "no operation ended and the CA received nothing",
        ));
    }
    let rows: Vec<Vec<(Mark, String)>> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let s = r.summary;
            vec![(
                Mark::Line(colour(i)),
                format!(
                    "{}: CA {:.1}/s mean, {}/s peak",
                    r.label, s.ca_load.mean_per_s, s.ca_load.peak_per_s
                ),
            )]
        })
        .collect();
    let panel_h = PLOT_HEIGHT * 3 / 4;
    let size = (WIDTH, 40 + 2 * panel_h + legend_height(rows.len()));
    render(size, |root| {
        let titled = root.titled(LOAD_TITLE, ("sans-serif", CAPTION))?;
        let (top, rest) = titled.split_vertically(panel_h);
        let (bottom, below) = rest.split_vertically(panel_h);
        for (area, series) in [(&top, panels[0]), (&bottom, panels[1])] {
            let len = runs
                .iter()
                .map(|r| series.of(r.summary).len())
                .max()
                .unwrap_or(0);
            if len == 0 {
                let (w, h) = area.dim_in_pixel();
                area.fill(&RGBColor(228, 228, 236))?;
                area.draw(&Text::new(
                    format!("no data: {}", series.caption()),
                    (w as i32 / 2 - 200, h as i32 / 2),
                    ("sans-serif", 15).into_font().color(&BLACK),
                ))?;
                continue;
            }
            let highest = runs
                .iter()
                .flat_map(|r| series.of(r.summary))
                .copied()
                .max()
                .unwrap_or(0);
            let mut chart = ChartBuilder::on(area)
                .caption(series.caption(), ("sans-serif", LABEL))
                .margin(10)
                .x_label_area_size(40)
                .y_label_area_size(64)
                .build_cartesian_2d(
                    0.0..(len as f64).max(1.0),
                    0.0..(highest as f64 * HEADROOM).max(1.0),
                )?;
            chart
                .configure_mesh()
                .axis_desc_style(("sans-serif", LABEL))
                .label_style(("sans-serif", LABEL))
                .x_desc("virtual time, s")
                .y_desc(series.y_desc())
                .x_label_formatter(&|x| format!("{x:.0}"))
                .y_label_formatter(&|y| format!("{y:.0}"))
                .draw()?;
            for (i, r) in runs.iter().enumerate() {
                let points = series
                    .of(r.summary)
                    .iter()
                    .enumerate()
                    .map(|(s, v)| (s as f64, *v as f64));
                chart.draw_series(LineSeries::new(points, colour(i).stroke_width(2)))?;
            }
        }
        legend(&below, &rows)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{CaLoad, OpCounts, Staleness};
    use std::collections::BTreeMap;

    fn pct(what: &str, [p50, p90, p99, max]: [u64; 4], count: u64) -> Percentiles {
        Percentiles {
            what: what.to_string(),
            count,
            p50,
            p90,
            p99,
            max,
        }
    }

    /// A summary with `invalidated` serials: staleness all 0, exposure up to
    /// `exposed` ms; latency for use and issue; a few seconds of load.
    fn summary(invalidated: u64, exposed: u64) -> Summary {
        let cdf = if invalidated == 0 {
            Vec::new()
        } else {
            vec![(0, 1.0)]
        };
        let exposure_cdf = if invalidated == 0 {
            Vec::new()
        } else {
            vec![(12, 0.5), (20, 0.9), (exposed, 1.0)]
        };
        Summary {
            ops: OpCounts {
                started: 10,
                ended: 10,
                busy: 0,
                down: 0,
            },
            outcomes: BTreeMap::new(),
            latency: vec![
                pct("all", [10, 60, 90, 1000], 10),
                pct("issue", [60, 80, 90, 95], 3),
                pct("use", [0, 40, 60, 1000], 7),
            ],
            staleness: Staleness {
                invalidated,
                accepted_after: 0,
                grants_after: 0,
                observed_after_last_ms: Some(100),
                percentiles: pct("staleness", [0; 4], invalidated),
                cdf,
                notifications: 2 * invalidated,
                notifications_lost: 1,
                exposure: pct("exposure", [12, 20, exposed, exposed], invalidated),
                exposure_cdf,
            },
            ca_load: CaLoad {
                messages: 9,
                mean_per_s: 3.0,
                peak_per_s: 5,
                per_s: vec![1, 5, 3],
            },
            throughput_per_s: vec![2, 4, 4],
            revoked_accepted_by_service: BTreeMap::new(),
            duration_ms: 3000,
        }
    }

    /// Every tag closes in order (self-closing ones excepted): the SVG is
    /// well-formed enough for a browser and an XML parser.
    fn balanced(svg: &str) -> bool {
        let mut open: Vec<&str> = Vec::new();
        let mut rest = svg;
        while let Some(at) = rest.find('<') {
            rest = &rest[at + 1..];
            let Some(end) = rest.find('>') else {
                return false;
            };
            let tag = &rest[..end];
            rest = &rest[end + 1..];
            if tag.starts_with('?') || tag.starts_with('!') || tag.ends_with('/') {
                continue;
            }
            if let Some(name) = tag.strip_prefix('/') {
                if open.pop() != Some(name.trim()) {
                    return false;
                }
            } else {
                let name = tag.split_whitespace().next().unwrap_or_default();
                open.push(name);
            }
        }
        open.is_empty()
    }

    /// The text of every `<text>` element, unescaped and trimmed.
    fn texts(svg: &str) -> Vec<String> {
        svg.split("<text")
            .skip(1)
            .filter_map(|t| {
                let body = t.split_once('>')?.1.split("</text>").next()?;
                Some(
                    body.trim()
                        .replace("&lt;", "<")
                        .replace("&gt;", ">")
                        .replace("&quot;", "\"")
                        .replace("&apos;", "'")
                        .replace("&#39;", "'")
                        .replace("&amp;", "&"),
                )
            })
            .collect()
    }

    /// `svg` is an SVG document with balanced tags, and each of `needles`
    /// is (part of) the text of one of its `<text>` elements.
    fn assert_svg(svg: &str, needles: &[&str]) {
        assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(80)]);
        assert!(svg.contains("xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(balanced(svg), "unbalanced tags");
        let texts = texts(svg);
        for n in needles {
            assert!(
                texts.iter().any(|t| t.contains(n)),
                "no text {n:?} in {texts:#?}"
            );
        }
    }

    #[test]
    fn a_cdf_has_title_axes_and_legend_with_text_drawn_without_font_files() {
        let s = summary(4, 62_623);
        let runs = [Labelled {
            label: "push-loss-0.10",
            summary: &s,
        }];
        let svg = cdf(Cdf::Exposure, &runs).expect("drawn");
        assert_svg(
            &svg,
            &[
                "Exposure: CA deletion to the last notification",
                "exposure, virtual time",
                "invalidated serials at or below (cumulative %)",
                "push-loss-0.10: 4 serials, p50 12 ms, p99 62.6 s, max 62.6 s",
            ],
        );
        let ticks = texts(&svg);
        for tick in ["0", "1 ms", "10 ms", "100 ms", "1 s", "10 s", "100 s"] {
            assert!(ticks.iter().any(|t| t == tick), "no tick {tick}");
        }
        assert!(!svg.contains("no data"));
        // Text is real <text>, laid out by plotters' own estimate.
        assert!(texts(&svg).len() > 10);
    }

    #[test]
    fn two_runs_overlay_with_both_labels() {
        let (a, b) = (summary(3, 20), summary(5, 40_000));
        let runs = [
            Labelled {
                label: "online",
                summary: &a,
            },
            Labelled {
                label: "push",
                summary: &b,
            },
        ];
        for chart in charts(&runs) {
            assert_svg(&chart.svg, &[chart.title, "online", "push"]);
            assert!(!chart.svg.contains("no data"), "{}", chart.file);
            assert!(chart.svg.contains("<polyline") || chart.svg.contains("<path"));
        }
        let latency = latency(&runs).expect("drawn");
        assert_svg(
            &latency,
            &[
                "latency, virtual time",
                "operation kind",
                "issue",
                "use",
                "all",
                "p99",
            ],
        );
        let load = load(&runs).expect("drawn");
        assert_svg(
            &load,
            &[
                "virtual time, s",
                "ops/s",
                "messages/s",
                "online: CA 3.0/s mean, 5/s peak",
            ],
        );
        // Two colours of curve.
        assert!(svg_has_colour(&load, COLOURS[0]) && svg_has_colour(&load, COLOURS[1]));
    }

    fn svg_has_colour(svg: &str, c: RGBColor) -> bool {
        svg.contains(&format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2))
    }

    #[test]
    fn empty_data_draws_the_no_data_chart() {
        let mut s = summary(0, 0);
        s.latency.clear();
        s.throughput_per_s.clear();
        s.ca_load.per_s.clear();
        let runs = [Labelled {
            label: "idle",
            summary: &s,
        }];
        for chart in charts(&runs) {
            assert_svg(&chart.svg, &[chart.title, "no data: "]);
        }
        // No runs at all is no data too, not a panic.
        for chart in charts(&[]) {
            assert_svg(&chart.svg, &["no data: "]);
        }
        // One empty run beside one with data: drawn, and the legend says so.
        let full = summary(2, 30);
        let mixed = [
            Labelled {
                label: "idle",
                summary: &s,
            },
            Labelled {
                label: "busy",
                summary: &full,
            },
        ];
        let svg = cdf(Cdf::Staleness, &mixed).expect("drawn");
        assert_svg(&svg, &["idle: no serial invalidated", "busy: 2 serials"]);
        let load = load(&mixed).expect("drawn");
        assert!(!load.contains("no data"));
    }

    #[test]
    fn labels_are_escaped_and_cleaned() {
        let s = summary(1, 5);
        let runs = [Labelled {
            label: "a<b>&\"c\u{1}",
            summary: &s,
        }];
        for chart in charts(&runs) {
            assert_svg(&chart.svg, &["a<b>&\"c?"]);
            assert!(chart.svg.contains("a&lt;b&gt;&amp;"));
            assert!(!chart.svg.contains('\u{1}'));
        }
        let nd = no_data("t<", "why&");
        assert_svg(&nd, &["t<", "no data: why&"]);
        assert!(nd.contains("t&lt;") && nd.contains("why&amp;"));
    }

    #[test]
    fn the_time_axis_shows_zero_and_minutes() {
        assert_eq!(time_axis(0.0), 0.0);
        assert_eq!(time_axis(1.0), 1.0);
        assert!((time_axis(1000.0) - 4.0).abs() < 1e-9);
        assert_eq!(time_tick(0.0), "0");
        assert_eq!(time_tick(3.0), "100 ms");
        assert_eq!(time_tick(6.0), "100 s");
        assert_eq!(time_tick(2.5), "");
        assert_eq!(duration_text(62_623), "62.6 s");
        assert_eq!(duration_text(7000), "7 s");
        let path = step_path(&[(0, 0.5), (10, 1.0)], 4.0);
        assert_eq!(
            path,
            vec![
                (0.0, 0.0),
                (0.0, 0.0),
                (0.0, 0.5),
                (2.0, 0.5),
                (2.0, 1.0),
                (4.0, 1.0)
            ]
        );
    }

    #[test]
    fn a_plotting_error_becomes_a_no_data_chart() {
        let svg = or_no_data("t", Err(ChartError("broken".into())));
        assert!(svg.contains("no data: the chart could not be drawn (broken)"));
        let r = render((10, 10), |_| Err(ChartError("inner".into())));
        assert_eq!(r, Err(ChartError("inner".into())));
    }
}
