//! Virtual time and the agenda: what happens next, and when.
//!
//! Events are ordered by (virtual time, sequence number); the sequence number
//! is the order of scheduling, so two events at the same instant run in the
//! order they were caused, and a run never depends on anything but its seed.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// Virtual milliseconds since the run began (the model's `VirtualTime`).
pub type Time = u64;

/// A priority queue of events keyed by (time, seq).
///
/// Two lanes, each sorted by (time, seq), and the next event is the least
/// of their fronts:
/// - a first-in-first-out lane for events scheduled no earlier than the
///   last event in it. Timeouts and other fixed delays (`now` plus a
///   constant) always are, and they are most of what is pending at scale:
///   every operation's timeout waits there for its whole delay;
/// - a binary heap of small keys (time, seq, slot) over a slab of events
///   for the rest (deliveries after a random latency), which stays small.
///
/// Sequence numbers are unique, so the order is total and is the same as
/// one ordered map's; the lanes only make pushing and popping cheap (no
/// tree nodes allocated and freed as events come and go, no event moved
/// while sifting).
#[derive(Debug)]
pub struct Agenda<E> {
    fifo: VecDeque<(Time, u64, E)>,
    heap: BinaryHeap<Reverse<(Time, u64, usize)>>,
    /// The heap's events by slot; `None` for a free slot (listed in `free`).
    slots: Vec<Option<E>>,
    free: Vec<usize>,
    next_seq: u64,
    now: Time,
}

impl<E> Default for Agenda<E> {
    fn default() -> Self {
        Agenda {
            fifo: VecDeque::new(),
            heap: BinaryHeap::new(),
            slots: Vec::new(),
            free: Vec::new(),
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
        let at = at.max(self.now);
        // Later than (or with) everything in the lane: it stays sorted.
        if self.fifo.back().is_none_or(|(last, _, _)| *last <= at) {
            self.fifo.push_back((at, seq, event));
            return seq;
        }
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot] = Some(event);
                slot
            }
            None => {
                self.slots.push(Some(event));
                self.slots.len() - 1
            }
        };
        self.heap.push(Reverse((at, seq, slot)));
        seq
    }

    /// The next event, advancing now to its time.
    pub fn pop(&mut self) -> Option<(Time, u64, E)> {
        let (at, seq, event) = if self.fifo_first() {
            self.fifo.pop_front()?
        } else {
            let Reverse((at, seq, slot)) = self.heap.pop()?;
            // Every key in the heap has its event in its slot until popped.
            let event = self
                .slots
                .get_mut(slot)
                .and_then(Option::take)
                .expect("a scheduled event is in its slot until it is popped");
            self.free.push(slot);
            (at, seq, event)
        };
        self.now = at;
        Some((at, seq, event))
    }

    /// The time of the next event, if any.
    pub fn peek_time(&self) -> Option<Time> {
        if self.fifo_first() {
            self.fifo.front().map(|(at, _, _)| *at)
        } else {
            self.heap.peek().map(|Reverse((at, _, _))| *at)
        }
    }

    /// The next event, if any (what `pop` would return now).
    pub fn peek(&self) -> Option<&E> {
        if self.fifo_first() {
            self.fifo.front().map(|(_, _, e)| e)
        } else {
            let Reverse((_, _, slot)) = self.heap.peek()?;
            self.slots.get(*slot).and_then(Option::as_ref)
        }
    }

    /// Whether the next event is the first-in-first-out lane's: the least
    /// (time, seq) of the two fronts, the one decision `pop` and
    /// `peek_time` share.
    fn fifo_first(&self) -> bool {
        match (self.fifo.front(), self.heap.peek()) {
            (Some((at, seq, _)), Some(Reverse((h_at, h_seq, _)))) => (at, seq) < (h_at, h_seq),
            (Some(_), None) => true,
            (None, _) => false,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.fifo.is_empty() && self.heap.is_empty()
    }

    pub fn len(&self) -> usize {
        self.fifo.len() + self.heap.len()
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

    #[test]
    fn pops_in_time_then_scheduling_order_whatever_the_pushes() {
        // Interleaved pushes and pops, times drawn from a small range so
        // that many coincide, against an ordered set of what is pending:
        // every pop is its least (time, seq).
        let mut a = Agenda::default();
        let mut pending = std::collections::BTreeSet::new();
        let mut x: u64 = 7;
        for round in 0..2_000u64 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let at = a.now() + (x >> 60);
            let seq = a.schedule(at, round);
            pending.insert((at, seq));
            if x & 3 == 0 {
                assert_eq!(a.pop().map(|(t, s, _)| (t, s)), pending.pop_first());
            }
        }
        while let Some(next) = pending.pop_first() {
            assert_eq!(a.pop().map(|(t, s, _)| (t, s)), Some(next));
        }
        assert!(a.is_empty());
    }
}
