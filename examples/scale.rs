//! Scale run (issue 4, "Performance"): U users and 8 services doing K
//! operations through the model's `World`, with real X.509, delivered FIFO
//! with no loss (the simulator's network and agenda are not involved).
//!
//! Phase 1 issues one certificate per user (at a random service); phase 2 is
//! a seeded random mix: use at a service (60%), statement at the portal (10%),
//! prohibit (10%), invalidate (10%, by password or certificate), issue again
//! (10%, the already-issued path); a user without a valid certificate
//! re-issues instead. Deterministic: the op sequence is drawn from ChaCha20
//! seeded with `--seed`, and the protocol's keys from the system seed.
//!
//! ```sh
//! cargo run --release --example scale -- --users 100000 --ops 1000000
//! cargo run --release --example scale -- --users 10000 --ops 100000 --budget 120
//! cargo run --release --example scale -- --users 10000 --ops 20000 --mode raw
//! ```
//!
//! `--budget S` stops after S seconds of operations and prints the rate of the
//! last window and a clearly labelled extrapolation to the requested ops.
//! `--mode raw` calls the node handlers directly (`Node::on_message`), without
//! `World`'s per-event property checks, durable-storage copies and history,
//! to separate the harness's costs from the protocol's.
//! After the run, `--probe` (on by default) times the per-event functions
//! whose cost grows with the number of users, on the final state.

use commoncert_model::msg::{Msg, OpId};
use commoncert_model::node::{Choice, Node, NodeState};
use commoncert_model::properties::{History, Property, holds};
use commoncert_model::system::standard_spec;
use commoncert_model::user::{Command, Outcome as OpOutcome, Using};
use commoncert_model::world::World;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use stateright::actor::Id;
use std::collections::{BTreeMap, VecDeque};
use std::time::Instant;

const SERVICES: usize = 8;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    World,
    Raw,
}

struct Args {
    users: usize,
    ops: u64,
    seed: u64,
    budget: f64,
    mode: Mode,
    probe: bool,
}

fn parse_args() -> Args {
    let mut a = Args {
        users: 100_000,
        ops: 1_000_000,
        seed: 1,
        budget: 600.0,
        mode: Mode::World,
        probe: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .unwrap_or_else(|| usage(&format!("{flag} needs a value")))
        };
        match flag.as_str() {
            "--users" => a.users = value().parse().unwrap_or_else(|_| usage("--users N")),
            "--ops" => a.ops = value().parse().unwrap_or_else(|_| usage("--ops N")),
            "--seed" => a.seed = value().parse().unwrap_or_else(|_| usage("--seed N")),
            "--budget" => {
                a.budget = value()
                    .parse()
                    .unwrap_or_else(|_| usage("--budget SECONDS"))
            }
            "--mode" => {
                a.mode = match value().as_str() {
                    "world" => Mode::World,
                    "raw" => Mode::Raw,
                    _ => usage("--mode world|raw"),
                }
            }
            "--no-probe" => a.probe = false,
            _ => usage(&format!("unknown flag {flag}")),
        }
    }
    if a.users == 0 {
        usage("--users must be at least 1");
    }
    a
}

fn usage(msg: &str) -> ! {
    eprintln!("{msg}");
    eprintln!(
        "usage: scale [--users N] [--ops N] [--seed N] [--budget SECONDS] [--mode world|raw] [--no-probe]"
    );
    std::process::exit(2)
}

/// Peak resident set (VmHWM) and current (VmRSS), in MiB.
fn memory_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

fn below(rng: &mut ChaCha20Rng, n: usize) -> usize {
    ((u128::from(rng.next_u64()) * n as u128) >> 64) as usize
}

/// The FIFO driver over `World` (or over the bare handlers in raw mode).
struct Driver {
    world: World,
    mode: Mode,
    queue: VecDeque<(Id, Id, Msg)>,
    events: u64,
    messages_by_kind: BTreeMap<&'static str, u64>,
}

