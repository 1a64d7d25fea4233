//! Why a CloudWatch Logs request or the credential chain failed, said as one sentence that names the cause and the fix.

use std::error::Error;

use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::ProvideCredentials;
use aws_sdk_cloudwatchlogs::error::{ProvideErrorMetadata, SdkError};

use crate::store::status::Health;

/// Why a request failed, in the operator's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    NoCredentials(String),
    AccessDenied(String),
    NoSuchGroup(String),
    Throttled,
    ServerError(String),
    Unreachable(String),
    /// The endpoint URL cannot be used at all (`endpoint_url = "not a url"`): a mistake to fix.
    BadEndpoint(String),
    Other(String),
}

impl Problem {
    pub fn health(&self) -> Health {
        match self {
            Problem::Throttled | Problem::ServerError(_) => Health::Degraded,
            _ => Health::Down,
        }
    }

    /// A few words for the Sources view's STATE column.
    pub fn summary(&self) -> &'static str {
        match self {
            Problem::NoCredentials(why) if why.starts_with("no AWS credentials") => "credentials missing",
            Problem::NoCredentials(why) if why.starts_with("the AWS credentials were refused") => "credentials refused",
            Problem::NoCredentials(why) if why.starts_with("the AWS profile") => "profile unusable",
            Problem::NoCredentials(_) => "credentials unusable",
            Problem::AccessDenied(_) => "access denied",
            Problem::NoSuchGroup(_) => "no such group",
            Problem::Throttled => "throttled",
            Problem::ServerError(_) => "server error",
            Problem::Unreachable(_) => "endpoint unreachable",
            Problem::BadEndpoint(_) => "bad endpoint URL",
            Problem::Other(_) => "error",
        }
    }

    /// One sentence: what went wrong and what to do.
    pub fn describe(&self) -> String {
        match self {
            Problem::NoCredentials(why) => why.clone(),
            Problem::AccessDenied(what) => format!("access denied: {what}"),
            Problem::NoSuchGroup(g) => format!("no such log group {g} (check the name and the region)"),
            Problem::Throttled => "throttled by CloudWatch (ThrottlingException)".into(),
            Problem::ServerError(e) => format!("CloudWatch server error: {e}"),
            Problem::Unreachable(e) => format!("endpoint unreachable: {e}"),
            Problem::BadEndpoint(e) | Problem::Other(e) => e.clone(),
        }
    }
}

/// Which credential sources the standard chain tries, and what to set.
pub fn chain_tried(profile: Option<&str>) -> String {
    format!(
        "no AWS credentials found; tried the standard chain: environment (AWS_ACCESS_KEY_ID and \
         AWS_SECRET_ACCESS_KEY), profile '{}' in ~/.aws/credentials and ~/.aws/config (incl. SSO; \
         AWS_PROFILE), web identity (AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN), container credentials \
         (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI), instance metadata — set one of them (e.g. `aws sso login` \
         or an instance role)",
        profile.unwrap_or("default")
    )
}

/// A profile named in the config or with `--profile` that gives no credentials.
fn profile_unusable(profile: &str) -> String {
    format!(
        "the AWS profile '{profile}' gives no credentials: it is not in ~/.aws/config or ~/.aws/credentials, \
         or holds no keys — check its name (--profile, or `profile` in the config), or set it up with \
         `aws configure --profile {profile}`"
    )
}

/// Error codes that mean the credentials themselves were refused (JSON services say the first
/// three; an endpoint answering in XML, as STS-style services and moto's IAM check do, the rest).
const REFUSED: &[&str] = &[
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidAccessKeyId",
];

/// Classifies an SDK error; `action` is the IAM action the request needed, `endpoint` where it went.
pub fn classify<E>(err: &SdkError<E>, action: &str, group: &str, endpoint: &str) -> Problem
where
    E: ProvideErrorMetadata + Error + 'static,
{
    // The error's code and message: the SDK's, or read from an answer in XML it could not parse.
    let (code, message) = match err {
        SdkError::ServiceError(e) => match e.err().code() {
            Some(code) => (Some(code.to_string()), e.err().message().map(str::to_string)),
            None => match e.raw().body().bytes().and_then(xml_error) {
                Some((code, message)) => (Some(code), message),
                None => (None, None),
            },
        },
        _ => (None, None),
    };
    let said = |code: &str| match &message {
        Some(m) if !m.is_empty() => format!("{code}: {}", inert(m)),
        _ => code.to_string(),
    };
    match code.as_deref() {
        Some("ThrottlingException" | "Throttling" | "TooManyRequestsException" | "LimitExceededException") => {
            return Problem::Throttled
        }
        Some("AccessDeniedException" | "AccessDenied") => {
            return Problem::AccessDenied(format!("the credentials need the IAM action {action} on {group}"))
        }
        Some("ResourceNotFoundException") => return Problem::NoSuchGroup(group.to_string()),
        Some(code) if REFUSED.contains(&code) => {
            return Problem::NoCredentials(format!(
                "the AWS credentials were refused by {endpoint} ({}) — they are invalid or expired; renew them",
                said(code)
            ))
        }
        Some("ServiceUnavailableException") => return Problem::ServerError("ServiceUnavailableException".into()),
        _ => {}
    }
    match err {
        SdkError::ServiceError(e) => {
            let status = e.raw().status().as_u16();
            match code.as_deref() {
                _ if status >= 500 => Problem::ServerError(format!("HTTP {status}")),
                Some(code) => Problem::Other(format!("{endpoint} refused {action} ({})", said(code))),
                None => Problem::Other(format!(
                    "{endpoint} answered {action} with HTTP {status} and no error CloudWatch Logs would give \
                     — check that it is a CloudWatch Logs endpoint (endpoint_url, --endpoint-url)"
                )),
            }
        }
        SdkError::ResponseError(_) => {
            Problem::ServerError(format!("{endpoint} sent an answer that could not be read ({})", root_cause(err)))
        }
        SdkError::TimeoutError(_) => Problem::Unreachable(format!("{endpoint}: timed out")),
        SdkError::DispatchFailure(d) if d.is_io() || d.is_timeout() => Problem::Unreachable(format!(
            "{endpoint}: {} — check that it is up and that the URL is right",
            root_cause(err)
        )),
        // The SDK's own words hold the whole request (its body too): they are never repeated.
        _ if causes(err).contains("failed to apply endpoint") => Problem::BadEndpoint(format!(
            "'{}' is not a usable endpoint URL — write it as http://host:port or https://host (endpoint_url, \
             --endpoint-url)",
            inert(endpoint)
        )),
        _ if causes(err).to_ascii_lowercase().contains("region") => Problem::Other(format!(
            "no AWS region: set AWS_REGION, `region` in the profile, or --region (`region` in the config): {}",
            causes(err)
        )),
        _ if causes(err).to_ascii_lowercase().contains("credential") => Problem::NoCredentials(format!(
            "cannot use the AWS credentials: {} — check the profile, SSO session or role",
            causes(err)
        )),
        _ => Problem::Other(causes(err)),
    }
}

