//! CloudWatch Logs in, against awscli, on a private moto server: a backfill of 100,000 events into
//! the store (`rampart collect` with a `[[cloudwatch]]` group, the real path) and the same group
//! paged through by `aws logs filter-log-events` and by `rampart cloudwatch tail --json`, in turn;
//! then, while following, how long an event put into the group takes to be in the store.
//!
//! Run: `cargo bench --bench cloudwatch` (needs `moto_server`: `pip install 'moto[server]'`; awscli
//! from PyPI is timed when installed: `pip install awscli`). RAMPART_BENCH_CW_EVENTS sets the
//! events (default 100,000), RAMPART_BENCH_ROUNDS the rounds (3), RAMPART_BENCH_FOLLOWS the events
//! put while following (20). Each series is also printed as one `BENCH {json}` line.

#[path = "../tests/it/support/moto.rs"]
mod moto;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};

/// What `moto::rampart` starts from, as the tests' support module has it: the binary under test
/// without a backtrace.
mod support {
    pub fn rampart() -> std::process::Command {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_rampart"));
        command.env_remove("RUST_BACKTRACE").env_remove("RUST_LIB_BACKTRACE");
        command
    }
}

/// What `moto::collector` hands back, as the tests' support module has it: the collector
/// process, killed when dropped.
pub struct Collector {
    pub child: std::process::Child,
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const GROUP: &str = "/bench/flask-app";
const FOLLOW_GROUP: &str = "/bench/follow";
const STREAMS: [&str; 4] = ["web-1", "web-2", "web-3", "web-4"];
/// How often the following collector polls (the figure is mostly this).
const POLL: &str = "1s";

/// One series of measurements as a machine-readable line, for `benches/run`.
fn bench_line(row: &str, tool: &str, unit: &str, samples: &[f64]) {
    let line = serde_json::json!({"row": row, "tool": tool, "unit": unit, "samples": samples});
    println!("BENCH {line}");
}

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn now_ms() -> i64 {
    rampart::store::now_ms()
}

/// A JSON access-log line (nginx `escape=json` names), unique by its path.
fn access_line(n: usize) -> String {
    format!(
        r#"{{"time":"2026-11-26T11:00:00+00:00","remote_addr":"192.0.2.{}","request_method":"GET","request_uri":"/item/{n}","status":200,"body_bytes_sent":{},"http_user_agent":"curl/8.5.0"}}"#,
        n % 250 + 1,
        n % 50_000
    )
}

fn config(url: &str, group: &str, since: &str) -> String {
    // requests_per_second: AWS's FilterLogEvents quota is 5–25/s per account and region; the
    // default budget (3/s) would make the figure the token bucket's.
    format!(
        "[docker]\nhost = \"unix:///nonexistent/docker.sock\"\n\
         [[cloudwatch]]\ngroup = \"{group}\"\nformat = \"json\"\ntenant = \"acme\"\nregion = \"us-east-1\"\n\
         endpoint_url = \"{url}\"\nsince = \"{since}\"\npoll = \"{POLL}\"\nrequests_per_second = 25\n"
    )
}

/// Rows the collector stored from `group` (0 while the store does not exist yet).
fn stored(db: &Path, group: &str) -> i64 {
    let Ok(conn) = rampart::store::open(db, rampart::store::Access::ReadOnly) else { return 0 };
    conn.query_row("SELECT count(*) FROM access_events WHERE source = ?", [format!("cloudwatch:{group}")], |r| r.get(0))
        .unwrap_or(0)
}

/// Polls `probe` every few milliseconds until it holds; panics after `limit`, saying `what`.
fn wait_until(what: &str, limit: Duration, mut probe: impl FnMut() -> bool) -> Instant {
    let deadline = Instant::now() + limit;
    loop {
        if probe() {
            return Instant::now();
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A field of /proc/PID/status in kB (VmHWM, RssAnon, RssFile), as MiB.
fn status_mib(status: &str, field: &str) -> f64 {
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

/// The most memory a process has held resident (VmHWM), in MiB, and what it holds now: its own
/// memory (RssAnon) and the pages of files it maps (RssFile: mostly the binary's code and data).
fn peak_rss_mib(pid: u32) -> (f64, f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    (status_mib(&status, "VmHWM"), status_mib(&status, "RssAnon"), status_mib(&status, "RssFile"))
}

/// `rampart collect` from a fresh store until every event of the group is stored: the seconds
/// it took and the collector's peak resident memory (MiB).
fn backfill(url: &str, start: i64, events: usize) -> (f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let since = format!("{}m", (now_ms() - start) / 60_000 + 1);
    std::fs::write(dir.path().join("config.toml"), config(url, GROUP, &since)).unwrap();
    let db = dir.path().join("r.db");
    let t0 = Instant::now();
    let collector = moto::collector(dir.path());
    let done = wait_until("the backfill", Duration::from_secs(900), || stored(&db, GROUP) >= events as i64);
    let (peak, anon, file) = peak_rss_mib(collector.child.id());
    println!("  collector at the end: {anon:.1} MiB its own (RssAnon), {file:.1} MiB of mapped files (RssFile)");
    drop(collector);
    assert_eq!(stored(&db, GROUP), events as i64, "each event stored exactly once");
    (done.duration_since(t0).as_secs_f64(), peak)
}

/// `aws logs filter-log-events` paging through the whole group (awscli follows nextToken itself).
fn awscli(url: &str, start: i64, events: usize, home: &Path) -> f64 {
    let out = home.join("aws.json");
    let t0 = Instant::now();
    let status = Command::new("aws")
        .args(["logs", "filter-log-events", "--log-group-name", GROUP, "--start-time", &start.to_string()])
        .args(["--region", "us-east-1", "--endpoint-url", url, "--output", "json"])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_PROFILE")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", home.join("no-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("no-credentials"))
        .stdout(std::fs::File::create(&out).unwrap())
        .status()
        .expect("aws");
    let secs = t0.elapsed().as_secs_f64();
    assert!(status.success(), "aws logs filter-log-events failed");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let got = json["events"].as_array().map_or(0, Vec::len);
    assert_eq!(got, events, "awscli read every event");
    secs
}

/// `rampart cloudwatch tail --json` over the same group (prints, stores nothing).
fn tail(url: &str, start: i64, events: usize, home: &Path) -> f64 {
    let out = home.join("tail.json");
    let since = format!("{}m", (now_ms() - start) / 60_000 + 1);
    let t0 = Instant::now();
    let status = moto::rampart(home)
        .args(["cloudwatch", "tail", GROUP, "--since", &since, "--json"])
        .args(["--region", "us-east-1", "--endpoint-url", url])
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(Stdio::inherit())
        .status()
        .unwrap();
    let secs = t0.elapsed().as_secs_f64();
    assert!(status.success(), "rampart cloudwatch tail failed");
    let got = std::fs::read_to_string(&out).unwrap().lines().count();
    assert_eq!(got, events, "rampart cloudwatch tail printed every event");
    secs
}

/// A collector following a quiet group; events put one at a time at random moments: how long
/// from PutLogEvents until the row is in the store.
fn follow(url: &str, client: &aws_sdk_cloudwatchlogs::Client, runtime: &tokio::runtime::Runtime, n: usize) -> Vec<f64> {
    runtime.block_on(moto::create(client, FOLLOW_GROUP, &["web-1"]));
    let first = vec![(now_ms(), access_line(9_000_000))];
    runtime.block_on(moto::put(client, FOLLOW_GROUP, "web-1", &first));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.toml"), config(url, FOLLOW_GROUP, "15m")).unwrap();
    let db = dir.path().join("r.db");
    let _collector = moto::collector(dir.path());
    wait_until("the first event", Duration::from_secs(120), || stored(&db, FOLLOW_GROUP) >= 1);
    let mut rng = rand::rngs::SmallRng::seed_from_u64(11);
    let mut times = Vec::new();
    for i in 1..=n {
        std::thread::sleep(Duration::from_millis(rng.gen_range(0..1000)));
        let event = vec![(now_ms(), access_line(9_000_000 + i))];
        let t0 = Instant::now();
        runtime.block_on(moto::put(client, FOLLOW_GROUP, "web-1", &event));
        let at = wait_until("a followed event", Duration::from_secs(60), || stored(&db, FOLLOW_GROUP) > i as i64);
        times.push(at.duration_since(t0).as_secs_f64() * 1e3);
    }
    times
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let events = knob("RAMPART_BENCH_CW_EVENTS", 100_000);
    let rounds = knob("RAMPART_BENCH_ROUNDS", 3);
    let follows = knob("RAMPART_BENCH_FOLLOWS", 20);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let moto = moto::Moto::start();
    let client = moto::client(&moto.url);
    runtime.block_on(moto::create(&client, GROUP, &STREAMS));
    // The events spread over the last 50 minutes, round-robin over the streams.
    let start = now_ms() - 50 * 60_000;
    let step = (45 * 60_000 / events.max(1) as i64).max(1);
    let t0 = Instant::now();
    for (s, stream) in STREAMS.iter().enumerate() {
        let batch: Vec<(i64, String)> =
            (s..events).step_by(STREAMS.len()).map(|n| (start + n as i64 * step, access_line(n))).collect();
        runtime.block_on(moto::put(&client, GROUP, stream, &batch));
    }
    println!(
        "{events} events put into {GROUP} ({} streams) on moto in {:.1} s",
        STREAMS.len(),
        t0.elapsed().as_secs_f64()
    );

    let home = tempfile::tempdir().unwrap();
    let has_aws = Command::new("aws").arg("--version").output().is_ok_and(|o| o.status.success());
    if !has_aws {
        println!("awscli is not installed (pip install awscli): not compared");
    }
    let (mut ours, mut theirs, mut tails, mut peaks) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 1..=rounds {
        let (took, peak) = backfill(&moto.url, start - 60_000, events);
        ours.push(took);
        peaks.push(peak);
        if has_aws {
            theirs.push(awscli(&moto.url, start - 60_000, events, home.path()));
        }
        tails.push(tail(&moto.url, start - 60_000, events, home.path()));
        println!(
            "round {round}: rampart collect backfill {:.2} s (peak RSS {:.1} MiB), aws logs filter-log-events {}, rampart cloudwatch tail {:.2} s",
            ours[round - 1],
            peaks[round - 1],
            theirs.get(round - 1).map_or("-".into(), |t| format!("{t:.2} s")),
            tails[round - 1]
        );
    }
    let label = if events.is_multiple_of(1000) { format!("{}k", events / 1000) } else { events.to_string() };
    let row = format!("CloudWatch backfill {label} events into the store");
    bench_line(&row, "rampart", "s", &ours);
    bench_line(&format!("rampart collect peak RSS during the {label} backfill"), "rampart", "MiB", &peaks);
    let read = format!("CloudWatch read {label} events, printed");
    bench_line(&read, "rampart", "s", &tails);
    if has_aws {
        bench_line(&row, "aws logs filter-log-events", "s", &theirs);
        bench_line(&read, "aws logs filter-log-events", "s", &theirs);
        println!(
            "median: backfill into the store {:.2} s, rampart cloudwatch tail {:.2} s, awscli {:.2} s",
            median(&ours),
            median(&tails),
            median(&theirs)
        );
    }

    let times = follow(&moto.url, &client, &runtime, follows);
    bench_line(&format!("CloudWatch put to stored, following (poll {POLL})"), "rampart", "ms", &times);
    println!("following (poll {POLL}): put to stored, median {:.0} ms over {follows} events", median(&times));
}
