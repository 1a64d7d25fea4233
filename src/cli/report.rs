//! `rampart report TENANT --since 2h [--until …] [--format md|json]`: what happened to a tenant,
//! in time order, ready to paste into an incident ticket.

use std::path::Path;

use clap::{Args, ValueEnum};
use color_eyre::eyre::eyre;
use color_eyre::Result;

use super::args::StoreArg;
use super::out;
use crate::report::Report;
use crate::store::{self, now_ms, Access};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Markdown, for an incident ticket
    Md,
    /// One JSON document
    Json,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub store: StoreArg,
    /// The tenant
    pub tenant: String,
    /// From: a duration back from now (90s, 15m, 2h, 7d) or a UTC time (2026-11-26T10:00, RFC 3339)
    #[arg(long)]
    pub since: String,
    /// Up to (excluded), in the same forms [default: now]
    #[arg(long)]
    pub until: Option<String>,
    /// md: Markdown for a ticket; json: one document for tools
    #[arg(long, value_enum, default_value_t = Format::Md)]
    pub format: Format,
}

pub fn run(db: &Path, args: &ReportArgs) -> Result<()> {
    let conn = store::open(db, Access::ReadOnly)?;
    let report =
        Report::build(&conn, &args.tenant, &args.since, args.until.as_deref(), now_ms()).map_err(|e| eyre!("{e}"))?;
    match args.format {
        Format::Md => out::bytes(report.markdown().as_bytes())?,
        Format::Json => out::json_pretty(&report.json())?,
    }
    Ok(())
}
