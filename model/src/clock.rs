//! Virtual time, shared by the driver and the actors that need "now".
//!
//! Actors read the clock to stamp certificates and to check validity windows;
//! only the driver sets it. The model checker leaves it at zero (it abstracts
//! time); the simulator advances it event by event. Never the wall clock.

use crate::x509::VirtualTime;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Clone, Debug, Default)]
pub struct Clock(Arc<AtomicU64>);

impl Clock {
    pub fn now(&self) -> VirtualTime {
        self.0.load(Ordering::Relaxed)
    }

    pub fn set(&self, t: VirtualTime) {
        self.0.store(t, Ordering::Relaxed)
    }
}
