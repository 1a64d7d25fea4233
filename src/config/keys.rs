//! Every key of the config file, documented once: the table `rampart config example` prints as a
//! commented config file, and that tests hold equal to the serde structs the config is read with.

use std::fmt::Write;

/// A key's default, as TOML (`Toml`) or in words when it depends on something else (`Words`), or
/// none (`Required`, `Unset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyDefault {
    /// The TOML value it takes when left out (tests parse both and compare).
    Toml(&'static str),
    /// What happens when it is left out, in words.
    Words(&'static str),
    /// Unset unless given (nothing happens, or the doc says what).
    Unset,
    /// An entry without it is refused.
    Required,
}

/// One key: its name, what it holds, its default, an example value (TOML; empty: the default) and
/// one line of documentation. `alt` names the key it is given instead of (then the example
/// config shows it commented even among keys given).
#[derive(Debug, Clone, Copy)]
pub struct Key {
    pub name: &'static str,
    pub kind: &'static str,
    pub default: KeyDefault,
    pub example: &'static str,
    pub alt: Option<&'static str>,
    pub doc: &'static str,
}

/// A table of the config file: `""` (the top level), `docker`, `access_log` (an array of tables
/// when `array`), `access_log.fields`…
#[derive(Debug, Clone, Copy)]
pub struct Section {
    pub path: &'static str,
    pub array: bool,
    pub doc: &'static str,
    pub keys: &'static [Key],
}

const fn key(
    name: &'static str,
    kind: &'static str,
    default: KeyDefault,
    example: &'static str,
    doc: &'static str,
) -> Key {
    Key { name, kind, default, example, alt: None, doc }
}

const fn instead(alt: &'static str, k: Key) -> Key {
    Key { alt: Some(alt), ..k }
}

use KeyDefault::{Required, Toml, Unset, Words};

/// The JSON field names of an access-log line (`[access_log.fields]`, `[engine_logs.fields]`,
/// `[cloudwatch.fields]`), with nginx's names as defaults.
const FIELD_NAMES: [Key; 10] = [
    key("time", "string", Toml("\"time\""), "", "the request's time (RFC 3339, or epoch seconds or milliseconds)"),
    key("ip", "string", Toml("\"remote_addr\""), "\"client\"", "the client's address"),
    key("user", "string", Toml("\"remote_user\""), "", "the authenticated user"),
    key("method", "string", Toml("\"request_method\""), "", "the HTTP method"),
    key("path", "string", Toml("\"request_uri\""), "", "the request target, with its query string"),
    key("status", "string", Toml("\"status\""), "", "the HTTP status"),
    key("bytes", "string", Toml("\"body_bytes_sent\""), "", "the response's size"),
    key("user_agent", "string", Toml("\"http_user_agent\""), "", "the user agent"),
    key("host", "string", Toml("\"host\""), "", "the virtual host (what tenant_from = \"host\" reads)"),
    key("referer", "string", Toml("\"http_referer\""), "", "the referer (what tenant_from = \"referer\" reads)"),
];

const CLOUDWATCH_FIELDS: [Key; 11] = {
    let f = FIELD_NAMES;
    [
        f[0],
        f[1],
        f[2],
        f[3],
        f[4],
        f[5],
        f[6],
        f[7],
        f[8],
        f[9],
        key(
            "tenant",
            "string",
            Toml("\"tenant\""),
            "\"customer\"",
            "the field that holds the tenant's name (tenant_from = \"field\")",
        ),
    ]
};

/// The keys of each `[detect.RULE]` table (every rule has its own defaults, printed from the rules'
/// own `Default`).
pub const DETECT_RULE_KEYS: &[Key] = &[
    key("enabled", "bool", Words("each rule's own, below"), "", "the rule runs at all"),
    key(
        "threshold",
        "integer",
        Words("each rule's own, below"),
        "",
        "how full the leaky bucket must be to fire (1: every event it counts fires)",
    ),
    key(
        "leak_seconds",
        "integer",
        Words("each rule's own, below"),
        "",
        "seconds for one event to leak out of the bucket; 0: window_seconds / threshold (a sliding window)",
    ),
    key(
        "window_seconds",
        "integer",
        Words("each rule's own, below"),
        "",
        "after firing, how long the rule stays quiet for the same key (an address; a tenant for a spray)",
    ),
    key(
        "distinct",
        "integer",
        Words("each rule's own, below"),
        "",
        "password_spray: how many different addresses, and as many users, the bucket must hold",
    ),
    key(
        "priority",
        "string",
        Words("each rule's own, below"),
        "",
        "the alerts' priority: emergency, alert, critical, error, warning, notice, informational, debug",
    ),
];

/// The rules of `[detect]`, each a table of `DETECT_RULE_KEYS` (see docs/detection.md).
pub const DETECT_RULES: &[&str] = &[
    "brute_force",
    "credential_stuffing",
    "password_spray",
    "cross_tenant",
    "web_attack",
    "scan_404",
    "isolated_tenant_access",
];

/// Every table of the config file, in the order the example prints them.
pub const SECTIONS: &[Section] = &[
    Section {
        path: "",
        array: false,
        doc: "",
        keys: &[
            key(
                "theme",
                "string",
                Words("default (mono when NO_COLOR is set)"),
                "\"light\"",
                "a shipped theme (default, light, high-contrast, mono), one of ~/.config/rampart/themes/NAME.toml, or a path",
            ),
            key(
                "keymap",
                "string",
                Words("default"),
                "\"emacs\"",
                "a shipped keymap (default, emacs), one of ~/.config/rampart/keymaps/NAME.toml, or a path",
            ),
            key("read_only", "bool", Toml("false"), "", "every console and command starts read-only: no action, no collecting"),
            key("tenants", "list of strings", Toml("[]"), "[\"acme\", \"globex\"]", "tenants listed even while they have no containers"),
        ],
    },
    Section {
        path: "docker",
        array: false,
        doc: "How tenants are found: containers carrying the tenant label (docs/docker.md).",
        keys: &[
            key(
                "host",
                "string",
                Words("DOCKER_HOST, then unix:///var/run/docker.sock"),
                "\"unix:///var/run/docker.sock\"",
                "where the engine listens: unix:///PATH, tcp://HOST:PORT, http(s)://…",
            ),
            key("label", "string", Toml("\"rampart.tenant\""), "", "the container label whose value names the tenant"),
            key(
                "quarantine_network",
                "string",
                Toml("\"rampart-quarantine\""),
                "",
                "the network earlier versions attached isolated containers to; isolate and restore only take them off it",
            ),
        ],
    },
    Section {
        path: "fail2ban",
        array: false,
        doc: "Where Fail2Ban keeps its database and listens for fail2ban-client (docs/fail2ban.md).",
        keys: &[
            key(
                "database",
                "path",
                Toml("\"/var/lib/fail2ban/fail2ban.sqlite3\""),
                "",
                "Fail2Ban's SQLite database (dbfile in fail2ban.conf), read read-only",
            ),
            key("socket", "path", Toml("\"/var/run/fail2ban/fail2ban.sock\""), "", "Fail2Ban's socket, passed to fail2ban-client -s"),
            key("client", "path", Toml("\"fail2ban-client\""), "", "the client program"),
        ],
    },
    Section {
        path: "access_log",
        array: true,
        doc: "An access log to follow through rotation, one entry per file (docs/access-logs.md).",
        keys: &[
            key("path", "path", Required, "\"/var/log/nginx/shared.json\"", "the log file"),
            key("format", "string", Toml("\"combined\""), "\"json\"", "combined (nginx/Apache) or json (JSON lines, names below)"),
            key("tenant", "string", Unset, "\"acme\"", "every line belongs to this tenant (give tenant or tenant_from)"),
            instead(
                "tenant",
                key(
                    "tenant_from",
                    "string",
                    Unset,
                    "\"host\"",
                    "or the tenant is the first label of the host (json only), of the referer's host, or the path's first segment: host, referer, path",
                ),
            ),
        ],
    },
    Section {
        path: "access_log.fields",
        array: false,
        doc: "format = \"json\": the names of the fields a line holds.",
        keys: &FIELD_NAMES,
    },
    Section {
        path: "engine_logs",
        array: false,
        doc: "Tenants' containers whose standard output is their access log, read from the engine (docs/access-logs.md).",
        keys: &[
            key("enabled", "bool", Toml("true"), "", "follow labelled containers at all"),
            key(
                "label",
                "string",
                Toml("\"rampart.access\""),
                "",
                "the container label whose value (combined or json) marks an access log on standard output",
            ),
        ],
    },
    Section {
        path: "engine_logs.fields",
        array: false,
        doc: "The JSON field names of containers labelled json.",
        keys: &FIELD_NAMES,
    },
    Section {
        path: "falco",
        array: false,
        doc: "Falco's JSON output (json_output: true): files it writes, and its http_output (docs/access-logs.md).",
        keys: &[
            key("files", "list of paths", Toml("[]"), "[\"/var/log/falco/events.json\"]", "files Falco writes (file_output), followed through rotation"),
            key(
                "listen",
                "string",
                Unset,
                "\"127.0.0.1:2801\"",
                "HOST:PORT to accept http_output POSTs on (url: http://HOST:PORT/falco/<token>)",
            ),
            key("max_body", "integer", Toml("1048576"), "", "largest accepted body in bytes (larger: 413)"),
            key(
                "token",
                "string",
                Unset,
                "\"6f1c0d5e9a2b47c8b3e1d2c4\"",
                "the secret a POST carries (in its path or the X-Rampart-Token header); 16+ characters, required off loopback",
            ),
            key(
                "per_source_per_second",
                "integer",
                Toml("100"),
                "",
                "POSTs accepted per second from one address (one IPv6 /64), in bursts of as many",
            ),
        ],
    },
    Section {
        path: "detect",
        array: false,
        doc: "rampart's detection rules over access events; each rule is a [detect.RULE] table below (docs/detection.md).",
        keys: &[key(
            "allow",
            "list of networks",
            Toml("[]"),
            "[\"192.0.2.0/24\"]",
            "networks never alerted on (192.0.2.0/24, 2001:db8::/32 or one address): your scanner, a probe",
        )],
    },
    Section {
        path: "detect.login",
        array: false,
        doc: "What a failed login looks like: a failure status on a login path; a login answered 2xx/3xx is told by what the address asks next (docs/detection.md).",
        keys: &[
            key(
                "paths",
                "list of path globs",
                Toml(
                    "[\"*/login\", \"*/login/\", \"*/login.php\", \"*/signin\", \"*/sign-in\", \"*/sign_in\", \"*/logon\", \
                     \"*/session\", \"*/sessions\", \"*/wp-login.php\", \"*/j_security_check\", \
                     \"*/j_spring_security_check\", \"*/oauth/token\", \"*/auth/token\"]",
                ),
                "[\"/login\", \"/api/v2/auth\"]",
                "login paths as globs (* any characters, / included), the query left out, letter case ignored",
            ),
            key(
                "failure_statuses",
                "list of HTTP statuses",
                Toml("[401, 403]"),
                "[401, 403, 422]",
                "statuses a login path answers a failed login with",
            ),
        ],
    },
    Section {
        path: "detect.known_probe",
        array: true,
        doc: "A health checker or scanner of your own, never counted by any rule: a request must match every key given; one without a network still has an attack in its request alerted.",
        keys: &[
            key("name", "string", Toml("\"\""), "\"load balancer health check\"", "what it is, for the config's reader"),
            key("network", "network", Unset, "\"10.0.0.0/8\"", "the network it comes from (10.0.0.0/8, 2001:db8::/32 or one address)"),
            key("path", "path glob", Unset, "\"/healthz\"", "the paths it asks for (* any characters), the query left out"),
            key("user_agent", "string", Unset, "\"ELB-HealthChecker/\"", "text its user agent holds (letter case counts)"),
        ],
    },
    Section {
        path: "integrity",
        array: true,
        doc: "A file tree whose signed baseline the collector re-verifies (docs/integrity.md).",
        keys: &[
            key("name", "string", Required, "\"acme-app\"", "the target's name"),
            key("root", "path", Required, "\"/srv/acme\"", "the tree"),
            key("manifest", "path", Required, "\"/etc/rampart/acme-app/MANIFEST\"", "the signed manifest; its signature is MANIFEST.sig beside it"),
            key(
                "public_key",
                "path",
                Required,
                "\"/etc/rampart/public.pem\"",
                "the public key that signed it (never a private key)",
            ),
            key(
                "key_fingerprint",
                "string",
                Words("the key pinned in the store by baseline or accept"),
                "\"SHA256:…\"",
                "the key to trust, as keygen and baseline print it; any other key is a signature failure",
            ),
            key("tenant", "string", Unset, "\"acme\"", "the tenant whose files these are"),
            key(
                "exclude",
                "list of globs",
                Words("the list signed into the manifest"),
                "[\"*.log\", \"cache/**\"]",
                "when given, must equal the exclude list signed into the manifest",
            ),
            key("every", "duration", Words("1h"), "\"15m\"", "how often to re-verify: 90s, 15m, 2h, 1d (10s at least)"),
        ],
    },
    Section {
        path: "cloudwatch",
        array: true,
        doc: "A CloudWatch Logs group (or every group under a prefix) to follow by polling (docs/cloudwatch.md).",
        keys: &[
            key("group", "string", Unset, "\"/ecs/production/web\"", "one log group (give group or group_prefix)"),
            instead(
                "group",
                key("group_prefix", "string", Unset, "\"/ecs/production/\"", "or every group whose name starts so"),
            ),
            key(
                "format",
                "string",
                Toml("\"falco\""),
                "\"json\"",
                "falco (alerts), json (access-log lines), text (combined format) or rampart (other hosts' [cloudwatch_publish])",
            ),
            key("tenant", "string", Unset, "\"acme\"", "json and text: every event belongs to this tenant (or tenant_from)"),
            instead(
                "tenant",
                key(
                    "tenant_from",
                    "string",
                    Unset,
                    "\"host\"",
                    "or from the event's host, referer, path, or (json) the field [cloudwatch.fields] tenant names",
                ),
            ),
            key("filter_pattern", "string", Unset, "\"ERROR\"", "a CloudWatch Logs filter pattern"),
            key("streams", "list of strings", Toml("[]"), "[\"web-1\"]", "only these streams (give streams or stream_prefix)"),
            instead("streams", key("stream_prefix", "string", Unset, "\"web-\"", "or only streams whose name starts so")),
            key("since", "duration", Words("15m"), "\"15m\"", "how far back the first read goes"),
            key("poll", "duration", Words("5s"), "\"5s\"", "how often the group is read (100ms at least)"),
            key("overlap", "duration", Words("10m"), "\"10m\"", "how far behind the newest stored event each poll re-reads, for late events"),
            key(
                "requests_per_second",
                "integer",
                Words("3"),
                "3",
                "FilterLogEvents requests a second for all groups together, 1 to 1000 (the smallest given wins)",
            ),
            key("region", "string", Words("the AWS chain's"), "\"eu-west-1\"", "the AWS region"),
            key("profile", "string", Words("the AWS chain's"), "\"ops\"", "the AWS profile"),
            key(
                "endpoint_url",
                "string",
                Words("AWS's"),
                "\"https://logs.eu-west-1.amazonaws.com\"",
                "another endpoint (a VPC endpoint, a local test server)",
            ),
        ],
    },
    Section {
        path: "cloudwatch.fields",
        array: false,
        doc: "format = \"json\": the names of [access_log.fields], plus tenant.",
        keys: &CLOUDWATCH_FIELDS,
    },
    Section {
        path: "cloudwatch_publish",
        array: false,
        doc: "Where the collector publishes rampart's own events, one stream per host (docs/cloudwatch.md).",
        keys: &[
            key("group", "string", Words("/rampart/<hostname>"), "\"/rampart/fleet\"", "the log group; the stream is the host's name"),
            key("region", "string", Words("the AWS chain's"), "\"eu-west-1\"", "the AWS region"),
            key("profile", "string", Words("the AWS chain's"), "\"ops\"", "the AWS profile"),
            key(
                "endpoint_url",
                "string",
                Words("AWS's"),
                "\"https://logs.eu-west-1.amazonaws.com\"",
                "another endpoint (a VPC endpoint, a local test server)",
            ),
        ],
    },
    Section {
        path: "respond",
        array: true,
        doc: "Alerts acted on without a key pressed: their source address banned in a Fail2Ban jail, or their tenant raised for isolation (docs/fail2ban.md).",
        keys: &[
            key("name", "string", Required, "\"ban-brute-force\"", "who acted, in the audit log: rampart (rule NAME)"),
            key("rule", "string", Unset, "\"Brute-force login\"", "alerts of this rule (give rule, priority or both)"),
            key("priority", "string", Unset, "\"critical\"", "and/or of at least this priority (critical takes alert and emergency)"),
            key(
                "action",
                "\"ban\", \"suggest isolation\" or \"isolate\"",
                Toml("\"ban\""),
                "",
                "ban the source address; or raise the tenant for isolation as an alert the operator confirms; or isolate at once (only when said)",
            ),
            key("jail", "string", Words("none; action = \"ban\" needs one"), "\"web-login\"", "the Fail2Ban jail to ban in"),
            key("ban_for", "duration", Words("the jail's bantime"), "\"1h\"", "rampart lifts the ban then, if the jail has not already"),
            key("dry_run", "bool", Toml("false"), "", "audit \"would ban\" instead of banning"),
        ],
    },
    Section {
        path: "guardrails",
        array: false,
        doc: "What no [[respond]] rule may do.",
        keys: &[
            key(
                "allow",
                "list of networks",
                Toml("[]"),
                "[\"10.0.0.0/8\", \"203.0.113.7\"]",
                "networks never banned (loopback never is either): the host's, the operators', the load balancer's",
            ),
            key(
                "max_per_minute",
                "integer",
                Toml("10"),
                "",
                "most automatic actions in any minute; beyond it rampart stops acting, and says so",
            ),
        ],
    },
    Section {
        path: "control",
        array: false,
        doc: "The collector's control socket, through which other users' consoles ask it to act (docs/install.md).",
        keys: &[
            key(
                "socket",
                "path",
                Words("beside the store, <store>.sock"),
                "\"/run/rampart/rampart.sock\"",
                "the socket's path (absolute, at most 107 bytes)",
            ),
            key("group", "string", Words("rampart, when it exists"), "\"rampart\"", "the group that may connect (mode 0660)"),
        ],
    },
    Section {
        path: "operators",
        array: false,
        doc: "Who besides root may ask the collector for which action: \"user:NAME\" or \"group:NAME\"; an action not listed is root's alone.",
        keys: &[
            key("isolate", "list of principals", Toml("[]"), "[\"group:secops\"]", "isolate a tenant"),
            key("restore", "list of principals", Toml("[]"), "[\"group:secops\"]", "restore a tenant"),
            key("unban", "list of principals", Toml("[]"), "[\"group:oncall\"]", "unban an address"),
            key("ban", "list of principals", Toml("[]"), "[\"group:oncall\"]", "ban an address"),
            key("acknowledge", "list of principals", Toml("[]"), "[\"group:oncall\"]", "acknowledge an alert"),
            key("verify", "list of principals", Toml("[]"), "[\"user:alice\"]", "re-verify an integrity target"),
        ],
    },
];

/// How the example is written: every line commented (what `rampart config example` prints), or
/// every key given (what the tests check), with `swap` given in place of the key it is an
/// alternative to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Render<'a> {
    Commented,
    Given { swap: Option<(&'a str, &'a str)> },
}

