//! The deterministic discrete-event simulator: it drives the model's actors
//! (`commoncert_model::world::World`) with a virtual clock and seeded faults,
//! and replays scenario files (`../shared/scenario-format.md`).
//!
//! Code map, turmoil-style:
//! - [`alloc`]: the allocator the binaries and benches install, and its huge-page switch;
//! - [`scenario`]: the file format, parsed and checked before anything runs;
//! - [`clock`]: virtual time and the agenda of events, ordered by (time, seq);
//! - [`network`]: latency, loss, duplication, partitions (seeded stream);
//! - [`faults`]: swarm-testing fault profiles (their own seeded stream);
//! - [`concretise`]: a run with the X.509 memo against the concrete run;
//! - [`sim`]: the engine: one run of one scenario with one seed, and its verdict;
//! - [`trace`]: every event of a run and its fingerprint;
//! - [`workload`]: a `[workload]`'s generated population and Poisson arrivals;
//! - [`metrics`]: a run's staleness, latency and CA-load figures (HDR histograms);
//! - [`charts`]: those figures drawn as SVG (plotters);
//! - [`report`]: Markdown, HTML/SVG, JUnit and coverage reports;
//! - [`shard`]: one shard of a swarm's (scenario, seed) pairs, and its shard file;
//! - [`merge`]: shard files merged into one summary and report (`commoncert merge`);
//! - [`cli`]: `commoncert sim`.
//!
//! Invariant kept throughout: nothing that affects a trace reads the wall
//! clock, iterates a hash map or depends on thread scheduling; the same file
//! and seed give the same trace, byte for byte.

pub mod alloc;
pub mod charts;
pub mod cli;
pub mod clock;
pub mod concretise;
pub mod emit;
pub mod faults;
pub mod merge;
pub mod metrics;
pub mod network;
pub mod report;
pub mod scenario;
pub mod shard;
pub mod sim;
pub mod trace;
pub mod workload;
