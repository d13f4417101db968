//! The S3 store: one object per name in a **versioned** bucket, path-style URLs
//! (`{endpoint}/{bucket}/{prefix}{name}`) so any endpoint works (AWS, MinIO, moto).
//!
//! Operations: `PutObject` (the answer's `x-amz-version-id` is the new version; a bucket
//! without versioning answers none, and the write is refused as an error naming the
//! bucket), `GetObject` with `versionId`, `ListObjectVersions` (paged; delete markers
//! written by others are ignored: the current version is the newest one stored) and
//! `ListObjectsV2` for names. Requests are signed with SigV4 (`lookout-aws`), payload
//! hash included; credentials come from the standard chain and never appear in errors.
//!
//! The store runs its requests on a runtime of its own (one thread), so its blocking
//! API works from plain threads and from an async runtime's blocking pool alike.
//!
//! Cost: one HTTP request per put/get; a `versions` call is one request per thousand
//! versions.

use std::time::Duration;

use chrono::Utc;
use lookout_aws::{host_header, sign, CredentialChain, SigningRequest};
use reqwest::Url;

use crate::envelope::hex_sha256;
use crate::{check_name, ObjectError, ObjectStore, VersionInfo};

/// Where the bucket is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Options {
    pub bucket: String,
    /// `None`: AWS' regional endpoint, `https://s3.<region>.amazonaws.com`.
    pub endpoint: Option<String>,
    pub region: String,
    /// Prepended to every name (e.g. `lookout/`); empty for none.
    pub prefix: String,
}

/// A versioned object store in an S3 bucket.
pub struct S3Store {
    options: S3Options,
    endpoint: Url,
    http: reqwest::Client,
    credentials: CredentialChain,
    runtime: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for S3Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Store")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Drop for S3Store {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which an async context forbids; this does not.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// One answer: status, headers we read, body.
struct Answer {
    status: reqwest::StatusCode,
    version_id: Option<String>,
    body: Vec<u8>,
}

impl S3Store {
    /// A store over the standard credential chain.
    pub fn new(options: S3Options) -> Result<Self, ObjectError> {
        Self::with_credentials(options, CredentialChain::default())
    }

    pub fn with_credentials(
        options: S3Options,
        credentials: CredentialChain,
    ) -> Result<Self, ObjectError> {
        let fail = |reason: String| ObjectError::S3 {
            operation: "setup",
            name: String::new(),
            bucket: options.bucket.clone(),
            reason,
        };
        let endpoint = options
            .endpoint
            .clone()
            .unwrap_or_else(|| format!("https://s3.{}.amazonaws.com", options.region));
        let endpoint = Url::parse(&endpoint)
            .map_err(|error| fail(format!("endpoint {endpoint:?} is not a URL ({error})")))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("lookout-objstore-s3")
            .enable_all()
            .build()
            .map_err(|error| fail(format!("starting its runtime: {error}")))?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|error| fail(format!("building the HTTP client: {error}")))?;
        Ok(S3Store {
            options,
            endpoint,
            http,
            credentials,
            runtime: Some(runtime),
        })
    }

    fn key(&self, name: &str) -> Result<String, ObjectError> {
        check_name(name)?;
        Ok(format!("{}{name}", self.options.prefix))
    }

    fn error(&self, operation: &'static str, name: &str, reason: String) -> ObjectError {
        ObjectError::S3 {
            operation,
            name: name.to_string(),
            bucket: self.options.bucket.clone(),
            reason,
        }
    }