/// The commented example config: every key, with its doc, default and an example.
pub fn example() -> String {
    render(Render::Commented)
}

/// The example config in the given form.
pub fn render(how: Render<'_>) -> String {
    let mut out = String::new();
    out.push_str(HEADER);
    let c = if how == Render::Commented { "# " } else { "" };
    for section in SECTIONS {
        if !section.path.is_empty() {
            out.push('\n');
            for line in wrap(section.doc) {
                let _ = writeln!(out, "## {line}");
            }
            let (open, close) = if section.array { ("[[", "]]") } else { ("[", "]") };
            let _ = writeln!(out, "{c}{open}{}{close}", section.path);
        }
        for k in section.keys {
            let _ = writeln!(out, "{}", key_doc(k));
            let given = match (how, k.alt) {
                (Render::Commented, _) => false,
                (Render::Given { swap }, Some(_)) => swap == Some((section.path, k.name)),
                (Render::Given { swap }, None) => !matches!(swap, Some((path, name)) if path == section.path
                        && section.keys.iter().any(|o| o.name == name && o.alt == Some(k.name))),
            };
            let hash = if given { "" } else { "# " };
            let _ = writeln!(out, "{hash}{} = {}", k.name, value(k));
        }
        if section.path == "detect" {
            detect_rules(&mut out, c);
        }
    }
    out
}

