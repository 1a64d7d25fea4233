//! Known probes (`[[detect.known_probe]]`): a health checker, the company's own scanner — requests
//! matching every key a probe gives (a network, a path glob, a user agent substring) are never
//! counted by any rule. A path and a user agent are the client's to write: a probe that names no
//! network hides no attack in the request target (a health check has none to hide), which is
//! still judged.

use globset::GlobMatcher;
use serde::Deserialize;

use super::{network, within};

/// One `[[detect.known_probe]]`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct KnownProbe {
    /// What it is, for the config's reader.
    pub name: String,
    /// The network it comes from (`10.0.0.0/8`, `2001:db8::/32`, or one address).
    pub network: Option<String>,
    /// The paths it asks for, as a glob (`*` any characters), the query left out.
    pub path: Option<String>,
    /// Text its user agent holds (letter case counts).
    pub user_agent: Option<String>,
}

/// What is wrong with a probe, in words; `None` when it is good.
pub fn problem(probe: &KnownProbe) -> Option<(&'static str, String)> {
    if probe.network.is_none() && probe.path.is_none() && probe.user_agent.is_none() {
        return Some(("name", "names no network, path or user_agent, so it would match every request".into()));
    }
    if let Some(n) = probe.network.as_deref().filter(|n| network(n).is_none()) {
        return Some((
            "network",
            format!("network = \"{n}\" is not a network like 10.0.0.0/8, 2001:db8::/32 or one address"),
        ));
    }
    if let Some(p) = &probe.path {
        if let Err(why) = path_glob(p) {
            return Some(("path", format!("path = \"{p}\" is not a path glob like /healthz or /status/*: {why}")));
        }
    }
    if let Some(a) = probe.user_agent.as_deref().filter(|a| a.trim().is_empty()) {
        return Some(("user_agent", format!("user_agent = \"{a}\" would match every user agent; give text it holds")));
    }
    None
}

fn path_glob(text: &str) -> Result<GlobMatcher, String> {
    if !text.starts_with(['/', '*']) {
        return Err("it starts with / or *".into());
    }
    globset::GlobBuilder::new(text)
        .literal_separator(false)
        .backslash_escape(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| e.kind().to_string())
}

/// A probe as the rules match it.
struct Matcher {
    network: Option<(std::net::IpAddr, u8)>,
    path: Option<GlobMatcher>,
    user_agent: Option<String>,
}

/// What a request matched among the known probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known {
    No,
    /// A probe that names its network: nothing it sends is judged.
    FromItsNetwork,
    /// A probe told by path or user agent only: its requests are not counted, their targets judged.
    ByWhatItSends,
}

/// The known probes of the config (those with a problem left out: the config check refuses them).
#[derive(Default)]
pub struct Probes(Vec<Matcher>);

impl Probes {
    pub fn new(probes: &[KnownProbe]) -> Probes {
        let good = probes.iter().filter(|p| problem(p).is_none()).map(|p| Matcher {
            network: p.network.as_deref().and_then(network),
            path: p.path.as_deref().and_then(|g| path_glob(g).ok()),
            user_agent: p.user_agent.clone(),
        });
        Probes(good.collect())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Which probe, if any, sent a request from `src_ip` for `target` with `user_agent`.
    pub fn of(&self, src_ip: &str, target: &str, user_agent: &str) -> Known {
        let path = target.split('?').next().unwrap_or(target);
        let mut ip = None;
        let mut found = Known::No;
        for m in &self.0 {
            if m.path.as_ref().is_some_and(|g| !g.is_match(path))
                || m.user_agent.as_deref().is_some_and(|a| !user_agent.contains(a))
            {
                continue;
            }
            let Some(net) = m.network else {
                found = Known::ByWhatItSends;
                continue;
            };
            let ip = *ip.get_or_insert_with(|| src_ip.parse::<std::net::IpAddr>().ok());
            if ip.is_some_and(|ip| within(ip, net)) {
                return Known::FromItsNetwork;
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(network: Option<&str>, path: Option<&str>, user_agent: Option<&str>) -> KnownProbe {
        KnownProbe {
            name: String::new(),
            network: network.map(String::from),
            path: path.map(String::from),
            user_agent: user_agent.map(String::from),
        }
    }

    #[test]
    fn a_request_is_a_known_probe_when_it_matches_every_key_given() {
        let probes = Probes::new(&[
            probe(Some("10.0.0.0/8"), None, Some("AcmeScan")),
            probe(None, Some("/healthz"), Some("kube-probe/")),
            probe(None, Some("/status/*"), None),
        ]);
        assert_eq!(probes.of("10.1.2.3", "/../../etc/passwd", "AcmeScan/2.0"), Known::FromItsNetwork);
        assert_eq!(probes.of("203.0.113.9", "/x", "AcmeScan/2.0"), Known::No, "its name from elsewhere");
        assert_eq!(probes.of("10.1.2.3", "/x", "curl/8"), Known::No, "its network with another agent");
        assert_eq!(probes.of("192.0.2.1", "/healthz", "kube-probe/1.29"), Known::ByWhatItSends);
        assert_eq!(probes.of("192.0.2.1", "/healthz?full=1", "kube-probe/1.29"), Known::ByWhatItSends);
        assert_eq!(probes.of("192.0.2.1", "/healthz", "curl/8"), Known::No);
        assert_eq!(probes.of("192.0.2.1", "/status/db/replica", "curl/8"), Known::ByWhatItSends);
        assert_eq!(probes.of("192.0.2.1", "/Status/db", "curl/8"), Known::No, "paths are told apart by case");
    }

    #[test]
    fn probes_that_are_wrong_say_why() {
        let why = |p: KnownProbe| problem(&p).map(|(key, why)| format!("{key}: {why}"));
        assert_eq!(
            why(probe(None, None, None)).unwrap(),
            "name: names no network, path or user_agent, so it would match every request"
        );
        assert_eq!(
            why(probe(Some("office"), None, None)).unwrap(),
            "network: network = \"office\" is not a network like 10.0.0.0/8, 2001:db8::/32 or one address"
        );
        assert_eq!(
            why(probe(None, Some("healthz"), None)).unwrap(),
            "path: path = \"healthz\" is not a path glob like /healthz or /status/*: it starts with / or *"
        );
        assert!(why(probe(None, Some("/a/[b"), None))
            .unwrap()
            .starts_with("path: path = \"/a/[b\" is not a path glob"));
        assert_eq!(
            why(probe(None, None, Some(" "))).unwrap(),
            "user_agent: user_agent = \" \" would match every user agent; give text it holds"
        );
        assert_eq!(why(probe(Some("10.0.0.1"), Some("/healthz"), Some("kube-probe"))), None);
    }
}
