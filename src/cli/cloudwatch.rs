//! `rampart cloudwatch groups|tail`: what the AWS credentials see in CloudWatch Logs, headless.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use color_eyre::Result;

use super::out;
use crate::config::cloudwatch::{parse_duration, GroupConfig};
use crate::sources::aws::{classify, client, credentials_problem, Problem, RequestBudget};
use crate::sources::cloudwatch::{self, SeenIds};

/// Where to reach CloudWatch Logs; credentials come only from the standard AWS chain.
#[derive(Debug, Clone, Default, Args)]
pub struct AwsArgs {
    /// AWS region [default: the standard chain's: AWS_REGION, the profile]
    #[arg(long)]
    pub region: Option<String>,
    /// AWS profile from ~/.aws/config [default: AWS_PROFILE, then `default`]
    #[arg(long)]
    pub profile: Option<String>,
    /// Another endpoint than AWS's (a VPC endpoint, a local test server)
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum CloudwatchCommand {
    /// Log groups the credentials can see, with stored bytes and retention
    Groups {
        #[command(flatten)]
        aws: AwsArgs,
        /// Only groups whose names start with this
        #[arg(long)]
        prefix: Option<String>,
        /// One JSON object per line
        #[arg(long)]
        json: bool,
    },
    /// A group's events, oldest first; with --follow, new and late events as they arrive, each once
    Tail {
        #[command(flatten)]
        aws: AwsArgs,
        /// The log group's name (`/ecs/production/falco`)
        group: String,
        /// How far back to start: 90s, 15m, 1h, 1d
        #[arg(long, default_value = "1h")]
        since: String,
        /// Keep polling for new (and late) events
        #[arg(long)]
        follow: bool,
        /// A CloudWatch Logs filter pattern
        #[arg(long, value_name = "P")]
        filter_pattern: Option<String>,
        /// One JSON object per line
        #[arg(long)]
        json: bool,
    },
}

/// Exit codes beyond the shared ones (see `cli::exit`).
pub mod exit {
    pub const NO_CREDENTIALS: u8 = 4;
    pub const ACCESS_DENIED: u8 = 5;
    pub const NO_SUCH_GROUP: u8 = 6;
}

fn entry(aws: &AwsArgs, group: Option<String>, prefix: Option<String>) -> GroupConfig {
    GroupConfig {
        group,
        group_prefix: prefix,
        format: Default::default(),
        filter_pattern: None,
        streams: Vec::new(),
        stream_prefix: None,
        since: None,
        region: aws.region.clone(),
        profile: aws.profile.clone(),
        endpoint_url: aws.endpoint_url.clone(),
        poll: None,
        overlap: None,
        requests_per_second: None,
        tenant: None,
        tenant_from: None,
        fields: Default::default(),
    }
}

/// Says the problem on stderr and picks its exit code.
fn fail(problem: &Problem) -> ExitCode {
    eprintln!("rampart cloudwatch: {}", problem.describe());
    ExitCode::from(match problem {
        Problem::NoCredentials(_) => exit::NO_CREDENTIALS,
        Problem::AccessDenied(_) => exit::ACCESS_DENIED,
        Problem::NoSuchGroup(_) => exit::NO_SUCH_GROUP,
        Problem::Unreachable(_) | Problem::Throttled | Problem::ServerError(_) => super::args::exit::UNREACHABLE,
        Problem::BadEndpoint(_) => super::args::exit::USAGE,
        Problem::Other(_) => super::args::exit::PARTIAL,
    })
}

pub fn run(command: CloudwatchCommand) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async move {
        match command {
            CloudwatchCommand::Groups { aws, prefix, json } => groups(&aws, prefix, json).await,
            CloudwatchCommand::Tail { aws, group, since, follow, filter_pattern, json } => {
                let since = parse_duration(&since).map_err(|e| out::Mistake::usage(format!("--since: {e}")))?;
                tail(&aws, group, since, follow, filter_pattern, json).await
            }
        }
    })
}

