//! `rampart audit verify` and `rampart audit list`: the audit log checked (its guards, its hash
//! chain row by row, and its published copy), and listed for scripts.

use std::path::Path;
use std::process::ExitCode;

use clap::Subcommand;

use super::args::{HostArgs, ListArgs};
use crate::sources::cloudwatch_publish::{self, Destination};
use color_eyre::eyre::{eyre, WrapErr};
use color_eyre::Result;

use super::args::StoreArg;
use crate::config::cloudwatch::PublishConfig;
use crate::config::Dirs;
use crate::store::{self, audit, now_ms, Access};
use crate::text::format;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check that the audit log's guards (its append-only triggers) are in place, the hash chain of
    /// the whole log, and with `[cloudwatch_publish]` configured compare it with this store's
    /// published copy; exits 1 when anything was tampered with (a guard gone, a row broken or
    /// missing), 2 when nothing local was found but the published copy cannot be read
    Verify {
        #[command(flatten)]
        host: HostArgs,
    },
    /// List the audit log, newest first: who acted (as the row records it), from where, on which
    /// host, what, on what, why and the outcome, with the row's detail and hash. `--since` takes a
    /// DURATION (90s, 15m, 2h, 7d) or a DATE (2026-12-01, 2026-12-01T08:00, RFC 3339), in UTC
    List {
        #[command(flatten)]
        list: ListArgs,
    },
}

/// Exit 0 when the guards are in place and every row chains to the one before it (and matches
/// this store's published copy); 1 when anything was tampered with, whether or not the published
/// copy could be read; 2 when nothing local was found and the published copy cannot be read.
pub fn verify(store: &StoreArg, publish: Option<&PublishConfig>, dirs: &Dirs) -> Result<ExitCode> {
    let db = store.db.clone().unwrap_or_else(|| dirs.default_db());
    let conn = store::open(&db, Access::ReadOnly)?;
    let mut tampered = false;
    for line in audit::guard_problems(&conn).wrap_err("cannot read the audit log's guards")? {
        println!("audit log UNGUARDED: {line}");
        tampered = true;
    }
    let v = audit::verify(&conn).wrap_err("cannot read the audit log")?;
    match v.first_break {
        None => println!("audit log intact: {} rows, every hash chained", v.rows),
        Some((id, why)) => {
            println!("audit log BROKEN at row {id}: {why}");
            tampered = true;
        }
    }
    let me = audit::identity(&conn).wrap_err("cannot read the store's identity")?;
    if me.is_none() {
        println!(
            "audit log BROKEN: the store's identity is gone (table store_identity emptied or dropped), \
             so its published rows cannot be told from another store's"
        );
        tampered = true;
    }
    let verdict = |tampered: bool| if tampered { ExitCode::FAILURE } else { ExitCode::SUCCESS };
    let (Some(publish), Some(me)) = (publish, me) else { return Ok(verdict(tampered)) };
    let local = audit::hashes(&conn).wrap_err("cannot read the audit log")?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let (group, read) = runtime.block_on(async {
        let to = Destination::new(publish).await;
        let read = to.read_all().await;
        (format!("{} (stream {})", to.group, to.stream), read)
    });
    let messages = match read {
        Ok(m) => m,
        Err(problem) => {
            println!("cannot compare with the published copy in {group}: {}", problem.describe());
            // What was found locally stands on its own: tampering is exit 1 with or without the copy.
            return Ok(if tampered { ExitCode::FAILURE } else { ExitCode::from(2) });
        }
    };
    let published = cloudwatch_publish::published_audit(&messages, &me);
    let c = audit::compare(&local, &published.ours);
    let mut broken = c.broken;
    broken.extend(audit::published_by_another(&local, &published.others));
    for line in &broken {
        println!("audit log BROKEN against {group}: {line}");
        tampered = true;
    }
    for line in &c.notes {
        println!("note: {line}");
    }
    for (other, rows) in &published.others {
        let ids = rows.first().zip(rows.last()).map_or_else(String::new, |(a, b)| format!(" {}..{}", a.0, b.0));
        println!(
            "note: the stream also holds {} audit rows{ids} of another store ({other}), not compared with this one",
            rows.len()
        );
    }
    if broken.is_empty() {
        println!("published copy in {group} agrees: {} rows of this store ({}) compared", published.ours.len(), me.id);
    }
    Ok(verdict(tampered))
}

