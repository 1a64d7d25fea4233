//! Latency from the access event that crosses the brute-force threshold to the ban in place in a
//! real Fail2Ban, with no key pressed: the collector's detection rules and `[[respond]]` rules
//! polling as they do in production, the ban through `fail2ban-client` and confirmed by it.
//! The budget (issue 24) is 2 s, poll intervals included.
//!
//! Run: `cargo bench --bench respond` (needs fail2ban-server; tests/run installs it).

#[path = "../tests/it/support/f2b.rs"]
mod f2b;
#[path = "../tests/it/support/wait.rs"]
mod wait;
use wait::wait_for;

use std::sync::Arc;
use std::time::{Duration, Instant};

use rampart::config::respond::{Guardrails, RespondRule};
use rampart::config::Config;
use rampart::store::access::AccessEvent;
use rampart::store::writer::{ChangeNotes, StoreWriter, Write};
use rampart::store::{self, Access};

/// 2026-11-26T12:00:00Z: the events' own time (detection follows it, not the wall clock).
const NOW: i64 = 1_795_694_400_000;
const RUNS: usize = 9;

fn main() {
    let fail2ban = f2b::Fail2ban::start();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bench.db");
    let config = Arc::new(Config {
        fail2ban: fail2ban.config.clone(),
        respond: vec![RespondRule {
            action: Default::default(),
            name: "ban-brute-force".into(),
            rule: Some("Brute-force login".into()),
            priority: None,
            jail: f2b::FINITE.into(),
            ban_for: None,
            dry_run: false,
        }],
        guardrails: Guardrails { allow: Vec::new(), max_per_minute: 100 },
        ..Default::default()
    });
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (writer, thread) =
        StoreWriter::spawn(store::open(&db, Access::ReadWrite).unwrap(), Arc::new(ChangeNotes::default()));
    let tasks = [
        runtime.spawn(rampart::detect::runner::run(writer.clone(), db.clone(), config.detect.clone())),
        runtime.spawn(rampart::respond::rules::run(writer.clone(), config.clone(), db.clone())),
    ];
    let reader = store::open(&db, Access::ReadOnly).unwrap();
    let banned = || -> i64 {
        reader
            .query_row("SELECT count(*) FROM audit WHERE operator LIKE 'rampart (rule %' AND outcome = 'ok'", [], |r| {
                r.get(0)
            })
            .unwrap_or(0)
    };
    let start = Instant::now();
    while reader
        .query_row("SELECT count(*) FROM source_status WHERE source = 'respond'", [], |r| r.get::<_, i64>(0))
        .unwrap_or(0)
        == 0
    {
        assert!(start.elapsed() < Duration::from_secs(30), "the rules never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut took = Vec::new();
    for run in 0..RUNS {
        let ip = format!("203.0.113.{}", run + 1);
        let from = NOW + run as i64 * 600_000;
        for i in 0..9 {
            writer.blocking_send(Write::Access(failed(&ip, from + i * 1000))).unwrap();
        }
        // Let the first nine be judged, as they would be in a real attack seconds apart.
        std::thread::sleep(Duration::from_millis(600));
        let t0 = Instant::now();
        writer.blocking_send(Write::Access(failed(&ip, from + 9_000))).unwrap();
        while banned() < run as i64 + 1 {
            assert!(t0.elapsed() < Duration::from_secs(30), "{ip} was never banned");
            std::thread::sleep(Duration::from_millis(2));
        }
        took.push(t0.elapsed());
        assert!(fail2ban.banned(f2b::FINITE).contains(&ip), "Fail2Ban lists {ip}");
    }
    for t in tasks {
        t.abort();
    }
    drop(writer);
    thread.join().unwrap();
    took.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "access event to ban in Fail2Ban ({RUNS} runs): median {:.0} ms, min {:.0} ms, max {:.0} ms (budget 2000 ms)",
        ms(took[RUNS / 2]),
        ms(took[0]),
        ms(took[RUNS - 1])
    );
}

fn failed(ip: &str, ts: i64) -> AccessEvent {
    AccessEvent {
        ts,
        tenant: "acme".into(),
        src_ip: ip.into(),
        method: "POST".into(),
        path: "/login".into(),
        status: 401,
        source: "bench".into(),
        ..Default::default()
    }
}
