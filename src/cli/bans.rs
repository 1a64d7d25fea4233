//! `rampart bans list|unban|ban`: the Bans pane and its actions, for scripts.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Subcommand;
use color_eyre::Result;

use super::args::{exit, parse_reason, ActArgs, HostArgs};
use super::lists::{address_width, say_more, say_no_rows};
use super::out;
use crate::config::Config;
use crate::respond::{self, fail2ban, Backend, Operator, Request};
use crate::sources::fail2ban::Reader;
use crate::store::bans;
use crate::store::writer::{ChangeNotes, StoreWriter, Tables, Write};
use crate::store::{self, now_ms, Access};

#[derive(Debug, Subcommand)]
pub enum BansCommand {
    /// Current bans (synchronised from Fail2Ban's database first)
    List {
        #[command(flatten)]
        host: HostArgs,
        /// One JSON array instead of a table
        #[arg(long)]
        json: bool,
        /// Also expired and unbanned ones
        #[arg(long)]
        all: bool,
        /// At most this many rows, newest first
        #[arg(long, default_value_t = 1000)]
        limit: usize,
    },
    /// Unban IP (from JAIL, or from every jail that holds it)
    Unban {
        #[command(flatten)]
        act: ActArgs,
        /// The address to unban (IPv4 or IPv6, in any spelling)
        ip: String,
        /// Only from this jail [default: every jail that holds the address]
        #[arg(long)]
        jail: Option<String>,
    },
    /// Ban IP in JAIL
    Ban {
        #[command(flatten)]
        act: ActArgs,
        /// The address to ban (IPv4 or IPv6, in any spelling)
        ip: String,
        /// The Fail2Ban jail to ban it in
        #[arg(long)]
        jail: String,
        /// Why; recorded in the audit log (required, not blank)
        #[arg(long, value_parser = parse_reason)]
        reason: String,
    },
}

pub fn run(db: &Path, config: &Config, command: BansCommand) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let conn = store::open(db, Access::ReadWrite)?;
    let (writer, thread) = StoreWriter::spawn(conn, Arc::new(ChangeNotes::default()));
    let code = runtime.block_on(async {
        // Bring the store up to date with Fail2Ban's database first.
        match Reader::open(&config.fail2ban.database).and_then(|mut r| r.poll()) {
            Ok(Some(c)) => {
                let _ = writer.send(Write::SyncFail2ban { active: c.active, history: c.history, jails: c.jails }).await;
            }
            Ok(None) => {}
            Err(why) if matches!(command, BansCommand::List { .. }) => {
                eprintln!("warning: {why}; showing what the store last saw");
            }
            Err(_) => {}
        }
        let _ = writer.call(|_| ((), Tables::NONE)).await;
        match command {
            BansCommand::List { json, all, limit, .. } => list(db, json, all, limit).map(|()| exit::OK),
            BansCommand::Ban { ip, jail, reason, .. } => {
                Ok(act(&writer, config, Request::Ban { ip, jail, reason }).await)
            }
            BansCommand::Unban { ip, jail, .. } => {
                let Some(ip) = crate::store::canonical_ip(&ip) else {
                    eprintln!("unban: '{ip}' is not an IP address");
                    return Ok(exit::USAGE);
                };
                let mut held = held_by(db, &ip, jail.as_deref())?;
                if held.is_empty() {
                    // The store does not know of a ban: Fail2Ban itself is asked, so that "not
                    // banned" is only said when Fail2Ban says so.
                    match fail2ban::holding(&config.fail2ban, &ip, jail.as_deref()).await {
                        Ok(jails) => held = jails.into_iter().map(|j| (0, j)).collect(),
                        Err(why) => {
                            eprintln!("unban: {why}");
                            return Ok(code_for(&why));
                        }
                    }
                }
                if held.is_empty() {
                    let jail = jail.map(|j| format!(" in {j}")).unwrap_or_default();
                    eprintln!("unban: {ip} is not banned{jail} (Fail2Ban says so)");
                    return Ok(exit::USAGE);
                }
                let mut worst = exit::OK;
                for (ban_id, jail) in held {
                    let code = act(&writer, config, Request::Unban { ban_id, ip: ip.clone(), jail }).await;
                    worst = worst.max(code);
                }
                Ok(worst)
            }
        }
    });
    drop(writer);
    let _ = thread.join();
    Ok(ExitCode::from(code?))
}