impl Driver {
    /// Start `cmd` at `user` and deliver until the network is quiet; the outcome.
    fn run(&mut self, user: Id, cmd: Command) -> Option<OpOutcome> {
        let choice = Choice::User(cmd);
        self.events += 1;
        let (sends, done, op): (Vec<(Id, Msg)>, _, Option<OpId>) = match self.mode {
            Mode::World => {
                let (out, op) = self.world.choose(user, &choice);
                (out.sends, out.done, op)
            }
            Mode::Raw => {
                let i = usize::from(user);
                let node = &self.world.system.nodes[i];
                let state = self.world.states[i].as_mut().expect("users are up");
                let (fx, op) = node.on_choice(user, state, &choice);
                (fx.sends, fx.done, op)
            }
        };
        let mut outcome = done
            .into_iter()
            .find(|d| Some(d.op) == op)
            .map(|d| d.outcome);
        for (to, m) in sends {
            self.queue.push_back((user, to, m));
        }
        while let Some((from, to, msg)) = self.queue.pop_front() {
            self.events += 1;
            *self.messages_by_kind.entry(msg.kind()).or_default() += 1;
            let (sends, done) = match self.mode {
                Mode::World => {
                    let out = self.world.deliver(from, to, msg);
                    (out.sends, out.done)
                }
                Mode::Raw => {
                    let i = usize::from(to);
                    let (Some(node), Some(Some(state))) =
                        (self.world.system.nodes.get(i), self.world.states.get_mut(i))
                    else {
                        continue;
                    };
                    let fx = node.on_message(to, state, from, msg);
                    (fx.sends, fx.done)
                }
            };
            if to == user
                && let Some(d) = done.into_iter().find(|d| Some(d.op) == op)
            {
                outcome = Some(d.outcome);
            }
            for (next, m) in sends {
                self.queue.push_back((to, next, m));
            }
        }
        outcome
    }
}

fn has_valid_certificate(world: &World, user: Id) -> bool {
    world
        .state(user)
        .and_then(NodeState::user)
        .is_some_and(|u| u.certificate.is_some() && !u.invalidated)
}