/// Rows counted past the last one shown stop here ("at least N more").
const MORE_COUNT_CAP: usize = 10_000;

/// `rampart audit list`: newest first by time, with the console's filter language; every column
/// of each row, as the row holds it.
pub fn list(db: &Path, args: ListArgs) -> Result<ExitCode> {
    let ListArgs { json, since, filter, limit, .. } = args;
    let mut terms: Vec<String> = filter.into_iter().collect();
    if let Some(since) = since {
        // Quoted, so that a date with a space ("2026-12-01 08:00") stays one term.
        terms.push(format!("since:\"{}\"", since.replace('\\', "\\\\").replace('"', "\\\"")));
    }
    let filter = store::filter::compile(&terms.join(" "), &audit::FIELDS, now_ms()).map_err(|e| eyre!("{e}"))?;
    let conn = store::open(db, Access::ReadOnly)?;
    let rows = audit::newest(&conn, filter.as_ref(), limit).wrap_err("cannot read the audit log")?;
    let more = if rows.len() < limit {
        0
    } else {
        audit::count(&conn, filter.as_ref(), MORE_COUNT_CAP).wrap_err("cannot read the audit log")?
    };
    if json {
        let out: Vec<serde_json::Value> = rows.iter().map(row_json).collect();
        super::out::json_pretty(&out)?;
    } else if rows.is_empty() {
        super::lists::say_no_rows();
    } else {
        println!(
            "{:<24}  {:>6}  {:<20}  {:<15}  {:<12}  {:<10}  {:<28}  {:<7}  {:<12}  REASON  DETAIL",
            "TIME (UTC)", "ID", "OPERATOR", "FROM", "HOST", "ACTION", "TARGET", "OUTCOME", "HASH"
        );
        for row in &rows {
            println!("{}", row_line(row));
        }
    }
    super::lists::say_more(more.saturating_sub(rows.len()), more >= MORE_COUNT_CAP);
    Ok(ExitCode::SUCCESS)
}

/// Every column of a row. `detail` is the row's detail_json as JSON (as text when it is not
/// JSON); `claimed` is what the environment claimed about the actor, when the row records a claim.
fn row_json(e: &audit::AuditRow) -> serde_json::Value {
    let detail = serde_json::from_str::<serde_json::Value>(&e.new.detail_json)
        .unwrap_or_else(|_| serde_json::Value::String(e.new.detail_json.clone()));
    let claimed = detail.get("claimed").cloned().unwrap_or(serde_json::Value::Null);
    serde_json::json!({
        "id": e.id, "time": format::timestamp(e.new.ts), "operator": e.new.operator,
        "ssh_client": e.new.ssh_client, "host": e.new.host, "action": e.new.action, "target": e.new.target,
        "reason": e.new.reason, "outcome": e.new.outcome, "claimed": claimed, "detail": detail,
        "prev_hash": e.prev_hash, "hash": e.hash,
    })
}

/// One line per row, every text made safe for a terminal (an operator name or a reason is text
/// from outside too).
fn row_line(e: &audit::AuditRow) -> String {
    let clean = |s: &str| crate::text::sanitize::clean(s, 2000).into_owned();
    let hash: String = e.hash.chars().take(12).collect();
    format!(
        "{}  {:>6}  {:<20}  {:<15}  {:<12}  {:<10}  {:<28}  {:<7}  {:<12}  {}  {}",
        format::timestamp(e.new.ts),
        e.id,
        clean(&e.new.operator),
        clean(e.new.ssh_client.as_deref().unwrap_or("-")),
        clean(&e.new.host),
        clean(&e.new.action),
        clean(&e.new.target),
        clean(&e.new.outcome),
        clean(&hash),
        clean(e.new.reason.as_deref().unwrap_or("-")),
        clean(&e.new.detail_json)
    )
}
