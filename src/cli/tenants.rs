//! `rampart tenants list|isolate|restore`: the Tenants pane and its actions, for scripts.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Subcommand;
use color_eyre::eyre::WrapErr;
use color_eyre::Result;

use super::args::{exit, parse_reason, ActArgs, HostArgs};
use super::lists::say_no_rows;
use super::out;
use crate::config::Config;
use crate::respond::{self, Operator, Request};
use crate::sources::docker;
use crate::store::window::{self, Around, Listing, Query, Row};
use crate::store::writer::{ChangeNotes, StoreWriter, Write};
use crate::store::{self, now_ms, tenants, Access};

#[derive(Debug, Subcommand)]
pub enum TenantsCommand {
    /// Every tenant with its status, containers and networks (synchronised from Docker first)
    List {
        #[command(flatten)]
        host: HostArgs,
        /// One JSON array instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Cut every container of NAME off every network, the host included (journaled, audited)
    Isolate {
        #[command(flatten)]
        act: ActArgs,
        /// The tenant to isolate
        name: String,
        /// Why; recorded in the audit log (required, not blank)
        #[arg(long, value_parser = parse_reason)]
        reason: String,
        /// Also pause the containers
        #[arg(long)]
        pause: bool,
    },
    /// Reconnect NAME's containers to the networks they had
    Restore {
        #[command(flatten)]
        act: ActArgs,
        /// The tenant to restore
        name: String,
    },
}

pub fn run(db: &Path, config: &Config, command: TenantsCommand) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let conn = store::open(db, Access::ReadWrite)?;
    let (writer, thread) = StoreWriter::spawn(conn, Arc::new(ChangeNotes::default()));
    let code = runtime.block_on(async {
        for name in &config.tenants {
            let _ = writer.send(Write::Tenant { name: name.clone(), label_selector: String::new() }).await;
        }
        let engine = docker::connect(&config.docker).await;
        // Bring the store up to date with the engine before reporting or acting.
        if let Ok(engine) = &engine {
            match docker::snapshot(engine, &config.docker).await {
                Ok(rows) => {
                    let _ = writer.send(Write::SyncContainers(rows)).await;
                }
                Err(e) => eprintln!("warning: cannot list containers: {e}"),
            }
        }
        match command {
            TenantsCommand::List { json, .. } => {
                if let Err(why) = &engine {
                    eprintln!("warning: {why}; showing what the store last saw");
                }
                // Everything sent before this call is committed when it returns.
                let _ = writer.call(|_| ((), crate::store::writer::Tables::NONE)).await;
                list(db, json).map(|()| exit::OK)
            }
            TenantsCommand::Isolate { name, reason, pause, .. } => {
                act(&writer, config, engine, Request::Isolate { tenant: name, reason, pause }).await
            }
            TenantsCommand::Restore { name, .. } => {
                act(&writer, config, engine, Request::Restore { tenant: name }).await
            }
        }
    });
    drop(writer);
    let _ = thread.join();
    Ok(ExitCode::from(code?))
}

/// Lists what the store holds (the collector keeps it in step with the engine).
pub(super) fn list(db: &Path, json: bool) -> Result<()> {
    let conn = store::open(db, Access::ReadOnly)?;
    let q = Query {
        listing: Listing::Tenants,
        filter: None,
        around: Around::Newest,
        per_side: 1,
        count_newer_than: None,
        history: false,
        grouped: false,
    };
    let page = window::load(&conn, &q, now_ms()).wrap_err("cannot read tenants")?;
    let rows: Vec<&tenants::TenantRow> =
        page.rows.iter().filter_map(|r| if let Row::Tenant(t) = r { Some(t) } else { None }).collect();
    if json {
        let listed: Vec<serde_json::Value> = rows
            .iter()
            .map(|t| {
                let containers = tenants::containers_of(&conn, &t.name).unwrap_or_default();
                serde_json::json!({
                    "name": t.name,
                    "status": t.status,
                    "running": t.running,
                    "containers": containers.iter().map(|c| serde_json::json!({
                        "id": c.id,
                        "name": c.name,
                        "image": c.image,
                        "state": c.state,
                        "networks": serde_json::from_str::<serde_json::Value>(&c.networks_json).unwrap_or_default(),
                        "posture": serde_json::from_str::<serde_json::Value>(&c.posture_json).unwrap_or_default(),
                    })).collect::<Vec<_>>(),
                    "networks": t.networks.split(',').filter(|n| !n.is_empty()).collect::<Vec<_>>(),
                    "alerts_last_hour": t.alerts_1h,
                    "active_bans": t.active_bans,
                    "isolated_by": t.isolated_by,
                    "reason": t.reason,
                })
            })
            .collect();
        out::json_pretty(&listed)?;
    } else if rows.is_empty() {
        say_no_rows();
    } else {
        out!("{:<20} {:<20} {:>9}  NETWORKS", "TENANT", "STATUS", "RUNNING")?;
        let clean = |s: &str| crate::text::sanitize::clean(s, 2000).into_owned();
        for t in rows {
            out!(
                "{:<20} {:<20} {:>9}  {}",
                clean(&t.name),
                clean(&t.status),
                format!("{}/{}", t.running, t.containers),
                clean(&t.networks)
            )?;
        }
    }
    Ok(())
}

async fn act(
    writer: &StoreWriter,
    config: &Config,
    engine: Result<bollard::Docker, String>,
    request: Request,
) -> Result<u8> {
    let (outcome, result) =
        respond::perform_on_engine(writer, &config.docker, &engine, &Operator::current(), &request).await;
    match &result {
        Ok(report) => {
            // A reader that went away misses only the report: the action was done and audited.
            for c in &report.containers {
                let _ = out!("{:<7} {:<30} {}", if c.ok { "ok" } else { "FAILED" }, c.container, c.detail);
            }
            let _ = out!("{}", outcome.message);
            Ok(if report.failed() == 0 && outcome.ok { exit::OK } else { exit::PARTIAL })
        }
        Err(why) => {
            eprintln!("{}: {why}", request.action());
            Ok(if engine.is_err() { exit::UNREACHABLE } else { exit::USAGE })
        }
    }
}
