//! Log files named in the config — access logs and Falco's JSON output — followed through
//! rotation, a bounded chunk at a time. Each chunk's rows are stored together with the position
//! after them, so a restart neither repeats nor skips a line; lines that cannot be parsed are
//! counted, not dropped silently.

use std::path::PathBuf;
use std::time::Duration;

use crate::parse::jsonlines::FieldNames;
use crate::parse::{combined, falco, jsonlines, TenantRule};
use crate::store::status::Health;
use crate::store::tails::Rows;
use crate::store::writer::{InFlight, StoreWriter, Tables, Write};

use super::tail::{Position, Tail};

/// How often a quiet file is looked at.
const POLL: Duration = Duration::from_millis(250);

/// What a followed file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    /// nginx/Apache combined format.
    Combined(TenantRule),
    /// JSON lines with these field names.
    Json(TenantRule, Box<FieldNames>),
    /// Falco's JSON output, one alert per line.
    Falco,
}

/// A file to follow and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFile {
    pub path: PathBuf,
    pub format: Format,
}

impl LogFile {
    fn source_name(&self) -> String {
        let kind = match self.format {
            Format::Combined(_) | Format::Json(..) => "access",
            Format::Falco => "falco",
        };
        format!("{kind}:{}", self.path.file_name().and_then(|n| n.to_str()).unwrap_or("log"))
    }

    /// Parses lines into rows, counting the ones that are not rows.
    fn parse(&self, lines: &[String], source: &str, unparsed: &mut i64) -> Rows {
        match &self.format {
            Format::Combined(rule) => Rows::Access(
                lines
                    .iter()
                    .filter_map(|l| combined::parse_with(l, rule, source).map_err(|_| *unparsed += 1).ok())
                    .collect(),
            ),
            Format::Json(rule, names) => Rows::Access(
                lines
                    .iter()
                    .filter_map(|l| jsonlines::parse(l, names, rule, source).map_err(|_| *unparsed += 1).ok())
                    .collect(),
            ),
            Format::Falco => {
                Rows::Alerts(lines.iter().filter_map(|l| falco::parse(l).map_err(|_| *unparsed += 1).ok()).collect())
            }
        }
    }
}

/// Follows one file until the writer goes away, resuming where the store says the last run stopped.
pub async fn run(writer: StoreWriter, log: LogFile) {
    let name = log.source_name();
    let path_text = log.path.display().to_string();
    let key = path_text.clone();
    let resume = writer
        .call(move |conn| (crate::store::tails::get(conn, &key).ok().flatten(), Tables::NONE))
        .await
        .ok()
        .flatten();
    let mut state = resume.unwrap_or_default();
    let mut tail = Tail::new(&log.path, resume.map(|s| Position { inode: s.inode, offset: s.offset }));
    let mut last_reported = None;
    // The chunk sent last, until the writer is done with it.
    let mut in_flight = InFlight::default();
    loop {
        let report = match tail.read_new() {
            Ok(lines) => {
                if !lines.is_empty() {
                    let rows = log.parse(&lines, &name, &mut state.unparsed);
                    state.lines += lines.len() as i64;
                    let p = tail.position();
                    (state.inode, state.offset) = (p.inode, p.offset);
                    // Reading a large file runs at most one chunk ahead of what is committed, so
                    // memory holds a chunk or two however big the file (the writer's queue would
                    // otherwise take the whole file).
                    if !in_flight.settled().await {
                        return;
                    }
                    if writer.send(Write::Tailed { path: path_text.clone(), state, rows }).await.is_err() {
                        return;
                    }
                    if tail.more() && !in_flight.sent(&writer).await {
                        return;
                    }
                }
                if log.path.exists() {
                    (Health::Ok, format!("{} lines, {} not parsed", state.lines, state.unparsed))
                } else {
                    (Health::Degraded, format!("{path_text} does not exist (yet); waiting for it"))
                }
            }
            Err(e) => (Health::Down, format!("cannot read {path_text}: {e}")),
        };
        // Report when the state changes, not on every look.
        if last_reported.as_ref() != Some(&report) {
            let counts = Some((state.lines - state.unparsed, state.unparsed));
            if !super::report_counted(&writer, &name, report.0, String::new(), report.1.clone(), counts).await {
                return;
            }
            last_reported = Some(report);
        }
        if !tail.more() {
            tokio::time::sleep(POLL).await;
        }
    }
}
