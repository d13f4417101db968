//! A small client for the AWS Query protocol: form-encoded `POST`s signed with SigV4,
//! XML answers, error classification and retries of throttled and transient failures.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;

use lookout_aws::{host_header, sign, CredentialChain, Credentials, NoCredentials, SigningRequest};

use super::xml;

const CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";

/// The two AWS services the source talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Ec2,
    CloudWatch,
}

impl Service {
    /// The SigV4 signing name and endpoint prefix.
    fn signing_name(self) -> &'static str {
        match self {
            Service::Ec2 => "ec2",
            Service::CloudWatch => "monitoring",
        }
    }

    fn api_version(self) -> &'static str {
        match self {
            Service::Ec2 => "2016-11-15",
            Service::CloudWatch => "2010-08-01",
        }
    }

    /// The IAM action that allows `action`, e.g. `cloudwatch:GetMetricData`.
    pub fn iam_action(self, action: &str) -> String {
        let prefix = match self {
            Service::Ec2 => "ec2",
            Service::CloudWatch => "cloudwatch",
        };
        format!("{prefix}:{action}")
    }
}

/// Why a call failed. Every variant names the action and the endpoint; none contains a
/// secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AwsError {
    #[error("cannot reach {endpoint} for {action} after {attempts} attempts: {reason}")]
    Unreachable {
        action: String,
        endpoint: String,
        attempts: u32,
        reason: String,
    },
    #[error("{endpoint} still failing {action} after {attempts} attempts ({code}: {message})")]
    Transient {
        action: String,
        endpoint: String,
        attempts: u32,
        code: String,
        message: String,
    },
    #[error("permission denied: these credentials lack the IAM action {iam_action} ({endpoint} answered {code}: {message}); grant it, see the IAM policy in CLOUDWATCH.md")]
    Denied {
        iam_action: String,
        endpoint: String,
        code: String,
        message: String,
    },
    #[error("{endpoint} refused the credentials for {action} ({code}: {message}); check the AWS credential chain (environment, profile, instance role)")]
    BadCredentials {
        action: String,
        endpoint: String,
        code: String,
        message: String,
    },
    #[error("{endpoint} rejected {action} (HTTP {status}, {code}: {message})")]
    Rejected {
        action: String,
        endpoint: String,
        status: u16,
        code: String,
        message: String,
    },
    #[error("unexpected answer from {endpoint} to {action}: {reason}")]
    Garbage {
        action: String,
        endpoint: String,
        reason: String,
    },
    #[error(transparent)]
    NoCredentials(#[from] NoCredentials),
}

impl AwsError {
    /// A permanent refusal that will not change until someone edits IAM.
    pub fn is_denied(&self) -> bool {
        matches!(self, AwsError::Denied { .. })
    }
}

/// Counts of the requests sent (retries included), for benchmarks and tests.
#[derive(Debug, Default)]
pub struct CallCounts {
    pub describe_instances: AtomicU64,
    pub get_metric_data: AtomicU64,
    pub list_metrics: AtomicU64,
}

