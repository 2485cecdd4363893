//! The network: per-message latency, loss and duplication drawn from the
//! run's network stream, and partitions.
//!
//! Every message consumes exactly four draws (loss, latency, duplicate,
//! duplicate's latency) whatever the probabilities, so changing `loss` in a
//! file shifts which messages are lost but not the latencies of the others.

use crate::clock::Time;
use crate::faults::Window;
use crate::scenario::NetworkConfig;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use std::collections::BTreeSet;

/// The ChaCha20 stream numbers of the simulator's randomness. Fixed forever:
/// changing one changes every trace.
pub const NETWORK_STREAM: u64 = 0x7369_0001;
pub const FAULTS_STREAM: u64 = 0x7369_0002;

/// A generator for stream `stream` of `seed`.
pub fn stream(seed: u64, stream: u64) -> ChaCha20Rng {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// A uniform draw in [0, 1), from 53 bits (stable across rand versions).
pub fn unit(rng: &mut ChaCha20Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A uniform draw in `lo..=hi` (`lo <= hi`).
pub fn between(rng: &mut ChaCha20Rng, lo: u64, hi: u64) -> u64 {
    let x = rng.next_u64();
    match (hi.saturating_sub(lo)).checked_add(1) {
        Some(span) => lo.saturating_add(x % span),
        None => x,
    }
}

/// Why a message did not arrive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DropReason {
    /// The network lost it (`loss`).
    Loss,
    /// Sender and receiver were on opposite sides of a partition.
    Partition,
    /// The receiver was down when it arrived.
    Crashed,
}

impl DropReason {
    pub const ALL: [DropReason; 3] = [DropReason::Loss, DropReason::Partition, DropReason::Crashed];

    /// The name it is serialised as.
    pub fn name(self) -> &'static str {
        match self {
            DropReason::Loss => "loss",
            DropReason::Partition => "partition",
            DropReason::Crashed => "crashed",
        }
    }
}

/// What the network does with one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    Dropped(DropReason),
    /// Delivered at `at`, and a second copy at `copy_at` if duplicated.
    Deliver {
        at: Time,
        copy_at: Option<Time>,
    },
}

/// The network's state: its configuration, its random stream and its cuts.
#[derive(Debug)]
pub struct Network {
    pub config: NetworkConfig,
    rng: ChaCha20Rng,
    /// The scenario's `partition` (these nodes on one side), until `heal`.
    partition: Option<BTreeSet<usize>>,
    /// A swarm profile's partition window.
    window: Option<Window>,
}

impl Network {
    pub fn new(seed: u64, config: NetworkConfig, window: Option<Window>) -> Self {
        Network {
            config,
            rng: stream(seed, NETWORK_STREAM),
            partition: None,
            window,
        }
    }

    pub fn partition(&mut self, nodes: BTreeSet<usize>) {
        self.partition = Some(nodes);
    }

    pub fn heal(&mut self) {
        self.partition = None;
    }

    /// Whether a fault window's partition is yet to end after `t` (then a
    /// cut that holds now may heal without any step).
    pub fn window_ahead(&self, t: Time) -> bool {
        self.window.as_ref().is_some_and(|w| t < w.until_ms)
    }

    /// Whether a message between `a` and `b` at `t` crosses a cut.
    pub fn cut(&self, a: usize, b: usize, t: Time) -> bool {
        let across = |side: &BTreeSet<usize>| side.contains(&a) != side.contains(&b);
        self.partition.as_ref().is_some_and(across)
            || self
                .window
                .as_ref()
                .is_some_and(|w| w.from_ms <= t && t < w.until_ms && across(&w.nodes))
    }

    /// Decide a message's fate at send time. A wiretap copy (`tap`) is the
    /// eavesdropper's own view of the wire: it is delayed, never lost.
    pub fn send(&mut self, now: Time, from: usize, to: usize, tap: bool) -> Fate {
        let (lo, hi) = self.config.latency_ms;
        let lost = unit(&mut self.rng) < self.config.loss;
        let latency = between(&mut self.rng, lo, hi);
        let duplicated = unit(&mut self.rng) < self.config.duplicate;
        let copy_latency = between(&mut self.rng, lo, hi);
        if tap {
            return Fate::Deliver {
                at: now.saturating_add(latency),
                copy_at: None,
            };
        }
        if self.cut(from, to, now) {
            return Fate::Dropped(DropReason::Partition);
        }
        if lost {
            return Fate::Dropped(DropReason::Loss);
        }
        Fate::Deliver {
            at: now.saturating_add(latency),
            copy_at: duplicated.then(|| now.saturating_add(copy_latency)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_stay_in_range() {
        let mut r = stream(1, NETWORK_STREAM);
        for _ in 0..1000 {
            let u = unit(&mut r);
            assert!((0.0..1.0).contains(&u));
            assert!((3..=7).contains(&between(&mut r, 3, 7)));
        }
        assert_eq!(between(&mut r, 4, 4), 4);
        let _ = between(&mut r, 0, u64::MAX);
    }

    #[test]
    fn partitions_cut_only_across() {
        let mut n = Network::new(0, NetworkConfig::default(), None);
        n.partition(BTreeSet::from([1]));
        assert!(n.cut(1, 2, 0));
        assert!(!n.cut(2, 3, 0));
        assert_eq!(n.send(0, 1, 2, false), Fate::Dropped(DropReason::Partition));
        n.heal();
        assert!(!n.cut(1, 2, 0));
    }

    #[test]
    fn streams_are_independent() {
        let mut a = stream(9, NETWORK_STREAM);
        let mut b = stream(9, FAULTS_STREAM);
        assert_ne!(a.next_u64(), b.next_u64());
    }
}