const HEADER: &str = "\
## rampart's config file: every key, with what it does, its default and an example.
## Printed by `rampart config example` from the table the config's tests check against the
## config structs (src/config/keys.rs), so it names every key there is and no other.
##
## Where: ~/.config/rampart/config.toml, or --config PATH; a host with the package installed:
## /etc/rampart/config.toml. Every key is optional unless it says (required); a table left out
## takes its defaults. Uncomment what you need, then: rampart config check --config PATH

";

/// Every key as a paragraph of its own (`key = example: doc (type; default)`), table by table: the
/// reference of the manual page, which fills and wraps paragraphs itself.
pub fn reference() -> String {
    let mut out = String::new();
    for section in SECTIONS {
        let (open, close) = if section.array { ("[[", "]]") } else { ("[", "]") };
        match section.path {
            "" => out.push_str("At the top of the file:\n\n"),
            path => {
                let _ = writeln!(out, "{open}{path}{close}: {}\n", section.doc);
            }
        }
        for k in section.keys {
            let _ = writeln!(
                out,
                "{} = {}: {}\n",
                k.name,
                value(k),
                key_doc(k).replace("\n## ", " ").trim_start_matches("## ")
            );
        }
        if section.path == "detect" {
            let _ = writeln!(out, "[detect.RULE], one table for each of {}:\n", DETECT_RULES.join(", "));
            for k in DETECT_RULE_KEYS {
                let _ = writeln!(out, "{}: {}\n", k.name, one_line(k));
            }
            let _ = writeln!(out, "Each rule's defaults: `rampart config example`, or docs/detection.md.\n");
        }
    }
    out
}

