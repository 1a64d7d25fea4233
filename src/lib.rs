//! rampart: a keyboard-driven terminal security operations console for multi-tenant container hosts.
// The one exception, binding text in place for bulk inserts, is `store::access::raw`.
#![deny(unsafe_code)]

pub mod action;
pub mod app;
pub mod cli;
pub mod collector;
pub mod config;
pub mod console;
pub mod control;
pub mod demo;
pub mod detect;
pub mod drill;
pub mod fault;
pub mod host;
pub mod ingest;
pub mod integrity;
pub mod layout;
pub mod pane;
pub mod parse;
pub mod report;
pub mod respond;
pub mod sources;
pub mod store;
pub mod terminal;
pub mod text;
pub mod ui;
