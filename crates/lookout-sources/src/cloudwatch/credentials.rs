//! AWS credentials through the standard chain, in the SDKs' order:
//!
//! 1. environment: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, optional `AWS_SESSION_TOKEN`;
//! 2. shared files: profile `AWS_PROFILE` (else `default`) of `AWS_SHARED_CREDENTIALS_FILE`
//!    (else `~/.aws/credentials`), then `[profile NAME]` of `AWS_CONFIG_FILE` (else
//!    `~/.aws/config`), static keys only;
//! 3. container role (ECS, EKS Pod Identity): `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` or
//!    `AWS_CONTAINER_CREDENTIALS_FULL_URI` (+ `AWS_CONTAINER_AUTHORIZATION_TOKEN`);
//! 4. instance role through IMDSv2 (`AWS_EC2_METADATA_DISABLED=true` skips it,
//!    `AWS_EC2_METADATA_SERVICE_ENDPOINT` overrides `http://169.254.169.254`).
//!
//! Temporary credentials are cached until five minutes before they expire. Secrets never
//! appear in `Debug` output, logs or error messages.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Mutex;

/// One set of AWS credentials. `Debug` hides the secret and the token.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
    /// When temporary credentials stop working.
    pub expires: Option<DateTime<Utc>>,
}

impl Credentials {
    pub fn new(
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
        session_token: Option<String>,
    ) -> Self {
        Credentials {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            session_token,
            expires: None,
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .field("expires", &self.expires)
            .finish()
    }
}

/// Why no credentials could be found; never contains a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no AWS credentials found ({tried}); set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile in ~/.aws/credentials, or run with an instance role")]
pub struct NoCredentials {
    /// What each link of the chain said, e.g. `environment: AWS_ACCESS_KEY_ID not set`.
    pub tried: String,
}

/// The provider chain with a cache of the last credentials.
pub struct CredentialChain {
    http: reqwest::Client,
    cached: Mutex<Option<Credentials>>,
    fixed: Option<Credentials>,
}

impl Default for CredentialChain {
    fn default() -> Self {
        CredentialChain {
            http: reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(1))
                .timeout(Duration::from_secs(3))
                .build()
                .unwrap_or_default(),
            cached: Mutex::new(None),
            fixed: None,
        }
    }
}

impl CredentialChain {
    /// Always `credentials`, without looking anywhere else.
    pub fn fixed(credentials: Credentials) -> Self {
        CredentialChain {
            fixed: Some(credentials),
            ..CredentialChain::default()
        }
    }

    /// Current credentials: the cached ones while valid, else the chain walked again.
    pub async fn credentials(&self) -> Result<Credentials, NoCredentials> {
        if let Some(fixed) = &self.fixed {
            return Ok(fixed.clone());
        }
        let mut cached = self.cached.lock().await;
        if let Some(credentials) = cached.as_ref() {
            let fresh = credentials
                .expires
                .is_none_or(|at| at - chrono::Duration::minutes(5) > Utc::now());
            if fresh {
                return Ok(credentials.clone());
            }
        }
        let found = self.resolve().await?;
        *cached = Some(found.clone());
        Ok(found)
    }

