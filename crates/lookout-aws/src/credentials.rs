//! One set of AWS credentials, the error when none is found, and the two documents they
//! arrive in without a network call: environment variables and the JSON of the container
//! and instance-metadata endpoints.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::env::Env;

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

    /// Whether these credentials still work `margin` after `now` (static ones always do).
    pub fn valid_for(&self, margin: chrono::Duration, now: DateTime<Utc>) -> bool {
        self.expires.is_none_or(|at| at - margin > now)
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
#[error("no AWS credentials found ({tried}); set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile in ~/.aws/credentials, a web identity (AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN), or run with an instance role")]
pub struct NoCredentials {
    /// What each link of the chain said, e.g. `environment: AWS_ACCESS_KEY_ID not set`.
    pub tried: String,
}

/// Credentials from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`.
pub(crate) fn from_env(env: &Env) -> Result<Credentials, String> {
    let Some(access_key_id) = env.var("AWS_ACCESS_KEY_ID") else {
        return Err("AWS_ACCESS_KEY_ID not set".into());
    };
    let Some(secret) = env.var("AWS_SECRET_ACCESS_KEY") else {
        return Err("AWS_ACCESS_KEY_ID set but AWS_SECRET_ACCESS_KEY is not".into());
    };
    Ok(Credentials::new(
        access_key_id,
        secret,
        env.var("AWS_SESSION_TOKEN"),
    ))
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
    credentials.expires = field("Expiration").and_then(|at| parse_time(&at));
    Ok(credentials)
}

/// An RFC 3339 time as AWS writes expirations.
pub(crate) fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|at| at.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_needs_both_keys() {
        assert!(from_env(&Env::from_pairs([]))
            .unwrap_err()
            .contains("AWS_ACCESS_KEY_ID"));
        assert!(from_env(&Env::from_pairs([("AWS_ACCESS_KEY_ID", "AKID")]))
            .unwrap_err()
            .contains("AWS_SECRET_ACCESS_KEY"));
        let found = from_env(&Env::from_pairs([
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

    #[test]
    fn temporary_credentials_stop_being_valid_before_they_expire() {
        let now = parse_time("2030-01-01T00:00:00Z").unwrap();
        let mut credentials = Credentials::new("A", "S", None);
        assert!(credentials.valid_for(chrono::Duration::minutes(5), now));
        credentials.expires = Some(now + chrono::Duration::minutes(10));
        assert!(credentials.valid_for(chrono::Duration::minutes(5), now));
        assert!(!credentials.valid_for(chrono::Duration::minutes(15), now));
    }
}
