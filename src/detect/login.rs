//! Failed and successful logins as real applications answer them, read from an access log (which
//! has no response body and no `Location`): a failure status (401, 403) on a login path; a login
//! form posted and answered 2xx or 3xx is told by what the same address asks for next — the login
//! page again (a redirect back to `/login?error`, or the form posted again) is a failure, another
//! page served (the redirect to `/dashboard` followed) is a success.

use std::collections::HashMap;

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use serde::Deserialize;

/// `[detect.login]`: where people log in and how a failure is answered.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Logins {
    /// Login paths as globs (`*` any characters, `/` included), the query left out, letter case ignored.
    pub paths: Vec<String>,
    /// Statuses a login path answers a failed login with.
    pub failure_statuses: Vec<i64>,
}

impl Default for Logins {
    fn default() -> Logins {
        Logins {
            paths: [
                "*/login",
                "*/login/",
                "*/login.php",
                "*/signin",
                "*/sign-in",
                "*/sign_in",
                "*/logon",
                "*/session",
                "*/sessions",
                "*/wp-login.php",
                "*/j_security_check",
                "*/j_spring_security_check",
                "*/oauth/token",
                "*/auth/token",
            ]
            .map(String::from)
            .to_vec(),
            failure_statuses: vec![401, 403],
        }
    }
}

/// A login path glob as the rules read it; the error in words when it is none.
pub fn glob(text: &str) -> Result<globset::Glob, String> {
    if !text.starts_with(['/', '*']) {
        return Err("a path glob starts with / or *".into());
    }
    GlobBuilder::new(text)
        .case_insensitive(true)
        .literal_separator(false)
        .backslash_escape(true)
        .build()
        .map_err(|e| e.kind().to_string())
}

/// Paths remembered with whether they are login paths, at most (then forgotten all at once).
const PATHS_REMEMBERED: usize = 4_096;
const PATH_REMEMBERED_LEN: usize = 256;

/// The login paths, and what the paths asked for lately are (a log repeats its paths).
pub struct LoginPaths {
    set: GlobSet,
    seen: HashMap<Box<str>, bool, foldhash::fast::RandomState>,
}

impl LoginPaths {
    /// `globs` that are none are left out (the config check refuses them).
    pub fn new(globs: &[String]) -> LoginPaths {
        let mut set = GlobSetBuilder::new();
        for g in globs.iter().filter_map(|g| glob(g).ok()) {
            set.add(g);
        }
        LoginPaths { set: set.build().unwrap_or_else(|_| GlobSet::empty()), seen: HashMap::default() }
    }

    /// Whether `target` (a path, with its query or not) is a login path.
    pub fn is_login(&mut self, target: &str) -> bool {
        let path = without_query(target);
        if path.len() > PATH_REMEMBERED_LEN {
            return self.set.is_match(path);
        }
        if let Some(known) = self.seen.get(path) {
            return *known;
        }
        let found = self.set.is_match(path);
        if self.seen.len() >= PATHS_REMEMBERED {
            self.seen.clear();
        }
        self.seen.insert(path.into(), found);
        found
    }
}

/// How long after a login is posted the page it leads to is asked for: a browser follows a
/// redirect at once, a client that serves the user its next page does within seconds.
pub const FOLLOW_MS: i64 = 10_000;
/// How long after a login the same address posting one again says the first failed.
pub const RETRY_MS: i64 = 600_000;

/// A login posted and answered as a success might be (2xx, 3xx), until the same address's next
/// request tells how it went.
#[derive(Debug)]
pub struct Pending {
    pub id: i64,
    pub ts: i64,
    pub tenant: Box<str>,
    pub user: Option<Box<str>>,
    pub path: Box<str>,
    pub status: i64,
}

/// What a pending login turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Failed,
    Succeeded,
    /// Not told yet: a login page fetched again before a try (a form's token), a redirect on.
    Wait,
    /// Nothing tells (too late, or a page neither served nor refused): forgotten.
    Unknown,
}

