//! IP addresses read from log text. A dotted quad is read by a loop of its own: every access
//! event's address is read twice (checked by the parser, keyed by the rules), and the standard
//! library's general parser was a tenth of both. It accepts exactly what `Ipv4Addr::from_str` does
//! (four parts of 1 to 3 digits, none above 255, no leading zero); IPv6 goes to the standard one.

use std::net::{IpAddr, Ipv4Addr};

/// `text` as a dotted-quad IPv4 address, exactly as `text.parse::<Ipv4Addr>()` would read it.
pub fn ipv4(text: &str) -> Option<Ipv4Addr> {
    let b = text.as_bytes();
    if b.len() < 7 || b.len() > 15 {
        return None;
    }
    let mut octets = [0u8; 4];
    let (mut part, mut value, mut digits) = (0, 0u32, 0);
    for &c in b {
        if c == b'.' {
            if digits == 0 || part == 3 {
                return None;
            }
            octets[part] = value as u8;
            (part, value, digits) = (part + 1, 0, 0);
            continue;
        }
        let d = c.wrapping_sub(b'0');
        if d > 9 || (digits > 0 && value == 0) {
            return None; // not a digit, or a digit after a leading zero
        }
        value = value * 10 + u32::from(d);
        digits += 1;
        if value > 255 {
            return None;
        }
    }
    if part != 3 || digits == 0 {
        return None;
    }
    octets[3] = value as u8;
    Some(Ipv4Addr::from(octets))
}

/// `text` as an IP address, exactly as `text.parse::<IpAddr>()` would read it.
pub fn ip(text: &str) -> Option<IpAddr> {
    match ipv4(text) {
        Some(v4) => Some(IpAddr::V4(v4)),
        None if text.contains(':') => text.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agrees(text: &str) {
        assert_eq!(ipv4(text), text.parse::<Ipv4Addr>().ok(), "{text:?} as IPv4");
        assert_eq!(ip(text), text.parse::<IpAddr>().ok(), "{text:?} as an IP address");
    }

    #[test]
    fn reads_what_the_standard_library_reads_and_refuses_what_it_refuses() {
        for text in [
            "0.0.0.0",
            "255.255.255.255",
            "256.1.1.1",
            "1.2.3.256",
            "1.2.3.4.",
            ".1.2.3",
            "1..2.3",
            "01.2.3.4",
            "1.2.3.04",
            "1.2.3.00",
            "1.2.3.0",
            "+1.2.3.4",
            " 1.2.3.4",
            "1.2.3.4 ",
            "1.2.3",
            "1.2.3.4.5",
            "0001.2.3.4",
            "1.2.3.4444",
            "١.٢.٣.٤",
            "1.2.3.-4",
            "::1",
            "2001:db8::1",
            "::ffff:1.2.3.4",
            "1.2.3.4:80",
            "",
            "-",
        ] {
            agrees(text);
        }
        // Every string of up to 7 characters of digits and dots, and a million longer ones.
        let alphabet = b"0123456789.";
        let mut text = Vec::new();
        fn each(text: &mut Vec<u8>, alphabet: &[u8], left: usize, check: &mut dyn FnMut(&str)) {
            check(std::str::from_utf8(text).unwrap());
            if left == 0 {
                return;
            }
            for &c in alphabet {
                text.push(c);
                each(text, alphabet, left - 1, check);
                text.pop();
            }
        }
        each(&mut text, alphabet, 7, &mut |t| assert_eq!(ipv4(t), t.parse::<Ipv4Addr>().ok(), "{t:?}"));
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let alphabet = b"0012345678925..:x";
        for _ in 0..1_000_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = 7 + (x % 10) as usize;
            let t: String =
                (0..len).map(|i| alphabet[((x >> (i * 4 + 8)) % alphabet.len() as u64) as usize] as char).collect();
            agrees(&t);
        }
    }
}
