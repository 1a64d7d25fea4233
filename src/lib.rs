//! rampart: a keyboard-driven terminal security operations console for multi-tenant container hosts.
#![deny(unsafe_code)]

pub mod action;
pub mod app;
pub mod cli;
pub mod collector;
pub mod config;
pub mod console;
pub mod control;
pub mod demo;
pub mod drill;
pub mod fault;
pub mod host;
pub mod layout;
pub mod pane;
pub mod report;
pub mod respond;
pub mod sources;
pub mod terminal;
pub mod ui;

// The hot half, compiled as a crate of its own (src/core.rs).
pub use rampart_core::{detect, ingest, integrity, parse, store, text};
