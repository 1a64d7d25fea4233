//! The one way a test (or a bench borrowing the tests' helpers) waits.

/// The one way a test waits: until `ok` holds of what `probe` sees, polling, within a deadline far
/// beyond any normal run (never a fixed sleep); fails saying what it waited for and last saw.
pub fn wait_for<T: std::fmt::Debug>(what: &str, mut probe: impl FnMut() -> T, ok: impl Fn(&T) -> bool) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(180);
    loop {
        let seen = probe();
        if ok(&seen) {
            return seen;
        }
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}; last seen {seen:?}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
