//! The collector's side of the control socket: bound with the right owner and mode, each caller
//! identified by the kernel, checked against `[operators]`, and its request performed by the
//! responders (which audit it under the caller's identity).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{Mutex, Semaphore};

use super::peer::{self, Caller};
use super::protocol::{self, Answer, Checked, Verdict, MAX_LINE};
use crate::config::Config;
use crate::respond::{self, fail2ban, Backend, Outcome, Request};
use crate::store::writer::{StoreWriter, Tables};

/// Callers served at once; more are told to come back.
const AT_ONCE: usize = 16;
/// How long a caller has to send its request line.
const REQUEST_WITHIN: Duration = Duration::from_secs(10);

/// A bound control socket, and who may connect to it in words.
pub struct Listening {
    listener: UnixListener,
    pub path: PathBuf,
    pub access: String,
}

/// Binds the socket at `path` (a stale socket left by a collector that died is replaced; any
/// other file there is not), mode 0660, group `gid` (see [`super::share::group`]).
pub fn bind(path: &Path, group: Option<(nix::unistd::Gid, String)>) -> Result<Listening, String> {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let shown = path.display();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755));
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            std::fs::remove_file(path).map_err(|e| format!("cannot replace the stale socket {shown}: {e}"))?
        }
        Ok(_) => return Err(format!("{shown} exists and is not a socket; remove it or set [control] socket")),
        Err(_) => {}
    }
    let gid = group;
    // Bound under the process's umask (no wider than 0755: nobody else may connect yet), then
    // opened to the group.
    let listener = UnixListener::bind(path).map_err(|e| format!("cannot listen on {shown}: {e}"))?;
    if let Some((gid, _)) = &gid {
        std::os::unix::fs::chown(path, None, Some(gid.as_raw()))
            .map_err(|e| format!("cannot give {shown} to its group: {e}"))?;
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
        .map_err(|e| format!("cannot set the mode of {shown}: {e}"))?;
    let access = match gid {
        Some((_, name)) => format!("mode 0660, group {name}"),
        None => format!(
            "mode 0660; no group '{}' here, so only this user may connect (groupadd --system {})",
            super::share::DEFAULT_GROUP,
            super::share::DEFAULT_GROUP
        ),
    };
    Ok(Listening { listener, path: path.to_owned(), access })
}

/// What the collector does besides running its sources: gives the store's files to the
/// operators' group ([`super::share`]) and binds the control socket the config names.
pub fn open(config: &Config, db: &Path) -> Result<Listening, String> {
    let group = super::share::group(config.control.group.as_deref())?;
    let shared = super::share::share(db, group.as_ref().map(|(gid, _)| *gid))?;
    tracing::info!("{shared}");
    bind(&super::socket_path(&config.control, db), group)
}

/// [`open`] and [`serve`] on `tasks`, for a console that collects: a socket it cannot open is
/// logged, and the console goes on without it.
pub fn spawn(tasks: &mut tokio::task::JoinSet<()>, writer: &StoreWriter, config: &Config, db: &Path) {
    match open(config, db) {
        Ok(listening) => {
            tracing::info!("control socket {} ({})", listening.path.display(), listening.access);
            tasks.spawn(serve(listening, writer.clone(), Arc::new(config.clone())));
        }
        Err(why) => tracing::warn!("no control socket: {why}"),
    }
}

/// What every connection shares.
struct Context {
    writer: StoreWriter,
    config: Arc<Config>,
    backend: Backend,
    /// One action at a time: two isolations of one tenant must not interleave.
    acting: Mutex<()>,
}

/// Serves callers until the task is dropped; the socket file is removed then.
pub async fn serve(listening: Listening, writer: StoreWriter, config: Arc<Config>) {
    let Listening { listener, path, .. } = listening;
    let _remove = RemoveOnDrop(path);
    let backend = Backend::Live(config.clone());
    let context = Arc::new(Context { writer, config, backend, acting: Mutex::new(()) });
    let slots = Arc::new(Semaphore::new(AT_ONCE));
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::warn!("control socket: cannot accept: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tokio::spawn(reply(stream, Answer::refused("the collector is busy; try again")));
            continue;
        };
        let context = context.clone();
        tokio::spawn(async move {
            handle(stream, &context).await;
            drop(slot);
        });
    }
}

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

async fn reply(mut stream: UnixStream, answer: Answer) {
    let mut line = serde_json::to_string(&answer).unwrap_or_default();
    line.push('\n');
    let _ = stream.write_all(line.as_bytes()).await;
    let _ = stream.shutdown().await;
}

