//! `rampart demo`: a throw-away store seeded with a day of history and a live simulator.

pub mod generator;
pub mod seed;
pub mod simulator;

pub use generator::Generator;
