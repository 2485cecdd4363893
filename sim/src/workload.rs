//! Workloads: a generated population and a stream of operations, run by the
//! same engine, network, faults and clock as hand-written steps (issue 13).
//!
//! A `[workload]` table (a project addition to the scenario contract; see
//! `scenarios/README.md`) names a population by count (users `u1..uM`,
//! services `s1..sN`, `s1` the portal) and an operation mix. Operations
//! arrive as a Poisson process of `rate` per second of virtual time: the
//! gaps are exponential, drawn from the run's own ChaCha20 stream
//! ([`WORKLOAD_STREAM`]), so the same file and seed give the same arrivals
//! whatever the network draws. Each arrival picks a user uniformly, an
//! operation by the mix's weights and a service uniformly among the user's
//! accounts (a statement goes to the portal). Arrivals stop at
//! `duration_ms` or after `ops` operations, whichever comes first.
//!
//! Where the patent is silent (it describes one person's steps, not a
//! population), the readings chosen here are:
//! - a person does one thing at a time: an arrival for a user whose last
//!   workload operation has not ended is skipped and counted (`busy`);
//! - everyone keeps presenting the certificate they hold, also after
//!   invalidating it; that is how a revoked certificate gets presented (a
//!   copy on another device, or a thief), and what revocation staleness
//!   measures;
//! - `invalidate` presents the certificate the person holds (P11, `using =
//!   "certificate"`), so that it is that certificate which is invalidated.
//!   `invalidate_using = "password"` proves the person by password instead;
//!   a service whose Fig. 7 row still links an older, already invalidated
//!   serial then invalidates that one and answers "invalidated", and the
//!   person, believing their certificate gone, asks for another while the
//!   current one stays valid: `one-certificate-per-user` breaks with no
//!   fault at all (seen at seed 1 of a 1,000-user online workload).

use crate::clock::Time;
use crate::network::{stream, unit};
use commoncert_model::config::Subject;
use commoncert_model::system::UserSpec;
use commoncert_model::user::Using;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::Rng;
use serde::Serialize;

/// The ChaCha20 stream of workload arrivals. Fixed forever: changing it
/// changes every workload trace.
pub const WORKLOAD_STREAM: u64 = 0x7369_0003;

/// The kinds of operation a workload mixes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OpKind {
    Issue,
    Use,
    Statement,
    Prohibit,
    Invalidate,
}

impl OpKind {
    pub const ALL: [OpKind; 5] = [
        OpKind::Issue,
        OpKind::Use,
        OpKind::Statement,
        OpKind::Prohibit,
        OpKind::Invalidate,
    ];

    /// The scenario's `do` verb for this kind.
    pub fn name(self) -> &'static str {
        match self {
            OpKind::Issue => "issue",
            OpKind::Use => "use",
            OpKind::Statement => "statement",
            OpKind::Prohibit => "prohibit",
            OpKind::Invalidate => "invalidate",
        }
    }
}

/// The relative weights of each kind (`[workload.mix]`); at least one is positive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Mix {
    pub weights: [u32; 5],
}

impl Default for Mix {
    /// Mostly use, as a day of a single sign-on system is.
    fn default() -> Self {
        Mix {
            weights: [10, 60, 10, 10, 10],
        }
    }
}

impl Mix {
    pub fn weight(&self, kind: OpKind) -> u32 {
        self.weights[kind as usize]
    }

    fn total(&self) -> u64 {
        self.weights.iter().map(|w| u64::from(*w)).sum()
    }

    /// The kind a uniform draw `x` in `0..total` falls on.
    fn pick(&self, mut x: u64) -> OpKind {
        for kind in OpKind::ALL {
            let w = u64::from(self.weight(kind));
            if x < w {
                return kind;
            }
            x -= w;
        }
        OpKind::Use
    }
}

/// A `[workload]` table, checked.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Workload {
    /// The line of `[workload]`, for messages.
    pub line: usize,
    pub users: usize,
    pub services: usize,
    /// Services each user has an account at (`1..=services`): user `i`'s
    /// are `s(i mod N)+1` and the next ones round the ring.
    pub accounts: usize,
    /// Arrivals per second of virtual time.
    pub rate: f64,
    /// Arrivals stop at this virtual time.
    pub duration_ms: Time,
    /// Arrivals stop after this many operations.
    pub ops: Option<u64>,
    pub mix: Mix,
    pub invalidate_using: Using,
    /// Trace events kept for the report (all are hashed and counted).
    pub keep_events: usize,
}

impl Workload {
    /// Generated user `i`'s id (0-based `i`).
    pub fn user_name(i: usize) -> String {
        format!("u{}", i + 1)
    }

    /// Generated service `j`'s id (0-based `j`).
    pub fn service_name(j: usize) -> String {
        format!("s{}", j + 1)
    }

    /// The 0-based services user `i` has accounts at.
    pub fn services_of(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        (0..self.accounts).map(move |k| (i + k) % self.services)
    }

