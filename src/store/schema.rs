//! The store's schema as an ordered list of migrations; `PRAGMA user_version` counts those applied.

/// Each entry moves the schema one version forward. Never edit a shipped entry: append a new one.
pub const MIGRATIONS: &[&str] = &[
    // version 1: the first schema (see DESIGN.md, "Data model").
    r#"
    CREATE TABLE tenants (
        id            INTEGER PRIMARY KEY,
        name          TEXT NOT NULL UNIQUE,
        label_selector TEXT,
        status        TEXT NOT NULL DEFAULT 'active',
        isolated_at   INTEGER,
        isolated_by   TEXT,
        reason        TEXT,
        updated_at    INTEGER NOT NULL
    );
    CREATE TABLE containers (
        id            TEXT PRIMARY KEY,
        tenant        TEXT NOT NULL,
        name          TEXT NOT NULL,
        image         TEXT NOT NULL,
        state         TEXT NOT NULL,
        networks_json TEXT NOT NULL DEFAULT '[]',
        posture_json  TEXT NOT NULL DEFAULT '{}',
        updated_at    INTEGER NOT NULL
    );
    CREATE INDEX containers_by_tenant ON containers(tenant);

    CREATE TABLE access_events (
        id            INTEGER PRIMARY KEY,
        ts            INTEGER NOT NULL,
        tenant        TEXT NOT NULL DEFAULT '',
        src_ip        TEXT NOT NULL,
        user          TEXT,
        method        TEXT NOT NULL DEFAULT '',
        path          TEXT NOT NULL DEFAULT '',
        status        INTEGER NOT NULL DEFAULT 0,
        bytes         INTEGER NOT NULL DEFAULT 0,
        user_agent    TEXT NOT NULL DEFAULT '',
        target_tenant TEXT,
        flags         INTEGER NOT NULL DEFAULT 0,
        source        TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX access_events_by_ts ON access_events(ts);

    CREATE TABLE alerts (
        id            INTEGER PRIMARY KEY,
        ts            INTEGER NOT NULL,
        priority      INTEGER NOT NULL,
        rule          TEXT NOT NULL,
        source        TEXT NOT NULL DEFAULT '',
        hostname      TEXT NOT NULL DEFAULT '',
        tenant        TEXT,
        output        TEXT NOT NULL DEFAULT '',
        output_fields_json TEXT NOT NULL DEFAULT '{}',
        tags          TEXT NOT NULL DEFAULT '',
        src_ip        TEXT,
        acked_by      TEXT,
        acked_at      INTEGER
    );
    CREATE INDEX alerts_by_ts ON alerts(ts);
    CREATE INDEX alerts_unacked ON alerts(priority) WHERE acked_at IS NULL;

    CREATE TABLE bans (
        id            INTEGER PRIMARY KEY,
        jail          TEXT NOT NULL,
        ip            TEXT NOT NULL,
        banned_at     INTEGER NOT NULL,
        ban_seconds   INTEGER NOT NULL,
        ban_count     INTEGER NOT NULL DEFAULT 1,
        failures      INTEGER NOT NULL DEFAULT 0,
        matches_json  TEXT NOT NULL DEFAULT '[]',
        source        TEXT NOT NULL DEFAULT 'fail2ban',
        tenant        TEXT,
        unbanned_at   INTEGER,
        unbanned_by   TEXT
    );
    CREATE INDEX bans_by_ip ON bans(ip);

    CREATE TABLE integrity_targets (
        id            INTEGER PRIMARY KEY,
        name          TEXT NOT NULL UNIQUE,
        tenant        TEXT,
        root          TEXT NOT NULL,
        manifest_path TEXT NOT NULL,
        pubkey_path   TEXT NOT NULL
    );
    CREATE TABLE integrity_runs (
        id            INTEGER PRIMARY KEY,
        target        TEXT NOT NULL,
        started       INTEGER NOT NULL,
        finished      INTEGER,
        signature_ok  INTEGER,
        checked       INTEGER NOT NULL DEFAULT 0,
        modified      INTEGER NOT NULL DEFAULT 0,
        added         INTEGER NOT NULL DEFAULT 0,
        removed       INTEGER NOT NULL DEFAULT 0,
        unreadable    INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX integrity_runs_by_target ON integrity_runs(target, id);
    CREATE TABLE integrity_changes (
        run           INTEGER NOT NULL,
        path          TEXT NOT NULL,
        kind          TEXT NOT NULL,
        before_json   TEXT,
        after_json    TEXT
    );
    CREATE INDEX integrity_changes_by_run ON integrity_changes(run);

    CREATE TABLE isolation_journal (
        id            INTEGER PRIMARY KEY,
        tenant        TEXT NOT NULL,
        container     TEXT NOT NULL,
        step          TEXT NOT NULL,
        state_before_json TEXT NOT NULL,
        done          INTEGER NOT NULL DEFAULT 0
    );

    CREATE TABLE audit (
        id            INTEGER PRIMARY KEY,
        ts            INTEGER NOT NULL,
        operator      TEXT NOT NULL,
        ssh_client    TEXT,
        host          TEXT NOT NULL,
        action        TEXT NOT NULL,
        target        TEXT NOT NULL,
        reason        TEXT,
        outcome       TEXT NOT NULL,
        detail_json   TEXT NOT NULL DEFAULT '{}',
        prev_hash     TEXT NOT NULL,
        hash          TEXT NOT NULL
    );
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

    CREATE TABLE source_status (
        source        TEXT PRIMARY KEY,
        state         TEXT NOT NULL,
        detail        TEXT NOT NULL DEFAULT '',
        last_ok       INTEGER,
        last_error    TEXT
    );
    "#,
    // version 2: Fail2Ban's bans are kept in step by identity; jails known to the host.
    r#"
    CREATE UNIQUE INDEX bans_identity ON bans(jail, ip, banned_at);
    CREATE TABLE jails (
        name          TEXT PRIMARY KEY,
        source        TEXT NOT NULL
    );
    "#,
    // version 3: where each tailed log file was read up to, committed with the rows it produced.
    r#"
    CREATE TABLE tail_positions (
        path          TEXT PRIMARY KEY,
        inode         INTEGER NOT NULL,
        offset        INTEGER NOT NULL,
        lines         INTEGER NOT NULL DEFAULT 0,
        unparsed      INTEGER NOT NULL DEFAULT 0
    );
    "#,
    // version 4: which access events an alert of rampart's own rules was raised for.
    r#"
    CREATE TABLE alert_events (
        alert         INTEGER NOT NULL,
        event         INTEGER NOT NULL,
        PRIMARY KEY (alert, event)
    );
    "#,
    // version 5: a tenant's active bans without reading each ban's matched lines (which sit in
    // overflow pages): the Tenants pane took 58 ms with 10,000 bans, 1 ms with this index.
    r#"
    CREATE INDEX bans_active ON bans(tenant, unbanned_at, ban_seconds, banned_at);
    "#,
    // version 6: files imported with `rampart ingest`, so that the same file is not imported twice.
    r#"
    CREATE TABLE imports (
        id            INTEGER PRIMARY KEY,
        kind          TEXT NOT NULL,
        fingerprint   TEXT NOT NULL,
        path          TEXT NOT NULL,
        lines         INTEGER NOT NULL,
        stored        INTEGER NOT NULL,
        imported_at   INTEGER NOT NULL,
        imported_by   TEXT NOT NULL
    );
    CREATE INDEX imports_by_fingerprint ON imports(fingerprint);
    "#,
    // version 7: real integrity verification: the key a target was baselined with and when, how
    // often it is re-verified, and per run the key that was checked and why a run failed.
    r#"
    ALTER TABLE integrity_targets ADD COLUMN key_fingerprint TEXT;
    ALTER TABLE integrity_targets ADD COLUMN every_ms INTEGER;
    ALTER TABLE integrity_targets ADD COLUMN baselined_at INTEGER;
    ALTER TABLE integrity_runs ADD COLUMN error TEXT;
    ALTER TABLE integrity_runs ADD COLUMN key_fingerprint TEXT;
    "#,
    // version 8: how far rampart's rules have judged the access events, in a table of its own
    // (it was a make-believe file in tail_positions); a store without it is judged from the start.
    r#"
    CREATE TABLE judged_through (
        only          INTEGER PRIMARY KEY CHECK (only = 1),
        event         INTEGER NOT NULL
    );
    INSERT INTO judged_through (only, event) SELECT 1, offset FROM tail_positions WHERE path = 'rampart:detect';
    DELETE FROM tail_positions WHERE path = 'rampart:detect';
    "#,
    // version 9: where each source (not a file) has read up to, as an opaque position
    // written in the same transaction as its rows; and the event ids a source stored within its
    // re-read window, the unique key that makes a re-read store nothing twice.
    r#"
    CREATE TABLE cursors (
        source        TEXT PRIMARY KEY,
        position      TEXT NOT NULL,
        updated_at    INTEGER
    );
    CREATE TABLE cursor_seen (
        source        TEXT NOT NULL,
        event_id      TEXT NOT NULL,
        ts            INTEGER NOT NULL,
        PRIMARY KEY (source, event_id)
    ) WITHOUT ROWID;
    CREATE INDEX cursor_seen_by_ts ON cursor_seen(source, ts);
    "#,
    // version 10: indexes over the access events that imports and live writes never wait for:
    // the collector fills them in chunks after the rows are stored (`store::search`), up to
    // `access_indexed_through`. A trigram index of the text a filter searches (contentless, no
    // positions: only which rows hold each trigram; every candidate is checked against the row)
    // and the rows of each source address. Filters use them for the rows they cover and scan the
    // rest. `ts` is that event's time (-1 for an id no row has), so an index whose last event was
    // deleted and its id handed out again is seen to be stale and rebuilt.
    r#"
    CREATE VIRTUAL TABLE access_text USING fts5(
        path, user_agent, src_ip, user, content='', detail='none', tokenize='trigram'
    );
    CREATE TABLE access_by_ip (
        src_ip        TEXT NOT NULL,
        id            INTEGER NOT NULL,
        PRIMARY KEY (src_ip, id)
    ) WITHOUT ROWID;
    CREATE TABLE access_indexed_through (
        only          INTEGER PRIMARY KEY CHECK (only = 1),
        event         INTEGER NOT NULL,
        ts            INTEGER NOT NULL
    );
    "#,
    // version 11: the Sources view. Each source's STATE in a few words and its counts, lines that
    // did not parse kept for inspection (the newest `unparsed::KEEP` per source, each capped),
    // and the host an access event came from (a CloudWatch stream), where a source knows it.
    // Columns are added, never a table rewritten: a 10-million-row store migrates at once.
    r#"
    ALTER TABLE source_status ADD COLUMN summary TEXT;
    ALTER TABLE source_status ADD COLUMN stored INTEGER;
    ALTER TABLE source_status ADD COLUMN unparsed INTEGER;
    CREATE TABLE unparsed_lines (
        id            INTEGER PRIMARY KEY,
        source        TEXT NOT NULL,
        ts            INTEGER NOT NULL,
        reason        TEXT NOT NULL,
        line          TEXT NOT NULL
    );
    CREATE INDEX unparsed_lines_by_source ON unparsed_lines(source, id);
    ALTER TABLE access_events ADD COLUMN host TEXT;
    "#,
    // version 12: every end of a ban, in the order bans end, whoever ended it (an operator through
    // rampart, or Fail2Ban itself: `fail2ban-client unban`, a restart without the ban), so the
    // publisher can put unbans out in order like every other row. Bans inserted already ended
    // (Fail2Ban's history) carry their end in their own row. And other hosts' published audit
    // rows, bans, ends of bans and integrity runs (`store::fleet`), one row each.
    r#"
    CREATE TABLE ban_ends (
        id            INTEGER PRIMARY KEY,
        ban           INTEGER NOT NULL,
        at            INTEGER NOT NULL,
        by            TEXT
    );
    CREATE TRIGGER bans_ended AFTER UPDATE OF unbanned_at ON bans
        WHEN old.unbanned_at IS NULL AND new.unbanned_at IS NOT NULL
        BEGIN INSERT INTO ban_ends (ban, at, by) VALUES (new.id, new.unbanned_at, new.unbanned_by); END;
    CREATE TABLE fleet (
        id            INTEGER PRIMARY KEY,
        origin        TEXT NOT NULL,
        kind          TEXT NOT NULL,
        ref_id        INTEGER NOT NULL,
        ts            INTEGER NOT NULL,
        summary       TEXT NOT NULL,
        fields_json   TEXT NOT NULL DEFAULT '{}',
        UNIQUE (origin, kind, ref_id)
    );
    "#,
    // version 13: every read position is a cursor (version 9's table): each followed file's as
    // `file:<path>` with `{"inode","offset","lines","unparsed"}`, and the detection rules' as
    // `rampart:detect` with the last judged event's id. Their own tables go.
    r#"
    INSERT OR REPLACE INTO cursors (source, position, updated_at)
        SELECT 'file:' || path,
               json_object('inode', inode, 'offset', offset, 'lines', lines, 'unparsed', unparsed),
               NULL
        FROM tail_positions;
    INSERT OR REPLACE INTO cursors (source, position, updated_at)
        SELECT 'rampart:detect', CAST(event AS TEXT), NULL FROM judged_through WHERE only = 1;
    DROP TABLE tail_positions;
    DROP TABLE judged_through;
    "#,
    // version 14: access events counted per minute and per hour by
    // exact status, kept by the same indexer in the same chunk transactions as the indexes of
    // version 10, so the histogram over the Access log reads a few thousand counts whatever the
    // store holds. `max_bytes` lets a `bytes>N` filter skip the minutes that cannot match. The
    // indexes are marked stale (a `ts` no event has) so the indexer starts over and counts every
    // stored event once.
    r#"
    CREATE TABLE access_counts (
        span          INTEGER NOT NULL,
        start         INTEGER NOT NULL,
        status        INTEGER NOT NULL,
        n             INTEGER NOT NULL,
        max_bytes     INTEGER NOT NULL,
        PRIMARY KEY (span, start, status)
    ) WITHOUT ROWID;
    UPDATE access_indexed_through SET ts = -2;
    "#,
    // version 15: a zone map of the access events (`store::zones`): per block of 4,096 ids, the
    // range of times, status codes and sizes its rows hold, kept by the same indexer in the same
    // chunk transactions, so a time window, a status or a size rules out the blocks that cannot
    // match without reading them. And the rows of each source address in an FTS5 index with the
    // whole address as its one token, instead of a B-tree keyed by address: a chunk of events
    // from many addresses touched a page of that B-tree per event (5,000 events took 0.33-0.44 s
    // of the writer's time at 10,000,000 stored, against 10 ms as one more FTS5 segment). The
    // indexes are marked stale so every event is indexed again.
    r#"
    DROP TABLE access_by_ip;
    CREATE VIRTUAL TABLE access_ip USING fts5(
        src_ip, content='', detail='none', tokenize="ascii tokenchars '.:'"
    );
    CREATE TABLE access_blocks (
        block         INTEGER PRIMARY KEY,
        min_ts        INTEGER NOT NULL,
        max_ts        INTEGER NOT NULL,
        min_status    INTEGER NOT NULL,
        max_status    INTEGER NOT NULL,
        statuses      INTEGER NOT NULL,
        min_bytes     INTEGER NOT NULL,
        max_bytes     INTEGER NOT NULL
    );
    UPDATE access_indexed_through SET ts = -2;
    "#,
    // version 16: which bytes and adjacent byte pairs each block's text holds (`store::grams`),
    // in the zone map, so text under three characters rules out the blocks that lack it. The
    // indexes are marked stale so every block's set is built.
    r#"
    ALTER TABLE access_blocks ADD COLUMN grams BLOB;
    UPDATE access_indexed_through SET ts = -2;
    "#,
    // version 17: which store this is (`store::audit::Identity`): a random id made when the store
    // is created (or reaches this version), put into every message the publisher sends, so that a
    // host's stream tells one store's rows — and audit chain — from another's. A store that had
    // published before it had an id owns the stream's messages that carry none
    // (`adopts_unlabeled`). Guarded like the audit log; `rampart audit verify` checks the guards.
    r#"
    CREATE TABLE store_identity (
        only          INTEGER PRIMARY KEY CHECK (only = 1),
        id            TEXT NOT NULL,
        created_at    INTEGER NOT NULL,
        adopts_unlabeled INTEGER NOT NULL
    );
    INSERT INTO store_identity (only, id, created_at, adopts_unlabeled)
        SELECT 1, lower(hex(randomblob(16))), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER),
               EXISTS (SELECT 1 FROM cursors WHERE source LIKE 'cloudwatch-publish:%');
    CREATE TRIGGER store_identity_no_update BEFORE UPDATE ON store_identity
        BEGIN SELECT RAISE(ABORT, 'a store''s identity never changes'); END;
    CREATE TRIGGER store_identity_no_delete BEFORE DELETE ON store_identity
        BEGIN SELECT RAISE(ABORT, 'a store''s identity never changes'); END;
    "#,
    // version 18: other hosts' published rows keyed by where they were read (log group and stream), not by
    // the origin they claim: a row put into another stream can no longer take a host's place.
    // Rows stored before have no group; their stream is their origin. The publishing store's id is
    // part of the key too: a new store on a host numbers its rows from 1 again.
    r#"
    CREATE TABLE fleet_by_stream (
        id            INTEGER PRIMARY KEY,
        origin        TEXT NOT NULL,
        log_group     TEXT NOT NULL DEFAULT '',
        stream        TEXT NOT NULL DEFAULT '',
        store         TEXT NOT NULL DEFAULT '',
        kind          TEXT NOT NULL,
        ref_id        INTEGER NOT NULL,
        ts            INTEGER NOT NULL,
        summary       TEXT NOT NULL,
        fields_json   TEXT NOT NULL DEFAULT '{}',
        UNIQUE (log_group, stream, store, kind, ref_id)
    );
    INSERT INTO fleet_by_stream (id, origin, log_group, stream, kind, ref_id, ts, summary, fields_json)
        SELECT id, origin, '', origin, kind, ref_id, ts, summary, fields_json FROM fleet;
    DROP TABLE fleet;
    ALTER TABLE fleet_by_stream RENAME TO fleet;
    "#,
    // version 19: an integrity target's `key_fingerprint` becomes its pinned key, the only key whose signature
    // counts. Targets rampart baselined keep theirs (taken from the signing key at `baseline` or
    // `accept`); the others' came from whatever key file lay on disk when the config was read, so
    // they are unpinned, and their verification fails saying how to pin (no silent trust).
    r#"
    UPDATE integrity_targets SET key_fingerprint = NULL WHERE baselined_at IS NULL;
    "#,
    // version 20: when an isolated tenant was isolated again by itself (a container of it restarted or
    // a new one started), and what happened, for the tenant's row; and the bans `[[respond]]` rules
    // made (or, dry, would have made), so the Bans pane tells rampart's from the others and the
    // rate cap holds across restarts.
    r#"
    ALTER TABLE tenants ADD COLUMN reisolated_at INTEGER;
    ALTER TABLE tenants ADD COLUMN reisolated TEXT;
    CREATE TABLE automatic_bans (
        id            INTEGER PRIMARY KEY,
        ts            INTEGER NOT NULL,
        jail          TEXT NOT NULL,
        ip            TEXT NOT NULL,
        rule          TEXT NOT NULL,
        alert_id      INTEGER NOT NULL,
        dry_run       INTEGER NOT NULL DEFAULT 0,
        outcome       TEXT NOT NULL,
        until         INTEGER,
        lifted_at     INTEGER
    );
    CREATE INDEX automatic_bans_by_ip ON automatic_bans(ip, jail);
    "#,
    // version 21: fire drills (`rampart drill`): what each attacked, from which address, and its
    // checklist, so that the alerts and bans it caused are told from an incident's.
    r#"
    CREATE TABLE drills (
        id            INTEGER PRIMARY KEY,
        tenant        TEXT NOT NULL,
        scenario      TEXT NOT NULL,
        attacker_ip   TEXT,
        started_at    INTEGER NOT NULL,
        finished_at   INTEGER,
        report_json   TEXT
    );
    "#,
    // version 22: the access events lose their time index. Every row stored paid for it (a second
    // B-tree insert, 0.13 s of the writer's 0.70 s per million rows imported) while the zone map the
    // indexer keeps (version 15) already bounds every time window by ids; the newest events by time
    // are read block by block in the zones' time order (`store::newest`).
    r#"
    DROP INDEX IF EXISTS access_events_by_ts;
    "#,
    // version 23: the indexes over the access events move to a file of their own beside the store
    // (`store::index_db`), so that the indexer's transactions take that file's lock and never hold
    // the writer; they are rebuilt there from the events.
    r#"
    DROP TABLE IF EXISTS access_text;
    DROP TABLE IF EXISTS access_ip;
    DROP TABLE IF EXISTS access_indexed_through;
    DROP TABLE IF EXISTS access_counts;
    DROP TABLE IF EXISTS access_blocks;
    "#,
];

/// The newest schema version this build understands.
pub fn latest_version() -> i64 {
    MIGRATIONS.len() as i64
}
