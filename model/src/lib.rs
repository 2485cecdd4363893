//! The common-certificate single sign-on system of the patent
//! (`../shared/seed/`, catalogued in `../shared/flows.md`), written once as
//! sans-IO state machines.
//!
//! - parties: [`user`], [`ca`], [`service`] (also the portal), [`attacker`],
//!   wrapped in one actor type, [`node::Node`], that implements stateright's
//!   `Actor`;
//! - what they exchange: [`msg`]; what they keep: [`tables`] (Fig. 5-7),
//!   a Fig. 7 table's rows in [`rows`];
//! - real X.509: [`x509`], and why a presentation is refused: [`rejection`];
//! - the patent's step labels: [`step`]; the modes and parties: [`config`];
//! - the properties, shared by checker and simulator: [`properties`];
//! - building a system: [`system`]; running one outside the checker: [`world`].

pub mod attacker;
pub mod ca;
pub mod checker;
pub mod clock;
pub mod config;
pub mod counterexample;
pub mod effects;
pub mod explore;
pub mod explorer;
#[cfg(test)]
mod figures;
pub mod hashed;
pub mod hint;
pub mod liveness;
pub mod malicious;
pub mod msg;
pub mod node;
pub mod pmap;
pub mod properties;
pub mod rejection;
pub mod rows;
pub mod service;
pub mod small_map;
pub mod step;
pub mod step_effects;
pub mod swarm;
pub mod symmetry;
pub mod system;
pub mod tables;
pub mod user;
pub mod verify;
pub mod world;
pub mod x509;
