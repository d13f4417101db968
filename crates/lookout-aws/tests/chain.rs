//! The credential chain's order: environment, shared files, web identity, container,
//! instance role. Every link is configured at once (local servers stand in for STS, the
//! container endpoint and IMDSv2), then removed one by one from the front: each time the
//! next link must answer.

mod support;

use lookout_aws::{CredentialChain, Env};
use support::*;

fn sts() -> Scripted {
    Scripted::start(|head, body| {
        if !head.starts_with("POST / ")
            || !body.contains("Action=AssumeRoleWithWebIdentity")
            || !body.contains("WebIdentityToken=oidc-token")
        {
            return (400, "<ErrorResponse><Error><Code>InvalidAction</Code><Message>bad</Message></Error></ErrorResponse>".into());
        }
        (
            200,
            "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>\
             <AccessKeyId>ASIAWEB</AccessKeyId><SecretAccessKey>web-secret</SecretAccessKey>\
             <SessionToken>web-token</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration>\
             </Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>"
                .into(),
        )
    })
}

#[test]
fn the_first_configured_link_wins_in_the_sdk_order() {
    let dir = tempfile::tempdir().unwrap();
    let credentials_file = dir.path().join("credentials");
    std::fs::write(
        &credentials_file,
        "[default]\naws_access_key_id=AKIAPROFILE\naws_secret_access_key=profile-secret\n",
    )
    .unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "oidc-token\n").unwrap();
    let sts = sts();
    let expires = chrono::Utc::now() + chrono::Duration::hours(6);
    let container = Scripted::start(move |head, _| {
        if head.contains("authorization: container-auth")
            || head.contains("Authorization: container-auth")
        {
            (200, credentials_document("ASIACONTAINER", expires))
        } else {
            (403, "no authorization".into())
        }
    });
    let metadata = imds(move || credentials_document("ASIAINSTANCE", expires));
    let container_uri = format!("{}/v2/credentials/task", container.endpoint);
    let links: Vec<Vec<(&str, &str)>> = vec![
        vec![
            ("AWS_ACCESS_KEY_ID", "AKIAENV"),
            ("AWS_SECRET_ACCESS_KEY", "env-secret"),
        ],
        vec![(
            "AWS_SHARED_CREDENTIALS_FILE",
            credentials_file.to_str().unwrap(),
        )],
        vec![
            ("AWS_WEB_IDENTITY_TOKEN_FILE", token_file.to_str().unwrap()),
            ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/lookout"),
            ("AWS_ENDPOINT_URL_STS", sts.endpoint.as_str()),
        ],
        vec![
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", container_uri.as_str()),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "container-auth"),
        ],
        vec![(
            "AWS_EC2_METADATA_SERVICE_ENDPOINT",
            metadata.endpoint.as_str(),
        )],
    ];
    let expected = [
        "AKIAENV",
        "AKIAPROFILE",
        "ASIAWEB",
        "ASIACONTAINER",
        "ASIAINSTANCE",
    ];
    let runtime = runtime();
    for first in 0..links.len() {
        let env = Env::from_pairs(
            links[first..]
                .iter()
                .flatten()
                .copied()
                .chain([("HOME", "/nonexistent")]),
        );
        let found = runtime
            .block_on(CredentialChain::with_env(env).credentials())
            .unwrap();
        assert_eq!(found.access_key_id, expected[first], "links from #{first}");
    }
    assert_eq!(
        sts.count(),
        1,
        "STS is asked only once the earlier links are gone"
    );
    assert_eq!(container.count(), 1);
    assert_eq!(metadata.count(), 3);
}

#[test]
fn without_any_link_the_error_says_what_each_one_lacked() {
    let env = Env::from_pairs([
        ("HOME", "/nonexistent"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]);
    let error = runtime()
        .block_on(CredentialChain::with_env(env).credentials())
        .unwrap_err();
    let tried = error.tried.as_str();
    let positions: Vec<usize> = [
        "environment: AWS_ACCESS_KEY_ID not set",
        "profile: /nonexistent/.aws/credentials not readable",
        "web identity: AWS_WEB_IDENTITY_TOKEN_FILE not set",
        "container: AWS_CONTAINER_CREDENTIALS_*_URI not set",
        "instance role: disabled by AWS_EC2_METADATA_DISABLED",
    ]
    .iter()
    .map(|part| {
        tried
            .find(part)
            .unwrap_or_else(|| panic!("{part:?} in {tried}"))
    })
    .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "in order: {tried}"
    );
}

#[test]
fn a_web_identity_refused_by_sts_is_reported_with_the_role_and_code() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "someone-elses-token").unwrap();
    let sts = sts();
    let env = Env::from_pairs([
        ("HOME", "/nonexistent"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_WEB_IDENTITY_TOKEN_FILE", token_file.to_str().unwrap()),
        ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/lookout"),
        ("AWS_ENDPOINT_URL_STS", sts.endpoint.as_str()),
    ]);
    let error = runtime()
        .block_on(CredentialChain::with_env(env).credentials())
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(
            "refused AssumeRoleWithWebIdentity for arn:aws:iam::123456789012:role/lookout"
        ) && error.contains("InvalidAction: bad")
            && !error.contains("someone-elses-token"),
        "{error}"
    );
}
