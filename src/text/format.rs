//! How times, durations and sizes read on screen (always UTC, so every operator sees the same).

use chrono::{DateTime, Utc};

fn utc(ms: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
}

/// `11-26 10:59:03`: compact, for list columns.
pub fn time(ms: i64) -> String {
    utc(ms).map_or_else(|| "?".into(), |t| t.format("%m-%d %H:%M:%S").to_string())
}

/// `2026-11-26T10:59:03.120Z`: exact, for detail views.
pub fn timestamp(ms: i64) -> String {
    utc(ms).map_or_else(|| format!("{ms} (not a valid time)"), |t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
}

/// `10:59:03 UTC`, for the header clock.
pub fn clock(ms: i64) -> String {
    utc(ms).map_or_else(String::new, |t| t.format("%H:%M:%S UTC").to_string())
}

/// `42s`, `7m`, `3h05m`, `2d04h`.
pub fn duration(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        3600..=86_399 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d{:02}h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// `512`, `12.3k`, `4.5M` bytes.
pub fn bytes(n: i64) -> String {
    match n {
        i64::MIN..=9_999 => n.to_string(),
        10_000..=999_999 => format!("{:.1}k", n as f64 / 1e3),
        _ => format!("{:.1}M", n as f64 / 1e6),
    }
}

/// `950`, `12.3k`, `3.2M`: a count of rows, short.
pub fn count(n: u64) -> String {
    match n {
        0..=9_999 => n.to_string(),
        10_000..=999_999 => format!("{:.1}k", n as f64 / 1e3),
        _ => format!("{:.1}M", n as f64 / 1e6),
    }
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Names shortened to at most `max` characters each, so that names that differ still read
/// differently: a long name keeps its start and its end (`cloudwatch:/ec…/flask-app`), where two
/// names under one prefix differ; if two still read the same, only their ends are kept, and if
/// even those are the same, the whole names.
pub fn short_labels(names: &[&str], max: usize) -> Vec<String> {
    let max = max.max(3);
    let middle = |name: &str| {
        let chars: Vec<char> = name.chars().collect();
        if chars.len() <= max {
            return name.to_string();
        }
        let head = (max - 1) / 3;
        let tail = max - 1 - head;
        chars[..head].iter().chain(['…'].iter()).chain(chars[chars.len() - tail..].iter()).collect()
    };
    let end = |name: &str| {
        let chars: Vec<char> = name.chars().collect();
        if chars.len() <= max {
            return name.to_string();
        }
        std::iter::once('…').chain(chars[chars.len() - (max - 1)..].iter().copied()).collect()
    };
    let clashes = |labels: &[String], i: usize| labels.iter().enumerate().any(|(j, l)| j != i && *l == labels[i]);
    let mut labels: Vec<String> = names.iter().map(|n| middle(n)).collect();
    for step in 0..2 {
        let redo: Vec<usize> = (0..labels.len()).filter(|i| clashes(&labels, *i)).collect();
        for i in redo {
            labels[i] = if step == 0 { end(names[i]) } else { names[i].to_string() };
        }
    }
    labels
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(42_000), "42s");
        assert_eq!(duration(7 * 60_000 + 5_000), "7m05s");
        assert_eq!(duration(3 * 3_600_000 + 5 * 60_000), "3h05m");
        assert_eq!(duration(2 * 86_400_000 + 4 * 3_600_000), "2d04h");
    }

    #[test]
    fn names_that_differ_keep_reading_differently() {
        let names = ["cloudwatch:/ecs/production/flask-app-1", "cloudwatch:/ecs/production/flask-app-2", "docker"];
        assert_eq!(short_labels(&names, 24), ["cloudwa…tion/flask-app-1", "cloudwa…tion/flask-app-2", "docker"]);
        // Same start and end, different middles: the ends alone do not help, the whole names do.
        let names = ["cloudwatch:/a/xxxxxxxxxxxxxxxxxxxxxx/end", "cloudwatch:/b/xxxxxxxxxxxxxxxxxxxxxx/end"];
        assert_eq!(short_labels(&names, 20), names);
    }

    #[test]
    fn times_are_utc() {
        assert_eq!(timestamp(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(time(86_400_000 + 1_000), "01-02 00:00:01");
    }
}
