//! `rampart ingest …`, `rampart alerts list`, `rampart access list`: intake and the streams'
//! panes, headless, with the console's filter language.

use std::path::Path;
use std::process::ExitCode;

use color_eyre::eyre::{bail, eyre};
use color_eyre::Result;
use rusqlite::params_from_iter;
use rusqlite::types::Value;

use crate::cli::{IngestCommand, ListArgs};
use crate::ingest::{self, Counts};
use crate::pane::Pane;
use crate::store::filter::compile;
use crate::store::imports;
use crate::store::window::Row;
use crate::store::{self, access, alerts, now_ms, Access};
use crate::ui::format;

/// What an import of one file came to.
enum Imported {
    /// Its lines were read; these are the counts.
    Read(Counts),
    /// The store already holds an import of the same file.
    Skipped,
}

/// `rampart ingest access|falco`. Exit 0 when every file was imported or skipped as imported
/// before (lines that did not parse are counted and shown); 1 when a file had lines and none of
/// them could be stored, or a file could not be read.
pub fn ingest(db: &Path, command: IngestCommand, rules: &crate::detect::Rules) -> Result<ExitCode> {
    let conn = store::open(db, Access::ReadWrite)?;
    let started = std::time::Instant::now();
    let mut total = Counts::default();
    let mut nothing_stored = Vec::new();
    let mut report = |name: &str, imported: Imported, what: &str| {
        let Imported::Read(c) = imported else { return };
        eprintln!("{name}: {} lines, {} stored, {} not parsed", c.lines, c.stored, c.unparsed);
        for e in &c.examples {
            eprintln!("  {e}");
        }
        if c.lines > 0 && c.stored == 0 {
            eprintln!("  nothing in {name} was stored: none of its lines is {what}");
            nothing_stored.push(name.to_string());
        }
        total.lines += c.lines;
        total.stored += c.stored;
        total.unparsed += c.unparsed;
    };
    let judged = matches!(command, IngestCommand::Access { .. });
    match command {
        IngestCommand::Access { files, tenant, again, .. } => {
            for file in files {
                let imported = import_file(&conn, &file, imports::Kind::Access, again, |conn| {
                    ingest::access_file(conn, &file, &tenant)
                })?;
                report(&file.display().to_string(), imported, "a combined-format access log line");
            }
        }
        IngestCommand::Falco { file, again, .. } => {
            let imported = if file.as_os_str() == "-" {
                Imported::Read(ingest::falco_lines(&conn, std::io::stdin())?)
            } else {
                import_file(&conn, &file, imports::Kind::Falco, again, |conn| {
                    let f = std::fs::File::open(&file).map_err(|e| eyre!("cannot read {}: {e}", file.display()))?;
                    ingest::falco_lines(conn, f)
                })?
            };
            let name = if file.as_os_str() == "-" { "standard input".to_string() } else { file.display().to_string() };
            report(&name, imported, "a Falco alert in JSON (json_output: true)");
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
    Ok(if nothing_stored.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
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

/// Imports one named file with `import`, unless the store already holds an import of the same
/// file (by its fingerprint) and `again` was not asked for; records the import when rows were stored.
fn import_file(
    conn: &rusqlite::Connection,
    path: &Path,
    kind: imports::Kind,
    again: bool,
    import: impl FnOnce(&rusqlite::Connection) -> Result<Counts>,
) -> Result<Imported> {
    let meta = std::fs::metadata(path).map_err(|e| eyre!("cannot read {}: {e}", path.display()))?;
    if meta.is_dir() {
        bail!(
            "cannot read {}: it is a directory — name the files in it (as in {}/*.log)",
            path.display(),
            path.display()
        );
    }
    let fingerprint = ingest::fingerprint::of(path).map_err(|e| eyre!("cannot read {}: {e}", path.display()))?;
    if !again {
        if let Some(earlier) = imports::find(conn, kind, &fingerprint)? {
            eprintln!(
                "{}: skipped — the store already holds this file's lines: imported {} by {} as {} ({} lines, {} stored); \
                 --again imports it again",
                path.display(),
                format::timestamp(earlier.imported_at),
                earlier.imported_by,
                earlier.path,
                earlier.lines,
                earlier.stored
            );
            return Ok(Imported::Skipped);
        }
    }
    let counts = import(conn).map_err(|e| {
        let said = e.to_string();
        if said.contains(&path.display().to_string()) {
            e
        } else {
            eyre!("{}: {said}", path.display())
        }
    })?;
    if counts.stored > 0 {
        let record = imports::Import {
            kind,
            fingerprint,
            path: std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()).display().to_string(),
            lines: counts.lines as i64,
            stored: counts.stored as i64,
            imported_at: now_ms(),
            imported_by: crate::respond::Operator::current().name,
        };
        imports::record(conn, &record)?;
    }
    Ok(Imported::Read(counts))
}

/// Said when a table has no rows to show.
pub fn say_no_rows() {
    eprintln!("no rows");
}

/// Said under a table that was cut at `--limit`: how many rows were left out.
pub fn say_more(more: usize, at_least: bool) {
    if more > 0 {
        eprintln!("{}{more} more — use --limit to see more", if at_least { "at least " } else { "" });
    }
}

/// Rows counted past the last one shown stop here (a count of ten million rows is not worth its wait).
const MORE_COUNT_CAP: usize = 1_000_000;

/// `rampart alerts list`, `rampart access list`: newest first by the time of the alert or
/// request (not the order they reached the store: imports arrive late), with the console's filter
/// language.
pub fn list(db: &Path, pane: Pane, args: ListArgs, priority: Option<String>) -> Result<ExitCode> {
    let ListArgs { json, since, filter, limit, .. } = args;
    let mut terms: Vec<String> = filter.into_iter().collect();
    if let Some(since) = since {
        terms.push(format!("since:{since}"));
    }
    if let Some(p) = priority {
        terms.push(format!("priority>={p}"));
    }
    let now = now_ms();
    let filter = compile(&terms.join(" "), pane.fields(), now).map_err(|e| eyre!("{e}"))?;
    let conn = store::open(db, Access::ReadOnly)?;
    let (select, table): (&str, &str) = match pane {
        Pane::Alerts => (alerts::SELECT, "alerts"),
        Pane::Access => (access::SELECT, "access_events"),
        other => bail!("{} has no headless list", other.title()),
    };
    let (condition, mut params) = match &filter {
        Some(f) => (format!(" WHERE ({})", f.sql), f.params.clone()),
        None => (String::new(), Vec::new()),
    };
    let sql = format!("{select}{condition} ORDER BY ts DESC, id DESC LIMIT ?");
    params.push(Value::Integer(limit as i64));
    let mut stmt = conn.prepare(&sql)?;
    let rows: Vec<Row> = stmt
        .query_map(params_from_iter(params.iter()), |r| match pane {
            Pane::Alerts => alerts::from_row(r).map(Row::Alert),
            _ => access::from_row(r).map(Row::Access),
        })?
        .collect::<rusqlite::Result<_>>()?;
    let (more, at_least) = if rows.len() < limit {
        (0, false)
    } else {
        params.pop();
        let sql = format!("SELECT count(*) FROM (SELECT 1 FROM {table}{condition} LIMIT {MORE_COUNT_CAP})");
        let matching: i64 = conn.query_row(&sql, params_from_iter(params.iter()), |r| r.get(0))?;
        let matching = matching as usize;
        (matching.saturating_sub(rows.len()), matching >= MORE_COUNT_CAP)
    };
    if json {
        let out: Vec<serde_json::Value> = rows.iter().map(row_json).collect();
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else if rows.is_empty() {
        say_no_rows();
    } else {
        println!("{}", header(pane));
        for row in &rows {
            println!("{}", row_line(row));
        }
    }
    say_more(more, at_least);
    Ok(ExitCode::SUCCESS)
}

/// The column names over `row_line`'s columns.
fn header(pane: Pane) -> String {
    match pane {
        Pane::Alerts => format!("{:<24}  {:<13}  {:<40}  {:<10}  OUTPUT", "TIME (UTC)", "PRIORITY", "RULE", "TENANT"),
        _ => format!(
            "{:<24}  {:<10} {:<39} {:<7} {:<4} PATH  USER AGENT",
            "TIME (UTC)", "TENANT", "SOURCE IP", "METHOD", "CODE"
        ),
    }
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
