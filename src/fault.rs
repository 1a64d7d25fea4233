//! Fault injection for the crash tests: `RAMPART_FAULT=<point>` makes that point fail the way a
//! crash would (an abort in the middle of isolating, a panic in the console).

pub const ENV: &str = "RAMPART_FAULT";

/// Whether this run was asked to fail at `point`.
pub fn at(point: &str) -> bool {
    std::env::var(ENV).is_ok_and(|v| v == point)
}
