//! `rampart audit verify`: the audit log's hash chain checked row by row.

use std::process::ExitCode;

use clap::Subcommand;
use color_eyre::eyre::WrapErr;
use color_eyre::Result;

use super::args::StoreArg;
use crate::config::Dirs;
use crate::store::{self, audit, Access};

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain of the whole audit log; exits 1 at the first broken row
    Verify {
        #[command(flatten)]
        store: StoreArg,
    },
}

/// Exit 0 when every row chains to the one before it, 1 at the first broken row (which it names).
pub fn verify(store: &StoreArg, dirs: &Dirs) -> Result<ExitCode> {
    let db = store.db.clone().unwrap_or_else(|| dirs.default_db());
    let conn = store::open(&db, Access::ReadOnly)?;
    let v = audit::verify(&conn).wrap_err("cannot read the audit log")?;
    Ok(match v.first_break {
        None => {
            println!("audit log intact: {} rows, every hash chained", v.rows);
            ExitCode::SUCCESS
        }
        Some((id, why)) => {
            println!("audit log BROKEN at row {id}: {why}");
            ExitCode::FAILURE
        }
    })
}
