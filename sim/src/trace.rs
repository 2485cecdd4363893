//! A run's trace: every event in order, and its fingerprint.
//!
//! The fingerprint is SHA-256 over the canonical JSON of the events (struct
//! fields in declaration order, no maps), cut to 16 bytes of hex: the same
//! file and seed give the same fingerprint, byte for byte.

use crate::clock::Time;
use crate::network::DropReason;
use crate::sim::FastMap;
use serde::Serialize;
use std::collections::BTreeMap;

/// What kind of event a trace line records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A message reached a live node.
    Delivered,
    /// The second copy of a duplicated message reached a live node.
    Duplicated,
    /// A message did not arrive (see `reason`).
    Dropped,
    /// A timer fired: a user's (or an adversary's) timeout, or the CA's
    /// retransmission timer (`push-ack`).
    Timer,
    /// A scenario step started an operation or a wait.
    Start,
    Crash,
    Restart,
    Partition,
    Heal,
}

impl Kind {
    /// The name it is serialised as.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Delivered => "delivered",
            Kind::Duplicated => "duplicated",
            Kind::Dropped => "dropped",
            Kind::Timer => "timer",
            Kind::Start => "start",
            Kind::Crash => "crash",
            Kind::Restart => "restart",
            Kind::Partition => "partition",
            Kind::Heal => "heal",
        }
    }

    pub const ALL: [Kind; 9] = [
        Kind::Delivered,
        Kind::Duplicated,
        Kind::Dropped,
        Kind::Timer,
        Kind::Start,
        Kind::Crash,
        Kind::Restart,
        Kind::Partition,
        Kind::Heal,
    ];
}

/// One event.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Event {
    pub index: usize,
    pub time: Time,
    pub kind: Kind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<DropReason>,
    pub from: String,
    pub to: String,
    /// The message's one-line summary, or what the step did.
    pub what: String,
    /// Step labels this event realised.
    pub steps: Vec<String>,
    /// The scenario step (1-based) that caused it; none for the boot.
    pub cause: Option<usize>,
    /// Operations that ended here: `op <n>: <outcome>`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub done: Vec<String>,
    /// Invariants this event broke.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<String>,
}

/// An event as it is being recorded: the same fields as [`Event`], borrowed,
/// serialised to exactly the same JSON. The simulator records through it so
/// that an event a workload does not keep costs no allocation: its names,
/// labels and message summary are read where they are and hashed, and an
/// owned [`Event`] is made only for the events kept.
#[derive(Serialize)]
pub struct EventRef<'a> {
    pub index: usize,
    pub time: Time,
    pub kind: Kind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<DropReason>,
    pub from: &'a str,
    pub to: &'a str,
    pub what: &'a str,
    pub steps: &'a [&'a str],
    pub cause: Option<usize>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub done: &'a [Done<'a>],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub violations: &'a [&'a str],
}

/// An operation that ended at an event, as [`Event::done`] writes it
/// (`op <n>: <outcome>`): the simulator's own are written straight into the
/// trace line, with no string built for an event that is not kept.
#[derive(Clone, Copy, Debug)]
pub enum Done<'a> {
    /// Operation `op` ended with `outcome`.
    Op { op: u32, outcome: &'a str },
    /// A line already written (an owned [`Event`]'s).
    Text(&'a str),
}

impl Done<'_> {
    fn to_text(self) -> String {
        match self {
            Done::Op { op, outcome } => format!("op {op}: {outcome}"),
            Done::Text(text) => text.to_string(),
        }
    }

    /// Append its JSON string, as `serde_json` writes it.
    fn write_json(self, out: &mut Vec<u8>) {
        match self {
            Done::Op { op, outcome } if !needs_escape(outcome) => {
                out.extend_from_slice(b"\"op ");
                push_number(out, u64::from(op));
                out.extend_from_slice(b": ");
                out.extend_from_slice(outcome.as_bytes());
                out.push(b'"');
            }
            Done::Op { .. } => push_str(out, &self.to_text()),
            Done::Text(text) => push_str(out, text),
        }
    }
}

impl Serialize for Done<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Done::Op { op, outcome } => serializer.collect_str(&format_args!("op {op}: {outcome}")),
            Done::Text(text) => serializer.serialize_str(text),
        }
    }
}

