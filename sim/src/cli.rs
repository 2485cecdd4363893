//! `commoncert sim`: the command-line face of the simulator.

use std::path::PathBuf;

/// Arguments of `commoncert sim`.
#[derive(Debug, Clone, clap::Args)]
pub struct SimArgs {
    /// Scenario files or folders of them.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

/// Run the command; the process exit code (0 pass, 1 a scenario failed, 2 input refused).
pub fn run(args: &SimArgs) -> i32 {
    let _ = args;
    2
}
