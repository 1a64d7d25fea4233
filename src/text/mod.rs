//! Text every output shares, below `ui/` and `cli/`: how times, durations and sizes read
//! (`format`), and text from outside made safe to put on a terminal (`sanitize`).

pub mod format;
pub mod sanitize;
