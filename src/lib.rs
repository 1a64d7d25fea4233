//! rampart: a keyboard-driven terminal security operations console for multi-tenant container hosts.

pub mod app;
pub mod cli;
pub mod collector;
pub mod config;
pub mod console;
pub mod demo;
pub mod pane;
pub mod respond;
pub mod store;
pub mod terminal;
pub mod ui;