impl EventRef<'_> {
    /// Append exactly the bytes `serde_json::to_writer` writes for this
    /// event (the unit test `hand_written_json_is_serde_json` holds the
    /// two together): the fields in declaration order, keys written as
    /// they are, strings escaped by `serde_json` only when they need it.
    /// Every event of a run is hashed, so this is the simulator's most
    /// frequent piece of work; serde's generic struct machinery (escaping
    /// each key, one call per field) made recording an event about a third
    /// dearer.
    fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"index\":");
        push_number(out, self.index as u64);
        out.extend_from_slice(b",\"time\":");
        push_number(out, self.time);
        out.extend_from_slice(b",\"kind\":\"");
        out.extend_from_slice(self.kind.name().as_bytes());
        out.push(b'"');
        if let Some(reason) = self.reason {
            out.extend_from_slice(b",\"reason\":\"");
            out.extend_from_slice(reason.name().as_bytes());
            out.push(b'"');
        }
        out.extend_from_slice(b",\"from\":");
        push_str(out, self.from);
        out.extend_from_slice(b",\"to\":");
        push_str(out, self.to);
        out.extend_from_slice(b",\"what\":");
        push_str(out, self.what);
        out.extend_from_slice(b",\"steps\":");
        push_list(out, self.steps.iter().copied());
        out.extend_from_slice(b",\"cause\":");
        match self.cause {
            Some(c) => push_number(out, c as u64),
            None => out.extend_from_slice(b"null"),
        }
        if !self.done.is_empty() {
            out.extend_from_slice(b",\"done\":[");
            for (i, done) in self.done.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                done.write_json(out);
            }
            out.push(b']');
        }
        if !self.violations.is_empty() {
            out.extend_from_slice(b",\"violations\":");
            push_list(out, self.violations.iter().copied());
        }
        out.push(b'}');
    }

    fn to_owned(&self) -> Event {
        Event {
            index: self.index,
            time: self.time,
            kind: self.kind,
            reason: self.reason,
            from: self.from.to_string(),
            to: self.to.to_string(),
            what: self.what.to_string(),
            steps: self.steps.iter().map(|s| s.to_string()).collect(),
            cause: self.cause,
            done: self.done.iter().map(|d| d.to_text()).collect(),
            violations: self.violations.iter().map(|s| s.to_string()).collect(),
        }
    }
}

fn push_number(out: &mut Vec<u8>, n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// Whether `serde_json` escapes anything in `s`: a quote, a backslash or a
/// control character.
fn needs_escape(s: &str) -> bool {
    // A fold rather than `any`: without the early exit the check is
    // vectorised, and nearly every string is short and needs no escape.
    s.bytes().fold(false, |esc, b| {
        esc | (b < 0x20) | (b == b'"') | (b == b'\\')
    })
}

/// A JSON string as `serde_json` writes it: copied as it is unless
/// `serde_json` would escape something in it.
fn push_str(out: &mut Vec<u8>, s: &str) {
    if needs_escape(s) {
        // Serialising a string cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    } else {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    }
}

fn push_list<'s>(out: &mut Vec<u8>, items: impl Iterator<Item = &'s str>) {
    out.push(b'[');
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_str(out, item);
    }
    out.push(b']');
}

/// Every event of one run, hashed as it is appended.
///
/// A run of a hand-written scenario keeps every event (reports draw them);
/// a population-scale workload keeps only the first [`Trace::keep`] (so a
/// million operations do not hold tens of millions of strings) while the
/// fingerprint and the step coverage still cover every event. The
/// fingerprint is taken over exactly the bytes `serde_json` would write for
/// the whole event list, so keeping fewer events never changes it.
#[derive(Clone)]
pub struct Trace {
    /// The events kept, in order: all of them unless `keep` is smaller.
    pub events: Vec<Event>,
    /// How many events to keep (`usize::MAX`: all).
    keep: usize,
    len: usize,
    digest: ring::digest::Context,
    /// Step label -> how many events realised it (hashed: it is counted
    /// on every event, sorted only when asked for).
    coverage: FastMap<String, usize>,
    /// The JSON of the events (each after its separator) not yet given to
    /// `digest`: up to [`Trace::DIGEST_EVERY`] bytes and one event.
    buffer: Vec<u8>,
}

impl Default for Trace {
    fn default() -> Self {
        Trace::keeping(usize::MAX)
    }
}