    /// Forgets the cached credentials (after AWS refused them), so the next call re-reads.
    pub async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }

    async fn resolve(&self) -> Result<Credentials, NoCredentials> {
        let mut tried = Vec::new();
        match from_env(|name| std::env::var(name).ok()) {
            Ok(found) => return Ok(found),
            Err(reason) => tried.push(format!("environment: {reason}")),
        }
        match from_profile_files() {
            Ok(found) => return Ok(found),
            Err(reason) => tried.push(format!("profile: {reason}")),
        }
        match self.container_credentials().await {
            Ok(found) => return Ok(found),
            Err(reason) => tried.push(format!("container: {reason}")),
        }
        match self.instance_role_credentials().await {
            Ok(found) => return Ok(found),
            Err(reason) => tried.push(format!("instance role: {reason}")),
        }
        Err(NoCredentials {
            tried: tried.join("; "),
        })
    }

    async fn container_credentials(&self) -> Result<Credentials, String> {
        let url = if let Ok(relative) = std::env::var("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
            format!("http://169.254.170.2{relative}")
        } else if let Ok(full) = std::env::var("AWS_CONTAINER_CREDENTIALS_FULL_URI") {
            full
        } else {
            return Err("AWS_CONTAINER_CREDENTIALS_*_URI not set".into());
        };
        let mut request = self.http.get(&url);
        if let Ok(token) = std::env::var("AWS_CONTAINER_AUTHORIZATION_TOKEN") {
            request = request.header("Authorization", token);
        }
        let body = fetch_text(request, &url).await?;
        parse_credentials_json(&body).map_err(|reason| format!("{url}: {reason}"))
    }

    async fn instance_role_credentials(&self) -> Result<Credentials, String> {
        if std::env::var("AWS_EC2_METADATA_DISABLED").is_ok_and(|v| v.eq_ignore_ascii_case("true"))
        {
            return Err("disabled by AWS_EC2_METADATA_DISABLED".into());
        }
        let base = std::env::var("AWS_EC2_METADATA_SERVICE_ENDPOINT")
            .unwrap_or_else(|_| "http://169.254.169.254".to_string());
        self.instance_role_credentials_at(&base).await
    }

    /// The instance role's credentials from the IMDSv2 service at `base`
    /// (`http://169.254.169.254` on EC2): a session token, the role name, its credentials.
    pub async fn instance_role_credentials_at(&self, base: &str) -> Result<Credentials, String> {
        let base = base.trim_end_matches('/');
        let token_url = format!("{base}/latest/api/token");
        let token = fetch_text(
            self.http
                .put(&token_url)
                .header("X-aws-ec2-metadata-token-ttl-seconds", "21600"),
            &token_url,
        )
        .await?;
        let roles_url = format!("{base}/latest/meta-data/iam/security-credentials/");
        let roles = fetch_text(
            self.http
                .get(&roles_url)
                .header("X-aws-ec2-metadata-token", &token),
            &roles_url,
        )
        .await?;
        let Some(role) = roles.lines().map(str::trim).find(|line| !line.is_empty()) else {
            return Err("the instance has no IAM role attached".into());
        };
        let role_url = format!("{roles_url}{role}");
        let body = fetch_text(
            self.http
                .get(&role_url)
                .header("X-aws-ec2-metadata-token", &token),
            &role_url,
        )
        .await?;
        parse_credentials_json(&body).map_err(|reason| format!("role {role}: {reason}"))
    }
}

async fn fetch_text(request: reqwest::RequestBuilder, url: &str) -> Result<String, String> {
    let response = request
        .send()
        .await
        .map_err(|error| format!("{url} unreachable ({error})"))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("{url} answered HTTP {status}"));
    }
    response
        .text()
        .await
        .map_err(|error| format!("{url}: {error}"))
}

/// Credentials from environment variables read through `var`.
pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Credentials, String> {
    let non_empty = |name: &str| var(name).filter(|value| !value.is_empty());
    let Some(access_key_id) = non_empty("AWS_ACCESS_KEY_ID") else {
        return Err("AWS_ACCESS_KEY_ID not set".into());
    };
    let Some(secret) = non_empty("AWS_SECRET_ACCESS_KEY") else {
        return Err("AWS_ACCESS_KEY_ID set but AWS_SECRET_ACCESS_KEY is not".into());
    };
    Ok(Credentials::new(
        access_key_id,
        secret,
        non_empty("AWS_SESSION_TOKEN"),
    ))
}

fn from_profile_files() -> Result<Credentials, String> {
    let profile = std::env::var("AWS_PROFILE").unwrap_or_else(|_| "default".to_string());
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let path_of = |variable: &str, file: &str| {
        std::env::var_os(variable)
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|home| home.join(".aws").join(file)))
    };
    let mut reasons = Vec::new();
    let sources = [
        (
            path_of("AWS_SHARED_CREDENTIALS_FILE", "credentials"),
            profile.clone(),
        ),
        (
            path_of("AWS_CONFIG_FILE", "config"),
            config_section(&profile),
        ),
    ];
    for (path, section) in sources {
        let Some(path) = path else { continue };
        let Ok(text) = std::fs::read_to_string(&path) else {
            reasons.push(format!("{} not readable", path.display()));
            continue;
        };
        match profile_credentials(&text, &section) {
            Ok(found) => return Ok(found),
            Err(reason) => reasons.push(format!("{}: {reason}", path.display())),
        }
    }
    Err(reasons.join(", "))
}

/// The section name of a profile in `~/.aws/config`: `default` or `profile NAME`.
fn config_section(profile: &str) -> String {
    if profile == "default" {
        profile.to_string()
    } else {
        format!("profile {profile}")
    }
}

