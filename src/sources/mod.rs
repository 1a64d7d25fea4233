//! Sources: tasks of the collector that read the real components and write what they see.

pub mod aws;
pub mod cloudwatch;
pub mod cloudwatch_publish;
pub mod docker;
pub mod engine_lines;
pub mod engine_logs;
pub mod fail2ban;
pub mod falco_http;
pub mod integrity;
pub mod logfile;
pub mod tail;

use crate::store::now_ms;
use crate::store::status::{Health, SourceStatus};
use crate::store::writer::{StoreWriter, Write};

/// Records a source's health for the header and its pane; false once the writer is gone.
pub async fn report(writer: &StoreWriter, source: &str, health: Health, detail: String) -> bool {
    report_as(writer, source, health, String::new(), detail).await
}

/// Records a source's health with a few words for the Sources view's STATE column (`backfilling
/// 40%`, `throttled`; empty for the health's own word).
pub async fn report_as(writer: &StoreWriter, source: &str, health: Health, summary: String, detail: String) -> bool {
    report_counted(writer, source, health, summary, detail, None).await
}

/// As [`report_as`], with the source's own counts of lines stored and not parsed (for a source
/// whose rows are not counted by the store as they are written, as `cursors` counts them).
pub async fn report_counted(
    writer: &StoreWriter,
    source: &str,
    health: Health,
    summary: String,
    detail: String,
    counts: Option<(i64, i64)>,
) -> bool {
    let ok = health == Health::Ok;
    // Work under way (`backfilling 40%`) is not an error: LAST ERROR keeps the last real one.
    let error = !ok && !at_work(&summary);
    let status = SourceStatus {
        source: source.into(),
        health,
        detail: detail.clone(),
        last_ok: ok.then(now_ms),
        last_error: error.then_some(detail),
        summary,
        stored: counts.map(|c| c.0),
        unparsed: counts.map(|c| c.1),
    };
    writer.send(Write::Status(status)).await.is_ok()
}

/// Whether a STATE says a source is at work rather than in trouble: a first read of history
/// (`backfilling 40%`) is not yet ok, and not an error either.
pub fn at_work(summary: &str) -> bool {
    summary.starts_with("backfilling")
}
