//! A private `moto_server` (CloudWatch Logs and the rest of AWS, from PyPI `moto[server]`) on a free
//! loopback port, stopped when dropped; and a fault-injecting HTTP proxy of our own in front of it.
#![allow(dead_code)]

use std::io::{Read, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_cloudwatchlogs::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use aws_sdk_cloudwatchlogs::Client;

/// rampart with moto's dummy keys in the environment and nothing else of the machine's AWS setup,
/// its home in `dir` and no Docker engine.
pub fn rampart(dir: &Path) -> Command {
    let mut c = crate::support::rampart();
    c.env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("HOME", dir)
        .env("DOCKER_HOST", format!("unix://{}/no-docker.sock", dir.display()));
    c
}

/// `rampart collect` on `dir`'s store (r.db) and config (config.toml), killed when dropped.
pub fn collector(dir: &Path) -> super::Collector {
    let child = rampart(dir)
        .arg("collect")
        .arg("--db")
        .arg(dir.join("r.db"))
        .arg("--config")
        .arg(dir.join("config.toml"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    super::Collector { child }
}

pub struct Moto {
    child: Child,
    pub url: String,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Moto {
    /// Starts the server and waits until it answers; fails (never skips) when moto is missing.
    pub fn start() -> Moto {
        Moto::start_with_env(&[])
    }

    /// [`Moto::start`] with `env` set for the server (`INITIAL_NO_AUTH_ACTION_COUNT=0` makes it
    /// check credentials as IAM does, refusing unknown keys with `InvalidClientTokenId`).
    pub fn start_with_env(env: &[(&str, &str)]) -> Moto {
        let port = free_port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server must be installed: pip install 'moto[server]' (tests/run does)");
        let moto = Moto { child, url: format!("http://127.0.0.1:{port}") };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let answered = TcpStream::connect(("127.0.0.1", port)).is_ok_and(|mut s| {
                s.write_all(b"GET /moto-api/ HTTP/1.0\r\nHost: x\r\n\r\n").is_ok() && {
                    let mut first = [0u8; 12];
                    s.read_exact(&mut first).is_ok() && first.starts_with(b"HTTP/")
                }
            });
            if answered {
                return moto;
            }
            assert!(Instant::now() < deadline, "moto_server did not answer on port {port} within a minute");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client for the tests' own writes, with moto's dummy keys (the collector under test gets its
/// credentials from the environment, through the standard chain).
pub fn client(url: &str) -> Client {
    let config = aws_sdk_cloudwatchlogs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(url)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .http_client(rampart::sources::aws::https_client())
        .build();
    Client::from_conf(config)
}

pub async fn create(client: &Client, group: &str, streams: &[&str]) {
    client.create_log_group().log_group_name(group).send().await.unwrap();
    for s in streams {
        client.create_log_stream().log_group_name(group).log_stream_name(*s).send().await.unwrap();
    }
}

/// Puts `(timestamp, message)` events into a stream, in batches within the API's limits.
pub async fn put(client: &Client, group: &str, stream: &str, events: &[(i64, String)]) {
    let mut sorted = events.to_vec();
    sorted.sort_by_key(|e| e.0);
    for chunk in sorted.chunks(5_000) {
        let batch: Vec<InputLogEvent> =
            chunk.iter().map(|(ts, m)| InputLogEvent::builder().timestamp(*ts).message(m).build().unwrap()).collect();
        client
            .put_log_events()
            .log_group_name(group)
            .log_stream_name(stream)
            .set_log_events(Some(batch))
            .send()
            .await
            .unwrap();
    }
}

/// What the proxy does to the next requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 400 ThrottlingException.
    Throttle,
    /// 500 with an internal-failure body.
    ServerError,
    /// 400 AccessDeniedException, as IAM answers a request its policy does not allow (moto
    /// does not enforce IAM).
    AccessDenied,
}

/// An HTTP proxy in front of moto that can answer with faults, or go away altogether
/// (connections refused) and come back on the same port.
pub struct FaultProxy {
    pub url: String,
    pub port: u16,
    faults_left: Arc<AtomicU32>,
    fault: Arc<std::sync::Mutex<Fault>>,
    gone: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    pub injected: Arc<AtomicU32>,
    pub forwarded: Arc<AtomicU32>,
}

impl FaultProxy {
    pub fn start(upstream: &str) -> FaultProxy {
        let upstream: SocketAddr = upstream.trim_start_matches("http://").parse().unwrap();
        let port = free_port();
        let proxy = FaultProxy {
            url: format!("http://127.0.0.1:{port}"),
            port,
            faults_left: Arc::default(),
            fault: Arc::new(std::sync::Mutex::new(Fault::Throttle)),
            gone: Arc::default(),
            stop: Arc::default(),
            injected: Arc::default(),
            forwarded: Arc::default(),
        };
        let (faults_left, fault, gone, stop, injected, forwarded) = (
            proxy.faults_left.clone(),
            proxy.fault.clone(),
            proxy.gone.clone(),
            proxy.stop.clone(),
            proxy.injected.clone(),
            proxy.forwarded.clone(),
        );
        let bind = move || {
            let l = TcpListener::bind(("127.0.0.1", port)).expect("the proxy's port");
            l.set_nonblocking(true).unwrap();
            l
        };
        let mut listener = Some(bind());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Acquire) {
                if gone.load(Ordering::Acquire) {
                    listener = None;
                } else if listener.is_none() {
                    listener = Some(bind());
                }
                let accepted = listener.as_ref().map(|l| l.accept());
                match accepted {
                    Some(Ok((conn, _))) => {
                        let injecting =
                            faults_left.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1)).is_ok();
                        let kind = *fault.lock().unwrap();
                        if injecting {
                            injected.fetch_add(1, Ordering::AcqRel);
                        } else {
                            forwarded.fetch_add(1, Ordering::AcqRel);
                        }
                        std::thread::spawn(move || serve(conn, upstream, injecting.then_some(kind)));
                    }
                    _ => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        proxy
    }

    /// The next `n` requests get `fault` instead of moto's answer.
    pub fn inject(&self, fault: Fault, n: u32) {
        *self.fault.lock().unwrap() = fault;
        self.faults_left.store(n, Ordering::Release);
    }

    pub fn faults_left(&self) -> u32 {
        self.faults_left.load(Ordering::Acquire)
    }

    /// Stops listening: connections are refused until [`FaultProxy::come_back`].
    pub fn go_away(&self) {
        self.gone.store(true, Ordering::Release);
    }

    pub fn come_back(&self) {
        self.gone.store(false, Ordering::Release);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}

/// Reads one HTTP request or response head and its Content-Length body.
fn read_message(stream: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).ok()? == 0 {
            return None;
        }
        buf.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&buf).to_string();
    let length = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0)))
        .unwrap_or(0usize);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).ok()?;
    Some((head, body))
}

