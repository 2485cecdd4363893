//! Virtual time and the agenda: what happens next, and when.
//!
//! Events are ordered by (virtual time, sequence number); the sequence number
//! is the order of scheduling, so two events at the same instant run in the
//! order they were caused, and a run never depends on anything but its seed.

use std::collections::BTreeMap;

/// Virtual milliseconds since the run began (the model's `VirtualTime`).
pub type Time = u64;

/// A priority queue of events keyed by (time, seq).
#[derive(Debug)]
pub struct Agenda<E> {
    queue: BTreeMap<(Time, u64), E>,
    next_seq: u64,
    now: Time,
}

impl<E> Default for Agenda<E> {
    fn default() -> Self {
        Agenda {
            queue: BTreeMap::new(),
            next_seq: 0,
            now: 0,
        }
    }
}

impl<E> Agenda<E> {
    /// The time of the event being handled (or last handled).
    pub fn now(&self) -> Time {
        self.now
    }

    /// Schedule `event` at `at` (never before now); its sequence number.
    pub fn schedule(&mut self, at: Time, event: E) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.queue.insert((at.max(self.now), seq), event);
        seq
    }

    /// The next event, advancing now to its time.
    pub fn pop(&mut self) -> Option<(Time, u64, E)> {
        let ((at, seq), event) = self.queue.pop_first()?;
        self.now = at;
        Some((at, seq, event))
    }

    /// The time of the next event, if any.
    pub fn peek_time(&self) -> Option<Time> {
        self.queue.first_key_value().map(|((t, _), _)| *t)
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_at_one_instant_keep_their_scheduling_order() {
        let mut a = Agenda::default();
        a.schedule(5, "late");
        a.schedule(1, "first");
        a.schedule(1, "second");
        let order: Vec<_> = std::iter::from_fn(|| a.pop().map(|(_, _, e)| e)).collect();
        assert_eq!(order, vec!["first", "second", "late"]);
        assert_eq!(a.now(), 5);
    }

    #[test]
    fn nothing_is_scheduled_in_the_past() {
        let mut a = Agenda::default();
        a.schedule(10, 1);
        a.pop();
        a.schedule(3, 2);
        assert_eq!(a.pop().map(|(t, _, _)| t), Some(10));
    }
}
