//! Sources: tasks of the collector that read the real components and write what they see.

pub mod cloudwatch;
pub mod cloudwatch_publish;
pub mod docker;
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
    let ok = health == Health::Ok;
    let status = SourceStatus {
        source: source.into(),
        health,
        detail: detail.clone(),
        last_ok: ok.then(now_ms),
        last_error: (!ok).then_some(detail),
    };
    writer.send(Write::Status(status)).await.is_ok()
}
