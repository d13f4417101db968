//! The instance-role link: the EC2 instance metadata service, version 2 only. A session
//! token first (`PUT /latest/api/token` with `X-aws-ec2-metadata-token-ttl-seconds`), then
//! the role name and its credentials, each `GET` carrying the token
//! (`X-aws-ec2-metadata-token`); IMDSv1's unauthenticated reads are never tried.
//! `AWS_EC2_METADATA_DISABLED=true` skips the link, `AWS_EC2_METADATA_SERVICE_ENDPOINT`
//! overrides `http://169.254.169.254`. Costs three loopback-fast requests on EC2; off EC2,
//! one connection attempt bounded by the chain's one-second connect timeout.

use crate::credentials::{parse_credentials_json, Credentials};
use crate::env::Env;
use crate::http::fetch_text;

/// The lifetime asked for the metadata session token, in seconds (the maximum, 6 hours).
pub const TOKEN_TTL_SECONDS: &str = "21600";

/// The default endpoint of the instance metadata service.
pub const DEFAULT_ENDPOINT: &str = "http://169.254.169.254";

pub(crate) async fn from_environment(
    http: &reqwest::Client,
    env: &Env,
) -> Result<Credentials, String> {
    if env
        .var("AWS_EC2_METADATA_DISABLED")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        return Err("disabled by AWS_EC2_METADATA_DISABLED".into());
    }
    let base = env
        .var("AWS_EC2_METADATA_SERVICE_ENDPOINT")
        .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string());
    instance_role_credentials(http, &base).await
}

/// The instance role's credentials from the IMDSv2 service at `base`
/// (`http://169.254.169.254` on EC2): a session token, the role name, its credentials.
pub async fn instance_role_credentials(
    http: &reqwest::Client,
    base: &str,
) -> Result<Credentials, String> {
    let base = base.trim_end_matches('/');
    let token_url = format!("{base}/latest/api/token");
    let token = fetch_text(
        http.put(&token_url)
            .header("X-aws-ec2-metadata-token-ttl-seconds", TOKEN_TTL_SECONDS),
        &token_url,
    )
    .await?;
    let roles_url = format!("{base}/latest/meta-data/iam/security-credentials/");
    let roles = fetch_text(
        http.get(&roles_url)
            .header("X-aws-ec2-metadata-token", &token),
        &roles_url,
    )
    .await?;
    let Some(role) = roles.lines().map(str::trim).find(|line| !line.is_empty()) else {
        return Err("the instance has no IAM role attached".into());
    };
    let role_url = format!("{roles_url}{role}");
    let body = fetch_text(
        http.get(&role_url)
            .header("X-aws-ec2-metadata-token", &token),
        &role_url,
    )
    .await?;
    parse_credentials_json(&body).map_err(|reason| format!("role {role}: {reason}"))
}
