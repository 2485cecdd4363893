//! The HTML report's sequence diagram draws every message between the
//! parties the trace names: each shipped scenario is run with its own seed,
//! its SVG drawn, and every message line (`data-event` names its trace
//! event) is held against the lanes' columns. A delivered message spans
//! exactly its sender's column to its receiver's; a lost one starts at its
//! sender and heads for its receiver, ending nearer the receiver's column
//! than any other party's, and its label names both ends. The text of the
//! SVG is parsed, so no browser is needed.

use commoncert_sim::report;
use commoncert_sim::sim::Run;
use commoncert_sim::trace::{Event, Kind};
use std::collections::BTreeMap;
use std::path::Path;

mod common;

fn unescape(t: &str) -> String {
    t.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The number in attribute `key` (with its leading space and `="`) of `s`.
fn attr(s: &str, key: &str) -> i64 {
    let at = s.find(key).unwrap_or_else(|| panic!("no {key} in {s}")) + key.len();
    s[at..]
        .split('"')
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{key} is not a number in {s}"))
}

/// Each lane's party (its full name, from the lane's tooltip) and the x of
/// its lifeline (its label's centre).
fn columns(svg: &str) -> BTreeMap<String, i64> {
    svg.split("<g><title>")
        .skip(1)
        .filter(|g| g.contains("<rect class=\"lane\""))
        .map(|g| {
            let (name, rest) = g.split_once("</title>").expect("a closed title");
            let label = rest.split("<text").nth(1).expect("a lane label");
            (unescape(name), attr(label, " x=\""))
        })
        .collect()
}

/// A drawn message line: its x1, x2, and the text of its row after it.
struct Line {
    x1: i64,
    x2: i64,
    text: String,
}

/// Every message line by its trace event's index.
fn lines(svg: &str) -> BTreeMap<usize, Line> {
    let mut out = BTreeMap::new();
    for piece in svg.split("<line data-event=\"").skip(1) {
        let index: usize = piece
            .split('"')
            .next()
            .and_then(|v| v.parse().ok())
            .expect("an event index");
        let body = piece
            .split("<text")
            .nth(1)
            .and_then(|t| t.split_once('>'))
            .and_then(|(_, t)| t.split("</text>").next())
            .expect("the row's text");
        let line = Line {
            x1: attr(piece, " x1=\""),
            x2: attr(piece, " x2=\""),
            text: unescape(body),
        };
        assert!(
            out.insert(index, line).is_none(),
            "event {index} drawn twice"
        );
    }
    out
}

/// Whether the diagram draws `e` as a message line.
fn is_message(e: &Event) -> bool {
    match e.kind {
        Kind::Delivered | Kind::Duplicated => e.from != e.to,
        Kind::Dropped => true,
        _ => false,
    }
}

/// Check every message line of `run`'s diagram; the number of lost
/// messages drawn whose receiver is two or more lanes from the sender.
fn check(run: &Run) -> usize {
    let svg = report::svg(run);
    let cols = columns(&svg);
    let drawn = lines(&svg);
    let col = |name: &str| {
        *cols
            .get(name)
            .unwrap_or_else(|| panic!("{}: no lane for {name}", run.name))
    };
    let messages: Vec<&Event> = run.trace.events.iter().filter(|e| is_message(e)).collect();
    assert_eq!(drawn.len(), messages.len(), "{}", run.name);
    let mut far_losses = 0;
    for e in messages {
        let at = format!("{} event {} ({} → {})", run.name, e.index, e.from, e.to);
        let l = drawn
            .get(&e.index)
            .unwrap_or_else(|| panic!("{at}: not drawn"));
        let (from, to) = (col(&e.from), col(&e.to));
        assert_eq!(l.x1, from, "{at}: does not start at the sender");
        if e.kind != Kind::Dropped {
            assert_eq!(l.x2, to, "{at}: does not end at the receiver");
            continue;
        }
        assert!(
            l.text.contains(&format!("{} → {}, lost", e.from, e.to)),
            "{at}: the label does not name both ends: {}",
            l.text
        );
        if from == to {
            continue;
        }
        assert_eq!(
            (l.x2 - l.x1).signum(),
            (to - from).signum(),
            "{at}: heads away from the receiver"
        );
        let d = (l.x2 - to).abs();
        for (other, x) in &cols {
            assert!(
                other == &e.to || (l.x2 - x).abs() > d,
                "{at}: ends at x={} nearer {other} (x={x}) than the receiver (x={to})",
                l.x2
            );
        }
        if cols.values().any(|&x| x > from.min(to) && x < from.max(to)) {
            far_losses += 1;
        }
    }
    far_losses
}

#[test]
fn every_message_is_drawn_between_its_sender_and_receiver() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let scenarios = commoncert_sim::cli::load_all(&[dir])
        .unwrap_or_else(|e| panic!("scenarios refused:\n{}", e.join("\n")));
    assert!(scenarios.len() >= 30, "{} scenarios", scenarios.len());
    let mut far = BTreeMap::new();
    for sc in &scenarios {
        far.insert(sc.name.clone(), check(&common::run(sc, sc.seed)));
    }
    // The runs this guards: a CRL lost between the CA and B, with A's lane
    // between them, and a lossy run with the same shape.
    for name in ["push-stale-acceptance", "lossy-timeouts"] {
        assert!(far[name] > 0, "{name} loses no message across a lane");
    }
}
