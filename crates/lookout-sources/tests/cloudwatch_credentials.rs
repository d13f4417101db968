//! The instance-role link of the credential chain against a scripted IMDSv2 service:
//! token first (PUT with a TTL header), then the role name and its credentials, each GET
//! carrying the token.

mod moto;

use lookout_sources::cloudwatch::CredentialChain;
use moto::Scripted;

const TOKEN: &str = "imds-session-token";

fn imds(role_document: &'static str) -> Scripted {
    Scripted::start_with_head(move |head, _, _| {
        let first = head.lines().next().unwrap_or("");
        let has = |header: &str| {
            head.to_ascii_lowercase()
                .contains(&header.to_ascii_lowercase())
        };
        if first.starts_with("PUT /latest/api/token") {
            if !has("x-aws-ec2-metadata-token-ttl-seconds: 21600") {
                return (400, "missing TTL".into());
            }
            return (200, TOKEN.into());
        }
        if !has(&format!("x-aws-ec2-metadata-token: {TOKEN}")) {
            return (401, "no token".into());
        }
        match first.split_whitespace().nth(1) {
            Some("/latest/meta-data/iam/security-credentials/") => (200, "lookout-role\n".into()),
            Some("/latest/meta-data/iam/security-credentials/lookout-role") => {
                (200, role_document.into())
            }
            _ => (404, "not found".into()),
        }
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn instance_role_credentials_come_from_imdsv2_with_a_session_token() {
    let server = imds(
        r#"{"Code":"Success","AccessKeyId":"ASIAROLE","SecretAccessKey":"role-secret","Token":"role-token","Expiration":"2099-01-01T00:00:00Z"}"#,
    );
    let credentials = runtime()
        .block_on(CredentialChain::default().instance_role_credentials_at(&server.endpoint))
        .unwrap();
    assert_eq!(credentials.access_key_id, "ASIAROLE");
    assert_eq!(credentials.secret_access_key, "role-secret");
    assert_eq!(credentials.session_token.as_deref(), Some("role-token"));
    assert!(credentials.expires.is_some());
    assert_eq!(
        server.requests.lock().unwrap().len(),
        3,
        "token, role, credentials"
    );
}

#[test]
fn a_broken_metadata_answer_names_the_role_and_hides_nothing_secret() {
    let server = imds("<html>not json</html>");
    let error = runtime()
        .block_on(CredentialChain::default().instance_role_credentials_at(&server.endpoint))
        .unwrap_err();
    assert!(
        error.contains("role lookout-role") && error.contains("not a credentials document"),
        "{error}"
    );
    let unreachable = runtime()
        .block_on(
            CredentialChain::default()
                .instance_role_credentials_at(&format!("http://127.0.0.1:{}", moto::free_port())),
        )
        .unwrap_err();
    assert!(
        unreachable.contains("/latest/api/token unreachable"),
        "{unreachable}"
    );
}
