//! `rampart audit verify`: the audit log's hash chain checked row by row, and against its published copy.

use std::process::ExitCode;

use clap::Subcommand;

use super::args::HostArgs;
use crate::sources::cloudwatch_publish::{self, Destination};
use color_eyre::eyre::WrapErr;
use color_eyre::Result;

use super::args::StoreArg;
use crate::config::cloudwatch::PublishConfig;
use crate::config::Dirs;
use crate::store::{self, audit, Access};

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain of the whole audit log, and with `[cloudwatch_publish]` configured compare
    /// it with the published copy; exits 1 when a row is broken or missing, 2 when the copy cannot be read
    Verify {
        #[command(flatten)]
        host: HostArgs,
    },
}

/// Exit 0 when every row chains to the one before it (and matches its published copy), 1 at the
/// first broken row or when published rows are missing locally, 2 when the copy cannot be read.
pub fn verify(store: &StoreArg, publish: Option<&PublishConfig>, dirs: &Dirs) -> Result<ExitCode> {
    let db = store.db.clone().unwrap_or_else(|| dirs.default_db());
    let conn = store::open(&db, Access::ReadOnly)?;
    let v = audit::verify(&conn).wrap_err("cannot read the audit log")?;
    let mut code = match v.first_break {
        None => {
            println!("audit log intact: {} rows, every hash chained", v.rows);
            ExitCode::SUCCESS
        }
        Some((id, why)) => {
            println!("audit log BROKEN at row {id}: {why}");
            ExitCode::FAILURE
        }
    };
    let Some(publish) = publish else { return Ok(code) };
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
            return Ok(ExitCode::from(2));
        }
    };
    let published = cloudwatch_publish::published_audit(&messages);
    let c = audit::compare(&local, &published);
    for line in &c.broken {
        println!("audit log BROKEN against {group}: {line}");
        code = ExitCode::FAILURE;
    }
    for line in &c.notes {
        println!("note: {line}");
    }
    if c.broken.is_empty() {
        println!("published copy in {group} agrees: {} rows compared", published.len());
    }
    Ok(code)
}