/// The code and message of an error answered in XML (`<Error><Code>InvalidClientTokenId</Code>
/// <Message>…</Message></Error>`), as the SDK's JSON reader cannot read it.
fn xml_error(body: &[u8]) -> Option<(String, Option<String>)> {
    let text = std::str::from_utf8(body).ok()?;
    let tag = |name: &str| {
        let open = format!("<{name}>");
        let start = text.find(&open)? + open.len();
        let end = text[start..].find('<')?;
        Some(text[start..start + end].trim().to_string())
    };
    let code = tag("Code").filter(|c| !c.is_empty() && c.len() <= 100)?;
    Some((code, tag("Message")))
}

/// Text from an answer, bounded and inert (it reaches a terminal and the Sources view).
fn inert(text: &str) -> String {
    short(&crate::text::sanitize::clean(text, 300))
}

/// An error and its causes in one line, each said once: never the SDK's debug dump of the
/// request or the response, which `DisplayErrorContext` appends.
fn causes(err: &(dyn Error + 'static)) -> String {
    let mut said: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if !text.is_empty() && !said.iter().any(|s| s.contains(&text)) {
            said.push(text);
        }
        next = e.source();
    }
    inert(&said.join(": "))
}

/// The innermost cause (`Connection refused (os error 111)`), as it says what happened.
fn root_cause(err: &(dyn Error + 'static)) -> String {
    let mut e = err;
    while let Some(inner) = e.source() {
        e = inner;
    }
    inert(&e.to_string())
}

fn short(text: &str) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    one_line.chars().take(300).collect()
}

/// Whether the chain yields credentials at all (only success is looked at: nothing is kept).
pub async fn credentials_problem(sdk: &aws_config::SdkConfig, profile: Option<&str>) -> Option<Problem> {
    let Some(provider) = sdk.credentials_provider() else {
        return Some(Problem::NoCredentials(chain_tried(profile)));
    };
    match provider.provide_credentials().await {
        Ok(_) => None,
        // A named profile that gives nothing is the thing to fix; asked again, the SDK says only
        // "already taken" about it, so the same sentence is said every time.
        Err(CredentialsError::CredentialsNotLoaded(_)) => Some(Problem::NoCredentials(match profile {
            Some(p) => profile_unusable(p),
            None => chain_tried(None),
        })),
        Err(e) => match profile {
            Some(p) if causes(&e).contains("profile") => Some(Problem::NoCredentials(profile_unusable(p))),
            _ => Some(Problem::NoCredentials(format!(
                "cannot load AWS credentials: {} — check the profile, SSO session or role",
                causes(&e)
            ))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_problem_has_its_words_for_the_sources_view() {
        let words = |p: Problem| p.summary();
        assert_eq!(words(Problem::NoCredentials(chain_tried(None))), "credentials missing");
        assert_eq!(
            words(Problem::NoCredentials("the AWS credentials were refused (ExpiredTokenException) — …".into())),
            "credentials refused"
        );
        assert_eq!(
            words(Problem::NoCredentials("cannot load AWS credentials: sso expired".into())),
            "credentials unusable"
        );
        assert_eq!(words(Problem::NoCredentials(profile_unusable("nosuch"))), "profile unusable");
        assert_eq!(words(Problem::AccessDenied("x".into())), "access denied");
        assert_eq!(words(Problem::NoSuchGroup("/g".into())), "no such group");
        assert_eq!(words(Problem::Throttled), "throttled");
        assert_eq!(words(Problem::Unreachable("x".into())), "endpoint unreachable");
        assert_eq!(words(Problem::BadEndpoint("x".into())), "bad endpoint URL");
    }

    #[test]
    fn an_error_answered_in_xml_is_read_for_its_code() {
        let body = br#"<?xml version="1.0" encoding="utf-8"?>
<ErrorResponse><Errors><Error><Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.</Message><Type>Sender</Type></Error></Errors></ErrorResponse>"#;
        assert_eq!(
            xml_error(body),
            Some((
                "InvalidClientTokenId".to_string(),
                Some("The security token included in the request is invalid.".to_string())
            ))
        );
        assert_eq!(xml_error(b"<html>nope</html>"), None);
        assert_eq!(xml_error(b"{\"__type\":\"x\"}"), None);
    }
}
