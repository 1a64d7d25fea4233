//! Every integration test in one binary: one link instead of fifteen.
//!
//! `cargo test` runs the quick tier, which needs nothing outside this repository (real SQLite
//! stores in temp dirs, the real binary, TestBackend screens). `cargo test --features
//! real-components` adds the tests of the real components — the Docker engine, Fail2Ban, tmux,
//! moto (CloudWatch Logs), openssl — which `tests/run` installs and starts; CI runs that.

mod support;

mod cli;
mod config;
mod corpus;
mod detection;
mod docs;
mod falco_http;
mod histogram;
mod ingest;
mod report;
mod sanitize;
mod sharing;
mod sources;
mod store;
mod tailing;
mod ui;
mod update;

#[cfg(feature = "real-components")]
mod audit;
#[cfg(feature = "real-components")]
mod cloudwatch;
#[cfg(feature = "real-components")]
mod cloudwatch_publish;
#[cfg(feature = "real-components")]
mod docker;
#[cfg(feature = "real-components")]
mod drill;
#[cfg(feature = "real-components")]
mod engine_logs;
#[cfg(feature = "real-components")]
mod fail2ban;
#[cfg(feature = "real-components")]
mod integrity;
#[cfg(feature = "real-components")]
mod package;
#[cfg(feature = "real-components")]
mod privilege;
#[cfg(feature = "real-components")]
mod reisolate;
#[cfg(feature = "real-components")]
mod respond_rules;
#[cfg(feature = "real-components")]
mod terminal;