    /// User `i`'s password at service `j`: distinct per account, so that no
    /// service learns a password another service accepts.
    pub fn password(i: usize, j: usize) -> String {
        format!("pw-{}-{}", i + 1, j + 1)
    }
}

impl Workload {
    /// The generated users' specs, in order: user `i` is `u<i+1>`, named so
    /// in its certificate, with an account at each of its services whose
    /// login is its id.
    pub fn user_specs(&self) -> impl Iterator<Item = UserSpec> + '_ {
        (0..self.users).map(move |i| {
            let id = Workload::user_name(i);
            UserSpec {
                subject: Subject {
                    name: id.clone(),
                    address: String::new(),
                    email: format!("{id}@example.org"),
                },
                accounts: self
                    .services_of(i)
                    .map(|j| {
                        (
                            Workload::service_name(j),
                            (id.clone(), Workload::password(i, j)),
                        )
                    })
                    .collect(),
                name: id,
            }
        })
    }
}

/// One operation the workload starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arrival {
    pub at: Time,
    /// 0-based generated user.
    pub user: usize,
    pub kind: OpKind,
    /// 0-based generated service.
    pub service: usize,
}

/// The arrival process of one run.
pub struct Arrivals {
    rng: ChaCha20Rng,
    next_at: f64,
    started: u64,
}

impl Arrivals {
    pub fn new(seed: u64) -> Arrivals {
        Arrivals {
            rng: stream(seed, WORKLOAD_STREAM),
            next_at: 0.0,
            started: 0,
        }
    }

    /// The next arrival, or None once the workload is over. Every arrival
    /// consumes exactly four draws (gap, user, kind, service).
    pub fn next(&mut self, w: &Workload) -> Option<Arrival> {
        if w.ops.is_some_and(|n| self.started >= n) || w.rate <= 0.0 {
            return None;
        }
        // Exponential gap with mean 1000/rate ms; 1 - u is in (0, 1].
        let u = unit(&mut self.rng);
        self.next_at += -(1.0 - u).ln() * 1000.0 / w.rate;
        let at = self.next_at.floor() as Time;
        let user = below(&mut self.rng, w.users as u64) as usize;
        let total = w.mix.total();
        let kind = w.mix.pick(below(&mut self.rng, total));
        let pick = below(&mut self.rng, w.accounts as u64) as usize;
        if at >= w.duration_ms {
            return None;
        }
        self.started += 1;
        let service = match kind {
            OpKind::Statement => 0,
            _ => w.services_of(user).nth(pick).unwrap_or(0),
        };
        Some(Arrival {
            at,
            user,
            kind,
            service,
        })
    }
}

/// A uniform draw in `0..n` (0 when `n` is 0), by multiply-shift.
fn below(rng: &mut ChaCha20Rng, n: u64) -> u64 {
    ((u128::from(rng.next_u64()) * u128::from(n)) >> 64) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workload() -> Workload {
        Workload {
            line: 1,
            users: 100,
            services: 4,
            accounts: 2,
            rate: 50.0,
            duration_ms: 60_000,
            ops: None,
            mix: Mix::default(),
            invalidate_using: Using::Certificate,
            keep_events: 1000,
        }
    }

    #[test]
    fn arrivals_are_a_function_of_the_seed() {
        let w = workload();
        let draw = |seed| {
            let mut a = Arrivals::new(seed);
            std::iter::from_fn(|| a.next(&w)).collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
    }

    #[test]
    fn arrivals_follow_the_rate_the_mix_and_the_accounts() {
        let w = workload();
        let mut a = Arrivals::new(1);
        let all: Vec<_> = std::iter::from_fn(|| a.next(&w)).collect();
        // 50/s for 60 s: 3,000 expected; Poisson sd ~55.
        assert!((2_800..3_200).contains(&all.len()), "{}", all.len());
        assert!(all.windows(2).all(|p| p[0].at <= p[1].at));
        assert!(all.iter().all(|x| x.at < w.duration_ms));
        let uses = all.iter().filter(|x| x.kind == OpKind::Use).count();
        assert!((1_600..2_000).contains(&uses), "{uses}");
        for x in &all {
            match x.kind {
                OpKind::Statement => assert_eq!(x.service, 0),
                _ => assert!(w.services_of(x.user).any(|s| s == x.service)),
            }
        }
    }

    #[test]
    fn an_op_budget_ends_the_arrivals() {
        let mut w = workload();
        w.ops = Some(10);
        let mut a = Arrivals::new(3);
        assert_eq!(std::iter::from_fn(|| a.next(&w)).count(), 10);
    }

    #[test]
    fn a_zero_weight_kind_never_arrives() {
        let mut w = workload();
        w.mix.weights = [0, 1, 0, 0, 0];
        let mut a = Arrivals::new(3);
        assert!(std::iter::from_fn(|| a.next(&w)).all(|x| x.kind == OpKind::Use));
    }
}