    /// One signed request; `path` under the bucket (empty for the bucket itself),
    /// `query` unencoded pairs.
    fn request(
        &self,
        operation: &'static str,
        name: &str,
        method: reqwest::Method,
        key: &str,
        query: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Answer, ObjectError> {
        let runtime = self.runtime.as_ref().expect("runtime until dropped");
        runtime.block_on(async {
            let base = self.endpoint.path().trim_end_matches('/');
            let path = if key.is_empty() {
                format!("{base}/{}", self.options.bucket)
            } else {
                format!("{base}/{}/{key}", self.options.bucket)
            };
            let mut pairs: Vec<(String, String)> = query
                .iter()
                .map(|(k, v)| (uri_encode(k), uri_encode(v)))
                .collect();
            pairs.sort();
            let canonical_query = pairs
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("&");
            let mut url = self.endpoint.clone();
            url.set_path(&path);
            url.set_query((!canonical_query.is_empty()).then_some(canonical_query.as_str()));
            let host = host_header(&url)
                .ok_or_else(|| self.error(operation, name, "the endpoint has no host".into()))?;
            let payload_hash = hex_sha256(body);
            let credentials = self.credentials.credentials().await?;
            let signed = sign(
                &SigningRequest {
                    method: method.as_str(),
                    path: &path,
                    query: &canonical_query,
                    host: &host,
                    headers: &[("x-amz-content-sha256", &payload_hash)],
                    body,
                },
                &credentials,
                &self.options.region,
                "s3",
                Utc::now(),
            );
            let request = self
                .http
                .request(method, url.clone())
                .header("x-amz-content-sha256", &payload_hash)
                .body(body.to_vec());
            let response = signed.apply(request).send().await.map_err(|error| {
                self.error(
                    operation,
                    name,
                    format!("{} unreachable ({error})", self.endpoint),
                )
            })?;
            let status = response.status();
            let version_id = response
                .headers()
                .get("x-amz-version-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let body = response
                .bytes()
                .await
                .map_err(|error| {
                    self.error(operation, name, format!("reading the answer: {error}"))
                })?
                .to_vec();
            if status.as_u16() == 403 {
                self.credentials.invalidate().await;
            }
            Ok(Answer {
                status,
                version_id,
                body,
            })
        })
    }

    fn failure(&self, operation: &'static str, name: &str, answer: &Answer) -> ObjectError {
        let text = String::from_utf8_lossy(&answer.body);
        let detail = roxmltree::Document::parse(&text).ok().and_then(|doc| {
            let code = child_text(doc.root_element(), "Code")?;
            let message = child_text(doc.root_element(), "Message").unwrap_or_default();
            Some(format!("{code}: {message}"))
        });
        self.error(
            operation,
            name,
            format!(
                "HTTP {}{}",
                answer.status,
                detail.map(|d| format!(" ({d})")).unwrap_or_default()
            ),
        )
    }
}

impl ObjectStore for S3Store {
    fn describe(&self) -> String {
        format!("s3://{}/{}", self.options.bucket, self.options.prefix)
    }

    fn put_bytes(&self, name: &str, bytes: &[u8]) -> Result<VersionInfo, ObjectError> {
        let key = self.key(name)?;
        let answer = self.request("PutObject", name, reqwest::Method::PUT, &key, &[], bytes)?;
        if !answer.status.is_success() {
            return Err(self.failure("PutObject", name, &answer));
        }
        let Some(id) = answer.version_id.filter(|id| id != "null") else {
            return Err(self.error(
                "PutObject",
                name,
                "the bucket has no versioning (no x-amz-version-id in the answer): enable versioning on it".into(),
            ));
        };
        let versions = self.versions(name)?;
        versions.into_iter().find(|v| v.id == id).ok_or_else(|| {
            self.error(
                "PutObject",
                name,
                format!("version {id} is not listed after the write"),
            )
        })
    }

    fn get_bytes(&self, name: &str, version: &VersionInfo) -> Result<Vec<u8>, ObjectError> {
        let key = self.key(name)?;
        let answer = self.request(
            "GetObject",
            name,
            reqwest::Method::GET,
            &key,
            &[("versionId", &version.id)],
            b"",
        )?;
        match answer.status.as_u16() {
            200 => Ok(answer.body),
            404 => Err(ObjectError::NoVersion {
                name: name.to_string(),
                version: version.id.clone(),
                store: self.describe(),
            }),
            _ => Err(self.failure("GetObject", name, &answer)),
        }
    }

    fn versions(&self, name: &str) -> Result<Vec<VersionInfo>, ObjectError> {
        let key = self.key(name)?;
        let mut newest_first = Vec::new();
        let mut markers: Option<(String, String)> = None;
        loop {
            let mut query = vec![("versions", ""), ("prefix", key.as_str())];
            if let Some((key_marker, version_marker)) = &markers {
                query.push(("key-marker", key_marker));
                query.push(("version-id-marker", version_marker));
            }
            let answer = self.request(
                "ListObjectVersions",
                name,
                reqwest::Method::GET,
                "",
                &query,
                b"",
            )?;
            if !answer.status.is_success() {
                return Err(self.failure("ListObjectVersions", name, &answer));
            }
            let text = String::from_utf8_lossy(&answer.body);
            let garbage = |reason: String| {
                self.error(
                    "ListObjectVersions",
                    name,
                    format!("unreadable answer ({reason})"),
                )
            };
            let doc = roxmltree::Document::parse(&text).map_err(|e| garbage(e.to_string()))?;
            let root = doc.root_element();
            for version in root.children().filter(|n| n.has_tag_name("Version")) {
                if child_text(version, "Key").as_deref() != Some(key.as_str()) {
                    continue;
                }
                let id = child_text(version, "VersionId")
                    .ok_or_else(|| garbage("a version without VersionId".into()))?;
                let size = child_text(version, "Size")
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                let written_ms = child_text(version, "LastModified")
                    .and_then(|at| chrono::DateTime::parse_from_rfc3339(&at).ok())
                    .map_or(0, |at| at.timestamp_millis());
                newest_first.push(VersionInfo {
                    number: 0,
                    id,
                    size,
                    written_ms,
                });
            }
            let truncated = child_text(root, "IsTruncated").as_deref() == Some("true");
            let next = (
                child_text(root, "NextKeyMarker"),
                child_text(root, "NextVersionIdMarker"),
            );
            match (truncated, next) {
                (true, (Some(key_marker), Some(version_marker))) => {
                    markers = Some((key_marker, version_marker))
                }
                _ => break,
            }
        }
        newest_first.reverse();
        for (index, version) in newest_first.iter_mut().enumerate() {
            version.number = index + 1;
        }
        Ok(newest_first)
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, ObjectError> {
        let full = format!("{}{prefix}", self.options.prefix);
        let mut names = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut query = vec![("list-type", "2"), ("prefix", full.as_str())];
            if let Some(token) = &token {
                query.push(("continuation-token", token));
            }
            let answer = self.request(
                "ListObjectsV2",
                prefix,
                reqwest::Method::GET,
                "",
                &query,
                b"",
            )?;
            if !answer.status.is_success() {
                return Err(self.failure("ListObjectsV2", prefix, &answer));
            }
            let text = String::from_utf8_lossy(&answer.body);
            let doc = roxmltree::Document::parse(&text).map_err(|error| {
                self.error(
                    "ListObjectsV2",
                    prefix,
                    format!("unreadable answer ({error})"),
                )
            })?;
            let root = doc.root_element();
            for object in root.children().filter(|n| n.has_tag_name("Contents")) {
                if let Some(key) = child_text(object, "Key") {
                    if let Some(name) = key.strip_prefix(&self.options.prefix) {
                        if check_name(name).is_ok() {
                            names.push(name.to_string());
                        }
                    }
                }
            }
            token = child_text(root, "NextContinuationToken")
                .filter(|_| child_text(root, "IsTruncated").as_deref() == Some("true"));
            if token.is_none() {
                break;
            }
        }
        names.sort();
        names.dedup();
        Ok(names)
    }
}

fn child_text(node: roxmltree::Node<'_, '_>, tag: &str) -> Option<String> {
    node.children()
        .find(|child| child.has_tag_name(tag))
        .and_then(|child| child.text())
        .map(str::to_string)
}

/// SigV4's URI encoding: every byte but `A-Z a-z 0-9 - . _ ~` as `%XX`.
fn uri_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_encoded_as_sigv4_wants() {
        assert_eq!(uri_encode("a b/c+d=~"), "a%20b%2Fc%2Bd%3D~");
        assert_eq!(
            uri_encode("3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"),
            "3HL4kqtJlcpXroDTDmJ%2BrmSpXd3dIbrHY"
        );
    }

    #[test]
    fn an_endpoint_that_is_no_url_is_refused() {
        let error = S3Store::new(S3Options {
            bucket: "b".into(),
            endpoint: Some("not a url".into()),
            region: "us-east-1".into(),
            prefix: String::new(),
        })
        .unwrap_err();
        assert!(error.to_string().contains("is not a URL"), "{error}");
    }
}
