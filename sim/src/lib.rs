//! The deterministic discrete-event simulator: it drives the model's actors
//! (`commoncert_model::world::World`) with a virtual clock and seeded faults,
//! and replays scenario files.

pub mod cli;
