//! The histogram above the Access log and the Alerts pane: a column per interval, the newest on
//! the right, each column's events stacked by class (least severe at the bottom) in eighths of a
//! line, and a line saying what a column stands for.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use crate::config::Theme;
use crate::pane::Pane;
use crate::store::histogram::{interval_name, Histogram, CLASSES};
use crate::text::format;

/// A cell filled from the bottom by 0 to 8 eighths.
const EIGHTHS: [&str; 9] = [" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"];

/// The style of each class of `pane`'s histogram, least severe first.
pub fn styles(theme: &Theme, pane: Pane) -> [Style; CLASSES] {
    match pane {
        Pane::Alerts => {
            [theme.histogram_notice, theme.histogram_warning, theme.histogram_error, theme.histogram_critical]
        }
        _ => [theme.histogram_2xx, theme.histogram_3xx, theme.histogram_4xx, theme.histogram_5xx],
    }
}

/// Each class's height in eighths of a line, scaled so that the fullest column fills `full`; a
/// class with any events gets at least one eighth, so a single 5xx among thousands still shows.
fn heights(counts: &[u64; CLASSES], peak: u64, full: u64) -> [u64; CLASSES] {
    let mut h = [0; CLASSES];
    if peak == 0 {
        return h;
    }
    for (slot, n) in h.iter_mut().zip(counts) {
        if *n > 0 {
            *slot = ((n * full + peak / 2) / peak).max(1);
        }
    }
    // The minimum eighths can overfill a full column: the largest class gives them back.
    while h.iter().sum::<u64>() > full {
        let Some(largest) = (0..CLASSES).max_by_key(|k| (h[*k], std::cmp::Reverse(*k))) else { break };
        h[largest] -= 1;
    }
    h
}

/// Draws `h` into `area`, the newest interval in the rightmost column.
pub fn draw(buf: &mut Buffer, area: Rect, h: &Histogram, styles: &[Style; CLASSES]) {
    let full = u64::from(area.height) * 8;
    let peak = h.peak();
    let shown = h.counts.len().min(area.width as usize);
    let first_x = area.right() - shown as u16;
    for (i, counts) in h.counts[h.counts.len() - shown..].iter().enumerate() {
        let x = first_x + i as u16;
        let heights = heights(counts, peak, full);
        // Where each class ends, counted up from the bottom in eighths.
        let mut ends = [0u64; CLASSES];
        let mut sum = 0;
        for k in 0..CLASSES {
            sum += heights[k];
            ends[k] = sum;
        }
        for row in 0..area.height {
            let bottom = u64::from(row) * 8;
            if sum <= bottom {
                break;
            }
            let filled = (sum - bottom).min(8);
            // The class at the bottom of this cell, and whether another one starts inside it.
            let Some(k) = (0..CLASSES).find(|k| ends[*k] > bottom) else { break };
            let own = (ends[k] - bottom).min(8);
            let cell = &mut buf[(x, area.bottom() - 1 - row)];
            let mut style = Style::default().fg(styles[k].fg.unwrap_or_default());
            if own < filled {
                if let Some(above) = (k + 1..CLASSES).find(|j| heights[*j] > 0) {
                    style = style.bg(styles[above].fg.unwrap_or_default());
                }
                cell.set_symbol(EIGHTHS[own as usize]);
            } else {
                cell.set_symbol(EIGHTHS[filled as usize]);
            }
            cell.set_style(style.add_modifier(styles[k].add_modifier));
        }
    }
}

/// What a column stands for, where the histogram ends, its fullest column and, when only the
/// newest events were counted, how many: `1 min/column to 11-26 12:00 · peak 1,234`, in pieces
/// that a narrow border drops from the end (whole: a number is never cut).
pub fn caption(h: &Histogram, zoom: usize) -> Vec<String> {
    let mut pieces = vec![
        format!(" {}/column", interval_name(zoom)),
        format!(" to {}", format::time(h.end_ms)),
        format!(" · peak {}", format::thousands(h.peak())),
    ];
    if let Some((counted, of)) = h.partial {
        pieces.push(format!(" · newest {} of {} events counted", format::thousands(counted), format::thousands(of)));
    }
    pieces.push(" ".to_string());
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rare_class_still_shows_and_the_fullest_column_fills() {
        assert_eq!(heights(&[1000, 0, 0, 1], 1001, 16), [15, 0, 0, 1]);
        assert_eq!(heights(&[10, 0, 0, 0], 20, 16), [8, 0, 0, 0]);
        assert_eq!(heights(&[0; 4], 0, 16), [0; 4]);
        // Too little room for every class: the least severe give way first.
        assert_eq!(heights(&[1, 1, 1, 1], 4, 2), [0, 0, 1, 1]);
    }
}
