//! The standard credential chain, in the AWS SDKs' order, with a cache:
//!
//! 1. environment: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, optional `AWS_SESSION_TOKEN`;
//! 2. shared files: a profile's static keys (see `profile.rs`);
//! 3. web identity: `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN` through STS
//!    `AssumeRoleWithWebIdentity`;
//! 4. container role (ECS, EKS Pod Identity): `AWS_CONTAINER_CREDENTIALS_*_URI`;
//! 5. instance role through IMDSv2.
//!
//! The first link that yields credentials wins; when none does, the error says what each
//! link said. Temporary credentials are cached until five minutes before they expire, so a
//! client asking at every request costs a mutex lock while they are fresh; concurrent
//! callers wait for one refresh instead of each starting their own. Secrets never appear
//! in `Debug` output, logs or error messages. HTTP links use a one-second connect and a
//! three-second total timeout, so a missing metadata service costs about a second.

use std::fmt;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::Mutex;

use crate::credentials::{from_env, Credentials, NoCredentials};
use crate::env::Env;
use crate::web_identity::{assume_role_with_web_identity, WebIdentity};
use crate::{container, imds, profile};

/// How long before their expiry cached credentials are refreshed.
pub const REFRESH_BEFORE_EXPIRY: chrono::Duration = chrono::Duration::minutes(5);

/// The provider chain with a cache of the last credentials.
pub struct CredentialChain {
    http: reqwest::Client,
    env: Env,
    cached: Mutex<Option<Credentials>>,
    fixed: Option<Credentials>,
}

impl Default for CredentialChain {
    /// The chain over the process environment.
    fn default() -> Self {
        CredentialChain::with_env(Env::process())
    }
}

impl fmt::Debug for CredentialChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialChain")
            .field("fixed", &self.fixed)
            .finish_non_exhaustive()
    }
}

impl CredentialChain {
    /// The chain reading its settings from `env`.
    pub fn with_env(env: Env) -> Self {
        CredentialChain {
            http: reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(1))
                .timeout(Duration::from_secs(3))
                .build()
                .unwrap_or_default(),
            env,
            cached: Mutex::new(None),
            fixed: None,
        }
    }

    /// Always `credentials`, without looking anywhere else.
    pub fn fixed(credentials: Credentials) -> Self {
        CredentialChain {
            fixed: Some(credentials),
            ..CredentialChain::with_env(Env::from_pairs([]))
        }
    }

    /// Current credentials: the cached ones while valid, else the chain walked again.
    pub async fn credentials(&self) -> Result<Credentials, NoCredentials> {
        if let Some(fixed) = &self.fixed {
            return Ok(fixed.clone());
        }
        let mut cached = self.cached.lock().await;
        if let Some(credentials) = cached.as_ref() {
            if credentials.valid_for(REFRESH_BEFORE_EXPIRY, Utc::now()) {
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
        let env = &self.env;
        let mut tried = Vec::new();
        match from_env(env) {
            Ok(found) => return Ok(found),
            Err(reason) => tried.push(format!("environment: {reason}")),
        }
        match profile::from_profile_files(env) {
            Ok(found) => return Ok(found),
            Err(reason) => tried.push(format!("profile: {reason}")),
        }
        let web_identity = match WebIdentity::from_env(env) {
            Ok(identity) => assume_role_with_web_identity(&self.http, &identity).await,
            Err(reason) => Err(reason),
        };
        match web_identity {
            Ok(found) => return Ok(found),
            Err(reason) => tried.push(format!("web identity: {reason}")),
        }
        match container::from_environment(&self.http, env).await {
            Ok(found) => return Ok(found),
            Err(reason) => tried.push(format!("container: {reason}")),
        }
        match imds::from_environment(&self.http, env).await {
            Ok(found) => return Ok(found),
            Err(reason) => tried.push(format!("instance role: {reason}")),
        }
        Err(NoCredentials {
            tried: tried.join("; "),
        })
    }
}
