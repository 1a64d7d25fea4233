//! A drill's checklist: each scenario's stages (seen, alerted, banned, contained, drift found),
//! each passed with its latency or failed with why, and the words it is printed in.

use serde::Serialize;

/// What a drill attacks with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    BruteForce,
    CrossTenant,
    Web,
    Tamper,
}

impl Scenario {
    pub const ALL: [Scenario; 4] = [Scenario::BruteForce, Scenario::CrossTenant, Scenario::Web, Scenario::Tamper];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::BruteForce => "brute-force",
            Scenario::CrossTenant => "cross-tenant",
            Scenario::Web => "web",
            Scenario::Tamper => "tamper",
        }
    }

    /// `brute-force`, …, or `all`.
    pub fn parse(text: &str) -> Result<Vec<Scenario>, String> {
        if text == "all" {
            return Ok(Scenario::ALL.to_vec());
        }
        Scenario::ALL
            .into_iter()
            .find(|s| s.name() == text)
            .map(|s| vec![s])
            .ok_or_else(|| format!("no scenario {text:?}: brute-force, cross-tenant, web, tamper or all"))
    }
}

/// One stage of a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    Seen,
    Alerted,
    Banned,
    Contained,
    DriftFound,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Seen => "seen",
            Stage::Alerted => "alerted",
            Stage::Banned => "banned",
            Stage::Contained => "contained",
            Stage::DriftFound => "drift found",
        }
    }
}

/// A stage's result: passed after `after_ms` from the attack's start, or failed (`why`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub scenario: Scenario,
    pub stage: Stage,
    pub ok: bool,
    pub after_ms: Option<i64>,
    /// What was found (passed) or why not (failed).
    pub note: String,
}

impl Check {
    pub fn passed(scenario: Scenario, stage: Stage, after_ms: i64, note: impl Into<String>) -> Check {
        Check { scenario, stage, ok: true, after_ms: Some(after_ms), note: note.into() }
    }

    pub fn failed(scenario: Scenario, stage: Stage, why: impl Into<String>) -> Check {
        Check { scenario, stage, ok: false, after_ms: None, note: why.into() }
    }
}

/// A drill's whole report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub drill: i64,
    pub tenant: String,
    /// The container attacked, and its address.
    pub target: Option<String>,
    /// The attacker container's name, and its address.
    pub attacker: Option<String>,
    pub attacker_ip: Option<String>,
    pub checks: Vec<Check>,
    /// What stopped the drill before or between scenarios (a missing piece, said as what to do).
    pub missing: Vec<String>,
    /// What the clean-up did, or could not.
    pub cleanup: Vec<String>,
    pub dry_run: bool,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.missing.is_empty() && self.checks.iter().all(|c| c.ok)
    }

    /// The checklist as printed: one line per stage, `[x]` passed with its time, `[ ]` failed
    /// with why.
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![format!(
            "drill {} of {}{}{}",
            self.drill,
            self.tenant,
            self.target.as_deref().map(|t| format!(" — target {t}")).unwrap_or_default(),
            self.attacker_ip.as_deref().map(|ip| format!(", attacker {ip}")).unwrap_or_default(),
        )];
        let mut scenario = None;
        for c in &self.checks {
            if scenario != Some(c.scenario) {
                scenario = Some(c.scenario);
                out.push(format!("{}:", c.scenario.name()));
            }
            let mark = if c.ok { "[x]" } else { "[ ]" };
            let time = c.after_ms.map(|ms| format!(" after {:.1} s", ms as f64 / 1000.0)).unwrap_or_default();
            out.push(format!("  {mark} {:<11}{time} — {}", c.stage.name(), c.note));
        }
        for m in &self.missing {
            out.push(format!("missing: {m}"));
        }
        for c in &self.cleanup {
            out.push(format!("clean-up: {c}"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenarios_parse_by_name_or_all() {
        assert_eq!(Scenario::parse("web"), Ok(vec![Scenario::Web]));
        assert_eq!(Scenario::parse("all").unwrap().len(), 4);
        assert_eq!(
            Scenario::parse("ddos"),
            Err("no scenario \"ddos\": brute-force, cross-tenant, web, tamper or all".into())
        );
    }

    #[test]
    fn the_checklist_says_times_and_why() {
        let report = Report {
            drill: 3,
            tenant: "acme".into(),
            checks: vec![
                Check::passed(Scenario::BruteForce, Stage::Seen, 420, "20 access events"),
                Check::failed(Scenario::BruteForce, Stage::Alerted, "no alert"),
            ],
            ..Default::default()
        };
        assert_eq!(
            report.lines(),
            [
                "drill 3 of acme",
                "brute-force:",
                "  [x] seen        after 0.4 s — 20 access events",
                "  [ ] alerted     — no alert"
            ]
        );
        assert!(!report.ok());
    }
}
