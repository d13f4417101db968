//! The instance-role link against a local IMDSv2 service that follows the documented
//! protocol: token first (PUT with a TTL header), then the role name and its credentials,
//! each GET carrying the token; a GET without it is refused with 401.

mod support;

use lookout_aws::{instance_role_credentials, CredentialChain, Env};
use support::*;

#[test]
fn instance_role_credentials_come_from_imdsv2_with_a_session_token() {
    let server = imds(|| {
        r#"{"Code":"Success","AccessKeyId":"ASIAROLE","SecretAccessKey":"role-secret","Token":"role-token","Expiration":"2099-01-01T00:00:00Z"}"#.into()
    });
    let credentials = runtime()
        .block_on(instance_role_credentials(
            &reqwest::Client::new(),
            &server.endpoint,
        ))
        .unwrap();
    assert_eq!(credentials.access_key_id, "ASIAROLE");
    assert_eq!(credentials.secret_access_key, "role-secret");
    assert_eq!(credentials.session_token.as_deref(), Some("role-token"));
    assert!(credentials.expires.is_some());
    assert_eq!(server.count(), 3, "token, role, credentials");
}

#[test]
fn the_service_refuses_reads_without_a_token() {
    let server = imds(|| "{}".into());
    let status = runtime().block_on(async {
        reqwest::get(format!(
            "{}/latest/meta-data/iam/security-credentials/",
            server.endpoint
        ))
        .await
        .unwrap()
        .status()
    });
    assert_eq!(status, 401, "the scripted service is IMDSv2-only");
}

#[test]
fn a_broken_metadata_answer_names_the_role_and_hides_nothing_secret() {
    let server = imds(|| "<html>not json</html>".into());
    let http = reqwest::Client::new();
    let error = runtime()
        .block_on(instance_role_credentials(&http, &server.endpoint))
        .unwrap_err();
    assert!(
        error.contains("role lookout-role") && error.contains("not a credentials document"),
        "{error}"
    );
    let unreachable = runtime()
        .block_on(instance_role_credentials(
            &http,
            &format!("http://127.0.0.1:{}", free_port()),
        ))
        .unwrap_err();
    assert!(
        unreachable.contains("/latest/api/token unreachable"),
        "{unreachable}"
    );
}

#[test]
fn the_chain_reaches_the_instance_role_and_caches_it_until_shortly_before_expiry() {
    let expires = chrono::Utc::now() + chrono::Duration::hours(1);
    let lasting = imds(move || credentials_document("ASIALONG", expires));
    let env = |endpoint: &str| {
        Env::from_pairs([
            ("AWS_EC2_METADATA_SERVICE_ENDPOINT", endpoint),
            ("HOME", "/nonexistent"),
        ])
    };
    let runtime = runtime();
    let chain = CredentialChain::with_env(env(&lasting.endpoint));
    let first = runtime.block_on(chain.credentials()).unwrap();
    let second = runtime.block_on(chain.credentials()).unwrap();
    assert_eq!(first.access_key_id, "ASIALONG");
    assert_eq!(first, second);
    assert_eq!(
        lasting.count(),
        3,
        "the second call is served from the cache"
    );
    runtime.block_on(chain.invalidate());
    runtime.block_on(chain.credentials()).unwrap();
    assert_eq!(
        lasting.count(),
        6,
        "invalidated credentials are fetched again"
    );

    let soon = chrono::Utc::now() + chrono::Duration::minutes(2);
    let expiring = imds(move || credentials_document("ASIASHORT", soon));
    let chain = CredentialChain::with_env(env(&expiring.endpoint));
    runtime.block_on(chain.credentials()).unwrap();
    runtime.block_on(chain.credentials()).unwrap();
    assert_eq!(
        expiring.count(),
        6,
        "credentials within five minutes of expiry are refreshed"
    );
}