async fn handle(stream: UnixStream, context: &Context) {
    let cred = match stream.peer_cred() {
        Ok(cred) => cred,
        Err(e) => {
            tracing::warn!("control socket: no credentials for a caller: {e}");
            return;
        }
    };
    let (uid, gid, pid) = (cred.uid(), cred.gid(), cred.pid());
    let Ok(caller) = tokio::task::spawn_blocking(move || peer::identify(uid, gid, pid)).await else { return };
    let (read, write) = stream.into_split();
    let mut reader = BufReader::new(read.take(MAX_LINE + 1));
    let mut line = String::new();
    let mut answer = match tokio::time::timeout(REQUEST_WITHIN, reader.read_line(&mut line)).await {
        Err(_) => Answer::refused(format!("no request within {} s", REQUEST_WITHIN.as_secs())),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::InvalidData => {
            Answer::refused("a request is one line of UTF-8 JSON")
        }
        Ok(Err(e)) => Answer::refused(format!("cannot read the request: {e}")),
        Ok(Ok(_)) if !line.ends_with('\n') && line.len() as u64 > MAX_LINE => {
            Answer::refused(format!("a request is one line of at most {MAX_LINE} bytes"))
        }
        Ok(Ok(_)) => answer(context, &caller, &line).await,
    };
    answer.operator = caller.operator.name.clone();
    tracing::info!(uid, pid, operator = %caller.operator.name, outcome = ?answer.outcome, "control socket: {}", answer.message);
    let stream = match reader.into_inner().into_inner().reunite(write) {
        Ok(stream) => stream,
        Err(_) => return,
    };
    reply(stream, answer).await;
}

/// The audit's action for a checked request, and the request a refusal is recorded as.
fn as_request(checked: &Checked) -> Option<Request> {
    match checked {
        Checked::Permissions => None,
        Checked::Unban { ip, jail } => Some(Request::Unban {
            ban_id: 0,
            ip: ip.clone(),
            jail: jail.clone().unwrap_or_else(|| "every jail".into()),
        }),
        Checked::Acknowledge { alert_id } => Some(Request::Acknowledge { alert_id: *alert_id, rule: String::new() }),
        Checked::Request(r) => Some(r.clone()),
    }
}

async fn answer(context: &Context, caller: &Caller, line: &str) -> Answer {
    let checked = match protocol::parse(line) {
        Ok(checked) => checked,
        Err(why) => return Answer::refused(why),
    };
    let policy = &context.config.operators;
    let Some(request) = as_request(&checked) else {
        let permissions = policy.permissions(&caller.member);
        let allowed: Vec<&str> = permissions.iter().filter(|(_, why)| why.is_none()).map(|(a, _)| a.as_str()).collect();
        let message = match allowed.len() {
            0 => format!("{} may not act", caller.operator.name),
            _ => format!("{} may {}", caller.operator.name, allowed.join(", ")),
        };
        return Answer { permissions, ..Answer::of(Outcome::done(message)) };
    };
    if let Err(why) = policy.decide(request.action(), &caller.member) {
        refuse(context, caller, &request, &why).await;
        return Answer::refused(why);
    }
    let _acting = context.acting.lock().await;
    let (writer, backend, operator) = (&context.writer, &context.backend, &caller.operator);
    match checked {
        Checked::Permissions => Answer::refused("nothing to do"),
        Checked::Request(request) => Answer::of(respond::perform(writer, backend, operator, &request).await),
        Checked::Acknowledge { alert_id } => {
            let rule = writer.call(move |conn| (crate::store::alerts::rule_of(conn, alert_id), Tables::NONE)).await;
            match rule {
                Ok(Ok(Some(rule))) => {
                    let request = Request::Acknowledge { alert_id, rule };
                    Answer::of(respond::perform(writer, backend, operator, &request).await)
                }
                Ok(Ok(None)) => Answer::of(Outcome::failed(format!("there is no alert {alert_id}"))),
                Ok(Err(e)) => Answer::of(Outcome::failed(format!("store error: {e}"))),
                Err(e) => Answer::of(Outcome::failed(e.to_string())),
            }
        }
        Checked::Unban { ip, jail } => {
            let jails = match fail2ban::holding(&context.config.fail2ban, &ip, jail.as_deref()).await {
                Ok(jails) => jails,
                Err(why) => return Answer::of(Outcome::failed(why)),
            };
            if jails.is_empty() {
                let jail = jail.map(|j| format!(" in {j}")).unwrap_or_default();
                return Answer::of(Outcome::failed(format!("{ip} is not banned{jail} (Fail2Ban says so)")));
            }
            let mut outcomes = Vec::new();
            for jail in jails {
                // Fail2Ban's database, which the collector follows, ends the stored ban.
                let request = Request::Unban { ban_id: 0, ip: ip.clone(), jail };
                outcomes.push(respond::perform(writer, backend, operator, &request).await);
            }
            let ok = outcomes.iter().all(|o| o.ok);
            let message = outcomes.iter().map(|o| o.message.as_str()).collect::<Vec<_>>().join("; ");
            let details = outcomes.into_iter().flat_map(|o| o.details).collect();
            Answer {
                outcome: if ok { Verdict::Ok } else { Verdict::Failed },
                details,
                ..Answer::of(Outcome::done(message))
            }
        }
    }
}

/// Records a refused request in the audit log: who asked for what, and why not.
async fn refuse(context: &Context, caller: &Caller, request: &Request, why: &str) {
    let (operator, request, message) = (caller.operator.clone(), request.clone(), format!("refused: {why}"));
    let detail = serde_json::json!({ "backend": "control socket", "refused": true });
    let recorded = context
        .writer
        .call(move |conn| (respond::record(conn, &operator, &request, false, &message, detail), Tables::AUDIT))
        .await;
    if !matches!(recorded, Ok(Ok(()))) {
        tracing::error!("cannot audit a refused request: {recorded:?}");
    }
}
