//! A labeled access log for judging the detection rules: a day of benign traffic that looks
//! suspicious to simple rules and attacks that simple thresholds miss, every line labeled by the
//! class of its source. Deterministic: a fixed base time and a fixed pseudo-random sequence.
#![allow(dead_code)]

/// 2026-11-26T00:00:00Z, the start of the corpus's day.
pub const BASE: i64 = 1_795_651_200;

/// What a line is, by who sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Label {
    /// Home users browsing, logging in (a few with a typo first), hitting a missing favicon.
    Benign,
    /// Offices behind one address each: 40 people log in at nine, a few with a typo first (the
    /// application answering it 401), 30 after lunch (the application redirecting a typo back to
    /// `/login?error`, a login to `/dashboard`).
    Office,
    /// Searches whose words look like SQL or shell, pages named like system files.
    Searches,
    /// 15 failed logins in 45 s from one address.
    FastBruteForce,
    /// Hundreds of failed logins from one address, one every ~25 s: never 10 within 120 s.
    SlowBruteForce,
    /// Failed logins as form applications answer them: a redirect back to `/login?error`
    /// (followed), the WordPress form shown again (200) and posted again.
    FormBruteForce,
    /// Dozens of addresses, two tries each, many users, within minutes, against one login.
    Spray,
    /// Double-encoded and overlong path traversal to /etc/passwd.
    EncodedTraversal,
    /// Traversal written for a filter that strips `../` once (`....//`, `..././`).
    FilterEvasion,
    /// Stream wrappers and data URLs in parameters (`php://filter`, `file:///`, `data:`).
    Wrappers,
    /// Script injection: tags, event handlers, `javascript:` URLs, encoded.
    Xss,
    /// `UNION SELECT … FROM users--` and `' OR 1=1` in the query string.
    SqlInjection,
    /// Shell metacharacters followed by a command in a parameter.
    CommandInjection,
    /// A scanner known by its user agent.
    Scanner,
}

impl Label {
    pub fn is_attack(self) -> bool {
        !matches!(self, Label::Benign | Label::Office | Label::Searches)
    }

    pub const ATTACKS: [Label; 11] = [
        Label::FastBruteForce,
        Label::SlowBruteForce,
        Label::FormBruteForce,
        Label::Spray,
        Label::EncodedTraversal,
        Label::FilterEvasion,
        Label::Wrappers,
        Label::Xss,
        Label::SqlInjection,
        Label::CommandInjection,
        Label::Scanner,
    ];
}

/// One line of the corpus, with its label and the second of the day it was sent.
#[derive(Debug, Clone)]
pub struct Line {
    pub t: i64,
    pub label: Label,
    pub ip: String,
    pub text: String,
}

/// The label of the address `ip` sent from (each class sends from addresses of its own).
pub fn label_of(ip: &str) -> Option<Label> {
    let class = |prefix: &str| ip.starts_with(prefix);
    let label = if class("198.51.100.") || class("198.51.101.") {
        Label::Benign
    } else if ip == "192.0.2.10" || ip == "192.0.2.20" {
        Label::Office
    } else if class("198.51.102.") {
        Label::Searches
    } else if class("100.64.") {
        Label::Spray
    } else {
        match ip {
            "203.0.113.10" => Label::FastBruteForce,
            "203.0.113.20" => Label::SlowBruteForce,
            "203.0.113.25" | "203.0.113.26" => Label::FormBruteForce,
            "203.0.113.30" => Label::EncodedTraversal,
            "203.0.113.35" => Label::FilterEvasion,
            "203.0.113.40" => Label::SqlInjection,
            "203.0.113.45" => Label::CommandInjection,
            "203.0.113.50" => Label::Scanner,
            "203.0.113.60" => Label::Xss,
            "203.0.113.65" => Label::Wrappers,
            _ => return None,
        }
    };
    Some(label)
}

const BROWSER: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36";

/// A pseudo-random sequence, the same every run.
struct Xorshift(u64);

