//! Web identity against moto's STS (PyPI `moto[server]`): the chain exchanges the token
//! file for the role's temporary credentials with `AssumeRoleWithWebIdentity`, and the
//! credentials sign an STS `GetCallerIdentity` that moto answers as the assumed role.

mod support;

use lookout_aws::{host_header, sign, CredentialChain, Env, SigningRequest};
use support::*;

const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/lookout-reader";

#[test]
fn a_web_identity_token_becomes_role_credentials_through_sts() {
    let Some(moto) = Moto::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(
        &token_file,
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJsb29rb3V0In0.c2ln\n",
    )
    .unwrap();
    let env = Env::from_pairs([
        ("HOME", "/nonexistent"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_WEB_IDENTITY_TOKEN_FILE", token_file.to_str().unwrap()),
        ("AWS_ROLE_ARN", ROLE_ARN),
        ("AWS_ROLE_SESSION_NAME", "lookout-test"),
        ("AWS_ENDPOINT_URL_STS", moto.endpoint.as_str()),
    ]);
    let runtime = runtime();
    let chain = CredentialChain::with_env(env);
    let credentials = runtime.block_on(chain.credentials()).unwrap();
    assert!(
        credentials.access_key_id.starts_with("ASIA"),
        "{credentials:?}"
    );
    assert!(credentials.session_token.is_some(), "{credentials:?}");
    assert!(
        credentials
            .expires
            .is_some_and(|at| at > chrono::Utc::now()),
        "{credentials:?}"
    );
    assert_eq!(
        runtime.block_on(chain.credentials()).unwrap(),
        credentials,
        "cached"
    );

    let body = "Action=GetCallerIdentity&Version=2011-06-15";
    let url = reqwest::Url::parse(&format!("{}/", moto.endpoint)).unwrap();
    let host = host_header(&url).unwrap();
    let content_type = "application/x-www-form-urlencoded; charset=utf-8";
    let signed = sign(
        &SigningRequest {
            method: "POST",
            path: url.path(),
            query: "",
            host: &host,
            headers: &[("content-type", content_type)],
            body: body.as_bytes(),
        },
        &credentials,
        "us-east-1",
        "sts",
        chrono::Utc::now(),
    );
    let answer = runtime.block_on(async {
        let request = reqwest::Client::new()
            .post(url)
            .header("content-type", content_type)
            .body(body);
        let response = signed.apply(request).send().await.unwrap();
        assert!(response.status().is_success(), "{}", response.status());
        response.text().await.unwrap()
    });
    assert!(
        answer.contains("assumed-role/lookout-reader/lookout-test"),
        "{answer}"
    );
}
