//! Credentials out of delivery errors before they are logged, stored or served.
//!
//! A failed delivery's message carries the start of the receiver's answer, and a
//! receiver (or a proxy in front of it) may echo the request: the webhook URL with its
//! `?token=`, an `Authorization` header, an `X-Api-Key`, a SigV4 `Credential=AKIA…`,
//! a Slack URL whose path is the secret. That message goes to the WARN log, to
//! `alerts.db` and to `GET /api/v1/alerts/notifiers`. [`Redactor::redact`] replaces, in
//! that order:
//!
//! 1. every configured secret of the notifier, verbatim ([`BuildNotifier::secrets`]:
//!    header values, the webhook's signing secret, the Slack URL and its path, the
//!    query values and URL passwords of the receiver's URL, SMTP and Twilio secrets);
//! 2. what looks like a credential whatever its origin: `name=value` pairs whose name
//!    says token, key, secret, password, signature, credential or auth; header-like
//!    `Authorization: …`, `X-Api-Key: …`, `Cookie: …`; `Bearer`/`Basic`/`Token`
//!    credentials; AWS access key ids (`AKIA…`, `ASIA…`); passwords in URLs
//!    (`scheme://user:password@`); Slack and Discord webhook paths.
//!
//! What it misses: a secret the receiver transformed (re-encoded, cut in the middle of
//! the 200-character excerpt) and a credential under a name none of the patterns know.
//! Cost: one pass per pattern over a message of at most a few hundred bytes, on the
//! failure path only.
//!
//! [`BuildNotifier::secrets`]: super::BuildNotifier::secrets

use std::sync::OnceLock;

use regex::Regex;

/// What a redacted value is replaced with.
pub const REDACTED: &str = "<redacted>";

/// Secrets shorter than this are not replaced verbatim (a two-letter password would
/// blank out every word containing it); the patterns still apply.
const MIN_SECRET_LEN: usize = 4;

/// Replaces credentials in messages; built once per notifier.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// Longest first, so a secret containing another is replaced whole.
    secrets: Vec<String>,
}

impl Redactor {
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Self {
        let mut secrets: Vec<String> = secrets
            .into_iter()
            .filter(|secret| secret.len() >= MIN_SECRET_LEN)
            .collect();
        secrets.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        secrets.dedup();
        Redactor { secrets }
    }

    /// The text with every secret and credential-looking value replaced by
    /// [`REDACTED`].
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), REDACTED);
            }
        }
        for (pattern, replacement) in patterns() {
            if pattern.is_match(&out) {
                out = pattern.replace_all(&out, *replacement).into_owned();
            }
        }
        out
    }
}

/// The secrets inside a receiver URL: query values and the userinfo password.
pub fn url_secrets(url: &str) -> Vec<String> {
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return Vec::new();
    };
    let mut out: Vec<String> = parsed.query_pairs().map(|(_, v)| v.into_owned()).collect();
    if let Some(query) = parsed.query() {
        out.extend(
            query
                .split('&')
                .filter_map(|pair| pair.split_once('='))
                .map(|(_, v)| v.to_owned()),
        );
    }
    if let Some(password) = parsed.password() {
        out.push(password.to_owned());
    }
    out
}

fn patterns() -> &'static [(Regex, &'static str)] {
    static PATTERNS: OnceLock<Vec<(Regex, &'static str)>> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        [
            (
                r"(?i)(https?://)[^/\s:@]+:[^/\s@]+@",
                "${1}<redacted>@",
            ),
            (
                r"(?i)((?:hooks\.slack\.com/services|discord(?:app)?\.com/api/webhooks)/)[A-Za-z0-9_/-]+",
                "${1}<redacted>",
            ),
            (
                r#"(?i)\b((?:authorization|proxy-authorization|x-api-key|api-key|x-auth-token|x-amz-security-token|cookie|set-cookie)["']?\s*[:=]\s*["']?)[^\r\n"',}]+"#,
                "${1}<redacted>",
            ),
            (
                r#"(?i)\b([a-z0-9_.-]*(?:token|key|secret|passw(?:or)?d|pwd|signature|sig|credential|auth)[a-z0-9_.-]*["']?\s*[=:]\s*["']?)[^&\s"',;}]+"#,
                "${1}<redacted>",
            ),
            (
                r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{8,}",
                "${1} <redacted>",
            ),
            (r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b", "<redacted>"),
        ]
        .into_iter()
        .map(|(pattern, replacement)| {
            (
                Regex::new(pattern).expect("redaction patterns are valid"),
                replacement,
            )
        })
        .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: a receiver that echoed the request leaked these into the WARN log,
    /// `alerts.db` and `/api/v1/alerts/notifiers`.
    #[test]
    fn echoed_credentials_are_redacted() {
        let redactor = Redactor::new(url_secrets("http://127.0.0.1:9/hook?token=s3cr3t-hook"));
        let echoed = "HTTP 400: POST /hook?token=s3cr3t-hook HTTP/1.1\r\n\
            authorization: Basic YWRtaW46aHVudGVyMg==\r\n\
            x-api-key: k-123456789\r\n\
            Credential=AKIAIOSFODNN7EXAMPLE/20261203/us-east-1/sns/aws4_request\r\n\
            url: https://hooks.slack.com/services/T000/B000/XXXXXXXX\r\n\
            http://admin:hunter2@127.0.0.1:9093/api/v2/alerts";
        let redacted = redactor.redact(echoed);
        for leaked in [
            "s3cr3t-hook",
            "YWRtaW46aHVudGVyMg",
            "k-123456789",
            "AKIAIOSFODNN7EXAMPLE",
            "T000/B000",
            "hunter2",
        ] {
            assert!(!redacted.contains(leaked), "{leaked} left in {redacted}");
        }
        assert!(redacted.starts_with("HTTP 400: POST /hook?token=<redacted>"));
        assert!(
            redacted.contains("127.0.0.1:9093/api/v2/alerts"),
            "{redacted}"
        );
    }

    #[test]
    fn configured_secrets_are_replaced_verbatim_wherever_they_appear() {
        let redactor = Redactor::new(["correct horse battery".to_owned(), "ab".to_owned()]);
        let redacted = redactor.redact("the body said: correct horse battery (about)");
        assert_eq!(redacted, "the body said: <redacted> (about)");
    }

    #[test]
    fn plain_errors_are_left_alone() {
        let redactor = Redactor::default();
        let message = "HTTP 503: service unavailable, retry later";
        assert_eq!(redactor.redact(message), message);
    }
}
