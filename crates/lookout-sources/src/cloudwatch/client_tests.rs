//! Tests of the Query-protocol client: error classification and endpoints.

use super::*;

fn failure(status: u16, text: &str) -> Result<(), AwsError> {
    match classify(Service::Ec2, "DescribeInstances", "http://e", status, text) {
        Attempt::Fail(error) => Err(error),
        Attempt::Retry { .. } => Ok(()),
        Attempt::Done(_) | Attempt::Network(_) => panic!("not produced by classify"),
    }
}

#[test]
fn errors_are_classified_by_code_and_status() {
    let doc = |code: &str| {
        format!("<Response><Errors><Error><Code>{code}</Code><Message>m</Message></Error></Errors></Response>")
    };
    assert!(
        failure(400, &doc("RequestLimitExceeded")).is_ok(),
        "throttling retries"
    );
    assert!(failure(503, &doc("Whatever")).is_ok(), "5xx retries");
    assert!(failure(502, "<html>bad gateway</html>").is_ok());
    let denied = failure(403, &doc("UnauthorizedOperation")).unwrap_err();
    assert!(denied.is_denied());
    assert!(
        denied.to_string().contains("ec2:DescribeInstances"),
        "{denied}"
    );
    assert!(matches!(
        failure(401, &doc("AuthFailure")).unwrap_err(),
        AwsError::BadCredentials { .. }
    ));
    assert!(matches!(
        failure(400, &doc("InvalidParameterValue")).unwrap_err(),
        AwsError::Rejected { status: 400, .. }
    ));
    let forbidden = failure(403, "Forbidden").unwrap_err();
    assert!(forbidden.to_string().contains("HTTP 403"), "{forbidden}");
}

#[test]
fn endpoints_follow_the_region_unless_overridden() {
    let aws = AwsClient::new(ClientOptions::new("eu-west-1", None));
    assert_eq!(
        aws.endpoint(Service::Ec2),
        "https://ec2.eu-west-1.amazonaws.com/"
    );
    assert_eq!(
        aws.endpoint(Service::CloudWatch),
        "https://monitoring.eu-west-1.amazonaws.com/"
    );
    let china = AwsClient::new(ClientOptions::new("cn-north-1", None));
    assert!(china.endpoint(Service::Ec2).ends_with(".amazonaws.com.cn/"));
    let local = AwsClient::new(ClientOptions::new(
        "us-east-1",
        Some("http://127.0.0.1:5000".into()),
    ));
    assert_eq!(local.endpoint(Service::CloudWatch), "http://127.0.0.1:5000");
}
