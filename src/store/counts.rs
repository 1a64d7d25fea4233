//! The histogram's counts of access events per minute and per hour by exact status
//! (`access_counts`): kept by the indexer (`store::indexer`) with each chunk, read by
//! `store::histogram`.

/// Counts events `?1 < id <= ?2` per minute and per hour by exact status into `access_counts`;
/// the start of a span is rounded down even for times before 1970.
pub(super) const COUNT_NEW: &str = "INSERT INTO access_counts (span, start, status, n, max_bytes) \
     SELECT s.span, ts - ((ts % s.span) + s.span) % s.span AS start, status, count(*), max(bytes) \
     FROM access_events, (SELECT 60000 AS span UNION ALL SELECT 3600000) AS s \
     WHERE id > ?1 AND id <= ?2 GROUP BY s.span, start, status \
     ON CONFLICT (span, start, status) DO UPDATE SET n = n + excluded.n, max_bytes = max(max_bytes, excluded.max_bytes)";
