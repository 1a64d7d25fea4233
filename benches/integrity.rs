//! Integrity verification benchmark: not written yet (see the integrity issue).
fn main() {}
