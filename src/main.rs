//! `commoncert`: model-check and simulate the common-certificate system.
//!
//! A thin command line over the library crates: `commoncert-model` (the
//! actors, the stateright model, the verification matrix) and
//! `commoncert-sim` (the simulator and scenarios).

mod cli;
mod explorer;
mod swarm;
mod verify;

#[global_allocator]
static GLOBAL: commoncert_sim::alloc::Allocator = commoncert_sim::alloc::Allocator;

fn main() {
    std::process::exit(cli::main());
}
