//! Falco's http_output into `rampart collect`'s listener over real TCP on loopback: accepted,
//! rejected with the right status, and still serving after every kind of bad request.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

const ALERT: &str = r#"{"hostname":"h1","output":"A shell was spawned","output_fields":{"container.name":"globex-web-1"},"priority":"Critical","rule":"Terminal shell in container","source":"syscall","tags":["shell"],"time":"2026-11-26T11:54:56.789012345Z"}"#;

/// One HTTP/1.1 request; the status code of the answer.
fn send(port: u16, method: &str, token: Option<&str>, body: &str) -> u16 {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let token = token.map(|t| format!("X-Rampart-Token: {t}\r\n")).unwrap_or_default();
    let request = format!(
        "{method} / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n{token}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = s.write_all(request.as_bytes());
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
}

#[test]
fn falco_posts_are_accepted_or_refused_with_the_right_status() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let (db, config) = (dir.path().join("h.db"), dir.path().join("config.toml"));
    std::fs::write(
        &config,
        format!(
            "[docker]\nhost = \"unix:///nonexistent/docker.sock\"\n[fail2ban]\ndatabase = \"/nonexistent/f2b\"\n\
             [falco]\nlisten = \"127.0.0.1:{port}\"\nmax_body = 1024\ntoken = \"s3cret\"\n"
        ),
    )
    .unwrap();
    let mut child = collect_listening(&db, &config, port);
    assert_eq!(send(port, "POST", None, ALERT), 401, "no token");
    assert_eq!(send(port, "POST", Some("wrong"), ALERT), 401);
    assert_eq!(send(port, "POST", Some("s3cret"), "{\"rule\": "), 400, "malformed");
    assert_eq!(send(port, "POST", Some("s3cret"), &"x".repeat(4096)), 413, "over max_body");
    assert_eq!(send(port, "GET", Some("s3cret"), ""), 405);
    assert_eq!(send(port, "POST", Some("s3cret"), ALERT), 200, "still serving, and accepts a real alert");
    let conn = rampart::store::open(&db, rampart::store::Access::ReadOnly).unwrap();
    let stored = || -> i64 {
        conn.query_row("SELECT count(*) FROM alerts WHERE rule = 'Terminal shell in container'", [], |r| r.get(0))
            .unwrap()
    };
    crate::support::wait_for("the alert stored", stored, |n| *n == 1);
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(child.wait().unwrap().success());
}

/// One HTTP/1.1 POST to `path` on `port`, sent from the loopback address `from` (each of
/// 127.0.0.0/8 is a source address of its own): the status code of the answer.
fn post_from(from: [u8; 4], port: u16, path: &str, header: Option<&str>, body: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind((std::net::Ipv4Addr::from(from), 0).into()).unwrap();
        let mut s = socket.connect(([127, 0, 0, 1], port).into()).await.unwrap();
        let header = header.map(|t| format!("X-Rampart-Token: {t}\r\n")).unwrap_or_default();
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n{header}Content-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        );
        s.write_all(request.as_bytes()).await.unwrap();
        let mut answer = String::new();
        let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_string(&mut answer)).await;
        answer.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
    })
}

/// A Falco alert of rule `rule` (its time makes each body distinct).
/// `rampart collect` on `db` with `config`, once its listener answers on `port`.
fn collect_listening(db: &std::path::Path, config: &std::path::Path, port: u16) -> std::process::Child {
    let child = crate::support::rampart()
        .args(["--db", db.to_str().unwrap(), "--config", config.to_str().unwrap(), "collect"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    crate::support::wait_for("the listener", || TcpStream::connect(("127.0.0.1", port)).is_ok(), |up| *up);
    child
}

fn alert(rule: &str, n: usize) -> String {
    format!(
        r#"{{"hostname":"h1","output":"{rule} {n}","output_fields":{{"container.name":"globex-web-1"}},"priority":"Emergency","rule":"{rule}","source":"syscall","tags":[],"time":"2026-11-26T11:54:56.{n:09}Z"}}"#
    )
}

fn config_with(dir: &std::path::Path, falco: &str) -> std::path::PathBuf {
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[docker]\nhost = \"unix:///nonexistent/docker.sock\"\n[fail2ban]\ndatabase = \"/nonexistent/f2b\"\n\
             [falco]\n{falco}\n"
        ),
    )
    .unwrap();
    config
}

