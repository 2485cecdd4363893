//! A run's trace: every event in order, and its fingerprint.
//!
//! The fingerprint is SHA-256 over the canonical JSON of the events (struct
//! fields in declaration order, no maps), cut to 16 bytes of hex: the same
//! file and seed give the same fingerprint, byte for byte.

use crate::clock::Time;
use crate::network::DropReason;
use serde::Serialize;

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
    /// A user's (or the attacker's) timeout fired.
    Timer,
    /// A scenario step started an operation or a wait.
    Start,
    Crash,
    Restart,
    Partition,
    Heal,
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

/// Every event of one run.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Trace {
    pub events: Vec<Event>,
}

impl Trace {
    /// Append an event, numbering it; its index.
    pub fn push(&mut self, mut event: Event) -> usize {
        event.index = self.events.len();
        self.events.push(event);
        self.events.len() - 1
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// The canonical serialisation the fingerprint is taken over.
    pub fn canonical(&self) -> Vec<u8> {
        // Serialising plain structs, strings and numbers cannot fail.
        serde_json::to_vec(&self.events).unwrap_or_default()
    }

    /// SHA-256 of the canonical serialisation, first 16 bytes, lower-case hex.
    pub fn fingerprint(&self) -> String {
        let digest = ring::digest::digest(&ring::digest::SHA256, &self.canonical());
        digest.as_ref()[..16]
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
}