/// `doc (type; default: …)` on one line.
fn one_line(k: &Key) -> String {
    key_doc(k).replace("\n## ", " ").trim_start_matches("## ").to_string()
}

/// `## doc (type; default: …)`, wrapped.
fn key_doc(k: &Key) -> String {
    let default = match k.default {
        Toml(v) => format!("default: {v}"),
        Words(w) => format!("default: {w}"),
        Unset => "default: unset".to_string(),
        Required => "required".to_string(),
    };
    let default = format!("{}; {default}", k.kind);
    let text = match k.alt {
        Some(alt) => format!("{} ({default}; instead of {alt})", k.doc),
        None => format!("{} ({default})", k.doc),
    };
    wrap(&text).iter().map(|l| format!("## {l}")).collect::<Vec<_>>().join("\n")
}

/// The value a key is shown with: its example, else its default.
fn value(k: &Key) -> &'static str {
    match (k.example, k.default) {
        ("", Toml(v)) => v,
        (e, _) => e,
    }
}

/// `[detect.RULE]` for every rule, with that rule's own defaults; the keys are documented once,
/// at the first.
fn detect_rules(out: &mut String, c: &str) {
    let rules = crate::detect::Rules::default();
    let all = [
        &rules.brute_force,
        &rules.credential_stuffing,
        &rules.password_spray,
        &rules.cross_tenant,
        &rules.web_attack,
        &rules.scan_404,
        &rules.isolated_tenant_access,
    ];
    for (i, (name, rule)) in DETECT_RULES.iter().zip(all).enumerate() {
        out.push('\n');
        if i == 0 {
            let _ = writeln!(out, "## Each rule, with its defaults; a key left out takes that rule's default.");
        }
        let _ = writeln!(out, "{c}[detect.{name}]");
        let values = [
            rule.enabled.to_string(),
            rule.threshold.to_string(),
            rule.leak_seconds.to_string(),
            rule.window_seconds.to_string(),
            rule.distinct.to_string(),
            format!("\"{}\"", rule.priority),
        ];
        for (k, v) in DETECT_RULE_KEYS.iter().zip(values) {
            if i == 0 {
                let _ = writeln!(out, "{}", key_doc(k));
            }
            let _ = writeln!(out, "{c}{} = {v}", k.name);
        }
    }
}

