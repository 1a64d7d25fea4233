//! The detection rules on the labeled corpus of tests/it/corpus.rs: precision per rule, recall per
//! attack class, benign sources alerted; and the rules' events per second on the corpus and on the
//! ingest bench's mix of requests, the rules of issue 27 against those before it (main at bce8924,
//! benches/old_rules.rs) on the same events.
//!
//! Run: `cargo bench --bench detection`. RAMPART_BENCH_EVENTS sets the size of the mix (default
//! 250,000), RAMPART_BENCH_RULES=new|old runs only one set (for `perf stat -e instructions` or
//! `valgrind --tool=callgrind` on each); each speed is also printed as one `BENCH {json}` line.

#[path = "../tests/it/corpus.rs"]
mod corpus;
mod old_rules;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use corpus::Label;
use rampart::store::access::AccessEvent;
use rampart::store::detections::Detection;

/// The corpus parsed as `rampart ingest access --tenant acme` would store it, ids from 1.
fn corpus_events() -> (Vec<AccessEvent>, Vec<Label>) {
    let lines = corpus::corpus();
    let events = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let mut e = rampart::parse::combined::parse(&l.text, "acme", "bench").expect("corpus lines parse");
            e.id = i as i64 + 1;
            e
        })
        .collect();
    (events, lines.iter().map(|l| l.label).collect())
}

/// The ingest bench's mix (benches/ingest.rs): random addresses, a few paths, 1 in 7 a 401 and 1 in
/// 7 a 404, a request every 86 ms.
fn mix(n: usize) -> Vec<AccessEvent> {
    let paths = [
        "/",
        "/index.html",
        "/api/v1/orders",
        "/api/v1/orders/1842",
        "/static/app.js",
        "/login",
        "/search?q=blue+shoes",
    ];
    let agents = [
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
        "curl/8.5.0",
        "python-requests/2.32.3",
    ];
    let mut x: u64 = 7;
    (0..n)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let r = x;
            let user = ["-", "-", "bob", "alice"][(r >> 16) as usize % 4];
            AccessEvent {
                id: i as i64 + 1,
                ts: 1_795_564_800_000 + i as i64 * 86,
                tenant: "acme".into(),
                src_ip: format!("203.0.{}.{}", r % 256, (r >> 8) % 254 + 1),
                user: (user != "-").then(|| user.to_string()),
                method: ["GET", "GET", "POST"][(r >> 20) as usize % 3].into(),
                path: paths[(r >> 24) as usize % paths.len()].into(),
                status: [200, 200, 200, 304, 404, 401, 500][(r >> 28) as usize % 7],
                user_agent: agents[(r >> 40) as usize % agents.len()].into(),
                flags: if [200, 200, 200, 304, 404, 401, 500][(r >> 28) as usize % 7] == 401 { 1 } else { 0 },
                ..Default::default()
            }
        })
        .collect()
}

/// One set of rules with its state.
enum Rules {
    Old(Box<old_rules::Detector>),
    New(Box<rampart::detect::Detector>),
}

impl Rules {
    fn new(which: &str) -> Rules {
        match which {
            "old" => Rules::Old(Box::new(old_rules::Detector::new(old_rules::Rules::default()))),
            _ => Rules::New(Box::new(rampart::detect::Detector::new(rampart::detect::Rules::default()))),
        }
    }

    fn observe(&mut self, e: &AccessEvent) -> Vec<Detection> {
        match self {
            Rules::Old(d) => d.observe(e),
            Rules::New(d) => d.observe(e),
        }
    }

    /// The updates of open incidents, as the judge asks for them after each chunk.
    fn flush(&mut self) -> Vec<Detection> {
        match self {
            Rules::Old(_) => Vec::new(),
            Rules::New(d) => d.flush(),
        }
    }

    /// What `events` raise and bring up to date, a judge's chunk at a time.
    fn judge(&mut self, events: &[AccessEvent]) -> Vec<Detection> {
        let mut found = Vec::new();
        for chunk in events.chunks(rampart::detect::judge::CHUNK) {
            for e in chunk {
                found.extend(self.observe(e));
            }
            found.extend(self.flush());
        }
        found
    }
}

