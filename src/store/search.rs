//! The query planner over the access events' indexes (`store::indexer` fills them): a filter
//! answered from the rows the indexes list for it plus the rows they do not cover yet, or left to
//! the plain scan when that is the better plan.
//!
//! An index only ever lists rows that *might* match: the filter's own SQL still decides each
//! one. So an index that is behind, holds rows that were since deleted, or folds case more widely
//! than `LIKE` does can make a filter slower, never wrong.

use rusqlite::types::Value;
use rusqlite::Connection;

use super::filter::{Filter, Needle};
use super::grams::TEXT_COLUMNS;
use super::indexer::position;

/// A filter whose indexes list this many rows or more is answered by the plain scan instead:
/// that many matches fill a screen from the newest rows almost at once, while looking up every
/// listed row would not. Rows not indexed yet count as listed.
pub const CANDIDATE_CAP: i64 = 20_000;

/// `filter` restricted to the rows the indexes list for it plus every row they do not cover yet,
/// when that is fewer than [`CANDIDATE_CAP`]; `None` when the plain filter is the better plan (no
/// term the indexes serve, or many candidates). Only for filters over `access_events`.
pub fn narrow(conn: &Connection, filter: &Filter) -> rusqlite::Result<Option<Filter>> {
    let Some((candidates, param)) = candidates(&filter.needles) else { return Ok(None) };
    let (through, valid) = position(conn)?;
    let tail = super::access::last_id(conn)? - through;
    if !valid || !(0..CANDIDATE_CAP).contains(&tail) {
        return Ok(None);
    }
    let count = format!("SELECT count(*) FROM ({candidates} LIMIT {CANDIDATE_CAP})");
    let listed: i64 = conn.prepare_cached(&count)?.query_row([&param], |r| r.get(0))?;
    if listed + tail >= CANDIDATE_CAP {
        return Ok(None);
    }
    // The position is read inside the statement, so the listed rows and the scanned tail meet
    // exactly in the statement's snapshot however far the indexer has moved since.
    let sql = format!(
        "id IN ({candidates} UNION ALL SELECT id FROM access_events WHERE id > \
         (SELECT ifnull(max(event), 0) FROM access_indexed_through)) AND ({})",
        filter.sql
    );
    let mut params = vec![param];
    params.extend(filter.params.iter().cloned());
    Ok(Some(Filter { sql, params, listed: true, ..filter.clone() }))
}

/// The query listing candidate rows for the needles, and its one parameter: the rows of an
/// address if a term names one, else the rows holding every trigram of every text piece.
fn candidates(needles: &[Needle]) -> Option<(String, Value)> {
    for needle in needles {
        // An address is one token of the address index only when it is one (digits, letters
        // a-f, dots and colons); anything else is left to the trigrams.
        if let Needle::Address { column: "src_ip", ip } = needle {
            if ip.parse::<std::net::IpAddr>().is_ok() {
                let query = Value::Text(format!("\"{ip}\""));
                return Some(("SELECT rowid FROM access_ip WHERE access_ip MATCH ?".into(), query));
            }
        }
    }
    let mut trigrams: Vec<String> = Vec::new();
    for needle in needles {
        let Needle::Text { column, pieces } = needle else { continue };
        if column.is_some_and(|c| !TEXT_COLUMNS.contains(&c)) {
            continue;
        }
        for piece in pieces {
            let chars: Vec<char> = piece.chars().collect();
            for window in chars.windows(3) {
                let t: String = window.iter().collect();
                if !trigrams.contains(&t) {
                    trigrams.push(t);
                }
            }
        }
    }
    if trigrams.is_empty() {
        return None;
    }
    // Each trigram a quoted FTS5 string (a `"` doubled), all of them required.
    let query: Vec<String> = trigrams.iter().map(|t| format!("\"{}\"", t.replace('"', "\"\""))).collect();
    Some(("SELECT rowid FROM access_text WHERE access_text MATCH ?".into(), Value::Text(query.join(" AND "))))
}