async fn groups(aws: &AwsArgs, prefix: Option<String>, json: bool) -> Result<ExitCode> {
    let entry = entry(aws, None, Some(prefix.unwrap_or_default()));
    let (client, sdk) = client(&entry).await;
    if let Some(p) = credentials_problem(&sdk, aws.profile.as_deref()).await {
        return Ok(fail(&p));
    }
    let endpoint = aws.endpoint_url.clone().unwrap_or_else(|| "CloudWatch Logs".into());
    let budget = RequestBudget::new(3.0);
    match cloudwatch::groups_of(&client, &entry, &budget, &endpoint).await {
        Ok(found) => {
            for g in found {
                if json {
                    out::json_line(&g)?;
                } else {
                    let retention = g.retention_days.map_or("never expire".to_string(), |d| format!("{d} days"));
                    out!("{}\t{} bytes\t{retention}", clean(&g.name), g.stored_bytes.unwrap_or(0))?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(p) => Ok(fail(&p)),
    }
}

/// Text from outside with every control, bidi override and invisible character made visible and
/// inert, as the console shows it (it goes straight to a terminal).
fn clean(s: &str) -> std::borrow::Cow<'_, str> {
    crate::text::sanitize::clean_all(s)
}

async fn tail(
    aws: &AwsArgs,
    group: String,
    since: Duration,
    follow: bool,
    filter_pattern: Option<String>,
    json: bool,
) -> Result<ExitCode> {
    let entry = entry(aws, Some(group.clone()), None);
    let (client, sdk) = client(&entry).await;
    if let Some(p) = credentials_problem(&sdk, aws.profile.as_deref()).await {
        return Ok(fail(&p));
    }
    let endpoint = aws.endpoint_url.clone().unwrap_or_else(|| "CloudWatch Logs".into());
    let overlap = 10 * 60_000;
    let mut seen = SeenIds::new(1_000_000);
    let mut start = crate::store::now_ms() - since.as_millis() as i64;
    loop {
        let began = crate::store::now_ms();
        let mut token: Option<String> = None;
        let mut newest = None;
        loop {
            let out = client
                .filter_log_events()
                .log_group_name(&group)
                .start_time(start.max(0))
                .set_filter_pattern(filter_pattern.clone())
                .set_next_token(token.clone())
                .send()
                .await;
            let out = match out {
                Ok(out) => out,
                Err(e) => return Ok(fail(&classify(&e, "logs:FilterLogEvents", &group, &endpoint))),
            };
            let mut events: Vec<_> = out.events().iter().collect();
            events.sort_by_key(|e| e.timestamp());
            for e in events {
                let (Some(id), Some(ts)) = (e.event_id(), e.timestamp()) else { continue };
                newest = Some(newest.map_or(ts, |n: i64| n.max(ts)));
                if !seen.insert(id, ts) {
                    continue;
                }
                let stream = e.log_stream_name().unwrap_or_default();
                let message = e.message().unwrap_or_default();
                let ahead = ts - crate::store::now_ms();
                if ahead > cloudwatch::FUTURE_ALLOWANCE_MS {
                    eprintln!(
                        "rampart cloudwatch: clock skew: an event of stream {} is stamped {} s after this host's clock",
                        clean(stream),
                        ahead / 1000
                    );
                }
                if json {
                    let line =
                        serde_json::json!({"timestamp": ts, "stream": stream, "event_id": id, "message": message});
                    out::json_line(&line)?;
                } else {
                    let time = chrono::DateTime::from_timestamp_millis(ts).map(|t| t.to_rfc3339()).unwrap_or_default();
                    out!("{time} {} {}", clean(stream), clean(message.trim_end()))?;
                }
            }
            token = out.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        if !follow {
            return Ok(ExitCode::SUCCESS);
        }
        // The window follows the newest event, but never past this host's own clock: an event
        // stamped in the future must not carry it beyond the events of now.
        if let Some(n) = newest {
            start = start.max(n.min(began) - overlap);
            seen.forget_before(start - 60_000);
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}