#[test]
fn a_listener_other_hosts_can_reach_refuses_to_start_without_a_secret() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let config = config_with(dir.path(), &format!("listen = \"0.0.0.0:{port}\""));
    let db = dir.path().join("n.db");
    let child = crate::support::rampart()
        .args(["--db", db.to_str().unwrap(), "--config", config.to_str().unwrap(), "collect"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Killed when dropped: a collector that started after all is not left behind.
    let mut child = crate::support::Collector { child };
    let status =
        crate::support::wait_for("`rampart collect` to refuse", || child.child.try_wait().unwrap(), Option::is_some);
    let status = status.expect("it ended");
    assert!(!status.success(), "it must not start");
    let mut err = String::new();
    child.child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(
        err.contains(&format!("[falco] listen = \"0.0.0.0:{port}\" is reachable from other hosts"))
            && err.contains("token is not set")
            && err.contains("/falco/<token>"),
        "{err}"
    );
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "and listens on nothing");
}

#[test]
fn a_listener_other_hosts_can_reach_takes_each_alert_once_from_secret_holders_at_a_bounded_rate() {
    const SECRET: &str = "6f1c0d5e9a2b47c8b3e1";
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("l.db");
    let config = config_with(
        dir.path(),
        &format!("listen = \"0.0.0.0:{port}\"\ntoken = \"{SECRET}\"\nper_source_per_second = 2"),
    );
    let mut child = collect_listening(&db, &config, port);
    let with_secret = format!("/falco/{SECRET}");
    // A tenant without the secret forges an Emergency for itself: refused, however it tries.
    assert_eq!(post_from([127, 0, 0, 2], port, "/", None, &alert("Forged", 1)), 401);
    assert_eq!(post_from([127, 0, 0, 3], port, "/falco/6f1c0d5e9a2b47c8b3e0", None, &alert("Forged", 2)), 401);
    assert_eq!(post_from([127, 0, 0, 3], port, "/", Some("6f1c0d5e9a2b47c8b3e"), &alert("Forged", 3)), 401);
    // Falco with the secret in its url, then an exact repeat of what it sent.
    assert_eq!(post_from([127, 0, 0, 4], port, &with_secret, None, &alert("Real", 1)), 200);
    assert_eq!(post_from([127, 0, 0, 4], port, &with_secret, None, &alert("Real", 1)), 409);
    // The header does as well.
    assert_eq!(post_from([127, 0, 0, 5], port, "/", Some(SECRET), &alert("Real", 2)), 200);
    // A flood from one address: two a second get through, the rest are refused.
    let flood: Vec<u16> =
        (0..40).map(|n| post_from([127, 0, 0, 6], port, &with_secret, None, &alert("Flood", n))).collect();
    let (taken, over) = (flood.iter().filter(|c| **c == 200).count(), flood.iter().filter(|c| **c == 429).count());
    assert_eq!(taken + over, 40, "{flood:?}");
    assert!(taken >= 2 && over >= 1, "{flood:?}");
    // Meanwhile another address is served as usual.
    assert_eq!(post_from([127, 0, 0, 7], port, &with_secret, None, &alert("Real", 3)), 200);

    let conn = rampart::store::open(&db, rampart::store::Access::ReadOnly).unwrap();
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    let expected =
        format!("refused {}: 3 without the secret, {over} over the rate of their address, 1 exact repeats", 4 + over);
    let seen = || {
        let stored = (
            count("SELECT count(*) FROM alerts WHERE rule = 'Real'"),
            count("SELECT count(*) FROM alerts WHERE rule = 'Flood'"),
            count("SELECT count(*) FROM alerts WHERE rule = 'Forged'"),
        );
        let detail: String = conn
            .query_row("SELECT detail FROM source_status WHERE source = 'falco:http'", [], |r| r.get(0))
            .unwrap_or_default();
        (stored, detail)
    };
    crate::support::wait_for("the stored alerts and the Sources row", seen, |(stored, detail)| {
        *stored == (3, taken as i64, 0) && detail.contains(&expected)
    });
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(child.wait().unwrap().success());
}
