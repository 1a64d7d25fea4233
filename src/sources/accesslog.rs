//! Access logs named in the config, followed through rotation; each batch of lines is stored
//! together with the position after it, so a restart neither repeats nor skips a line.

use std::time::Duration;

use crate::config::AccessLog;
use crate::ingest::combined;
use crate::store::access::TailState;
use crate::store::status::Health;
use crate::store::writer::{StoreWriter, Write};

use super::tail::{Position, Tail};

/// How often a quiet file is looked at.
const POLL: Duration = Duration::from_millis(250);

fn source_name(log: &AccessLog) -> String {
    format!("access:{}", log.path.file_name().and_then(|n| n.to_str()).unwrap_or("log"))
}

/// Follows one log until the writer goes away; `resume` is where the store says reading stopped.
pub async fn run(writer: StoreWriter, log: AccessLog, resume: Option<TailState>) {
    let name = source_name(&log);
    let path_text = log.path.display().to_string();
    let mut state = resume.unwrap_or_default();
    let mut tail = Tail::new(&log.path, resume.map(|s| Position { inode: s.inode, offset: s.offset }));
    let mut last_health = None;
    loop {
        let (health, detail) = match tail.read_new() {
            Ok(lines) => {
                if !lines.is_empty() {
                    let mut events = Vec::with_capacity(lines.len());
                    for line in &lines {
                        match combined::parse(line, &log.tenant, &name) {
                            Ok(e) => events.push(e),
                            Err(_) => state.unparsed += 1,
                        }
                    }
                    state.lines += lines.len() as i64;
                    let p = tail.position();
                    (state.inode, state.offset) = (p.inode, p.offset);
                    if writer.send(Write::Tailed { path: path_text.clone(), state, events }).await.is_err() {
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
        let key = (health, detail.clone());
        if last_health.as_ref() != Some(&key) {
            if !super::report(&writer, &name, health, detail).await {
                return;
            }
            last_health = Some(key);
        }
        tokio::time::sleep(POLL).await;
    }
}
