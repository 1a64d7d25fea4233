//! Which tenant an access log line belongs to: fixed, or read from its host, referer or path.

use std::borrow::Cow;

/// How an access log's lines are given their tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantRule {
    /// Every line belongs to this tenant.
    Fixed(String),
    /// The first label of the virtual host (`acme.example.com` → `acme`).
    Host,
    /// The first label of the Referer's host.
    Referer,
    /// The first segment of the path (`/acme/cart` → `acme`).
    PathPrefix,
}

fn first_label(host: &str) -> String {
    host.split(['.', ':']).next().unwrap_or_default().to_ascii_lowercase()
}

impl TenantRule {
    pub fn tenant<'a>(&'a self, host: Option<&str>, referer: Option<&str>, path: &'a str) -> Cow<'a, str> {
        match self {
            TenantRule::Fixed(t) => Cow::Borrowed(t),
            TenantRule::Host => Cow::Owned(host.map(first_label).unwrap_or_default()),
            TenantRule::Referer => Cow::Owned(
                referer
                    .and_then(|r| r.split("://").nth(1))
                    .and_then(|rest| rest.split('/').next())
                    .map(first_label)
                    .unwrap_or_default(),
            ),
            TenantRule::PathPrefix => {
                Cow::Borrowed(path.trim_start_matches('/').split(['/', '?']).next().unwrap_or_default())
            }
        }
    }
}
