//! Swarm testing: a randomised fault profile per seed, layered on a
//! scenario's own network.
//!
//! The profile is drawn from the run's faults stream (not the network's), so
//! the same seed always gets the same profile and the network stream is
//! unchanged by it.

use crate::clock::Time;
use crate::network::{FAULTS_STREAM, between, stream, unit};
use crate::scenario::NetworkConfig;
use serde::Serialize;
use std::collections::BTreeSet;

/// A node set cut off from everyone else during [from_ms, until_ms).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Window {
    pub nodes: BTreeSet<usize>,
    pub from_ms: Time,
    pub until_ms: Time,
}

/// What one swarm seed adds to a scenario's network.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FaultProfile {
    pub extra_loss: f64,
    pub extra_duplicate: f64,
    /// Added to the top of the latency range.
    pub extra_latency_ms: u64,
    pub partition: Option<Window>,
}

impl FaultProfile {
    /// The profile of `seed` for a system of `nodes` nodes.
    pub fn draw(seed: u64, nodes: usize) -> Self {
        let mut rng = stream(seed, FAULTS_STREAM);
        let extra_loss = if unit(&mut rng) < 0.5 {
            0.0
        } else {
            unit(&mut rng) * 0.15
        };
        let extra_duplicate = if unit(&mut rng) < 0.5 {
            0.0
        } else {
            unit(&mut rng) * 0.2
        };
        let extra_latency_ms = between(&mut rng, 0, 300);
        let partition = (unit(&mut rng) < 0.3 && nodes > 1).then(|| {
            let node = between(&mut rng, 0, nodes as u64 - 1) as usize;
            let from_ms = between(&mut rng, 0, 2_000);
            let until_ms = from_ms + between(&mut rng, 50, 1_500);
            Window {
                nodes: BTreeSet::from([node]),
                from_ms,
                until_ms,
            }
        });
        FaultProfile {
            extra_loss,
            extra_duplicate,
            extra_latency_ms,
            partition,
        }
    }

    /// The scenario's network with this profile on top.
    pub fn layer(&self, base: &NetworkConfig) -> NetworkConfig {
        let combine = |a: f64, b: f64| (1.0 - (1.0 - a) * (1.0 - b)).clamp(0.0, 1.0);
        NetworkConfig {
            latency_ms: (
                base.latency_ms.0,
                base.latency_ms.1.saturating_add(self.extra_latency_ms),
            ),
            loss: combine(base.loss, self.extra_loss),
            duplicate: combine(base.duplicate, self.extra_duplicate),
        }
    }

    /// One line for reports: `loss +0.031 dup +0.000 latency +120ms partition {2} 300..900ms`.
    pub fn describe(&self, name_of: impl Fn(usize) -> String) -> String {
        let mut s = format!(
            "loss +{:.3} dup +{:.3} latency +{}ms",
            self.extra_loss, self.extra_duplicate, self.extra_latency_ms
        );
        if let Some(w) = &self.partition {
            let nodes: Vec<String> = w.nodes.iter().map(|n| name_of(*n)).collect();
            s.push_str(&format!(
                " partition [{}] {}..{}ms",
                nodes.join(", "),
                w.from_ms,
                w.until_ms
            ));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_always_draws_the_same_profile() {
        assert_eq!(FaultProfile::draw(5, 6), FaultProfile::draw(5, 6));
        let profiles: Vec<_> = (0..20).map(|s| FaultProfile::draw(s, 6)).collect();
        assert!(profiles.windows(2).any(|w| w[0] != w[1]));
    }

    #[test]
    fn layering_keeps_probabilities_valid() {
        let p = FaultProfile {
            extra_loss: 0.5,
            extra_duplicate: 1.0,
            extra_latency_ms: 10,
            partition: None,
        };
        let n = p.layer(&NetworkConfig {
            latency_ms: (1, 2),
            loss: 0.5,
            duplicate: 0.3,
        });
        assert_eq!(n.latency_ms, (1, 12));
        assert!((n.loss - 0.75).abs() < 1e-9);
        assert!((n.duplicate - 1.0).abs() < 1e-9);
    }
}
