//! The container link (ECS task roles, EKS Pod Identity):
//! `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (under `http://169.254.170.2`) or
//! `AWS_CONTAINER_CREDENTIALS_FULL_URI`, with `AWS_CONTAINER_AUTHORIZATION_TOKEN` as the
//! `Authorization` header when set. Costs one request, only when configured.

use crate::credentials::{parse_credentials_json, Credentials};
use crate::env::Env;
use crate::http::fetch_text;

pub(crate) async fn from_environment(
    http: &reqwest::Client,
    env: &Env,
) -> Result<Credentials, String> {
    let url = if let Some(relative) = env.var("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
        format!("http://169.254.170.2{relative}")
    } else if let Some(full) = env.var("AWS_CONTAINER_CREDENTIALS_FULL_URI") {
        full
    } else {
        return Err("AWS_CONTAINER_CREDENTIALS_*_URI not set".into());
    };
    let mut request = http.get(&url);
    if let Some(token) = env.var("AWS_CONTAINER_AUTHORIZATION_TOKEN") {
        request = request.header("Authorization", token);
    }
    let body = fetch_text(request, &url).await?;
    parse_credentials_json(&body).map_err(|reason| format!("{url}: {reason}"))
}