#[cfg(test)]
mod tests {
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};
    use rusqlite::params_from_iter;

    use super::*;
    use std::time::Duration;

    use crate::store::access::{self, AccessEvent};
    use crate::store::filter::compile;
    use crate::store::indexer::{
        catch_up, index_chunk, indexed_through, keep_indexed, merge_in_steps, Indexer, Progress, Step,
    };
    use crate::store::writer::StoreWriter;

    fn store() -> (tempfile::TempDir, std::path::PathBuf, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let conn = crate::store::open(&path, crate::store::Access::ReadWrite).unwrap();
        (dir, path, conn)
    }

    /// The indexer's connection to the store `conn` is open on (the indexes' file, written).
    fn indexes(conn: &Connection) -> Connection {
        crate::store::index_db::open_writer_beside(conn).unwrap()
    }

    /// Rows from small alphabets, so that generated filters match some: mixed case, a NUL byte
    /// now and then, non-ASCII letters, addresses from a few networks.
    fn rows(rng: &mut SmallRng, n: usize, ts0: i64) -> Vec<AccessEvent> {
        let words = ["login", "LOGIN", "passwd", "etc", "sqlmap", "curl", "Ärger", "a\0b", "x\"y", "50%_off", "api"];
        let word = |rng: &mut SmallRng| words[rng.gen_range(0..words.len())];
        (0..n)
            .map(|i| AccessEvent {
                ts: ts0 + i as i64 * 1000,
                tenant: ["acme", "globex"][rng.gen_range(0..2)].into(),
                src_ip: match rng.gen_range(0..3) {
                    0 => format!("203.0.113.{}", rng.gen_range(1..20)),
                    1 => format!("2001:db8::{:x}", rng.gen_range(1..20)),
                    _ => format!("198.51.100.{}", rng.gen_range(1..5)),
                },
                user: rng.gen_bool(0.5).then(|| word(rng).to_string()),
                method: "GET".into(),
                path: format!("/{}/{}", word(rng), word(rng)),
                status: [200, 401, 404, 500][rng.gen_range(0..4)],
                bytes: rng.gen_range(0..1000),
                user_agent: format!("{} {}", word(rng), word(rng)),
                source: "test".into(),
                ..Default::default()
            })
            .collect()
    }

    /// A filter in one of the language's forms, from the same alphabets as [`rows`] and beyond.
    fn filter(rng: &mut SmallRng) -> String {
        let texts = [
            "login",
            "LoGiN",
            "passwd",
            "sqlmap",
            "ärger",
            "ÄRGER",
            "a^@b",
            "50%_off",
            "nothing-here",
            "ap",
            "203.0.113.7",
            "zq",
            "Q",
            "^@",
            "Ä",
            "%",
        ];
        let text = |rng: &mut SmallRng| texts[rng.gen_range(0..texts.len())].to_string();
        let ip = |rng: &mut SmallRng| match rng.gen_range(0..4) {
            0 => format!("203.0.113.{}", rng.gen_range(1..25)),
            1 => format!("2001:DB8:0::{:x}", rng.gen_range(1..25)),
            2 => "203.0.113.*".into(),
            _ => "*:db8::1*".into(),
        };
        let term = |rng: &mut SmallRng| match rng.gen_range(0..12) {
            9 => format!("bytes{}{}", [">", "<=", ":"][rng.gen_range(0..3)], [2, 990, 500][rng.gen_range(0..3)]),
            10 => "until:2025-10-09T12:00".to_string(),
            11 => format!("status:{}", ["4xx", "5xx", "418"][rng.gen_range(0..3)]),
            0 => format!("\"{}\"", text(rng)),
            1 => format!("path:*{}*", text(rng)),
            2 => format!("ua:*{}*", text(rng)),
            3 => format!("ip:{}", ip(rng)),
            4 => format!("user:{}", text(rng)),
            5 => format!("status:{}", [401, 404, 999][rng.gen_range(0..3)]),
            6 => ["since:2026-01-01T00:00", "since:2025-10-09T10:00", "until:2025-10-09T10:30"][rng.gen_range(0..3)]
                .to_string(),
            7 => format!("path:/{}*", text(rng)),
            _ => format!("tenant:{}", ["acme", "glob*"][rng.gen_range(0..2)]),
        };
        let n = rng.gen_range(1..4);
        (0..n)
            .map(|_| {
                let t = term(rng);
                if rng.gen_bool(0.25) {
                    format!("!{t}")
                } else {
                    t
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// How many rows the address index lists, over every stored address.
    fn listed_by_address(conn: &Connection) -> i64 {
        conn.query_row(
            "SELECT ifnull(sum((SELECT count(*) FROM access_ip WHERE access_ip MATCH '\"' || d.src_ip || '\"')), 0) \
             FROM (SELECT DISTINCT src_ip FROM access_events) d",
            [],
            |r| r.get(0),
        )
        .unwrap()
    }

    fn ids(conn: &Connection, f: &Filter) -> Vec<i64> {
        let sql = format!("SELECT id FROM access_events WHERE ({}) ORDER BY id DESC", f.sql);
        let mut stmt = conn.prepare(&sql).unwrap();
        stmt.query_map(params_from_iter(f.params.iter()), |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    }

    /// Every generated filter finds through the indexes exactly the rows the plain filter finds;
    /// returns how many of them the indexes narrowed (so a test can see it tested something).
    fn same_rows_as_plain_scan(conn: &Connection, rng: &mut SmallRng, filters: usize) -> usize {
        let now = 1_800_000_000_000;
        let mut narrowed = 0;
        for _ in 0..filters {
            let text = filter(rng);
            let plain = compile(&text, &access::FIELDS, now).unwrap().unwrap();
            if let Some(fast) = narrow(conn, &plain).unwrap() {
                narrowed += 1;
                assert_eq!(ids(conn, &fast), ids(conn, &plain), "filter {text}");
                // The newest first by time, as `access list` and the console show them: the
                // listed rows read at once, the plain filter block by block.
                let newest = |f: &Filter| -> Vec<i64> {
                    let rows = crate::store::newest::by_time(conn, crate::store::newest::Stream::Access, Some(f), 25);
                    rows.unwrap()
                        .iter()
                        .map(|r| match r {
                            crate::store::window::Row::Access(e) => e.id,
                            other => panic!("not an access event: {other:?}"),
                        })
                        .collect()
                };
                assert_eq!(newest(&fast), newest(&plain), "filter {text}, newest first");
            }
        }
        narrowed
    }

    #[test]
    fn indexed_filters_find_the_rows_the_plain_scan_finds_behind_caught_up_and_rebuilt() {
        let (_dir, _path, conn) = store();
        let mut rng = SmallRng::seed_from_u64(13);
        access::insert_many(&conn, &rows(&mut rng, 3000, 1_760_000_000_000)).unwrap();
        // Behind: nothing indexed yet, then part of it (all of the rest counts as the tail).
        assert!(same_rows_as_plain_scan(&conn, &mut rng, 150) > 50);
        index_chunk(&indexes(&conn), 1700).unwrap();
        assert_eq!(indexed_through(&conn).unwrap(), 1700);
        assert!(same_rows_as_plain_scan(&conn, &mut rng, 300) > 100);
        // Caught up, then more rows arrive after it.
        assert!(catch_up(&conn).unwrap().caught_up());
        assert!(same_rows_as_plain_scan(&conn, &mut rng, 300) > 100);
        access::insert_many(&conn, &rows(&mut rng, 500, 1_790_000_000_000)).unwrap();
        assert!(same_rows_as_plain_scan(&conn, &mut rng, 300) > 100);
        // The newest rows deleted and their ids handed out again: the indexes are not used until
        // they have started over.
        catch_up(&conn).unwrap();
        conn.execute("DELETE FROM access_events WHERE id > 3200", []).unwrap();
        access::insert_many(&conn, &rows(&mut rng, 400, 1_795_000_000_000)).unwrap();
        assert_eq!(same_rows_as_plain_scan(&conn, &mut rng, 200), 0);
        let progress = catch_up(&conn).unwrap();
        assert_eq!(progress, Progress { through: 3600, newest: 3600 });
        assert!(same_rows_as_plain_scan(&conn, &mut rng, 300) > 100);
    }

    #[test]
    fn a_chunk_that_fails_leaves_the_indexes_as_they_were() {
        let (_dir, _path, conn) = store();
        let mut rng = SmallRng::seed_from_u64(5);
        access::insert_many(&conn, &rows(&mut rng, 1000, 1_760_000_000_000)).unwrap();
        let ix = indexes(&conn);
        index_chunk(&ix, 400).unwrap();
        // A crash mid-chunk is a transaction that never commits: here, one that fails part-way.
        ix.execute_batch("BEGIN; DROP TABLE access_ip;").unwrap();
        assert!(index_chunk(&ix, 400).is_err());
        ix.execute_batch("ROLLBACK").unwrap();
        assert_eq!(indexed_through(&conn).unwrap(), 400);
        assert_eq!(catch_up(&conn).unwrap().through, 1000);
        let listed = listed_by_address(&conn);
        assert_eq!(listed, 1000);
        assert!(same_rows_as_plain_scan(&conn, &mut rng, 300) > 100);
    }

    /// The segments an FTS5 table's index is made of.
    fn segments(conn: &Connection, table: &str) -> i64 {
        conn.query_row(&format!("SELECT count(DISTINCT segid) FROM {table}_idx"), [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn the_indexers_merge_steps_keep_the_segments_few_and_the_answers_the_same() {
        let (_dir, _path, conn) = store();
        let mut rng = SmallRng::seed_from_u64(21);
        access::insert_many(&conn, &rows(&mut rng, 6_000, 1_760_000_000_000)).unwrap();
        // Chunks alone, with FTS5's merging inside commits off: a segment each.
        let ix = indexes(&conn);
        merge_in_steps(&ix).unwrap();
        for _ in 0..12 {
            crate::store::transaction::immediate(&ix, |ix| index_chunk(ix, 100)).unwrap();
        }
        assert_eq!((segments(&conn, "access_text"), segments(&conn, "access_ip")), (12, 12));
        // The indexer's own steps, in chunks as small: its merge steps keep the segments few.
        let mut indexer = Indexer::default();
        let mut merged = 0;
        loop {
            indexer.fix_chunk_rows(50);
            let step = crate::store::transaction::immediate(&ix, |ix| indexer.step(ix)).unwrap();
            merged += usize::from(step == Step::Merge);
            if matches!(step, Step::Chunk { .. }) && indexer.idle() {
                break;
            }
        }
        assert_eq!(indexed_through(&conn).unwrap(), 6_000);
        assert!(merged > 10, "{merged} merge steps");
        for table in ["access_text", "access_ip"] {
            let segments = segments(&conn, table);
            assert!(segments <= 9, "{table}: {segments} segments after 108 chunks");
        }
        assert_eq!(listed_by_address(&conn), 6_000);
        assert!(same_rows_as_plain_scan(&conn, &mut rng, 300) > 100);
    }

    #[test]
    fn free_text_columns_are_the_indexed_columns() {
        let mut free = access::FIELDS.free_text.to_vec();
        free.sort();
        let mut indexed = TEXT_COLUMNS.to_vec();
        indexed.sort();
        assert_eq!(free, indexed);
    }

    #[test]
    fn rare_and_absent_matches_read_only_the_rows_the_indexes_list() {
        use crate::store::window::{self, Around, Listing, Query};
        let (_dir, _path, conn) = store();
        let mut rng = SmallRng::seed_from_u64(1);
        access::insert_many(&conn, &rows(&mut rng, 20_000, 1_760_000_000_000)).unwrap();
        access::insert(
            &conn,
            &AccessEvent { src_ip: "192.0.2.44".into(), path: "/rare-one".into(), ..Default::default() },
        )
        .unwrap();
        access::insert_many(&conn, &rows(&mut rng, 20_000, 1_770_000_000_000)).unwrap();
        catch_up(&conn).unwrap();
        let now = 1_800_000_000_000;
        let load = |text: &str| {
            let filter = compile(text, &access::FIELDS, now).unwrap();
            let q = Query {
                listing: Listing::Access,
                filter,
                around: Around::Newest,
                per_side: 30,
                count_newer_than: None,
                history: false,
                grouped: false,
            };
            window::load(&conn, &q, now).unwrap().rows.len()
        };
        for (text, found) in [
            ("no-such-text", 0),
            ("ip:192.0.2.44", 1),
            ("ip:192.0.2.45", 0),
            ("path:*rare-one*", 1),
            ("ua:*sqlmapx*", 0),
            ("rare-one !status:404", 1),
            ("192.0.2.44 since:1969-12-31", 1),
        ] {
            assert_eq!(load(text), found, "{text}");
            // The answer comes from the rows the indexes list: no step of the plan reads the table.
            let narrowed = narrow(&conn, &compile(text, &access::FIELDS, now).unwrap().unwrap()).unwrap();
            let narrowed = narrowed.unwrap_or_else(|| panic!("{text} was not narrowed"));
            let sql =
                format!("EXPLAIN QUERY PLAN SELECT id FROM access_events WHERE {} ORDER BY id DESC", narrowed.sql);
            let mut stmt = conn.prepare(&sql).unwrap();
            let plan: Vec<String> = stmt
                .query_map(params_from_iter(narrowed.params.iter()), |r| r.get(3))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            assert!(!plan.iter().any(|step| step.starts_with("SCAN access_events")), "{text}: {plan:?}");
        }
    }

    #[test]
    fn the_collectors_indexer_catches_up_and_resumes_after_a_restart() {
        let (_dir, path, conn) = store();
        let mut rng = SmallRng::seed_from_u64(3);
        access::insert_many(&conn, &rows(&mut rng, 12_000, 1_760_000_000_000)).unwrap();
        // Half-way through catching up when the collector stops.
        index_chunk(&indexes(&conn), 6_000).unwrap();
        drop(conn);
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let conn = crate::store::open(&path, crate::store::Access::ReadWrite).unwrap();
        let notes = std::sync::Arc::new(super::super::writer::ChangeNotes::default());
        let (writer, thread) = StoreWriter::spawn(conn, notes);
        let task = runtime.spawn(keep_indexed(path.clone()));
        let reader = crate::store::open(&path, crate::store::Access::ReadOnly).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while indexed_through(&reader).unwrap() < 12_000 {
            assert!(std::time::Instant::now() < deadline, "the indexer did not catch up");
            std::thread::sleep(Duration::from_millis(20));
        }
        let listed = listed_by_address(&reader);
        assert_eq!(listed, 12_000);
        assert!(same_rows_as_plain_scan(&reader, &mut rng, 300) > 100);
        task.abort();
        let _ = runtime.block_on(task);
        drop(writer);
        thread.join().unwrap();
    }

    fn window(text: &str, per_side: usize) -> crate::store::window::Query {
        crate::store::window::Query {
            listing: crate::store::window::Listing::Access,
            filter: compile(text, &access::FIELDS, 1_800_000_000_000).unwrap(),
            around: crate::store::window::Around::Newest,
            per_side,
            count_newer_than: None,
            history: false,
            grouped: false,
        }
    }

    fn keys(rows: &[crate::store::window::Row]) -> Vec<i64> {
        rows.iter().map(crate::store::window::Row::key).collect()
    }

    /// A search newest first, a slice at a time, shows only rows the plain query shows (each
    /// partial answer is the start of the whole one) and ends with exactly its rows; a refresh
    /// after more rows arrive searches those first and again ends with the plain query's rows.
    #[test]
    fn a_search_newest_first_finds_the_rows_the_plain_query_finds() {
        use crate::store::scan::Scan;
        use crate::store::window;
        let (_dir, _path, conn) = store();
        let mut rng = SmallRng::seed_from_u64(21);
        access::insert_many(&conn, &rows(&mut rng, 60_000, 1_760_000_000_000)).unwrap();
        index_chunk(&indexes(&conn), 20_000).unwrap();
        let now = 1_800_000_000_000;
        let mut partial_answers = 0;
        for _ in 0..40 {
            let text = filter(&mut rng);
            let per_side = rng.gen_range(1..40);
            let q = window(&text, per_side);
            let plain = window::load(&conn, &q, now).unwrap();
            let mut scan = Scan::start(&conn, &q).unwrap();
            while !scan.done() {
                scan.step(&conn).unwrap();
                let page = scan.page();
                let found = keys(&page.rows);
                assert_eq!(found[..], keys(&plain.rows)[..found.len()], "{text}: a partial answer");
                if page.searched.is_some() {
                    partial_answers += 1;
                }
            }
            let page = scan.page();
            assert_eq!(keys(&page.rows), keys(&plain.rows), "{text}");
            assert_eq!((page.at_oldest, page.searched), (plain.at_oldest, None), "{text}");
            // More rows arrive; the same view refreshed.
            access::insert_many(&conn, &rows(&mut rng, 700, 1_790_000_000_000)).unwrap();
            scan.refresh(&conn).unwrap();
            scan.finish(&conn).unwrap();
            let plain = window::load(&conn, &q, now).unwrap();
            let page = scan.page();
            assert_eq!(keys(&page.rows), keys(&plain.rows), "{text} after a refresh");
        }
        assert!(partial_answers > 20, "the searches answered in parts {partial_answers} times");
    }

    /// Time windows, statuses and sizes bounded through the zone map find exactly the rows a
    /// filter without any key bound finds, in the first screen and in a search to the end: with
    /// the zones behind, partly built, caught up, and stale (the newest ids handed out again).
    #[test]
    fn zones_rule_out_only_blocks_that_cannot_match() {
        use crate::store::filter::{Fields, KeyBound, Time};
        use crate::store::scan::Scan;
        use crate::store::window;
        let (_dir, _path, conn) = store();
        let mut rng = SmallRng::seed_from_u64(34);
        // Mostly in time order, with an older stretch stored later (a late import).
        access::insert_many(&conn, &rows(&mut rng, 20_000, 1_760_000_000_000)).unwrap();
        access::insert_many(&conn, &rows(&mut rng, 6_000, 1_760_004_000_000)).unwrap();
        access::insert_many(&conn, &rows(&mut rng, 9_000, 1_760_020_000_000)).unwrap();
        // Text only a few rows hold, one of them in the block that the first chunk below only
        // partly covers (its set must keep what each chunk added).
        conn.execute("UPDATE access_events SET user_agent = 'ZQ' WHERE id IN (12500, 30001)", []).unwrap();
        let now = 1_800_000_000_000;
        let unbounded = Fields { time: Some(Time { column: "ts", key_bound: KeyBound::None }), ..access::FIELDS };
        let check = |conn: &Connection, rng: &mut SmallRng| {
            let mut zoned = 0;
            for _ in 0..120 {
                let text = filter(rng);
                let per_side = rng.gen_range(1..40);
                let q = window(&text, per_side);
                let reference = compile(&text, &unbounded, now).unwrap().unwrap();
                let mut want = ids(conn, &reference);
                want.truncate(2 * per_side);
                assert_eq!(keys(&window::load(conn, &q, now).unwrap().rows), want, "{text}: first screen");
                let mut scan = Scan::start(conn, &q).unwrap();
                scan.finish(conn).unwrap();
                assert_eq!(keys(&scan.page().rows), want, "{text}: searched to the end");
                // As the console asks: no time for the plain query, so the zones or a search answer.
                let found = match crate::store::scan::load(conn, &q, now, Duration::ZERO).unwrap() {
                    crate::store::scan::Answer::Page(page) => page.rows,
                    crate::store::scan::Answer::Scan(mut scan) => {
                        scan.finish(conn).unwrap();
                        scan.page().rows
                    }
                };
                assert_eq!(keys(&found), want, "{text}: as the console loads it");
                zoned += crate::store::zones::Zoned::of(&q.filter.unwrap().needles).is_some() as usize;
            }
            assert!(zoned > 40, "{zoned} filters had a range the zones serve");
        };
        check(&conn, &mut rng);
        index_chunk(&indexes(&conn), 13_000).unwrap();
        check(&conn, &mut rng);
        catch_up(&conn).unwrap();
        let blocks: i64 = conn.query_row("SELECT count(*) FROM access_blocks", [], |r| r.get(0)).unwrap();
        assert_eq!(blocks, 35_000 / crate::store::zones::BLOCK + 1);
        check(&conn, &mut rng);
        conn.execute("DELETE FROM access_events WHERE id > 34000", []).unwrap();
        access::insert_many(&conn, &rows(&mut rng, 3_000, 1_750_000_000_000)).unwrap();
        check(&conn, &mut rng);
        catch_up(&conn).unwrap();
        check(&conn, &mut rng);
    }

    /// Text under three characters has no trigram to look up, but the zones know which blocks
    /// hold its bytes: text no event holds is ruled out at once (once the zones cover the
    /// store), and a search for rare text goes straight to the block that holds it.
    #[test]
    fn short_text_rules_out_the_blocks_that_lack_it() {
        use crate::store::scan::{ruled_out, Scan};
        let (_dir, _path, conn) = store();
        let mut rng = SmallRng::seed_from_u64(9);
        access::insert_many(&conn, &rows(&mut rng, 40_000, 1_760_000_000_000)).unwrap();
        conn.execute("UPDATE access_events SET path = '/Zq' WHERE id = 5000", []).unwrap();
        let now = 1_800_000_000_000;
        let ruled_out = |text: &str| ruled_out(&conn, &compile(text, &access::FIELDS, now).unwrap().unwrap()).unwrap();
        assert!(!ruled_out("xz"), "nothing is ruled out before the zones cover the store");
        catch_up(&conn).unwrap();
        for text in ["xz", "path:*xz*", "!status:200 xz", "j", "ip:2001:db8::1 xz"] {
            assert!(ruled_out(text), "{text}");
        }
        // One set for all four text columns of a block: `ua:*zq*` is not ruled out by `/Zq`.
        for text in ["zq", "path:/z*", "Z", "ap", "p", "!login zq", "ua:*zq*"] {
            assert!(!ruled_out(text), "{text}");
        }
        let mut scan = Scan::start(&conn, &window("zq", 30)).unwrap();
        scan.step(&conn).unwrap();
        assert_eq!(keys(&scan.page().rows), [5000], "the first slice read is the block holding the row");
    }

    /// A filter that would read the whole table is cut short by its time budget and becomes a
    /// search; a quick one is answered whole.
    #[test]
    fn a_slow_filter_becomes_a_search_and_a_quick_one_does_not() {
        use crate::store::scan::{load, Answer};
        let (_dir, _path, conn) = store();
        let mut rng = SmallRng::seed_from_u64(4);
        access::insert_many(&conn, &rows(&mut rng, 50_000, 1_760_000_000_000)).unwrap();
        let now = 1_800_000_000_000;
        let q = window("status:418", 30);
        assert!(matches!(load(&conn, &q, now, Duration::ZERO).unwrap(), Answer::Scan(_)));
        let q = window("status:404", 30);
        match load(&conn, &q, now, Duration::from_secs(60)).unwrap() {
            Answer::Page(page) => assert_eq!(page.rows.len(), 60),
            Answer::Scan(_) => panic!("a common match was searched in slices"),
        }
    }

    /// The histogram counts, per interval and class, what a plain count of the rows finds: with
    /// the counts behind, caught up and rebuilt, filtered through the indexes and not.
    #[test]
    fn the_histogram_counts_what_the_rows_hold() {
        use crate::store::histogram::{self, status_class, Query as HQuery};
        use crate::store::window::Listing;
        let (_dir, _path, conn) = store();
        let mut rng = SmallRng::seed_from_u64(8);
        access::insert_many(&conn, &rows(&mut rng, 5_000, 1_760_000_000_000)).unwrap();
        let now = 1_800_000_000_000;
        let brute = |conn: &Connection, text: &str, h: &histogram::Histogram| {
            let begin = h.end_ms - h.bucket_ms * h.counts.len() as i64;
            let mut counts = vec![[0u64; histogram::CLASSES]; h.counts.len()];
            let f = compile(text, &access::FIELDS, now).unwrap();
            let cond = f.as_ref().map_or("1".to_string(), |f| f.sql.clone());
            let sql = format!("SELECT ts, status FROM access_events WHERE ts >= ? AND ts < ? AND ({cond})");
            let mut params = vec![Value::Integer(begin), Value::Integer(h.end_ms)];
            params.extend(f.map(|f| f.params).unwrap_or_default());
            let mut stmt = conn.prepare(&sql).unwrap();
            let mut rows = stmt.query(params_from_iter(params)).unwrap();
            while let Some(r) = rows.next().unwrap() {
                let (ts, status): (i64, i64) = (r.get(0).unwrap(), r.get(1).unwrap());
                counts[((ts - begin) / h.bucket_ms) as usize][status_class(status)] += 1;
            }
            counts
        };
        let check = |conn: &Connection, rng: &mut SmallRng| {
            for text in ["", "login", "ip:203.0.113.7", "status:404", "!status:401 bytes>500"] {
                let bucket_ms = histogram::ZOOMS[rng.gen_range(0..4)];
                let q = HQuery {
                    listing: Listing::Access,
                    filter: compile(text, &access::FIELDS, now).unwrap(),
                    bucket_ms,
                    buckets: rng.gen_range(5..120),
                };
                let h = histogram::load(conn, &q).unwrap();
                assert_eq!(h.partial, None, "{text}");
                assert_eq!(h.counts, brute(conn, text, &h), "{text} at {bucket_ms} ms a column");
                assert!(h.peak() > 0, "{text}: the newest interval holds the newest event");
            }
        };
        check(&conn, &mut rng);
        index_chunk(&indexes(&conn), 2_000).unwrap();
        check(&conn, &mut rng);
        catch_up(&conn).unwrap();
        check(&conn, &mut rng);
        let counted: i64 =
            conn.query_row("SELECT sum(n) FROM access_counts WHERE span = 60000", [], |r| r.get(0)).unwrap();
        assert_eq!(counted, 5_000);
        access::insert_many(&conn, &rows(&mut rng, 700, 1_760_005_000_000)).unwrap();
        check(&conn, &mut rng);
        // The newest rows deleted and their ids handed out again: the counts start over.
        catch_up(&conn).unwrap();
        conn.execute("DELETE FROM access_events WHERE id > 5200", []).unwrap();
        access::insert_many(&conn, &rows(&mut rng, 300, 1_760_006_000_000)).unwrap();
        check(&conn, &mut rng);
        catch_up(&conn).unwrap();
        check(&conn, &mut rng);
        let counted: i64 =
            conn.query_row("SELECT sum(n) FROM access_counts WHERE span = 3600000", [], |r| r.get(0)).unwrap();
        assert_eq!(counted, 5_500);
    }

    /// Another store's indexes copied beside this one are never read as its own: a reader scans,
    /// and the next read-write open empties them and the indexer rebuilds them from this store.
    #[test]
    fn another_stores_indexes_are_not_read_and_are_rebuilt() {
        let (_dir, path, conn) = store();
        let mut rng = SmallRng::seed_from_u64(12);
        access::insert_many(&conn, &rows(&mut rng, 3_000, 1_760_000_000_000)).unwrap();
        let (_other_dir, other_path, other) = store();
        access::insert_many(&other, &rows(&mut rng, 1_000, 1_760_000_000_000)).unwrap();
        catch_up(&other).unwrap();
        assert_eq!(listed_by_address(&other), 1_000);
        drop(other);
        drop(conn);
        for (from, to) in
            crate::store::index_db::files_of(&other_path).iter().zip(crate::store::index_db::files_of(&path))
        {
            let _ = std::fs::remove_file(&to);
            if from.exists() {
                std::fs::copy(from, &to).unwrap();
            }
        }
        let reader = crate::store::open(&path, crate::store::Access::ReadOnly).unwrap();
        assert_eq!(indexed_through(&reader).unwrap(), 0, "the copy is not read");
        assert_eq!(listed_by_address(&reader), 0);
        assert!(same_rows_as_plain_scan(&reader, &mut rng, 200) > 50);
        let conn = crate::store::open(&path, crate::store::Access::ReadWrite).unwrap();
        assert_eq!(indexed_through(&conn).unwrap(), 0, "emptied");
        assert_eq!(catch_up(&conn).unwrap().through, 3_000);
        let counted: i64 =
            conn.query_row("SELECT sum(n) FROM access_counts WHERE span = 60000", [], |r| r.get(0)).unwrap();
        assert_eq!(counted, 3_000);
        assert_eq!(listed_by_address(&conn), 3_000);
        let login = compile("login", &access::FIELDS, 1_800_000_000_000).unwrap().unwrap();
        assert!(narrow(&conn, &login).unwrap().is_some());
        assert!(same_rows_as_plain_scan(&conn, &mut rng, 200) > 50);
    }
}
