//! The web-identity link (EKS IAM roles for service accounts, any OIDC federation):
//! `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN` (+ optional `AWS_ROLE_SESSION_NAME`) are
//! exchanged for temporary credentials with STS `AssumeRoleWithWebIdentity`, an unsigned
//! Query-protocol call (the token is the proof). STS is `AWS_ENDPOINT_URL_STS`, else
//! `AWS_ENDPOINT_URL`, else the regional endpoint of `AWS_REGION`, else the global one.
//! The token file is read again at every exchange, since the platform rotates it. Costs
//! one file read and one STS request per credential lifetime (an hour by default).

use crate::credentials::{parse_time, Credentials};
use crate::env::Env;

/// What the exchange needs; from the environment with [`WebIdentity::from_env`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebIdentity {
    pub role_arn: String,
    pub token_file: std::path::PathBuf,
    pub session_name: String,
    /// The STS endpoint URL.
    pub sts_endpoint: String,
}

impl WebIdentity {
    /// The web identity the environment names, or why it names none.
    pub fn from_env(env: &Env) -> Result<WebIdentity, String> {
        let Some(token_file) = env.var("AWS_WEB_IDENTITY_TOKEN_FILE") else {
            return Err("AWS_WEB_IDENTITY_TOKEN_FILE not set".into());
        };
        let Some(role_arn) = env.var("AWS_ROLE_ARN") else {
            return Err("AWS_WEB_IDENTITY_TOKEN_FILE set but AWS_ROLE_ARN is not".into());
        };
        let session_name = env
            .var("AWS_ROLE_SESSION_NAME")
            .unwrap_or_else(|| format!("lookout-{}", chrono::Utc::now().timestamp_millis()));
        let sts_endpoint = env
            .var("AWS_ENDPOINT_URL_STS")
            .or_else(|| env.var("AWS_ENDPOINT_URL"))
            .unwrap_or_else(|| match env.region() {
                Some(region) if region.starts_with("cn-") => {
                    format!("https://sts.{region}.amazonaws.com.cn")
                }
                Some(region) => format!("https://sts.{region}.amazonaws.com"),
                None => "https://sts.amazonaws.com".to_string(),
            });
        Ok(WebIdentity {
            role_arn,
            token_file: token_file.into(),
            session_name,
            sts_endpoint,
        })
    }
}

/// Exchanges the token of `identity` for the role's temporary credentials.
pub async fn assume_role_with_web_identity(
    http: &reqwest::Client,
    identity: &WebIdentity,
) -> Result<Credentials, String> {
    let token = std::fs::read_to_string(&identity.token_file).map_err(|error| {
        format!(
            "token file {} not readable ({error})",
            identity.token_file.display()
        )
    })?;
    let form = form_urlencoded::Serializer::new(String::new())
        .append_pair("Action", "AssumeRoleWithWebIdentity")
        .append_pair("Version", "2011-06-15")
        .append_pair("RoleArn", &identity.role_arn)
        .append_pair("RoleSessionName", &identity.session_name)
        .append_pair("WebIdentityToken", token.trim())
        .finish();
    let url = format!("{}/", identity.sts_endpoint.trim_end_matches('/'));
    let response = http
        .post(&url)
        .header(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )
        .body(form)
        .send()
        .await
        .map_err(|error| format!("{url} unreachable ({error})"))?;
    let status = response.status();
    let body = response
        .text()
        .await
        .map_err(|error| format!("{url}: {error}"))?;
    if !status.is_success() {
        return Err(format!(
            "{url} refused AssumeRoleWithWebIdentity for {} (HTTP {status}, {})",
            identity.role_arn,
            error_of(&body)
        ));
    }
    parse_response(&body).map_err(|reason| format!("{url}: {reason}"))
}

