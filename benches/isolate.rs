//! Time to isolate and to restore a tenant of five containers on the real Docker Engine, through
//! the same responder the console's `i` and `R` use (journal, disconnect, audit).
//!
//! Run: `cargo bench --bench isolate` (needs the Docker engine and /bin/busybox from busybox-static).

#[path = "../tests/it/support/lab.rs"]
mod lab;

use std::sync::Arc;
use std::time::{Duration, Instant};

use rampart::respond::{self, Backend, Operator, Request};
use rampart::store::writer::{ChangeNotes, StoreWriter};
use rampart::store::{self, Access};

fn main() {
    let lab = lab::Lab::new(&[5]);
    let tenant = lab.tenants[0].name.clone();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bench.db");
    let (writer, thread) =
        StoreWriter::spawn(store::open(&db, Access::ReadWrite).unwrap(), Arc::new(ChangeNotes::default()));
    let backend = Backend::Live(Arc::new(rampart::config::Config { docker: lab.config.clone(), ..Default::default() }));
    let operator = Operator { name: "bench".into(), ssh_client: None, host: "bench".into(), ..Default::default() };
    let (mut isolate, mut restore) = (Vec::new(), Vec::new());
    for _ in 0..7 {
        let t0 = Instant::now();
        let o = lab.runtime.block_on(respond::perform(
            &writer,
            &backend,
            &operator,
            &Request::Isolate { tenant: tenant.clone(), reason: "bench".into(), pause: false },
        ));
        isolate.push(t0.elapsed());
        assert!(o.ok, "{o:?}");
        let t0 = Instant::now();
        let o = lab.runtime.block_on(respond::perform(
            &writer,
            &backend,
            &operator,
            &Request::Restore { tenant: tenant.clone() },
        ));
        restore.push(t0.elapsed());
        assert!(o.ok, "{o:?}");
    }
    drop(writer);
    thread.join().unwrap();
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        format!(
            "median {:.0} ms, min {:.0} ms, max {:.0} ms",
            v[3].as_secs_f64() * 1e3,
            v[0].as_secs_f64() * 1e3,
            v[6].as_secs_f64() * 1e3
        )
    };
    println!("isolate a tenant of 5 containers (7 runs): {}", median(&mut isolate));
    println!("restore a tenant of 5 containers (7 runs): {}", median(&mut restore));
}