impl PartialEq for Trace {
    /// Equal when they recorded the same events (same length and fingerprint).
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.fingerprint() == other.fingerprint()
    }
}

impl std::fmt::Debug for Trace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trace")
            .field("len", &self.len)
            .field("kept", &self.events.len())
            .field("fingerprint", &self.fingerprint())
            .finish()
    }
}

impl Trace {
    /// A trace that keeps the first `keep` events and counts the rest.
    pub fn keeping(keep: usize) -> Trace {
        let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
        digest.update(b"[");
        Trace {
            events: Vec::new(),
            keep,
            len: 0,
            digest,
            coverage: FastMap::default(),
            buffer: Vec::with_capacity(Self::DIGEST_EVERY + 1024),
        }
    }

    /// How many bytes of events' JSON are buffered before they are hashed
    /// (a cache-friendly few kilobytes).
    const DIGEST_EVERY: usize = 8192;

    /// Append an event, numbering it; its index.
    pub fn push(&mut self, event: Event) -> usize {
        let steps: Vec<&str> = event.steps.iter().map(String::as_str).collect();
        let violations: Vec<&str> = event.violations.iter().map(String::as_str).collect();
        let done: Vec<Done> = event.done.iter().map(|d| Done::Text(d)).collect();
        self.push_ref(EventRef {
            index: 0,
            time: event.time,
            kind: event.kind,
            reason: event.reason,
            from: &event.from,
            to: &event.to,
            what: &event.what,
            steps: &steps,
            cause: event.cause,
            done: &done,
            violations: &violations,
        })
    }

    /// Append an event given by reference, numbering it; its index. An
    /// owned copy is made only if the event is kept.
    pub fn push_ref(&mut self, mut event: EventRef<'_>) -> usize {
        event.index = self.len;
        // The separator and the event go to the buffer, and the buffer to
        // the digest when it holds a few kilobytes: one update per event
        // paid the digest's per-call work and copied each partial block.
        if self.len > 0 {
            self.buffer.push(b',');
        }
        event.write_json(&mut self.buffer);
        if self.buffer.len() >= Self::DIGEST_EVERY {
            self.digest.update(&self.buffer);
            self.buffer.clear();
        }
        for s in event.steps {
            match self.coverage.get_mut(*s) {
                Some(n) => *n += 1,
                None => {
                    self.coverage.insert(s.to_string(), 1);
                }
            }
        }
        self.len += 1;
        if self.events.len() < self.keep {
            self.events.push(event.to_owned());
        }
        self.len - 1
    }

    /// How many events were recorded (kept or not).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether every event was kept.
    pub fn is_complete(&self) -> bool {
        self.events.len() == self.len
    }

    /// How often each step label was realised, over every event.
    pub fn coverage(&self) -> BTreeMap<String, usize> {
        self.coverage
            .iter()
            .map(|(label, n)| (label.clone(), *n))
            .collect()
    }

    /// The canonical serialisation of the kept events (all of them in a
    /// complete trace): what the fingerprint is taken over.
    pub fn canonical(&self) -> Vec<u8> {
        // Serialising plain structs, strings and numbers cannot fail.
        serde_json::to_vec(&self.events).unwrap_or_default()
    }