/// Static keys of `[section]` in an AWS shared credentials/config INI text.
pub fn profile_credentials(text: &str, section: &str) -> Result<Credentials, String> {
    let mut current = None;
    let mut keys = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = Some(name.trim().to_string());
            continue;
        }
        if current.as_deref() != Some(section) {
            continue;
        }
        if let Some((key, value)) = line.split_once('=') {
            keys.insert(key.trim().to_ascii_lowercase(), value.trim().to_string());
        }
    }
    let get = |key: &str| keys.get(key).filter(|value| !value.is_empty()).cloned();
    match (get("aws_access_key_id"), get("aws_secret_access_key")) {
        (Some(id), Some(secret)) => Ok(Credentials::new(id, secret, get("aws_session_token"))),
        _ if current.is_none() && keys.is_empty() => Err(format!("no [{section}] section")),
        _ => Err(format!(
            "[{section}] has no aws_access_key_id/aws_secret_access_key (role and SSO profiles are not supported: export credentials to the environment)"
        )),
    }
}

/// The JSON document of the container and instance-metadata credential endpoints.
pub fn parse_credentials_json(body: &str) -> Result<Credentials, String> {
    let value: serde_json::Value = serde_json::from_str(body)
        .map_err(|error| format!("not a credentials document ({error})"))?;
    let field = |name: &str| value.get(name).and_then(|v| v.as_str()).map(str::to_string);
    let (Some(id), Some(secret)) = (field("AccessKeyId"), field("SecretAccessKey")) else {
        return Err("the credentials document lacks AccessKeyId/SecretAccessKey".into());
    };
    let mut credentials = Credentials::new(id, secret, field("Token"));
    credentials.expires = field("Expiration")
        .and_then(|at| DateTime::parse_from_rfc3339(&at).ok())
        .map(|at| at.with_timezone(&Utc));
    Ok(credentials)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_needs_both_keys() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| value.to_string())
            }
        };
        assert!(from_env(env(&[]))
            .unwrap_err()
            .contains("AWS_ACCESS_KEY_ID"));
        assert!(from_env(env(&[("AWS_ACCESS_KEY_ID", "AKID")]))
            .unwrap_err()
            .contains("AWS_SECRET_ACCESS_KEY"));
        let found = from_env(env(&[
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "s3cr3t"),
            ("AWS_SESSION_TOKEN", "tok"),
        ]))
        .unwrap();
        assert_eq!(found.access_key_id, "AKID");
        assert_eq!(found.session_token.as_deref(), Some("tok"));
    }

    #[test]
    fn debug_output_hides_secrets() {
        let credentials = Credentials::new("AKID", "s3cr3t", Some("t0ken".into()));
        let shown = format!("{credentials:?}");
        assert!(shown.contains("AKID"));
        assert!(
            !shown.contains("s3cr3t") && !shown.contains("t0ken"),
            "{shown}"
        );
    }

    #[test]
    fn profiles_are_read_by_section() {
        let text = "# comment\n[default]\naws_access_key_id = A1\naws_secret_access_key = S1\n\n\
                    [prod]\naws_access_key_id=A2\naws_secret_access_key=S2\naws_session_token=T2\n\
                    [profile sso]\nsso_start_url = https://example\n";
        assert_eq!(
            profile_credentials(text, "default").unwrap().access_key_id,
            "A1"
        );
        let prod = profile_credentials(text, "prod").unwrap();
        assert_eq!(
            (prod.access_key_id.as_str(), prod.session_token.as_deref()),
            ("A2", Some("T2"))
        );
        assert!(profile_credentials(text, "profile sso")
            .unwrap_err()
            .contains("not supported"));
        assert_eq!(config_section("sso"), "profile sso");
    }

    #[test]
    fn metadata_documents_give_expiring_credentials() {
        let body = r#"{"Code":"Success","AccessKeyId":"ASIA1","SecretAccessKey":"S","Token":"T","Expiration":"2030-01-01T00:00:00Z"}"#;
        let credentials = parse_credentials_json(body).unwrap();
        assert_eq!(credentials.session_token.as_deref(), Some("T"));
        assert_eq!(
            credentials.expires.unwrap().to_rfc3339(),
            "2030-01-01T00:00:00+00:00"
        );
        assert!(parse_credentials_json("<html>").is_err());
        assert!(parse_credentials_json("{}")
            .unwrap_err()
            .contains("AccessKeyId"));
    }
}
