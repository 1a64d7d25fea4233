//! `rampart drill TENANT [--scenario …] [--dry-run] [--keep]`: a fire drill against a tenant, its
//! checklist printed, and its attacker, bans, isolation and files cleaned up even on Ctrl-C or
//! SIGTERM.

use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Args;
use color_eyre::Result;

use super::args::{exit, ActArgs};
use crate::config::Config;
use crate::drill::checklist::Scenario;
use crate::drill::{self, Leftovers, Plan};
use crate::store::writer::{ChangeNotes, StoreWriter};
use crate::store::{self, Access};

#[derive(Debug, Args)]
pub struct DrillArgs {
    #[command(flatten)]
    pub act: ActArgs,
    /// The tenant to drill
    pub tenant: String,
    /// brute-force, cross-tenant, web, tamper, or all
    #[arg(long, default_value = "brute-force", value_parser = parse_scenario)]
    pub scenario: Scenarios,
    /// Say what the drill would do and what is missing; start nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Leave the attacker, its bans, the isolation and the drill's files in place afterwards
    #[arg(long)]
    pub keep: bool,
    /// How long each stage is waited for, in seconds
    #[arg(long, default_value_t = 20)]
    pub wait: u64,
}

/// The scenarios `--scenario` names.
#[derive(Debug, Clone)]
pub struct Scenarios(Vec<Scenario>);

fn parse_scenario(text: &str) -> Result<Scenarios, String> {
    Scenario::parse(text).map(Scenarios)
}

pub fn run(db: &Path, config: &Config, args: DrillArgs) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let conn = store::open(db, Access::ReadWrite)?;
    let (writer, thread) = StoreWriter::spawn(conn, Arc::new(ChangeNotes::default()));
    let plan = Plan {
        tenant: args.tenant.clone(),
        scenarios: args.scenario.0,
        dry_run: args.dry_run,
        wait: Duration::from_secs(args.wait.clamp(1, 600)),
    };
    let config = Arc::new(config.clone());
    let left = Arc::new(Mutex::new(Leftovers::default()));
    let report = runtime.block_on(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        let by = crate::respond::Operator::current();
        let drilled = drill::run(&writer, db, config.clone(), &plan, left.clone(), &by);
        let report = tokio::select! {
            r = drilled => Some(r),
            _ = tokio::signal::ctrl_c() => None,
            _ = term.recv() => None,
        };
        let cleanup = drill::clean_up(&writer, &config, &left, args.keep).await;
        Ok::<_, color_eyre::Report>((report, cleanup))
    })?;
    drop(writer);
    let _ = thread.join();
    let (report, cleanup) = report;
    let Some(mut report) = report else {
        for line in cleanup {
            println!("clean-up: {line}");
        }
        eprintln!("the drill was interrupted; what it started is cleaned up");
        return Ok(ExitCode::from(exit::PARTIAL));
    };
    report.cleanup.extend(cleanup);
    for line in report.lines() {
        println!("{line}");
    }
    Ok(ExitCode::from(if report.ok() { exit::OK } else { exit::PARTIAL }))
}
