//! The detection rules on a labeled corpus, through the real `rampart ingest access`: every attack
//! class alerts, and nothing a benign source sent does.

use std::collections::{BTreeMap, BTreeSet};

use crate::corpus::{self, Label};

/// Each alert's rule, its address and the addresses of the events it links.
fn alerts(conn: &rusqlite::Connection) -> Vec<(String, String, BTreeSet<String>)> {
    let mut stmt = conn
        .prepare(
            "SELECT a.id, a.rule, ifnull(a.src_ip, ''), ifnull(e.src_ip, '') FROM alerts a \
             LEFT JOIN alert_events l ON l.alert = a.id LEFT JOIN access_events e ON e.id = l.event ORDER BY a.id",
        )
        .unwrap();
    let mut by_alert: BTreeMap<i64, (String, String, BTreeSet<String>)> = BTreeMap::new();
    for row in stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))).unwrap() {
        let (id, rule, ip, event_ip): (i64, String, String, String) = row.unwrap();
        by_alert.entry(id).or_insert_with(|| (rule, ip, BTreeSet::new())).2.insert(event_ip);
    }
    by_alert.into_values().collect()
}

#[test]
fn a_labeled_corpus_every_attack_class_alerts_and_no_benign_source_does() {
    let dir = tempfile::tempdir().unwrap();
    let (db, log) = (dir.path().join("d.db"), dir.path().join("corpus.log"));
    let lines = corpus::corpus();
    std::fs::write(&log, corpus::text(&lines)).unwrap();
    let out = crate::support::rampart()
        .args(["--db", db.to_str().unwrap(), "ingest", "access", log.to_str().unwrap(), "--tenant", "acme"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains(&format!("{} stored", lines.len())), "{err}");
    let conn = rampart::store::open(&db, rampart::store::Access::ReadOnly).unwrap();
    let alerts = alerts(&conn);
    let label = |ip: &str| corpus::label_of(ip).unwrap_or_else(|| panic!("{ip} is not in the corpus"));
    // No alert names or links a benign source.
    for (rule, ip, linked) in &alerts {
        for ip in std::iter::once(ip).chain(linked) {
            assert!(label(ip).is_attack(), "{rule} alerted on {ip} ({:?}): {alerts:#?}", label(ip));
        }
    }
    // Every attack class is alerted on.
    let caught: BTreeMap<Label, BTreeSet<&str>> =
        alerts.iter().fold(BTreeMap::new(), |mut caught, (rule, ip, linked)| {
            for ip in std::iter::once(ip).chain(linked) {
                caught.entry(label(ip)).or_default().insert(rule.as_str());
            }
            caught
        });
    for class in Label::ATTACKS {
        assert!(caught.contains_key(&class), "{class:?} not alerted; alerts by class: {caught:#?}");
    }
    // An encoded attack's alert shows what came and what it decodes to.
    let output: String = conn
        .query_row("SELECT output FROM alerts WHERE src_ip = '203.0.113.30' ORDER BY id LIMIT 1", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        output,
        "203.0.113.30 sent path traversal above the root to acme: \
         /static/%252e%252e%252f%252e%252e%252f%252e%252e%252fetc%252fpasswd (decoded: /etc/passwd)"
    );
    // A brute force over two hours and one over an hour redirected back to the login page are one
    // incident each: one alert whose count, last seen and links follow the attack to its end.
    for (ip, failures, last) in [("203.0.113.20", 300, "05:04:3"), ("203.0.113.25", 120, "04:59:30")] {
        let (n, count, linked, output): (i64, i64, i64, String) = conn
            .query_row(
                "SELECT count(*), json_extract(output_fields_json, '$.\"rampart.count\"'), \
                 (SELECT count(*) FROM alert_events WHERE alert = a.id), output FROM alerts a \
                 WHERE src_ip = ? AND rule = 'Brute-force login'",
                [ip],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        assert_eq!((n, count, linked), (1, failures, failures), "{ip}: {output}");
        assert!(output.contains(&format!("— {failures} events in all, the last at 2026-11-26 {last}")), "{output}");
    }
    let xss: String = conn
        .query_row("SELECT output FROM alerts WHERE src_ip = '203.0.113.60' ORDER BY id LIMIT 1", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        xss,
        "203.0.113.60 sent an HTML tag that runs script to acme: \
         /search?q=%3Cscript%3Ealert(document.cookie)%3C%2Fscript%3E (decoded: /search?q=<script>alert(document.cookie)</script>)"
    );
    // The spray is one alert naming its addresses, not one per address.
    let spray: Vec<_> =
        alerts.iter().filter(|(_, _, linked)| linked.iter().any(|ip| label(ip) == Label::Spray)).collect();
    assert_eq!(spray.len(), 1, "{spray:#?}");
    assert!(spray[0].2.len() >= 10, "the spray's alert links {} addresses: {spray:#?}", spray[0].2.len());
}
