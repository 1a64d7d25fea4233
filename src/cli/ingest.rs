//! `rampart ingest access|falco`: logs and alerts imported whole, every line accounted for, each
//! file once, and what the import stored judged with the detection rules.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use color_eyre::eyre::{bail, eyre};
use color_eyre::Result;

use super::args::ActArgs;
use crate::detect::judge::Verdict;
use crate::ingest::progress::Bar;
use crate::ingest::{self, Alongside, Counts};
use crate::store::{self, imports, now_ms, Access};
use crate::text::format;

#[derive(Debug, Subcommand)]
pub enum IngestCommand {
    /// Import nginx/Apache combined-format access logs
    Access {
        #[command(flatten)]
        act: ActArgs,
        /// Log files, each read whole; every line is counted as stored or not parsed
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The tenant the requests belong to (at most 63 letters, digits, '-', '_' or '.')
        #[arg(long, default_value = "", value_parser = crate::parse::tenant::parse_name)]
        tenant: String,
        /// Import a file again even though the store already holds an import of it
        #[arg(long)]
        again: bool,
    },
    /// Import Falco JSON output (json_output: true) from a file, or `-` for standard input
    Falco {
        #[command(flatten)]
        act: ActArgs,
        /// A file Falco wrote, or `-` for standard input, stored as it comes (`falco … | rampart ingest falco -`)
        file: PathBuf,
        /// Import a file again even though the store already holds an import of it
        #[arg(long)]
        again: bool,
    },
}

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
        total.judged.events += c.judged.events;
        total.judged.alerts += c.judged.alerts;
    };
    let judged = matches!(command, IngestCommand::Access { .. });
    match command {
        IngestCommand::Access { files, tenant, again, .. } => {
            for file in files {
                let imported = import_file(&conn, &file, imports::ImportKind::Access, again, |conn, bar| {
                    ingest::access_file(
                        conn,
                        &file,
                        &tenant,
                        Alongside { rules: Some(rules), meter: Some(bar.meter()) },
                    )
                })?;
                report(&file.display().to_string(), imported, "a combined-format access log line");
            }
        }
        IngestCommand::Falco { file, again, .. } => {
            let imported = if file.as_os_str() == "-" {
                let bar = Bar::start("standard input", None);
                let counts =
                    ingest::falco_lines(&conn, std::io::stdin(), Alongside { rules: None, meter: Some(bar.meter()) });
                bar.finish();
                Imported::Read(counts?)
            } else {
                import_file(&conn, &file, imports::ImportKind::Falco, again, |conn, bar| {
                    let f = std::fs::File::open(&file).map_err(|e| eyre!("cannot read {}: {e}", file.display()))?;
                    ingest::falco_lines(conn, f, Alongside { rules: None, meter: Some(bar.meter()) })
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
        judge(&conn, rules, total.judged)?;
    }
    Ok(if nothing_stored.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Judges what the import stored and the rules did not judge alongside (normally nothing; and
/// anything else not judged yet) with the detection rules, and says what they made of it all.
fn judge(conn: &rusqlite::Connection, rules: &crate::detect::Rules, alongside: Verdict) -> Result<()> {
    let v = ingest::judging::rest(conn, rules, alongside)
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
    kind: imports::ImportKind,
    again: bool,
    import: impl FnOnce(&rusqlite::Connection, &Bar) -> Result<Counts>,
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
    let bar = Bar::start(&path.display().to_string(), Some(meta.len()));
    let counts = import(conn, &bar);
    bar.finish();
    let counts = counts.map_err(|e| {
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
