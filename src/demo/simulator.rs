//! The demo's live source: traffic at `--rate` events per second with bursts of trouble.

use std::time::Duration;

use super::generator::Generator;
use crate::store::now_ms;
use crate::store::status::{Health, SourceStatus};
use crate::store::writer::{StoreWriter, Write};

/// How often the simulator wakes up.
const STEP: Duration = Duration::from_millis(100);

/// Runs until the writer goes away. Nothing is dropped: when the store falls behind, the
/// simulator waits (the writer's channel is bounded).
pub async fn run(writer: StoreWriter, mut gen: Generator, rate: f64) {
    // At a few events per second something notable should still happen every few seconds.
    gen.intensity = (50.0 / rate.max(0.1)).max(1.0);
    let mut ticker = tokio::time::interval(STEP);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut owed = 0.0;
    let mut sent: u64 = 0;
    let mut last_status = 0i64;
    let mut writes = Vec::new();
    loop {
        ticker.tick().await;
        owed += rate * STEP.as_secs_f64();
        let now = now_ms();
        while owed >= 1.0 {
            gen.step(now, &mut writes);
            owed -= 1.0;
        }
        sent += writes.len() as u64;
        for w in writes.drain(..) {
            if writer.send(w).await.is_err() {
                return;
            }
        }
        if now - last_status >= 5_000 {
            last_status = now;
            let status = SourceStatus {
                source: "demo".into(),
                health: Health::Ok,
                detail: format!("simulating {rate} events/s; {sent} writes so far"),
                last_ok: Some(now),
                last_error: None,
                summary: String::new(),
                stored: Some(sent as i64),
                unparsed: None,
            };
            if writer.send(Write::Status(status)).await.is_err() {
                return;
            }
        }
    }
}