/// Splits text into lines of at most 97 characters, at spaces.
fn wrap(text: &str) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split(' ') {
        let line = lines.last_mut().expect("never empty");
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > 97 {
            lines.push(word.to_string());
        } else {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    lines
}

/// The table against the serde structs: the keys each takes (as its `deny_unknown_fields` error
/// lists them), the defaults they give, and the example's every key through the checker.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    /// A document that reaches the table at `path` (an entry of each array on the way, with the
    /// keys it requires), for a key to be added at its end.
    fn reach(path: &str) -> String {
        let mut doc = String::new();
        if path.is_empty() {
            return doc;
        }
        let parts: Vec<&str> = path.split('.').collect();
        for i in 0..parts.len() {
            let here = parts[..=i].join(".");
            match SECTIONS.iter().find(|s| s.path == here) {
                Some(s) if s.array => {
                    let _ = writeln!(doc, "[[{here}]]");
                    for k in s.keys.iter().filter(|k| k.default == Required) {
                        let _ = writeln!(doc, "{} = {}", k.name, value(k));
                    }
                }
                _ => {
                    let _ = writeln!(doc, "[{here}]");
                }
            }
        }
        doc
    }

    /// The fields serde takes in the table at `path`, from the error it gives for one it does not.
    fn serde_fields(path: &str) -> Vec<String> {
        let doc = if path.is_empty() {
            "zz_not_a_key = 1\n".to_string()
        } else {
            // The unknown key first in its table, so that it is what serde meets first.
            let mut d = reach(path);
            let at = d.rfind(&format!("{path}]")).expect("header") + path.len() + 1;
            let at = d[at..].find('\n').map_or(d.len(), |n| at + n + 1);
            d.insert_str(at, "zz_not_a_key = 1\n");
            d
        };
        let err = toml::from_str::<Config>(&doc).expect_err(&doc).message().to_string();
        let list = err.split_once("expected").map(|(_, l)| l).unwrap_or_else(|| panic!("{err}\n{doc}"));
        let mut names: Vec<String> = list.split('`').skip(1).step_by(2).map(str::to_string).collect();
        names.sort();
        names
    }

    #[test]
    fn every_field_of_every_config_struct_is_documented_and_nothing_else() {
        for section in SECTIONS {
            let mut documented: Vec<String> = section.keys.iter().map(|k| k.name.to_string()).collect();
            // Tables are keys of the table that holds them.
            for inner in SECTIONS.iter().filter(|s| !s.path.is_empty()) {
                let parent = inner.path.rsplit_once('.').map_or("", |(p, _)| p);
                if parent == section.path {
                    documented.push(inner.path.rsplit('.').next().unwrap_or_default().to_string());
                }
            }
            if section.path == "detect" {
                documented.extend(DETECT_RULES.iter().map(|r| r.to_string()));
            }
            documented.sort();
            assert_eq!(serde_fields(section.path), documented, "the keys of [{}]", section.path);
        }
        assert_eq!(serde_fields("detect.brute_force"), {
            let mut k: Vec<String> = DETECT_RULE_KEYS.iter().map(|k| k.name.to_string()).collect();
            k.sort();
            k
        });
    }

    #[test]
    fn each_documented_default_is_what_a_missing_key_gives() {
        for section in SECTIONS {
            for k in section.keys {
                let Toml(default) = k.default else { continue };
                let base = reach(section.path);
                let with = format!("{base}{} = {default}\n", k.name);
                let read = |doc: &str| toml::from_str::<Config>(doc).unwrap_or_else(|e| panic!("{doc}\n{e}"));
                assert_eq!(read(&with), read(&base), "[{}] {}: the default", section.path, k.name);
            }
        }
    }

    fn accepted(text: &str) {
        let config: Config = toml::from_str(text).unwrap_or_else(|e| panic!("{text}\n{e}"));
        let errors = crate::config::check::check(&config, "example", text);
        assert!(errors.is_empty(), "{errors:?}\n{text}");
        let dir = std::path::Path::new("/nonexistent");
        crate::config::load_theme(config.theme.as_deref().unwrap_or("default"), dir).expect("theme");
        crate::config::load_keymap(config.keymap.as_deref().unwrap_or("default"), dir).expect("keymap");
    }

    #[test]
    fn every_key_of_the_example_given_is_accepted_and_so_is_each_alternative() {
        let given = render(Render::Given { swap: None });
        accepted(&given);
        let read: Config = toml::from_str(&given).expect("parses");
        assert_eq!(read.access_log.len(), 1);
        let probe = crate::detect::probe::KnownProbe {
            name: "load balancer health check".into(),
            network: Some("10.0.0.0/8".into()),
            path: Some("/healthz".into()),
            user_agent: Some("ELB-HealthChecker/".into()),
        };
        let login = crate::detect::login::Logins {
            paths: vec!["/login".into(), "/api/v2/auth".into()],
            failure_statuses: vec![401, 403, 422],
        };
        let rules = crate::detect::Rules {
            allow: vec!["192.0.2.0/24".into()],
            login,
            known_probe: vec![probe],
            ..Default::default()
        };
        assert_eq!(read.detect, rules, "each rule's table shows its defaults");
        for section in SECTIONS {
            for k in section.keys.iter().filter(|k| k.alt.is_some()) {
                let text = render(Render::Given { swap: Some((section.path, k.name)) });
                assert!(text.contains(&format!("\n{} = ", k.name)), "{text}");
                accepted(&text);
            }
        }
    }

    #[test]
    fn the_commented_example_is_an_empty_config() {
        let text = example();
        let config: Config = toml::from_str(&text).expect("parses");
        assert_eq!(config, Config::default());
        assert!(text.lines().all(|l| l.is_empty() || l.starts_with('#')), "{text}");
    }
}
