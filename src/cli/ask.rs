//! Headless actions of users other than root (`tenants isolate`, `bans unban`, …): asked of the
//! collector over its control socket, which acts and audits under the kernel's name for the caller.

use std::path::Path;
use std::process::ExitCode;

use color_eyre::Result;

use super::args::exit;
use super::bans::BansCommand;
use super::tenants::TenantsCommand;
use crate::control::client;
use crate::control::protocol::{Ask, Verdict};

/// The request a headless command makes of the collector (`None` for a command that only lists).
pub fn of_tenants(command: &TenantsCommand) -> Option<Ask> {
    match command {
        TenantsCommand::List { .. } => None,
        TenantsCommand::Isolate { name, reason, pause, .. } => Some(Ask {
            action: "isolate".into(),
            target: name.clone(),
            reason: Some(reason.clone()),
            pause: *pause,
            ..Ask::default()
        }),
        TenantsCommand::Restore { name, .. } => {
            Some(Ask { action: "restore".into(), target: name.clone(), ..Ask::default() })
        }
    }
}

pub fn of_bans(command: &BansCommand) -> Option<Ask> {
    match command {
        BansCommand::List { .. } => None,
        BansCommand::Unban { ip, jail, .. } => {
            Some(Ask { action: "unban".into(), target: ip.clone(), jail: jail.clone(), ..Ask::default() })
        }
        BansCommand::Ban { ip, jail, reason, .. } => Some(Ask {
            action: "ban".into(),
            target: ip.clone(),
            jail: Some(jail.clone()),
            reason: Some(reason.clone()),
            ..Ask::default()
        }),
    }
}

/// Asks the collector on `socket` for `ask` and tells its answer: exit 0 when done, 1 when it
/// failed, 2 when the collector refused, 3 when no collector could be asked.
pub fn run(socket: &Path, ask: &Ask) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let answer = runtime.block_on(client::ask(socket, ask));
    let code = match answer {
        Err(why) => {
            eprintln!("{}: {why}", ask.action);
            exit::UNREACHABLE
        }
        Ok(answer) => {
            let clean = |s: &str| crate::text::sanitize::clean(s, 2000).into_owned();
            match answer.outcome {
                Verdict::Ok => {
                    for line in &answer.details {
                        let _ = out!("{}", clean(line));
                    }
                    let _ = out!("{} (by the collector, as {})", clean(&answer.message), clean(&answer.operator));
                    exit::OK
                }
                Verdict::Failed => {
                    for line in &answer.details {
                        eprintln!("{}", clean(line));
                    }
                    eprintln!("{}: {}", ask.action, clean(&answer.message));
                    exit::PARTIAL
                }
                Verdict::Refused => {
                    eprintln!("refused by the collector ({}): {}", clean(&answer.operator), clean(&answer.message));
                    exit::USAGE
                }
            }
        }
    };
    Ok(ExitCode::from(code))
}
