//! Bulk intake: whole access logs and Falco output, parsed and stored in large transactions.

pub mod combined;
pub mod falco;
pub mod jsonlines;

use std::io::BufRead;
use std::path::Path;

use rusqlite::Connection;

use crate::store::{access, alerts};

/// How an access log's lines are given their tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantRule {
    /// Every line belongs to this tenant.
    Fixed(String),
    /// The first label of the virtual host (`acme.example.com` → `acme`).
    Host,
    /// The first label of the Referer's host.
    Referer,
    /// The first segment of the path (`/acme/cart` → `acme`).
    PathPrefix,
}

fn first_label(host: &str) -> String {
    host.split(['.', ':']).next().unwrap_or_default().to_ascii_lowercase()
}

impl TenantRule {
    pub fn tenant(&self, host: Option<&str>, referer: Option<&str>, path: &str) -> String {
        match self {
            TenantRule::Fixed(t) => t.clone(),
            TenantRule::Host => host.map(first_label).unwrap_or_default(),
            TenantRule::Referer => referer
                .and_then(|r| r.split("://").nth(1))
                .and_then(|rest| rest.split('/').next())
                .map(first_label)
                .unwrap_or_default(),
            TenantRule::PathPrefix => {
                path.trim_start_matches('/').split(['/', '?']).next().unwrap_or_default().to_string()
            }
        }
    }
}

/// Rows per transaction when importing.
const BATCH: usize = 100_000;

/// What an import did: every line is accounted for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub lines: u64,
    pub stored: u64,
    pub unparsed: u64,
    /// The first few rejected lines, with why.
    pub examples: Vec<String>,
}

impl Counts {
    fn reject(&mut self, line_no: u64, why: &str) {
        self.unparsed += 1;
        if self.examples.len() < 5 {
            self.examples.push(format!("line {line_no}: {why}"));
        }
    }
}

/// Lines handed from the parsing thread to the storing one at a time.
const CHUNK: usize = 8_192;

/// Parses on one thread while storing on this one (the two halves take about as long each), in
/// transactions of `BATCH` rows.
fn in_batches<T: Send + 'static>(
    conn: &Connection,
    lines: impl Iterator<Item = std::io::Result<String>> + Send + 'static,
    parse: impl Fn(&str) -> Result<T, String> + Send + 'static,
    insert: impl Fn(&Connection, &[T]) -> rusqlite::Result<()>,
) -> color_eyre::Result<Counts> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<T>>(8);
    let parser = std::thread::spawn(move || -> std::io::Result<Counts> {
        let mut counts = Counts::default();
        let mut chunk = Vec::with_capacity(CHUNK);
        for line in lines {
            let line = line?;
            counts.lines += 1;
            if line.trim().is_empty() {
                counts.reject(counts.lines, "empty line");
                continue;
            }
            match parse(&line) {
                Ok(row) => chunk.push(row),
                Err(why) => counts.reject(counts.lines, &why),
            }
            if chunk.len() == CHUNK && tx.send(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK))).is_err() {
                break;
            }
        }
        let _ = tx.send(chunk);
        Ok(counts)
    });
    let mut stored = 0u64;
    let mut pending = 0;
    // A bigger page cache, and one checkpoint at the end instead of one per transaction.
    conn.execute_batch("PRAGMA cache_size = -65536; PRAGMA wal_autocheckpoint = 0; BEGIN IMMEDIATE")?;
    let stored_ok = (|| -> rusqlite::Result<()> {
        for chunk in rx {
            insert(conn, &chunk)?;
            stored += chunk.len() as u64;
            pending += chunk.len();
            if pending >= BATCH {
                conn.execute_batch("COMMIT; BEGIN IMMEDIATE")?;
                pending = 0;
            }
        }
        Ok(())
    })();
    let commit = conn.execute_batch("COMMIT; PRAGMA wal_autocheckpoint = 1000; PRAGMA wal_checkpoint(TRUNCATE)");
    let mut counts = parser.join().map_err(|_| color_eyre::eyre::eyre!("the parsing thread panicked"))??;
    stored_ok?;
    commit?;
    counts.stored = stored;
    Ok(counts)
}

/// Imports combined-format access logs for `tenant`.
pub fn access_file(conn: &Connection, path: &Path, tenant: &str) -> color_eyre::Result<Counts> {
    let file = std::fs::File::open(path).map_err(|e| color_eyre::eyre::eyre!("cannot read {}: {e}", path.display()))?;
    let source = format!("ingest:{}", path.file_name().and_then(|n| n.to_str()).unwrap_or("file"));
    let reader = std::io::BufReader::with_capacity(1 << 20, file);
    let tenant = tenant.to_string();
    in_batches(
        conn,
        reader.lines(),
        move |line| combined::parse(line, &tenant, &source).map_err(|why| format!("{why:?}")),
        access::insert_many,
    )
}

/// Imports Falco JSON lines, then maps the new alerts to tenants by container id or name.
pub fn falco_lines(
    conn: &Connection,
    lines: impl Iterator<Item = std::io::Result<String>> + Send + 'static,
) -> color_eyre::Result<Counts> {
    let before: i64 = conn.query_row("SELECT ifnull(max(id), 0) FROM alerts", [], |r| r.get(0))?;
    let counts = in_batches(conn, lines, falco::parse, |conn, rows: &[alerts::Alert]| {
        rows.iter().try_for_each(|a| alerts::insert(conn, a))
    })?;
    alerts::assign_tenants(conn, before)?;
    Ok(counts)
}