impl Xorshift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A combined-format line sent `t` seconds into the corpus's day.
fn combined(t: i64, ip: &str, user: &str, request: &str, status: u16, agent: &str) -> String {
    let (day, rest) = (26 + t.div_euclid(86_400), t.rem_euclid(86_400));
    let (h, m, s) = (rest / 3600, rest / 60 % 60, rest % 60);
    format!("{ip} - {user} [{day:02}/Nov/2026:{h:02}:{m:02}:{s:02} +0000] \"{request} HTTP/1.1\" {status} 512 \"-\" \"{agent}\"")
}

/// The whole corpus, in time order.
pub fn corpus() -> Vec<Line> {
    let mut lines = Vec::new();
    let mut rng = Xorshift(0x5eed_cafe);
    let mut push = |t: i64, label: Label, ip: &str, user: &str, request: &str, status: u16, agent: &str| {
        lines.push(Line { t, label, ip: ip.to_string(), text: combined(t, ip, user, request, status, agent) });
    };
    let pages = ["/", "/index.html", "/products/42", "/cart", "/static/app.js", "/api/v1/orders?page=2", "/about"];

    // Home users all day: pages, a missing favicon, a login (one in eight with a typo first).
    for u in 0..300u64 {
        let ip = format!("198.51.{}.{}", 100 + u / 200, u % 200 + 1);
        let user = format!("customer{u}");
        let start = (rng.below(23 * 3600)) as i64;
        for k in 0..12 {
            let t = start + k * (5 + rng.below(40) as i64);
            let page = pages[rng.below(pages.len() as u64) as usize];
            push(t, Label::Benign, &ip, "-", &format!("GET {page}"), 200, BROWSER);
        }
        push(start + 2, Label::Benign, &ip, "-", "GET /favicon.ico", 404, BROWSER);
        let login = start + 30;
        if u % 8 == 0 {
            push(login - 9, Label::Benign, &ip, &user, "POST /login", 401, BROWSER);
        }
        push(login, Label::Benign, &ip, &user, "POST /login", 302, BROWSER);
    }

    // The office: 40 people log in between 08:45 and 09:25 from one NAT address; six of them
    // mistype their password first (one twice), one mistypes the user name; then browse all day.
    let office = "192.0.2.10";
    for p in 0..40i64 {
        let user = format!("staff{p:02}");
        let t = 8 * 3600 + 45 * 60 + p * 60 + rng.below(50) as i64;
        if p % 7 == 3 {
            push(t - 20, Label::Office, office, &user, "POST /login", 401, BROWSER);
            if p == 3 {
                push(t - 10, Label::Office, office, &user, "POST /login", 401, BROWSER);
            }
        }
        if p == 11 {
            push(t - 15, Label::Office, office, "staf11", "POST /login", 401, BROWSER);
        }
        push(t, Label::Office, office, &user, "POST /login", 302, BROWSER);
        push(t + 1, Label::Office, office, &user, "GET /dashboard", 200, BROWSER);
        for k in 0..30 {
            let at = t + 60 + k * (300 + rng.below(600) as i64);
            let page = pages[rng.below(pages.len() as u64) as usize];
            push(at, Label::Office, office, &user, &format!("GET {page}"), 200, BROWSER);
        }
        push(t + 5, Label::Office, office, &user, "GET /favicon.ico", 404, BROWSER);
    }

    // The second office, after lunch: its application redirects a typo back to the login page
    // and a login to the dashboard, and the browser follows.
    let office = "192.0.2.20";
    for p in 0..30i64 {
        let user = format!("clerk{p:02}");
        let t = 13 * 3600 + p * 60 + rng.below(40) as i64;
        if p % 4 == 1 {
            push(t - 15, Label::Office, office, "-", "GET /login", 200, BROWSER);
            push(t - 12, Label::Office, office, &user, "POST /login", 302, BROWSER);
            push(t - 11, Label::Office, office, "-", "GET /login?error", 200, BROWSER);
            push(t - 11, Label::Office, office, "-", "GET /static/app.css", 200, BROWSER);
        }
        push(t - 3, Label::Office, office, "-", "GET /login", 200, BROWSER);
        push(t, Label::Office, office, &user, "POST /login", 302, BROWSER);
        push(t + 1, Label::Office, office, &user, "GET /dashboard", 200, BROWSER);
        for k in 0..20 {
            let at = t + 30 + k * (200 + rng.below(400) as i64);
            let page = pages[rng.below(pages.len() as u64) as usize];
            push(at, Label::Office, office, &user, &format!("GET {page}"), 200, BROWSER);
        }
    }

    // A home user's app polling with an expired token: 401s, but not on a login path.
    for k in 0..240 {
        let ip = "198.51.101.240";
        push(6 * 3600 + k * 30, Label::Benign, ip, "-", "GET /api/v1/notifications", 401, "okhttp/4.12.0");
    }

    // Searches whose words look like attacks, pages named like system files.
    let searches = [
        "GET /search?q=select+chairs",
        "GET /search?q=union+jack",
        "GET /search?q=drop+table+tennis",
        "GET /search?q=o%27reilly+books",
        "GET /search?q=rock+%26+roll",
        "GET /search?q=1+or+2+bedrooms",
        "GET /search?q=sleep+apnea+pillow",
        "GET /search?q=50%25+off",
        "GET /search?q=cats+%7C+dogs",
        "GET /search?q=tom+%26+jerry%3B+cat+toys",
        "GET /search?q=insert+coin+arcade",
        "GET /search?q=%22select+all%22+button",
        "GET /search?q=order+by+price",
        "GET /search?q=and+or+not",
        "GET /search?q=it%27s+a+1%3D1+match",
        "GET /docs/etc/passwd.html",
        "GET /man/5/passwd",
        "GET /wiki/Shadow_(file)",
        "GET /blog/2026/11/../11/union-select-explained",
        "GET /docs/./getting-started",
        "GET /files//report.pdf",
        "GET /blog/what-is-etc-shadow",
        "GET /search?q=script+writing+tips",
        "GET /search?q=javascript+tutorial",
        "GET /search?q=javascript%3A+the+good+parts",
        "GET /search?q=i+%3C3+cats",
        "GET /search?q=onerror+handling+in+node",
        "GET /search?q=%3Cb%3Ebold%3C%2Fb%3E+tag",
        "GET /search?q=php%3A%2F%2F+wrappers+explained",
        "GET /search?q=data%3A+2026+report",
        "GET /search?q=file%3A%2F%2Fserver%2Fshare+how+to",
        "GET /docs/....ellipsis/usage",
        "GET /search?q=...%2F..+dots",
    ];
    for (i, request) in searches.iter().enumerate() {
        for k in 0..3 {
            let ip = format!("198.51.102.{}", i * 3 + k + 1);
            let t = 10 * 3600 + (i as i64) * 600 + k as i64 * 97;
            push(t, Label::Searches, &ip, "-", request, 200, BROWSER);
        }
    }

    // Fast brute force: 15 failed logins in 45 s.
    for k in 0..15 {
        push(
            2 * 3600 + k * 3,
            Label::FastBruteForce,
            "203.0.113.10",
            "admin",
            "POST /login",
            401,
            "python-requests/2.32.3",
        );
    }

    // Low and slow: 300 failed logins, one every 24 to 26 s (never 10 within 120 s).
    for k in 0..300 {
        let t = 3 * 3600 + k * 25 + rng.below(3) as i64 - 1;
        let user = ["admin", "root", "administrator"][k as usize % 3];
        push(t, Label::SlowBruteForce, "203.0.113.20", user, "POST /login", 401, "Mozilla/5.0");
    }

    // Form logins: redirected back to the login page (and followed) for an hour, one every 30 s;
    // the WordPress form shown again (200) and posted again, one every 40 s.
    for k in 0..120 {
        let ip = "203.0.113.25";
        let t = 4 * 3600 + k * 30;
        push(t, Label::FormBruteForce, ip, "-", "POST /login", 302, "Mozilla/5.0");
        push(t + 1, Label::FormBruteForce, ip, "-", "GET /login?error", 200, "Mozilla/5.0");
    }
    for k in 0..60 {
        let t = 5 * 3600 + 1800 + k * 40;
        push(t, Label::FormBruteForce, "203.0.113.26", "-", "POST /wp-login.php", 200, "python-requests/2.32.3");
    }

    // A spray: 40 addresses, two tries each with different users, within six minutes.
    for a in 0..40i64 {
        let ip = format!("100.64.{}.{}", a / 10 + 1, a * 7 % 250 + 1);
        for k in 0..2 {
            let t = 14 * 3600 + a * 9 + k * 4;
            let user = format!("{}.{}", ["john", "mary", "ali", "wei", "olga"][(a * 2 + k) as usize % 5], a * 2 + k);
            push(t, Label::Spray, &ip, &user, "POST /login", 401, "Mozilla/5.0");
        }
    }

    // Encoded traversal.
    for (k, request) in [
        "GET /static/%252e%252e%252f%252e%252e%252f%252e%252e%252fetc%252fpasswd",
        "GET /download?file=%252e%252e%252f%252e%252e%252fetc%252fpasswd",
        "GET /static/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
    ]
    .iter()
    .enumerate()
    {
        push(16 * 3600 + k as i64 * 900, Label::EncodedTraversal, "203.0.113.30", "-", request, 404, "curl/8.5.0");
    }

    // Traversal for a filter that strips ../ once.
    for (k, request) in [
        "GET /static/....//....//....//....//etc/passwd",
        "GET /view?file=..././..././..././etc/passwd",
        "GET /view?file=%252e%252e%252e%252e%252f%252f%252e%252e%252e%252e%252f%252fetc%252fpasswd",
    ]
    .iter()
    .enumerate()
    {
        push(16 * 3600 + 300 + k as i64 * 900, Label::FilterEvasion, "203.0.113.35", "-", request, 404, "curl/8.5.0");
    }

    // Stream wrappers and data URLs in parameters.
    for (k, request) in [
        "GET /index.php?page=php://filter/convert.base64-encode/resource=config",
        "GET /index.php?page=php%3A%2F%2Finput",
        "GET /fetch?url=file:///etc/passwd",
        "GET /index.php?page=data:text/plain;base64,PD9waHAgc3lzdGVtKCJpZCIpOz8%2B",
    ]
    .iter()
    .enumerate()
    {
        push(19 * 3600 + k as i64 * 700, Label::Wrappers, "203.0.113.65", "-", request, 200, "curl/8.5.0");
    }

    // Script injection, plain and encoded.
    for (k, request) in [
        "GET /search?q=%3Cscript%3Ealert(document.cookie)%3C%2Fscript%3E",
        "GET /search?q=%22%3E%3Cimg+src%3Dx+onerror%3Dalert(1)%3E",
        "GET /profile?name=%26lt%3Bsvg%2Fonload%3Dalert(1)%26gt%3B",
        "GET /go?next=javascript:alert(1)",
        "GET /search?q=%253Cscript%253Ealert(1)%253C%252Fscript%253E",
    ]
    .iter()
    .enumerate()
    {
        push(21 * 3600 + k as i64 * 600, Label::Xss, "203.0.113.60", "-", request, 200, BROWSER);
    }

    // SQL injection in the query string.
    for (k, request) in [
        "GET /products?id=1%20UNION%20SELECT%20username,password%20FROM%20users--",
        "GET /search?q=x%27+UNION+SELECT+username%2C+password+FROM+users--",
        "GET /item?id=5%27%20OR%201%3D1--",
    ]
    .iter()
    .enumerate()
    {
        push(17 * 3600 + k as i64 * 900, Label::SqlInjection, "203.0.113.40", "-", request, 200, "Mozilla/5.0");
    }

    // Command injection.
    push(
        18 * 3600,
        Label::CommandInjection,
        "203.0.113.45",
        "-",
        "GET /ping?host=127.0.0.1%3Bcat%20/etc/passwd",
        200,
        "curl/8.5.0",
    );

    // A scanner known by its user agent.
    for k in 0..20 {
        let agent = "Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:000123)";
        push(20 * 3600 + k, Label::Scanner, "203.0.113.50", "-", &format!("GET /admin{k}.php"), 404, agent);
    }

    lines.sort_by_key(|l| l.t);
    lines
}

/// The corpus as a log file's text.
pub fn text(lines: &[Line]) -> String {
    lines.iter().map(|l| format!("{}\n", l.text)).collect()
}
