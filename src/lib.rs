//! rampart: a keyboard-driven terminal security operations console for multi-tenant container hosts.

pub mod app;
pub mod bans_cli;
pub mod cli;
pub mod cloudwatch_cli;
pub mod collector;
pub mod config;
pub mod console;
pub mod demo;
pub mod detect;
pub mod fault;
pub mod ingest;
pub mod integrity;
pub mod integrity_cli;
pub mod pane;
pub mod query_cli;
pub mod respond;
pub mod sources;
pub mod store;
pub mod tenants_cli;
pub mod terminal;
pub mod ui;