impl CallCounts {
    fn count(&self, action: &str) {
        let counter = match action {
            "DescribeInstances" => &self.describe_instances,
            "GetMetricData" => &self.get_metric_data,
            "ListMetrics" => &self.list_metrics,
            _ => return,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn get_metric_data(&self) -> u64 {
        self.get_metric_data.load(Ordering::Relaxed)
    }

    pub fn describe_instances(&self) -> u64 {
        self.describe_instances.load(Ordering::Relaxed)
    }

    pub fn list_metrics(&self) -> u64 {
        self.list_metrics.load(Ordering::Relaxed)
    }
}

/// Where to send requests and how hard to retry.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub region: String,
    /// One endpoint for both services (a local emulator); `None` = AWS's own endpoints.
    pub endpoint: Option<String>,
    /// Attempts per call for throttled, transient and network failures.
    pub max_attempts: u32,
    /// First retry delay; doubles each attempt, capped at 20 s.
    pub retry_base: Duration,
    pub request_timeout: Duration,
    /// Fixed credentials instead of the standard chain (tests, embedding).
    pub static_credentials: Option<Credentials>,
}

impl ClientOptions {
    pub fn new(region: impl Into<String>, endpoint: Option<String>) -> Self {
        ClientOptions {
            region: region.into(),
            endpoint,
            max_attempts: 4,
            retry_base: Duration::from_millis(250),
            request_timeout: Duration::from_secs(60),
            static_credentials: None,
        }
    }
}

/// A signed Query-protocol client for EC2 and CloudWatch in one region.
pub struct AwsClient {
    http: reqwest::Client,
    options: ClientOptions,
    credentials: CredentialChain,
    calls: Arc<CallCounts>,
}

/// How one attempt ended.
enum Attempt {
    Done(String),
    Retry { code: String, message: String },
    Network(String),
    Fail(AwsError),
}

impl AwsClient {
    pub fn new(options: ClientOptions) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(options.request_timeout)
            .build()
            .unwrap_or_default();
        let credentials = match &options.static_credentials {
            Some(fixed) => CredentialChain::fixed(fixed.clone()),
            None => CredentialChain::default(),
        };
        AwsClient {
            http,
            options,
            credentials,
            calls: Arc::new(CallCounts::default()),
        }
    }

    /// The request counters, shared.
    pub fn calls(&self) -> Arc<CallCounts> {
        Arc::clone(&self.calls)
    }

    pub fn region(&self) -> &str {
        &self.options.region
    }

    /// The endpoint URL of `service`.
    pub fn endpoint(&self, service: Service) -> String {
        if let Some(endpoint) = &self.options.endpoint {
            return endpoint.clone();
        }
        let region = &self.options.region;
        let suffix = if region.starts_with("cn-") {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        };
        format!("https://{}.{region}.{suffix}/", service.signing_name())
    }

    /// Calls `action` with `params` and returns the XML body of the successful answer,
    /// retrying throttled, transient and network failures with exponential back-off.
    pub async fn call(
        &self,
        service: Service,
        action: &str,
        params: &[(String, String)],
    ) -> Result<String, AwsError> {
        let endpoint = self.endpoint(service);
        let url = Url::parse(&endpoint).map_err(|error| AwsError::Garbage {
            action: action.to_string(),
            endpoint: endpoint.clone(),
            reason: format!("not a URL ({error})"),
        })?;
        let body = {
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("Action", action);
            form.append_pair("Version", service.api_version());
            for (name, value) in params {
                form.append_pair(name, value);
            }
            form.finish()
        };
        let attempts = self.options.max_attempts.max(1);
        let mut last = Attempt::Network(String::new());
        for attempt in 1..=attempts {
            if attempt > 1 {
                let factor = 1u32 << (attempt - 2).min(10);
                let delay = self
                    .options
                    .retry_base
                    .saturating_mul(factor)
                    .min(Duration::from_secs(20));
                tokio::time::sleep(delay).await;
            }
            let credentials = self.credentials.credentials().await?;
            last = self
                .attempt(service, action, &url, &endpoint, &body, &credentials)
                .await;
            match last {
                Attempt::Done(text) => return Ok(text),
                Attempt::Fail(error) => {
                    if matches!(error, AwsError::BadCredentials { .. }) {
                        self.credentials.invalidate().await;
                    }
                    return Err(error);
                }
                Attempt::Retry { .. } | Attempt::Network(_) => {
                    tracing::debug!(action, endpoint = %endpoint, attempt, "retrying an AWS call");
                }
            }
        }
        Err(match last {
            Attempt::Retry { code, message } => AwsError::Transient {
                action: action.to_string(),
                endpoint,
                attempts,
                code,
                message,
            },
            Attempt::Network(reason) => AwsError::Unreachable {
                action: action.to_string(),
                endpoint,
                attempts,
                reason,
            },
            Attempt::Done(_) | Attempt::Fail(_) => unreachable!("returned above"),
        })
    }

