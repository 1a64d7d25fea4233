//! A console's side of the control socket: ask the collector, read its answer, and say in words
//! why it could not be asked.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

use super::protocol::{Answer, Ask};

/// How long an action may take before the console stops waiting (an isolation of many
/// containers takes seconds; the collector finishes it regardless).
const ANSWER_WITHIN: Duration = Duration::from_secs(300);
/// The longest answer read.
const MAX_ANSWER: u64 = 1 << 20;

/// What to do when no collector answers.
pub const START_IT: &str =
    "start the collector: `sudo systemctl start rampart` where the package is installed, else `sudo rampart collect`";

/// Why the collector could not be asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unreachable {
    #[error("actions need the collector, and none listens on {0}; {START_IT}")]
    NotRunning(PathBuf),
    #[error("the collector's socket {0} refuses this user: ask for membership of group rampart (or of the group that owns it)")]
    Denied(PathBuf),
    #[error("cannot ask the collector on {0}: {1}")]
    Failed(PathBuf, String),
}

/// Sends `ask` to the collector listening on `socket` and waits for its answer.
pub async fn ask(socket: &Path, ask: &Ask) -> Result<Answer, Unreachable> {
    ask_within(socket, ask, ANSWER_WITHIN).await
}

/// [`ask`], waiting at most `within` for the answer.
pub async fn ask_within(socket: &Path, ask: &Ask, within: Duration) -> Result<Answer, Unreachable> {
    let failed = |e: String| Unreachable::Failed(socket.to_owned(), e);
    let mut stream = UnixStream::connect(socket).await.map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => {
            Unreachable::NotRunning(socket.to_owned())
        }
        std::io::ErrorKind::PermissionDenied => Unreachable::Denied(socket.to_owned()),
        _ => failed(e.to_string()),
    })?;
    let mut line = serde_json::to_string(ask).map_err(|e| failed(e.to_string()))?;
    line.push('\n');
    stream.write_all(line.as_bytes()).await.map_err(|e| failed(e.to_string()))?;
    let mut reader = BufReader::new(stream.take(MAX_ANSWER));
    let mut answer = String::new();
    match tokio::time::timeout(within, reader.read_line(&mut answer)).await {
        Err(_) => return Err(failed(format!("no answer within {} s", within.as_secs()))),
        Ok(Err(e)) => return Err(failed(e.to_string())),
        Ok(Ok(_)) => {}
    }
    serde_json::from_str(answer.trim_end())
        .map_err(|e| failed(format!("the collector's answer is not understood: {e}")))
}

/// Whether this process acts through the collector of the store at `db` rather than itself: a
/// user other than root does on a store that is not theirs (the service's, say); a user's own
/// store (or one still to be made in a folder of theirs) they collect into and act on themselves.
pub fn acts_through_collector(db: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let me = nix::unistd::geteuid();
    if me.is_root() {
        return false;
    }
    let owner = std::fs::metadata(db)
        .or_else(|_| std::fs::metadata(db.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))))
        .map(|m| m.uid());
    // A store in a folder that does not exist yet is made by this user, for this user.
    owner.is_ok_and(|uid| uid != me.as_raw())
}
