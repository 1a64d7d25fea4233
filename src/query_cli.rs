//! `rampart ingest …`, `rampart alerts list`, `rampart access list`: intake and the streams'
//! panes, headless, with the console's filter language.

use std::path::Path;
use std::process::ExitCode;

use color_eyre::eyre::eyre;
use color_eyre::Result;

use crate::cli::{IngestCommand, ListCommand};
use crate::ingest::{self, Counts};
use crate::pane::Pane;
use crate::store::filter::compile;
use crate::store::window::{self, Around, Query, Row};
use crate::store::{self, now_ms, Access};
use crate::ui::format;

pub fn ingest(db: &Path, command: IngestCommand, rules: &crate::detect::Rules) -> Result<ExitCode> {
    let conn = store::open(db, Access::ReadWrite)?;
    let started = std::time::Instant::now();
    let mut total = Counts::default();
    let mut report = |what: &str, c: Counts| {
        eprintln!("{what}: {} lines, {} stored, {} not parsed", c.lines, c.stored, c.unparsed);
        for e in &c.examples {
            eprintln!("  {e}");
        }
        total.lines += c.lines;
        total.stored += c.stored;
        total.unparsed += c.unparsed;
    };
    let judged = matches!(command, IngestCommand::Access { .. });
    match command {
        IngestCommand::Access { files, tenant } => {
            for file in files {
                let counts = ingest::access_file(&conn, &file, &tenant)?;
                report(&file.display().to_string(), counts);
            }
        }
        IngestCommand::Falco { file } => {
            let counts = if file.as_os_str() == "-" {
                ingest::falco_lines(&conn, std::io::stdin())?
            } else {
                let f = std::fs::File::open(&file).map_err(|e| eyre!("cannot read {}: {e}", file.display()))?;
                ingest::falco_lines(&conn, f)?
            };
            report(&file.display().to_string(), counts);
        }
    }
    eprintln!(
        "stored {} of {} lines in {:.2} s ({} not parsed)",
        total.stored,
        total.lines,
        started.elapsed().as_secs_f64(),
        total.unparsed
    );
    if judged {
        judge(&conn, rules)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Judges what the import stored (and anything else not judged yet) with the detection rules.
fn judge(conn: &rusqlite::Connection, rules: &crate::detect::Rules) -> Result<()> {
    let v = crate::detect::judge::judge_backlog(conn, rules)
        .map_err(|e| eyre!("the rows are stored, but judging them with the detection rules failed: {e}"))?;
    let elsewhere = match v.judged_elsewhere {
        0 => String::new(),
        n => format!(" ({n} more judged by the running collector)"),
    };
    eprintln!("judged {} events with the detection rules: {} alerts raised{elsewhere}", v.events, v.alerts);
    Ok(())
}

pub fn list(db: &Path, pane: Pane, command: ListCommand) -> Result<ExitCode> {
    let ListCommand::List { json, since, priority, filter, limit } = command;
    let mut terms: Vec<String> = filter.into_iter().collect();
    if let Some(since) = since {
        terms.push(format!("since:{since}"));
    }
    if let Some(p) = priority {
        if pane != Pane::Alerts {
            return Err(eyre!("--priority applies to alerts only"));
        }
        terms.push(format!("priority>={p}"));
    }
    let now = now_ms();
    let filter = compile(&terms.join(" "), pane.fields(), now).map_err(|e| eyre!("{e}"))?;
    let conn = store::open(db, Access::ReadOnly)?;
    let q = Query {
        pane,
        filter,
        around: Around::Newest,
        per_side: limit.div_ceil(2).max(1),
        count_newer_than: None,
        history: false,
        grouped: false,
    };
    let page = window::load(&conn, &q, now)?;
    let rows = page.rows.iter().take(limit);
    if json {
        let out: Vec<serde_json::Value> = rows.map(row_json).collect();
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for row in rows {
            println!("{}", row_line(row));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn row_json(row: &Row) -> serde_json::Value {
    match row {
        Row::Alert(a) => serde_json::json!({
            "id": a.id, "time": format::timestamp(a.ts), "priority": a.priority.name(), "rule": a.rule,
            "source": a.source, "hostname": a.hostname, "tenant": a.tenant, "output": a.output,
            "output_fields": serde_json::from_str::<serde_json::Value>(&a.output_fields_json).unwrap_or_default(),
            "tags": a.tags.split(',').filter(|t| !t.is_empty()).collect::<Vec<_>>(), "ip": a.src_ip,
            "acknowledged_by": a.acked_by,
        }),
        Row::Access(e) => serde_json::json!({
            "id": e.id, "time": format::timestamp(e.ts), "tenant": e.tenant, "ip": e.src_ip, "user": e.user,
            "method": e.method, "path": e.path, "status": e.status, "bytes": e.bytes, "user_agent": e.user_agent,
            "target_tenant": e.target_tenant, "flags": e.flags, "source": e.source,
        }),
        _ => serde_json::Value::Null,
    }
}

/// One line per row; text from outside is made safe for a terminal here too.
fn row_line(row: &Row) -> String {
    let clean = |s: &str| crate::ui::sanitize::clean(s, 2000).into_owned();
    match row {
        Row::Alert(a) => format!(
            "{}  {:<13}  {:<40}  {:<10}  {}",
            format::timestamp(a.ts),
            a.priority.name(),
            clean(&a.rule),
            clean(a.tenant.as_deref().unwrap_or("-")),
            clean(&a.output)
        ),
        Row::Access(e) => format!(
            "{}  {:<10} {:<39} {:<7} {:<4} {}  {}",
            format::timestamp(e.ts),
            clean(&e.tenant),
            clean(&e.src_ip),
            clean(&e.method),
            e.status,
            clean(&e.path),
            clean(&e.user_agent)
        ),
        _ => String::new(),
    }
}