    async fn attempt(
        &self,
        service: Service,
        action: &str,
        url: &Url,
        endpoint: &str,
        body: &str,
        credentials: &Credentials,
    ) -> Attempt {
        let Some(host) = host_header(url) else {
            return Attempt::Fail(AwsError::Garbage {
                action: action.to_string(),
                endpoint: endpoint.to_string(),
                reason: "the endpoint has no host".into(),
            });
        };
        let signed = sign(
            &SigningRequest {
                method: "POST",
                path: url.path(),
                query: "",
                host: &host,
                headers: &[("content-type", CONTENT_TYPE)],
                body: body.as_bytes(),
            },
            credentials,
            &self.options.region,
            service.signing_name(),
            chrono::Utc::now(),
        );
        let request = signed.apply(
            self.http
                .post(url.clone())
                .header("Content-Type", CONTENT_TYPE),
        );
        self.calls.count(action);
        let response = match request.body(body.to_string()).send().await {
            Ok(response) => response,
            Err(error) => return Attempt::Network(describe_network_error(&error)),
        };
        let status = response.status();
        let text = match response.text().await {
            Ok(text) => text,
            Err(error) => return Attempt::Network(describe_network_error(&error)),
        };
        if status.is_success() {
            return Attempt::Done(text);
        }
        classify(service, action, endpoint, status.as_u16(), &text)
    }
}

fn describe_network_error(error: &reqwest::Error) -> String {
    let mut reason = if error.is_timeout() {
        "timed out".to_string()
    } else if error.is_connect() {
        "connection failed".to_string()
    } else {
        "request failed".to_string()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        reason.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    reason
}

const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "EC2ThrottledException",
    "PriorRequestNotComplete",
    "SlowDown",
];
const TRANSIENT: &[&str] = &[
    "InternalError",
    "InternalFailure",
    "InternalServiceError",
    "ServiceUnavailable",
    "Unavailable",
    "RequestTimeout",
    "RequestTimeoutException",
];
const DENIED: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnauthorizedAccess",
    "AuthorizationError",
];
const BAD_CREDENTIALS: &[&str] = &[
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "AuthFailure",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "InvalidSignatureException",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidAccessKeyId",
    "MissingAuthenticationToken",
    "RequestExpired",
];

/// Sorts a failed answer into retry / denied / bad credentials / rejected.
fn classify(service: Service, action: &str, endpoint: &str, status: u16, text: &str) -> Attempt {
    let Some(body) = xml::error_body(text) else {
        let snippet: String = text.chars().take(120).collect();
        let code = format!("HTTP {status}");
        if status >= 500 || status == 429 {
            return Attempt::Retry {
                code,
                message: snippet,
            };
        }
        return Attempt::Fail(AwsError::Rejected {
            action: action.to_string(),
            endpoint: endpoint.to_string(),
            status,
            code: "no AWS error document".into(),
            message: snippet,
        });
    };
    let code = body.code.as_str();
    let known = |list: &[&str]| list.contains(&code);
    if known(THROTTLING) || known(TRANSIENT) || status >= 500 || status == 429 {
        return Attempt::Retry {
            code: body.code,
            message: body.message,
        };
    }
    if known(DENIED) {
        return Attempt::Fail(AwsError::Denied {
            iam_action: service.iam_action(action),
            endpoint: endpoint.to_string(),
            code: body.code,
            message: body.message,
        });
    }
    let error = if known(BAD_CREDENTIALS) {
        AwsError::BadCredentials {
            action: action.to_string(),
            endpoint: endpoint.to_string(),
            code: body.code,
            message: body.message,
        }
    } else {
        AwsError::Rejected {
            action: action.to_string(),
            endpoint: endpoint.to_string(),
            status,
            code: body.code,
            message: body.message,
        }
    };
    Attempt::Fail(error)
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