fn main() {
    let args = parse_args();
    let wall = Instant::now();
    println!(
        "scale: users {} services {SERVICES} ops {} seed {} mode {}",
        args.users,
        args.ops,
        args.seed,
        if args.mode == Mode::World {
            "world"
        } else {
            "raw"
        }
    );

    // ---- setup: the system (keys, root) and every node's start ----
    let t = Instant::now();
    let mut spec = standard_spec(SERVICES, args.users, true);
    spec.seed = args.seed;
    let system = spec.build().expect("the standard system builds");
    let build_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let (mut world, _starts) = World::new(system);
    // Nothing crashes here: no durable snapshots are needed.
    world.durable_snapshots = false;
    let start_s = t.elapsed().as_secs_f64();
    let (hwm, rss) = memory_mib();
    println!(
        "setup: build {build_s:.2} s, start {start_s:.2} s; memory VmHWM {hwm:.0} MiB, VmRSS {rss:.0} MiB"
    );
    let dir = world.system.dir.clone();
    let services: Vec<Id> = dir.services().collect();
    let portal = services[0];
    let users: Vec<Id> = dir.users().collect();
    let mut d = Driver {
        world,
        mode: args.mode,
        queue: VecDeque::new(),
        events: 0,
        messages_by_kind: BTreeMap::new(),
    };
    let mut rng = ChaCha20Rng::seed_from_u64(args.seed);
    rng.set_stream(0x5ca1e);
    let mut outcomes: BTreeMap<(&'static str, String), u64> = BTreeMap::new();

    // ---- the operations ----
    let ops_start = Instant::now();
    let mut window_start = Instant::now();
    let mut window_ops = 0u64;
    let mut window_events = 0u64;
    let mut last_rate = (0.0f64, 0.0f64);
    let mut done_ops = 0u64;
    let report_every = (args.ops / 20).clamp(1, 50_000);
    let mut stopped_early = false;
    println!("| ops done | phase | ops/s (window) | events/s (window) | elapsed s | VmRSS MiB |");
    println!("|---:|---|---:|---:|---:|---:|");
    while done_ops < args.ops {
        let (label, user, cmd) = if (done_ops as usize) < users.len() {
            let user = users[done_ops as usize];
            let service = services[below(&mut rng, services.len())];
            (
                "issue",
                user,
                Command::Issue {
                    service,
                    credential: None,
                },
            )
        } else {
            let user = users[below(&mut rng, users.len())];
            let service = services[below(&mut rng, services.len())];
            let roll = below(&mut rng, 100);
            if !has_valid_certificate(&d.world, user) {
                (
                    "re-issue",
                    user,
                    Command::Issue {
                        service,
                        credential: None,
                    },
                )
            } else if roll < 60 {
                (
                    "use",
                    user,
                    Command::Use {
                        service,
                        login: true,
                        credential: None,
                    },
                )
            } else if roll < 70 {
                ("statement", user, Command::Statement { portal })
            } else if roll < 80 {
                ("prohibit", user, Command::Prohibit { service })
            } else if roll < 90 {
                let using = if roll < 85 {
                    Using::Password
                } else {
                    Using::Certificate
                };
                (
                    "invalidate",
                    user,
                    Command::Invalidate {
                        service,
                        using,
                        credential: None,
                    },
                )
            } else {
                (
                    "issue-again",
                    user,
                    Command::Issue {
                        service,
                        credential: None,
                    },
                )
            }
        };
        let before = d.events;
        let outcome = d.run(user, cmd);
        let name = outcome.map_or_else(|| "none".to_string(), |o| o.name().to_string());
        *outcomes.entry((label, name)).or_default() += 1;
        done_ops += 1;
        window_ops += 1;
        window_events += d.events - before;
        if done_ops.is_multiple_of(report_every) || done_ops == args.ops {
            let w = window_start.elapsed().as_secs_f64();
            last_rate = (window_ops as f64 / w, window_events as f64 / w);
            println!(
                "| {done_ops} | {} | {:.0} | {:.0} | {:.1} | {:.0} |",
                if (done_ops as usize) <= users.len() {
                    "issue"
                } else {
                    "mix"
                },
                last_rate.0,
                last_rate.1,
                ops_start.elapsed().as_secs_f64(),
                memory_mib().1
            );
            window_start = Instant::now();
            window_ops = 0;
            window_events = 0;
        }
        if ops_start.elapsed().as_secs_f64() > args.budget && done_ops < args.ops {
            let w = window_start.elapsed().as_secs_f64();
            if window_ops > 0 && w > 0.0 {
                last_rate = (window_ops as f64 / w, window_events as f64 / w);
            }
            stopped_early = true;
            break;
        }
    }
    let ops_s = ops_start.elapsed().as_secs_f64();
    let (hwm, rss) = memory_mib();
    println!();
    println!(
        "result: {done_ops} ops, {} events in {ops_s:.2} s: {:.0} ops/s, {:.0} events/s; VmHWM {hwm:.0} MiB, VmRSS {rss:.0} MiB; wall {:.1} s",
        d.events,
        done_ops as f64 / ops_s,
        d.events as f64 / ops_s,
        wall.elapsed().as_secs_f64()
    );
    if stopped_early {
        let left = args.ops - done_ops;
        println!(
            "EXTRAPOLATED (budget {:.0} s hit): {left} ops left at the last window's {:.1} ops/s \
             would take >= {:.0} s more (a lower bound: per-op cost still grows with the tables)",
            args.budget,
            last_rate.0,
            left as f64 / last_rate.0.max(f64::MIN_POSITIVE)
        );
    }
    println!("outcomes:");
    for ((label, outcome), n) in &outcomes {
        println!("  {label:>11} -> {outcome}: {n}");
    }
    println!("messages delivered by kind:");
    for (kind, n) in &d.messages_by_kind {
        println!("  {kind}: {n}");
    }
    if args.probe {
        probe(&d.world, &users, &services);
    }
}

/// Time `f` over enough repetitions for ~0.2 s (at least 3); microseconds per call.
fn time_us(mut f: impl FnMut() -> usize) -> f64 {
    let start = Instant::now();
    let mut n = 0u64;
    let mut sink = 0usize;
    while n < 3 || start.elapsed().as_secs_f64() < 0.2 {
        sink = sink.wrapping_add(f());
        n += 1;
    }
    std::hint::black_box(sink);
    start.elapsed().as_secs_f64() * 1e6 / n as f64
}

/// The per-event functions whose cost grows with users, timed on the final state.
fn probe(world: &World, users: &[Id], services: &[Id]) {
    let dir = &world.system.dir;
    let ca = dir.ca().expect("a CA");
    let ca_state = world.state(ca).expect("the CA is up");
    let rows = ca_state.ca().map_or(0, |c| c.tables.rows().len());
    let service = services[1];
    let svc_state = world.state(service).expect("the service is up");
    let table_rows = svc_state
        .service()
        .map_or(0, |s| s.durable.table.rows.len());
    let last_user = *users.last().expect("a user");
    println!();
    println!(
        "probe: per-call cost on the final state (CA rows {rows}, Fig. 7 rows per service {table_rows}, parties {})",
        dir.parties.len()
    );
    println!("| function (called per ...) | µs per call |");
    println!("|---|---:|");
    let line = |what: &str, us: f64| println!("| {what} | {us:.2} |");
    line(
        "World::violated (2x per World event): all 6 properties",
        time_us(|| world.violated().len()),
    );
    line(
        "  of which holds(OneCertificatePerUser): CaTables::rows + per-subject map",
        time_us(|| {
            usize::from(holds(
                Property::OneCertificatePerUser,
                &world.history,
                world.states.iter().flatten(),
            ))
        }),
    );
    line(
        "Node::storage_of(CA state) (World event with persist at the CA)",
        time_us(|| usize::from(Node::storage_of(ca_state).is_some())),
    );
    line(
        "Node::storage_of(service state) (World event with persist at a service)",
        time_us(|| usize::from(Node::storage_of(svc_state).is_some())),
    );
    let credential = dir
        .accounts
        .get(&(last_user, service))
        .expect("an account")
        .clone();
    let login = Msg::Login {
        op: 0,
        credential: credential.into(),
        public_key: None,
    };
    line(
        "History::observe(Login) (World, every Login sent): scans Directory::accounts",
        time_us(|| {
            let mut h = History::default();
            h.observe(dir, last_user, service, &login);
            h.violated.len()
        }),
    );
    line(
        "Directory::attacker() (Node::tap, every handler call)",
        time_us(|| dir.attacker().map_or(0, usize::from)),
    );
    line(
        "Directory::party(last user) / name() (user ids)",
        time_us(|| dir.party(last_user).map_or(0, |p| p.name.len())),
    );
    if let Some(table) = svc_state.service().map(|s| &s.durable.table) {
        line(
            "UserTable::by_serial, miss (service, every presentation S13)",
            time_us(|| usize::from(table.by_serial(u64::MAX).is_some())),
        );
        line(
            "UserTable::unlink scan cost (same walk as by_serial, on invalidation/NG)",
            time_us(|| table.rows.values().filter(|r| r.serial.is_some()).count()),
        );
    }
    if let Some(ca) = ca_state.ca() {
        line(
            "CaTables::rows (CA, via OneCertificatePerUser and serials_of)",
            time_us(|| ca.tables.rows().len()),
        );
        println!(
            "CA revoked serials (each push-mode invalidation signs a CRL listing all): {}; issued map entries: {}",
            ca.revoked.len(),
            ca.issued.len()
        );
    }
}
