//! Virtual time, shared by the driver and the actors that need "now", and
//! the model checker's clock.
//!
//! Actors read the clock to stamp certificates and to check validity windows;
//! only the driver sets it. Never the wall clock. The simulator advances it
//! event by event (`Clock::set`). The model checker leaves it at zero unless
//! `--clock-jumps K` asks for time to pass: then the time is part of the
//! checked state, held by the clock's own actor (`ClockState`, whose one
//! move is a jump, `Jump`), and the checker runs every transition with the
//! handlers' clock reading that state's time (`Clock::follow_states`,
//! `stepping`), so the same handlers read the same clock in both drivers.

use crate::config::Directory;
use crate::effects::Effects;
use crate::node::Choice;
use crate::x509::{CRL_VALIDITY, VirtualTime};
use serde::Serialize;
use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Clone, Debug, Default)]
pub struct Clock(Arc<AtomicU64>);

/// The value a clock holds when it follows the checked states: no driver
/// sets a time this large (`set` saturates below it).
const PER_STATE: VirtualTime = VirtualTime::MAX;

thread_local! {
    /// The time of the checked state whose transition this thread is
    /// running (`stepping`): a thread of stateright's parallel search, or
    /// of the Explorer's server, runs its own.
    static STEPPING: Cell<VirtualTime> = const { Cell::new(0) };
}

impl Clock {
    pub fn now(&self) -> VirtualTime {
        match self.0.load(Ordering::Relaxed) {
            PER_STATE => STEPPING.get(),
            t => t,
        }
    }

    pub fn set(&self, t: VirtualTime) {
        self.0.store(t.min(PER_STATE - 1), Ordering::Relaxed)
    }

    /// From now on read the time of the checked state being stepped on the
    /// calling thread (`stepping`), not a value a driver set.
    pub fn follow_states(&self) {
        self.0.store(PER_STATE, Ordering::Relaxed)
    }
}

/// Run `f` (a transition, or a replay of one) with every clock that follows
/// the checked states reading `now` on this thread; the previous reading is
/// restored afterwards, even if `f` panics.
pub fn stepping<R>(now: VirtualTime, f: impl FnOnce() -> R) -> R {
    struct Restore(VirtualTime);
    impl Drop for Restore {
        fn drop(&mut self) {
            STEPPING.set(self.0);
        }
    }
    let _restore = Restore(STEPPING.replace(now));
    f()
}

/// A clock jump: far enough forward to pass something that decides a
/// verdict. Time jumps rather than ticks because no handler depends on
/// time except through certificate validity and CRL freshness, so the only
/// instants that matter are just past each notAfter and nextUpdate; every
/// object is stamped at or before the time of the jump, so one jump of
/// the validity's length passes all of them at once, and a second of
/// margin lands on a whole second, which X.509 times carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Jump {
    /// Past every CRL's nextUpdate so far (a CRL's validity, one day, and a
    /// second), certificates still valid. Offered only under
    /// `crl-freshness`, the one reading in which a service looks at
    /// nextUpdate: elsewhere it would only restamp what comes later.
    PastNextUpdate,
    /// Past every certificate's notAfter so far (the certificate validity
    /// and a second): every certificate issued before it has expired.
    PastNotAfter,
}

impl Jump {
    /// How far this jump moves the clock.
    pub fn by(self, dir: &Directory) -> VirtualTime {
        match self {
            Jump::PastNextUpdate => CRL_VALIDITY + 1000,
            Jump::PastNotAfter => dir.modes.certificate_validity_ms.saturating_add(1000),
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Jump::PastNextUpdate => "past every CRL's nextUpdate",
            Jump::PastNotAfter => "past every certificate's notAfter",
        }
    }
}

/// The checker's clock as an actor (`--clock-jumps K`): the environment's,
/// not a party of the patent's. It sends and receives nothing; its one move
/// is a jump, at most `budget` times in a run, chosen like a user's
/// operation. A jump is never forced: in the liveness pass it is a choice,
/// not a weakly fair action (`checker::classify`), so a run may also keep
/// the time where it is for ever.
#[derive(Clone, Debug)]
pub struct Jumps {
    pub dir: Arc<Directory>,
    pub budget: u8,
}

/// The checked time: part of every checked state, so that two states that
/// differ only in the time are two states.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct ClockState {
    pub now: VirtualTime,
    pub jumps_left: u8,
}

impl Jumps {
    pub fn start(&self, fx: &mut Effects) -> ClockState {
        let st = ClockState {
            now: 0,
            jumps_left: self.budget,
        };
        self.offer(&st, fx);
        st
    }

    pub fn jump(&self, st: &mut ClockState, jump: Jump, fx: &mut Effects) {
        if st.jumps_left == 0 {
            return;
        }
        st.now = st.now.saturating_add(jump.by(&self.dir));
        st.jumps_left -= 1;
        self.offer(st, fx);
    }

    fn offer(&self, st: &ClockState, fx: &mut Effects) {
        if st.jumps_left == 0 {
            return;
        }
        let mut jumps = Vec::new();
        if self.dir.keeps_crls_fresh() {
            jumps.push(Choice::Jump(Jump::PastNextUpdate));
        }
        jumps.push(Choice::Jump(Jump::PastNotAfter));
        fx.choices = Some(jumps);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clock_that_follows_states_reads_the_stepped_time_per_thread() {
        let clock = Clock::default();
        clock.set(7);
        assert_eq!(clock.now(), 7);
        clock.follow_states();
        assert_eq!(stepping(42, || clock.now()), 42);
        let other = clock.clone();
        let elsewhere = std::thread::spawn(move || stepping(5, || other.now()))
            .join()
            .expect("thread");
        assert_eq!(elsewhere, 5);
        assert_eq!(
            stepping(9, || stepping(10, || clock.now()) + clock.now()),
            19
        );
        // A driver's time never reads as "follow the states".
        let sim = Clock::default();
        sim.set(u64::MAX);
        assert_eq!(sim.now(), u64::MAX - 1);
    }
}
