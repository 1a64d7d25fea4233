//! Falco's http_output into `rampart collect`'s listener over real TCP on loopback: accepted,
//! rejected with the right status, and still serving after every kind of bad request.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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
    let mut child = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["--db", db.to_str().unwrap(), "--config", config.to_str().unwrap(), "collect"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(20), "the listener never came up");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(send(port, "POST", None, ALERT), 401, "no token");
    assert_eq!(send(port, "POST", Some("wrong"), ALERT), 401);
    assert_eq!(send(port, "POST", Some("s3cret"), "{\"rule\": "), 400, "malformed");
    assert_eq!(send(port, "POST", Some("s3cret"), &"x".repeat(4096)), 413, "over max_body");
    assert_eq!(send(port, "GET", Some("s3cret"), ""), 405);
    assert_eq!(send(port, "POST", Some("s3cret"), ALERT), 200, "still serving, and accepts a real alert");
    let conn = rampart::store::open(&db, rampart::store::Access::ReadOnly).unwrap();
    let start = Instant::now();
    loop {
        let n: i64 = conn
            .query_row("SELECT count(*) FROM alerts WHERE rule = 'Terminal shell in container'", [], |r| r.get(0))
            .unwrap();
        if n == 1 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "the alert was not stored");
        std::thread::sleep(Duration::from_millis(50));
    }
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(child.wait().unwrap().success());
}