    /// SHA-256 of the canonical serialisation of every event, first 16
    /// bytes, lower-case hex.
    pub fn fingerprint(&self) -> String {
        let mut digest = self.digest.clone();
        digest.update(&self.buffer);
        digest.update(b"]");
        digest.finish().as_ref()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(what: &str) -> Event {
        Event {
            index: 0,
            time: 1,
            kind: Kind::Delivered,
            reason: None,
            from: "u".into(),
            to: "A".into(),
            what: what.into(),
            steps: vec!["S1".into()],
            cause: Some(1),
            done: vec![],
            violations: vec![],
        }
    }

    #[test]
    fn fingerprint_is_stable_and_sensitive() {
        let mut a = Trace::default();
        a.push(event("Access(Issue)"));
        let mut b = Trace::default();
        b.push(event("Access(Issue)"));
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_eq!(a.fingerprint().len(), 32);
        b.push(event("x"));
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert_eq!(b.events[1].index, 1);
    }

    #[test]
    fn the_streamed_fingerprint_is_the_hash_of_the_whole_list() {
        let whole = |t: &Trace| -> String {
            let digest = ring::digest::digest(&ring::digest::SHA256, &t.canonical());
            digest.as_ref()[..16]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        };
        let mut a = Trace::default();
        for w in ["a", "b", "c"] {
            a.push(event(w));
        }
        assert_eq!(a.fingerprint(), whole(&a));
        // With ended operations, given as lines and written by the trace:
        // the hash streamed is the hash of the owned events' JSON.
        let mut ops = Trace::default();
        ops.push(event("a"));
        let mut ended = event("Granted(#1, OwnTable)");
        ended.done = vec!["op 3: granted".into()];
        ops.push(ended);
        ops.push_ref(EventRef {
            index: 0,
            time: 2,
            kind: Kind::Delivered,
            reason: None,
            from: "A",
            to: "u",
            what: "Refused(\"x\")",
            steps: &["S10"],
            cause: None,
            done: &[
                Done::Op {
                    op: u32::MAX,
                    outcome: "granted",
                },
                Done::Op {
                    op: 0,
                    outcome: "odd \"name\"",
                },
            ],
            violations: &[],
        });
        assert_eq!(
            ops.events[2].done,
            ["op 4294967295: granted", "op 0: odd \"name\""]
        );
        assert_eq!(ops.fingerprint(), whole(&ops));
        // Across the buffered bytes' hand-overs to the digest, too.
        let mut long = Trace::default();
        for i in 0..1_000 {
            long.push(event(&"x".repeat(i % 97)));
            if i % 41 == 0 {
                assert_eq!(long.fingerprint(), whole(&long), "after {} events", i + 1);
            }
        }
        assert!(long.canonical().len() > 5 * Trace::DIGEST_EVERY);
        assert_eq!(long.fingerprint(), whole(&long));
        // Keeping fewer events changes neither the fingerprint nor coverage.
        let mut short = Trace::keeping(1);
        for w in ["a", "b", "c"] {
            short.push(event(w));
        }
        assert_eq!(short.fingerprint(), a.fingerprint());
        assert_eq!(short.len(), 3);
        assert_eq!(short.events.len(), 1);
        assert!(!short.is_complete());
        assert_eq!(short.coverage().get("S1"), Some(&3));
    }

    #[test]
    fn hand_written_json_is_serde_json() {
        // Every kind and reason, present and absent optional fields, big
        // numbers, and strings that need escaping (quotes, backslashes,
        // control characters) next to ones that do not (non-ASCII, `/`).
        let strings = [
            "",
            "Access(Issue)",
            "Balance(r: \"x\")",
            "back\\slash",
            "tab\tnew\nline\u{1}\u{1f}",
            "caf\u{e9} / \u{1F512}",
        ];
        let mut n = 0usize;
        for kind in Kind::ALL {
            for reason in std::iter::once(None).chain(DropReason::ALL.map(Some)) {
                for (i, what) in strings.iter().enumerate() {
                    n += 1;
                    let steps: Vec<&str> = strings[..i].to_vec();
                    // Lines as given, and operations' outcomes written
                    // by the trace (one needing escapes).
                    let done: Vec<Done> = strings[i..]
                        .iter()
                        .enumerate()
                        .map(|(k, s)| match k % 2 {
                            0 => Done::Text(s),
                            _ => Done::Op {
                                op: if n.is_multiple_of(2) {
                                    u32::MAX
                                } else {
                                    k as u32
                                },
                                outcome: s,
                            },
                        })
                        .collect();
                    let violations: Vec<&str> = strings[..n % strings.len()].to_vec();
                    let event = EventRef {
                        index: n * 1_000_003,
                        time: if n.is_multiple_of(2) {
                            u64::MAX
                        } else {
                            n as u64
                        },
                        kind,
                        reason,
                        from: strings[n % strings.len()],
                        to: what,
                        what,
                        steps: &steps,
                        cause: (!n.is_multiple_of(3)).then_some(n),
                        done: &done,
                        violations: &violations,
                    };
                    let mut ours = Vec::new();
                    event.write_json(&mut ours);
                    let theirs = serde_json::to_vec(&event).expect("serialises");
                    assert_eq!(
                        String::from_utf8_lossy(&ours),
                        String::from_utf8_lossy(&theirs)
                    );
                }
            }
        }
    }
}