/// The head with `Connection: close`, so each connection carries one exchange.
fn closing(head: &str) -> String {
    let mut out: String = head
        .trim_end()
        .lines()
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    out.push_str("Connection: close\r\n\r\n");
    out
}

fn serve(mut client: TcpStream, upstream: SocketAddr, fault: Option<Fault>) {
    client.set_nonblocking(false).unwrap();
    let Some((head, body)) = read_message(&mut client) else { return };
    let answer = match fault {
        Some(Fault::Throttle) => {
            let body = r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#;
            format!(
                "HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.1\r\nx-amzn-RequestId: fault\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .into_bytes()
        }
        Some(Fault::AccessDenied) => {
            let body = r#"{"__type":"AccessDeniedException","message":"User: arn:aws:iam::123456789012:user/ops is not authorized to perform: logs:FilterLogEvents"}"#;
            format!(
                "HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.1\r\nx-amzn-RequestId: fault\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .into_bytes()
        }
        Some(Fault::ServerError) => {
            let body = r#"{"__type":"InternalFailure","message":"injected"}"#;
            format!(
                "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/x-amz-json-1.1\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .into_bytes()
        }
        None => {
            let Ok(mut up) = TcpStream::connect(upstream) else { return };
            if up.write_all(closing(&head).as_bytes()).and_then(|()| up.write_all(&body)).is_err() {
                return;
            }
            let Some((rhead, rbody)) = read_message(&mut up) else { return };
            let mut out = closing(&rhead).into_bytes();
            out.extend_from_slice(&rbody);
            out
        }
    };
    let _ = client.write_all(&answer);
}