/// Precision per rule, recall per attack class, benign addresses alerted. An incident (an alert
/// and the updates that follow it) counts once, with every event it links.
fn score(which: &str, events: &[AccessEvent], labels: &[Label]) {
    let found = Rules::new(which).judge(events);
    let label_of_event = |id: i64| labels[(id - 1) as usize];
    let label_of_ip = |ip: &str| corpus::label_of(ip).unwrap_or(Label::Benign);
    let mut incidents: BTreeMap<(String, i64, String), BTreeSet<i64>> = BTreeMap::new();
    for d in &found {
        let key = (d.alert.rule.clone(), d.alert.ts, d.alert.src_ip.clone().unwrap_or_default());
        incidents.entry(key).or_default().extend(d.events.iter().copied());
    }
    let mut per_rule: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut alerted: BTreeMap<Label, BTreeSet<String>> = BTreeMap::new();
    for ((rule, _, ip), linked) in &incidents {
        let mut sources: BTreeSet<(Label, String)> =
            linked.iter().map(|id| (label_of_event(*id), events[(*id - 1) as usize].src_ip.clone())).collect();
        sources.insert((label_of_ip(ip), ip.clone()));
        let right = sources.iter().all(|(label, _)| label.is_attack());
        let entry = per_rule.entry(rule.as_str()).or_default();
        entry.0 += 1;
        entry.1 += usize::from(right);
        for (label, ip) in sources {
            alerted.entry(label).or_default().insert(ip);
        }
    }
    let updates = found.iter().filter(|d| d.update).count();
    println!(
        "\n{which} rules on the labeled corpus ({} events, {} alerts, {updates} updates of open incidents)",
        events.len(),
        incidents.len()
    );
    println!("  {:<30} {:>7} {:>7} {:>10}", "rule", "alerts", "true", "precision");
    for (rule, (all, right)) in &per_rule {
        println!("  {rule:<30} {all:>7} {right:>7} {:>10.2}", *right as f64 / *all as f64);
    }
    let mut addresses: BTreeMap<Label, BTreeSet<&str>> = BTreeMap::new();
    for e in events {
        addresses.entry(label_of_ip(&e.src_ip)).or_default().insert(&e.src_ip);
    }
    println!("  {:<30} {:>9} {:>9} {:>10}", "class", "sources", "alerted", "recall");
    for (label, all) in &addresses {
        let hit = alerted.get(label).map_or(0, BTreeSet::len);
        let what = if label.is_attack() { "recall" } else { "FALSE POSITIVES" };
        println!(
            "  {:<30} {:>9} {:>9} {:>10}",
            format!("{label:?}"),
            all.len(),
            hit,
            if label.is_attack() { format!("{:.2}", hit as f64 / all.len() as f64) } else { format!("{hit} {what}") }
        );
    }
}

/// Events per second through one set of rules, best of three passes with fresh rules.
fn speed(which: &str, name: &str, events: &[AccessEvent]) {
    let mut samples = Vec::new();
    for _ in 0..3 {
        let mut rules = Rules::new(which);
        let start = Instant::now();
        let alerts = rules.judge(events).len();
        let secs = start.elapsed().as_secs_f64();
        std::hint::black_box(alerts);
        samples.push(events.len() as f64 / secs);
    }
    let best = samples.iter().cloned().fold(0.0, f64::max);
    println!("  {which:>3} rules, {name:<24} {:>12.0} events/s (best of 3)", best);
    let line = serde_json::json!({"row": format!("detect {name}"), "tool": format!("rampart {which} rules"), "unit": "events/s", "samples": samples});
    println!("BENCH {line}");
}

fn main() {
    let only = std::env::var("RAMPART_BENCH_RULES").ok();
    let sets: Vec<&str> = match only.as_deref() {
        Some("old") => vec!["old"],
        Some("new") => vec!["new"],
        _ => vec!["old", "new"],
    };
    let n = std::env::var("RAMPART_BENCH_EVENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(250_000);
    let (events, labels) = corpus_events();
    for which in &sets {
        score(which, &events, &labels);
    }
    let mixed = mix(n);
    println!("\nspeed of the rules alone (no store)");
    for which in &sets {
        speed(which, "labeled corpus", &events);
        speed(which, "ingest bench mix", &mixed);
    }
}