/// The active bans of `ip`: (ban id, jail).
fn held_by(db: &Path, ip: &str, jail: Option<&str>) -> Result<Vec<(i64, String)>> {
    let conn = store::open(db, Access::ReadOnly)?;
    Ok(bans::active_of(&conn, ip, jail, now_ms())?)
}

/// Lists what the store holds (the collector keeps it in step with Fail2Ban).
pub(super) fn list(db: &Path, json: bool, all: bool, limit: usize) -> Result<()> {
    let conn = store::open(db, Access::ReadOnly)?;
    let now = now_ms();
    let (rows, total) = bans::newest(&conn, (!all).then_some(now), limit)?;
    let more = total.saturating_sub(rows.len());
    if json {
        let listed: Vec<serde_json::Value> = rows
            .iter()
            .map(|b| {
                serde_json::json!({
                    "ip": b.ip, "jail": b.jail, "banned_at": crate::text::format::timestamp(b.banned_at),
                    "expires_at": b.expires_at().map(crate::text::format::timestamp), "permanent": b.ban_seconds < 0,
                    "active": b.is_active(now), "ban_count": b.ban_count, "failures": b.failures,
                    "matches": serde_json::from_str::<serde_json::Value>(&b.matches_json).unwrap_or_default(),
                    "tenant": b.tenant, "source": b.source, "unbanned_by": b.unbanned_by,
                })
            })
            .collect();
        out::json_pretty(&listed)?;
    } else if rows.is_empty() {
        say_no_rows();
    } else {
        let ip_width = address_width(rows.iter().map(|b| b.ip.as_str()));
        out!(
            "{:<ip_width$} {:<16} {:<20} {:<10} {:>5} {:>6}  {:<9} TENANT",
            "IP",
            "JAIL",
            "BANNED AT (UTC)",
            "EXPIRES",
            "COUNT",
            "FAILS",
            "SOURCE"
        )?;
        let clean = |s: &str| crate::text::sanitize::clean(s, 200).into_owned();
        for b in rows {
            let expires = match (b.unbanned_at, b.expires_at()) {
                (Some(_), _) => "unbanned".to_string(),
                (None, None) => "permanent".to_string(),
                (None, Some(t)) if t <= now => "expired".to_string(),
                (None, Some(t)) => crate::text::format::duration(t - now),
            };
            out!(
                "{:<ip_width$} {:<16} {:<20} {:<10} {:>5} {:>6}  {:<9} {}",
                clean(&b.ip),
                clean(&b.jail),
                crate::text::format::time(b.banned_at),
                expires,
                b.ban_count,
                b.failures,
                clean(&b.source),
                clean(b.tenant.as_deref().unwrap_or("-"))
            )?;
        }
    }
    say_more(more, false);
    Ok(())
}

async fn act(writer: &StoreWriter, config: &Config, request: Request) -> u8 {
    let backend = Backend::Live(Arc::new(config.clone()));
    let outcome = respond::perform(writer, &backend, &Operator::current(), &request).await;
    if outcome.ok {
        // A reader that went away misses only the confirmation: the action was done and audited.
        let _ = out!("{}", outcome.message);
        exit::OK
    } else {
        eprintln!("{}: {}", request.action(), outcome.message);
        code_for(&outcome.message)
    }
}

/// The exit code for what went wrong, as fail2ban-client's words were put: 3 when Fail2Ban could
/// not be reached (not running, not installed, its socket refusing us), 2 for a mistake in what was
/// asked (no such jail, not an address), 1 otherwise.
fn code_for(why: &str) -> u8 {
    if why.contains("not running") || why.contains("not installed") || why.starts_with("permission denied on") {
        exit::UNREACHABLE
    } else if why.contains("does not exist") || why.contains("is not an IP address") {
        exit::USAGE
    } else {
        exit::PARTIAL
    }
}
