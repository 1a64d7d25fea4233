//! The AWS plumbing the CloudWatch follower and publisher share: the SDK client and its HTTP
//! client, one budget of requests, back-off after failures, and why a request failed (`problem`).

pub mod problem;

use std::time::{Duration, Instant};

use aws_sdk_cloudwatchlogs::Client;

pub use self::problem::{chain_tried, classify, credentials_problem, Problem};
use crate::config::cloudwatch::GroupConfig;

/// One budget of FilterLogEvents requests shared by every group: a token bucket.
#[derive(Debug)]
pub struct RequestBudget {
    per_second: f64,
    state: tokio::sync::Mutex<(f64, Instant)>,
}

impl RequestBudget {
    pub fn new(per_second: f64) -> RequestBudget {
        let per_second = per_second.clamp(0.1, 1000.0);
        RequestBudget { per_second, state: tokio::sync::Mutex::new((per_second.max(1.0), Instant::now())) }
    }

    /// Waits until a request may be sent.
    pub async fn take(&self) {
        loop {
            let wait = {
                let mut s = self.state.lock().await;
                let now = Instant::now();
                s.0 = (s.0 + now.duration_since(s.1).as_secs_f64() * self.per_second).min(self.per_second.max(1.0));
                s.1 = now;
                if s.0 >= 1.0 {
                    s.0 -= 1.0;
                    return;
                }
                Duration::from_secs_f64((1.0 - s.0) / self.per_second)
            };
            tokio::time::sleep(wait).await;
        }
    }
}

/// An SDK client for an entry: the standard credential chain, the entry's region, profile and
/// endpoint, and the SDK's adaptive retry mode.
pub async fn client(entry: &GroupConfig) -> (Client, aws_config::SdkConfig) {
    client_for(entry.region.as_deref(), entry.profile.as_deref(), entry.endpoint_url.as_deref()).await
}

/// The HTTP client every SDK call goes through (the service's and the credential providers': STS,
/// SSO, ECS, IMDS): hyper 1 with rustls on the `ring` provider, trusting the system's root
/// certificates, plain HTTP allowed for `endpoint_url`s such as a local moto. Chosen here rather
/// than by the SDK's default features, which would build a second TLS stack (aws-lc, a C build).
pub fn https_client() -> aws_sdk_cloudwatchlogs::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https()
}

/// An SDK client for a region, profile and endpoint (each optional), as [`client`] makes them.
pub async fn client_for(
    region: Option<&str>,
    profile: Option<&str>,
    endpoint_url: Option<&str>,
) -> (Client, aws_config::SdkConfig) {
    use aws_config::retry::RetryConfig;
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(https_client())
        .retry_config(RetryConfig::adaptive().with_max_attempts(3));
    if let Some(region) = region {
        loader = loader.region(aws_config::Region::new(region.to_string()));
    }
    if let Some(profile) = profile {
        loader = loader.profile_name(profile);
    }
    if let Some(url) = endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let sdk = loader.load().await;
    (Client::new(&sdk), sdk)
}

/// 1 s, 2 s, 4 s … up to 30 s, each with jitter (half to all of it), so clients do not retry in step.
pub fn backoff(failures: u32) -> Duration {
    use rand::Rng;
    let full = 1000u64 << failures.saturating_sub(1).min(5);
    let full = full.min(30_000);
    Duration::from_millis(rand::thread_rng().gen_range(full / 2..=full))
}
