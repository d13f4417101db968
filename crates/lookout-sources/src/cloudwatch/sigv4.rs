//! AWS Signature Version 4 for the Query-protocol requests this source sends.
//!
//! Implements the published algorithm (canonical request → string to sign → HMAC-SHA256
//! chain of date, region, service, `aws4_request`) with `ring`'s SHA-256 and HMAC. It is
//! checked against the test vector of the AWS documentation below and, in the moto tests,
//! against moto's own signature verification (`INITIAL_NO_AUTH_ACTION_COUNT`).

use chrono::{DateTime, Utc};
use ring::{digest, hmac};

use super::credentials::Credentials;

/// What gets signed: one HTTP request.
#[derive(Debug, Clone)]
pub struct SigningRequest<'a> {
    pub method: &'a str,
    /// The URL path, `/` when empty.
    pub path: &'a str,
    /// The canonical query string (already sorted and encoded); empty for POST forms.
    pub query: &'a str,
    /// Host header value, with the port when it is not the scheme's default.
    pub host: &'a str,
    pub content_type: &'a str,
    pub body: &'a [u8],
}

/// The headers to add to the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    pub amz_date: String,
    pub authorization: String,
    pub security_token: Option<String>,
}

/// Signs `request` for `service` in `region` at `now`.
pub fn sign(
    request: &SigningRequest<'_>,
    credentials: &Credentials,
    region: &str,
    service: &str,
    now: DateTime<Utc>,
) -> SignedHeaders {
    let amz_date = now.format("%Y%m%dT%H%M%SZ").to_string();
    let date = &amz_date[..8];
    let mut headers = vec![
        ("content-type", request.content_type.to_string()),
        ("host", request.host.to_string()),
        ("x-amz-date", amz_date.clone()),
    ];
    if let Some(token) = &credentials.session_token {
        headers.push(("x-amz-security-token", token.clone()));
    }
    headers.sort_by(|a, b| a.0.cmp(b.0));
    let canonical_headers: String = headers
        .iter()
        .map(|(name, value)| format!("{name}:{}\n", value.trim()))
        .collect();
    let signed_headers = headers
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(";");
    let path = if request.path.is_empty() {
        "/"
    } else {
        request.path
    };
    let canonical_request = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        request.method,
        path,
        request.query,
        canonical_headers,
        signed_headers,
        hex_sha256(request.body)
    );
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex_sha256(canonical_request.as_bytes())
    );
    let secret = format!("AWS4{}", credentials.secret_access_key);
    let mut key = hmac_sha256(secret.as_bytes(), date.as_bytes());
    for part in [region, service, "aws4_request"] {
        key = hmac_sha256(&key, part.as_bytes());
    }
    let signature = hex(&hmac_sha256(&key, string_to_sign.as_bytes()));
    SignedHeaders {
        authorization: format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
            credentials.access_key_id
        ),
        amz_date,
        security_token: credentials.session_token.clone(),
    }
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    hmac::sign(&key, data).as_ref().to_vec()
}

fn hex_sha256(data: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, data).as_ref())
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, byte| {
            let _ = write!(out, "{byte:02x}");
            out
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn example_credentials() -> Credentials {
        Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            None,
        )
    }

    /// The worked example of the AWS documentation ("Examples of the complete Signature
    /// Version 4 signing process": IAM ListUsers, 2015-08-30T12:36:00Z).
    #[test]
    fn matches_the_aws_documentation_example() {
        let request = SigningRequest {
            method: "GET",
            path: "/",
            query: "Action=ListUsers&Version=2010-05-08",
            host: "iam.amazonaws.com",
            content_type: "application/x-www-form-urlencoded; charset=utf-8",
            body: b"",
        };
        let now = Utc.with_ymd_and_hms(2015, 8, 30, 12, 36, 0).unwrap();
        let signed = sign(&request, &example_credentials(), "us-east-1", "iam", now);
        assert_eq!(signed.amz_date, "20150830T123600Z");
        assert_eq!(
            signed.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, \
             Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        );
    }

    #[test]
    fn a_session_token_is_signed_and_returned() {
        let credentials = Credentials::new("AKID", "secret", Some("token".to_string()));
        let request = SigningRequest {
            method: "POST",
            path: "",
            query: "",
            host: "127.0.0.1:5000",
            content_type: "application/x-www-form-urlencoded; charset=utf-8",
            body: b"Action=DescribeInstances",
        };
        let now = Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).unwrap();
        let signed = sign(&request, &credentials, "eu-west-1", "ec2", now);
        assert!(signed
            .authorization
            .contains("SignedHeaders=content-type;host;x-amz-date;x-amz-security-token"));
        assert!(signed
            .authorization
            .contains("Credential=AKID/20240102/eu-west-1/ec2/aws4_request"));
        assert_eq!(signed.security_token.as_deref(), Some("token"));
        let other_body = SigningRequest {
            body: b"Action=DescribeRegions",
            ..request
        };
        assert_ne!(
            sign(&other_body, &credentials, "eu-west-1", "ec2", now).authorization,
            signed.authorization,
            "the body is part of the signature"
        );
    }
}
