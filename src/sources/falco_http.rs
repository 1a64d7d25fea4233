//! A listener for Falco's `http_output`: alerts from holders of the secret, rate-bounded per source, each once.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::BuildHasher;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::check::{listener, SECRET_PATH};
use crate::config::FalcoConfig;
use crate::parse::falco;
use crate::store::status::Health;
use crate::store::writer::{StoreWriter, Write};

pub const SOURCE: &str = crate::store::status::names::FALCO_HTTP;
/// The header that can carry the shared secret (the path `/falco/<secret>` can too).
pub const TOKEN_HEADER: &str = "x-rampart-token";
/// Source addresses whose rate is remembered at once; beyond, the longest quiet one is forgotten.
const SOURCES_KEPT: usize = 4096;
/// Accepted bodies remembered to refuse exact repeats; beyond, the oldest is forgotten.
const REPEATS_KEPT: usize = 4096;

/// What the listener refused, by why.
#[derive(Debug, Default)]
struct Refused {
    /// No secret, or a wrong one.
    unauthorized: AtomicU64,
    /// Over the rate of its source address.
    over_rate: AtomicU64,
    /// An exact repeat of an alert already stored.
    repeats: AtomicU64,
    /// Not a Falco alert (or not UTF-8).
    malformed: AtomicU64,
}

impl Refused {
    fn counts(&self) -> [u64; 4] {
        [&self.unauthorized, &self.over_rate, &self.repeats, &self.malformed].map(|c| c.load(Ordering::Relaxed))
    }
}

/// A source address's allowance: tokens refill at the configured rate up to one second's worth.
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// The per-source rates and the fingerprints of recent alerts, each bounded.
struct Guard {
    rate: f64,
    buckets: HashMap<IpAddr, Bucket>,
    /// Keyed with this process's random keys: a poster cannot make two bodies collide on purpose.
    hasher: std::collections::hash_map::RandomState,
    seen: HashSet<u64>,
    order: VecDeque<u64>,
}

impl Guard {
    fn new(per_second: u32) -> Guard {
        Guard {
            rate: f64::from(per_second.max(1)),
            buckets: HashMap::new(),
            hasher: Default::default(),
            seen: HashSet::new(),
            order: VecDeque::new(),
        }
    }

    /// Takes one POST's allowance from `ip`'s bucket; false when it has none left.
    fn admit(&mut self, ip: IpAddr, now: Instant) -> bool {
        let key = source_key(ip);
        if !self.buckets.contains_key(&key) && self.buckets.len() >= SOURCES_KEPT {
            self.forget_a_source(now);
        }
        let rate = self.rate;
        let bucket = self.buckets.entry(key).or_insert(Bucket { tokens: rate, last: now });
        bucket.tokens = (bucket.tokens + now.duration_since(bucket.last).as_secs_f64() * rate).min(rate);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Makes room: sources whose bucket has refilled are as good as new and go first; otherwise the
    /// one quiet for longest.
    fn forget_a_source(&mut self, now: Instant) {
        let full = Duration::from_secs(1);
        self.buckets.retain(|_, b| now.duration_since(b.last) < full);
        if self.buckets.len() >= SOURCES_KEPT {
            if let Some(oldest) = self.buckets.iter().min_by_key(|(_, b)| b.last).map(|(k, _)| *k) {
                self.buckets.remove(&oldest);
            }
        }
    }

    /// Whether `body` repeats one of the last bodies accepted; remembers it when not.
    fn repeat(&mut self, body: &[u8]) -> bool {
        let fingerprint = self.hasher.hash_one(body);
        if !self.seen.insert(fingerprint) {
            return true;
        }
        self.order.push_back(fingerprint);
        if self.order.len() > REPEATS_KEPT {
            if let Some(old) = self.order.pop_front() {
                self.seen.remove(&old);
            }
        }
        false
    }
}

/// The rate is kept per address, and per /64 for IPv6 (one host holds a whole /64).
fn source_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
        },
        v4 => v4,
    }
}

#[derive(Clone)]
struct Shared {
    writer: StoreWriter,
    /// SHA-256 of the secret: compared in constant time, whatever the length given.
    secret: Option<[u8; 32]>,
    guard: Arc<Mutex<Guard>>,
    refused: Arc<Refused>,
}

impl Shared {
    fn holds_secret(&self, given: Option<&str>) -> bool {
        let Some(secret) = &self.secret else { return true };
        let Some(given) = given else { return false };
        let given: [u8; 32] = Sha256::digest(given.as_bytes()).into();
        given.ct_eq(secret).into()
    }
}