/// The credentials of an `AssumeRoleWithWebIdentityResponse`.
fn parse_response(body: &str) -> Result<Credentials, String> {
    let document =
        roxmltree::Document::parse(body).map_err(|error| format!("not an STS answer ({error})"))?;
    let Some(node) = document
        .descendants()
        .find(|node| node.has_tag_name("Credentials"))
    else {
        return Err("the STS answer has no Credentials".into());
    };
    let field = |name: &str| {
        node.children()
            .find(|child| child.has_tag_name(name))
            .and_then(|child| child.text())
            .map(|text| text.trim().to_string())
            .filter(|text| !text.is_empty())
    };
    let (Some(id), Some(secret)) = (field("AccessKeyId"), field("SecretAccessKey")) else {
        return Err("the STS Credentials lack AccessKeyId/SecretAccessKey".into());
    };
    let mut credentials = Credentials::new(id, secret, field("SessionToken"));
    credentials.expires = field("Expiration").and_then(|at| parse_time(&at));
    Ok(credentials)
}

/// `Code: Message` of an AWS error document, or the start of the body.
fn error_of(body: &str) -> String {
    let parsed = roxmltree::Document::parse(body).ok().map(|document| {
        let text = |name: &str| {
            document
                .descendants()
                .find(|node| node.has_tag_name(name))
                .and_then(|node| node.text())
                .unwrap_or("")
                .trim()
                .to_string()
        };
        (text("Code"), text("Message"))
    });
    match parsed {
        Some((code, message)) if !code.is_empty() => format!("{code}: {message}"),
        _ => body.chars().take(200).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_names_a_web_identity_and_its_sts_endpoint() {
        assert!(WebIdentity::from_env(&Env::from_pairs([]))
            .unwrap_err()
            .contains("AWS_WEB_IDENTITY_TOKEN_FILE"));
        assert!(
            WebIdentity::from_env(&Env::from_pairs([("AWS_WEB_IDENTITY_TOKEN_FILE", "/t")]))
                .unwrap_err()
                .contains("AWS_ROLE_ARN")
        );
        let base = [
            ("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/token"),
            ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/lookout"),
        ];
        let global = WebIdentity::from_env(&Env::from_pairs(base)).unwrap();
        assert_eq!(global.sts_endpoint, "https://sts.amazonaws.com");
        assert!(global.session_name.starts_with("lookout-"));
        let regional = WebIdentity::from_env(&Env::from_pairs(base.into_iter().chain([
            ("AWS_REGION", "eu-central-1"),
            ("AWS_ROLE_SESSION_NAME", "s"),
        ])))
        .unwrap();
        assert_eq!(
            regional.sts_endpoint,
            "https://sts.eu-central-1.amazonaws.com"
        );
        assert_eq!(regional.session_name, "s");
        let local = WebIdentity::from_env(&Env::from_pairs(base.into_iter().chain([
            ("AWS_ENDPOINT_URL", "http://a"),
            ("AWS_ENDPOINT_URL_STS", "http://b"),
        ])))
        .unwrap();
        assert_eq!(local.sts_endpoint, "http://b");
    }

    #[test]
    fn sts_answers_and_errors_are_read() {
        let answer = "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
            <AssumeRoleWithWebIdentityResult><Credentials><SessionToken>T</SessionToken>\
            <SecretAccessKey>S</SecretAccessKey><Expiration>2030-01-01T00:00:00Z</Expiration>\
            <AccessKeyId>ASIA</AccessKeyId></Credentials></AssumeRoleWithWebIdentityResult>\
            </AssumeRoleWithWebIdentityResponse>";
        let credentials = parse_response(answer).unwrap();
        assert_eq!(credentials.access_key_id, "ASIA");
        assert_eq!(credentials.session_token.as_deref(), Some("T"));
        assert!(credentials.expires.is_some());
        assert!(parse_response("<a/>")
            .unwrap_err()
            .contains("no Credentials"));
        assert_eq!(
            error_of("<ErrorResponse><Error><Code>InvalidIdentityToken</Code><Message>expired</Message></Error></ErrorResponse>"),
            "InvalidIdentityToken: expired"
        );
        assert_eq!(error_of("plain"), "plain");
    }
}