/// What the same address asking for a path (`to_login`: a login path or not) with `method`, at
/// `ts`, answered `status`, says of the login it posted earlier.
pub fn told(pending: &Pending, ts: i64, to_login: bool, method: &str, status: i64) -> Outcome {
    let after = ts - pending.ts;
    match (to_login, method == "POST") {
        // A login posted again: the one before did not let it in.
        (true, true) if after <= RETRY_MS => Outcome::Failed,
        // Back at the login page: a redirect to it, followed; later, the form fetched for a try.
        (true, false) if after <= FOLLOW_MS => Outcome::Failed,
        (true, false) if after <= RETRY_MS => Outcome::Wait,
        (false, _) if after <= FOLLOW_MS => match status {
            200..=299 | 304 => Outcome::Succeeded,
            401 | 403 => Outcome::Failed,
            300..=399 => Outcome::Wait,
            _ => Outcome::Unknown,
        },
        _ => Outcome::Unknown,
    }
}

/// `target` without its query.
fn without_query(target: &str) -> &str {
    memchr::memchr(b'?', target.as_bytes()).map_or(target, |q| &target[..q])
}

/// Whether a path is a page's static part (a style sheet, a script, an image, a font), which a
/// browser asks for along with whatever page it shows: it tells nothing about a login.
pub fn is_asset(target: &str) -> bool {
    let path = without_query(target).as_bytes();
    let tail = &path[path.len().saturating_sub(6)..];
    let Some(dot) = tail.iter().rposition(|b| *b == b'.') else {
        return false;
    };
    let ext = &tail[dot + 1..];
    const ASSETS: &[&[u8]] = &[
        b"css", b"js", b"mjs", b"map", b"png", b"jpg", b"jpeg", b"gif", b"svg", b"ico", b"webp", b"woff", b"woff2",
        b"ttf", b"eot",
    ];
    ASSETS.iter().any(|a| a.eq_ignore_ascii_case(ext))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_paths_by_glob_and_assets_by_extension() {
        let mut paths = LoginPaths::new(&Logins::default().paths);
        for login in ["/login", "/Login", "/admin/login", "/wp-login.php", "/users/sign_in", "/login?next=/x"] {
            assert!(paths.is_login(login), "{login}");
            assert!(paths.is_login(login), "{login}, remembered");
        }
        for other in ["/", "/dashboard", "/login-help", "/blog/how-to-login-safely", "/api/v1/orders"] {
            assert!(!paths.is_login(other), "{other}");
        }
        assert!(is_asset("/static/app.css?v=3") && is_asset("/favicon.ICO"));
        assert!(!is_asset("/login") && !is_asset("/v1.2/login") && !is_asset("/") && !is_asset("/a.css/login"));
        assert_eq!(glob("login").unwrap_err(), "a path glob starts with / or *");
        assert!(glob("/a/[b").is_err());
    }

    #[test]
    fn what_follows_a_login_tells_how_it_went() {
        let p = Pending { id: 1, ts: 1_000, tenant: "acme".into(), user: None, path: "/login".into(), status: 302 };
        assert_eq!(told(&p, 1_400, true, "GET", 200), Outcome::Failed, "redirected back to /login?error");
        assert_eq!(told(&p, 1_400, false, "GET", 200), Outcome::Succeeded, "redirected to /dashboard");
        assert_eq!(told(&p, 1_400, false, "GET", 302), Outcome::Wait, "sent on elsewhere");
        assert_eq!(told(&p, 1_400, false, "GET", 500), Outcome::Unknown);
        assert_eq!(told(&p, 30_000, true, "GET", 200), Outcome::Wait, "the form fetched for another try");
        assert_eq!(told(&p, 1_400, false, "GET", 401), Outcome::Failed, "refused the page it went to");
        assert_eq!(told(&p, 30_000, true, "POST", 200), Outcome::Failed, "a try again");
        assert_eq!(told(&p, 30_000, false, "GET", 200), Outcome::Unknown, "too late to tell");
        assert_eq!(told(&p, 1_000 + RETRY_MS + 1, true, "POST", 200), Outcome::Unknown);
    }
}