fn count(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

async fn accept_at_root(
    State(shared): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    accept(shared, peer, None, &headers, body).await
}

async fn accept_with_secret(
    State(shared): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(secret): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    accept(shared, peer, Some(secret), &headers, body).await
}

async fn accept(
    shared: Shared,
    peer: SocketAddr,
    in_path: Option<String>,
    headers: &HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let admitted = shared.guard.lock().map(|mut g| g.admit(peer.ip(), Instant::now())).unwrap_or(false);
    if !admitted {
        count(&shared.refused.over_rate);
        return (StatusCode::TOO_MANY_REQUESTS, "too many posts from this address\n".into());
    }
    let in_header = headers.get(TOKEN_HEADER).and_then(|v| v.to_str().ok());
    // Both are checked, so that the time taken does not say which one was given.
    let by_path = shared.holds_secret(in_path.as_deref());
    let by_header = shared.holds_secret(in_header);
    if !(by_path || by_header) {
        count(&shared.refused.unauthorized);
        return (
            StatusCode::UNAUTHORIZED,
            format!("missing or wrong secret (post to {SECRET_PATH}<secret>, or send X-Rampart-Token)\n"),
        );
    }
    let Ok(text) = std::str::from_utf8(&body) else {
        count(&shared.refused.malformed);
        return (StatusCode::BAD_REQUEST, "the body is not UTF-8\n".into());
    };
    let alert = match falco::parse(text) {
        Ok(alert) => alert,
        Err(why) => {
            count(&shared.refused.malformed);
            return (StatusCode::BAD_REQUEST, format!("{why}\n"));
        }
    };
    if shared.guard.lock().map(|mut g| g.repeat(&body)).unwrap_or(false) {
        count(&shared.refused.repeats);
        return (StatusCode::CONFLICT, "a repeat of an alert already stored; not stored again\n".into());
    }
    match shared.writer.send(Write::Alert(alert)).await {
        Ok(()) => (StatusCode::OK, "stored\n".into()),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")),
    }
}

/// The service and its refusal counts. Serve it with `into_make_service_with_connect_info`.
fn service(writer: StoreWriter, config: &FalcoConfig) -> (Router, Arc<Refused>) {
    let refused = Arc::new(Refused::default());
    let shared = Shared {
        writer,
        secret: config.token.as_deref().filter(|t| !t.is_empty()).map(|t| Sha256::digest(t.as_bytes()).into()),
        guard: Arc::new(Mutex::new(Guard::new(config.per_source_per_second))),
        refused: refused.clone(),
    };
    let router = Router::new()
        .route("/", post(accept_at_root))
        .route(&format!("{SECRET_PATH}{{secret}}"), post(accept_with_secret))
        .layer(DefaultBodyLimit::max(config.max_body))
        .with_state(shared);
    (router, refused)
}

/// The Sources row's words for what was refused: `(summary, detail)`.
fn refusals(listening: &str, counts: [u64; 4]) -> (String, String) {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return (String::new(), listening.to_string());
    }
    let words = ["without the secret", "over the rate of their address", "exact repeats", "not Falco alerts"];
    let parts: Vec<String> =
        counts.iter().zip(words).filter(|(n, _)| **n > 0).map(|(n, what)| format!("{n} {what}")).collect();
    (format!("{total} refused"), format!("{listening}; refused {total}: {}", parts.join(", ")))
}

/// Serves on `config.listen` until the writer goes away or the listener fails (said in the status).
/// A listener the config does not allow (see [`check`]) is not opened; the status says why.
pub async fn run(writer: StoreWriter, config: FalcoConfig) {
    let Some(address) = config.listen.clone() else { return };
    // The address may need resolving (`localhost:2801`): off the async workers.
    let checking = config.clone();
    let checked = tokio::task::spawn_blocking(move || listener(&checking)).await.unwrap_or_else(|e| Err(e.to_string()));
    if let Err(why) = checked {
        super::report(&writer, SOURCE, Health::Down, format!("not listening: {why}")).await;
        return;
    }
    let listener = match tokio::net::TcpListener::bind(&address).await {
        Ok(l) => l,
        Err(e) => {
            super::report(&writer, SOURCE, Health::Down, format!("cannot listen on {address}: {e}")).await;
            return;
        }
    };
    let secret = config.token.as_deref().is_some_and(|t| !t.is_empty());
    let listening = format!(
        "listening on {address}{}, {} posts/s per address",
        if secret { " (secret required)" } else { "" },
        config.per_source_per_second
    );
    if !super::report(&writer, SOURCE, Health::Ok, listening.clone()).await {
        return;
    }
    let (router, refused) = service(writer.clone(), &config);
    let counting = {
        let writer = writer.clone();
        async move {
            let mut said = [0; 4];
            let mut every = tokio::time::interval(Duration::from_secs(1));
            loop {
                every.tick().await;
                let counts = refused.counts();
                if counts == said {
                    continue;
                }
                said = counts;
                let (summary, detail) = refusals(&listening, counts);
                if !super::report_as(&writer, SOURCE, Health::Degraded, summary, detail).await {
                    return;
                }
            }
        }
    };
    let serving = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>());
    tokio::select! {
        served = serving => if let Err(e) = served {
            super::report(&writer, SOURCE, Health::Down, format!("the listener on {address} stopped: {e}")).await;
        },
        () = counting => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_per_source_and_memory_is_bounded() {
        let mut g = Guard::new(2);
        let t0 = Instant::now();
        let (a, b): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        assert!(g.admit(a, t0) && g.admit(a, t0));
        assert!(!g.admit(a, t0), "a third in the same instant is over 2/s");
        assert!(g.admit(b, t0), "another address has its own allowance");
        assert!(g.admit(a, t0 + Duration::from_millis(500)), "half a second refills one");
        // One IPv6 host holds a /64: its addresses share one allowance.
        let (v6a, v6b): (IpAddr, IpAddr) = ("2001:db8::1".parse().unwrap(), "2001:db8::ffff:2".parse().unwrap());
        assert!(g.admit(v6a, t0) && g.admit(v6b, t0) && !g.admit(v6a, t0));
        for i in 0..(SOURCES_KEPT as u32 * 2) {
            g.admit(IpAddr::V4(i.into()), t0);
        }
        assert!(g.buckets.len() <= SOURCES_KEPT);
        for i in 0..(REPEATS_KEPT * 2) {
            assert!(!g.repeat(format!("alert {i}").as_bytes()));
        }
        assert!(g.seen.len() <= REPEATS_KEPT && g.order.len() <= REPEATS_KEPT);
        assert!(g.repeat(format!("alert {}", REPEATS_KEPT * 2 - 1).as_bytes()), "a recent body is a repeat");
    }
}
