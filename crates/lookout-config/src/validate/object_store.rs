//! Validation of `[object_store]`: `path` or `s3`, not both; an S3 bucket name as AWS
//! accepts it, an `http(s)://` endpoint, a prefix of safe name characters.

use std::path::PathBuf;

use super::Checker;
use crate::error::ErrorKind;
use crate::raw::{RawObjectStore, RawS3};
use crate::types::{ObjectStoreConfig, S3StoreConfig};

const DEFAULT_REGION: &str = "us-east-1";

impl Checker<'_, '_, '_> {
    pub(super) fn object_store(&mut self, raw: &RawObjectStore) -> ObjectStoreConfig {
        let context = "[object_store]";
        let path = self.optional_string(context, "path", &raw.path);
        let Some(s3) = &raw.s3 else {
            return ObjectStoreConfig::Directory(path.map(PathBuf::from));
        };
        if path.is_some() {
            self.report_at(
                ErrorKind::InvalidValue,
                context,
                "s3",
                s3,
                "set `path` (a directory) or `s3` (a bucket), not both".to_string(),
            );
        }
        match check_s3(s3.get_ref()) {
            Ok(config) => ObjectStoreConfig::S3(config),
            Err(message) => {
                self.report_at(ErrorKind::InvalidValue, context, "s3", s3, message);
                ObjectStoreConfig::default()
            }
        }
    }
}

fn check_s3(raw: &RawS3) -> Result<S3StoreConfig, String> {
    let bucket = raw
        .bucket
        .clone()
        .ok_or("`bucket` is required (s3 = { bucket = \"...\" })")?;
    let valid_bucket = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
        && bucket.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !valid_bucket {
        return Err(format!(
            "bucket {bucket:?} is not a valid S3 bucket name (3-63 characters of a-z 0-9 . -, starting and ending with a letter or digit)"
        ));
    }
    if let Some(endpoint) = &raw.endpoint {
        let rest = endpoint
            .strip_prefix("http://")
            .or_else(|| endpoint.strip_prefix("https://"));
        if rest.is_none_or(|host| host.is_empty() || host.contains(char::is_whitespace)) {
            return Err(format!(
                "endpoint {endpoint:?} is not an http:// or https:// URL"
            ));
        }
    }
    let region = raw.region.clone().unwrap_or_else(|| DEFAULT_REGION.into());
    if region.is_empty()
        || !region
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(format!(
            "region {region:?} is not an AWS region name (e.g. \"eu-west-1\")"
        ));
    }
    let mut prefix = raw.prefix.clone().unwrap_or_default();
    let safe = prefix.split('/').filter(|s| !s.is_empty()).all(|segment| {
        !segment.starts_with('.')
            && segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    });
    if !safe || prefix.starts_with('/') || prefix.contains("//") {
        return Err(format!(
            "prefix {prefix:?}: use segments of A-Z a-z 0-9 _ - . separated by '/' (e.g. \"lookout/\")"
        ));
    }
    if !prefix.is_empty() && !prefix.ends_with('/') {
        prefix.push('/');
    }
    Ok(S3StoreConfig {
        bucket,
        endpoint: raw.endpoint.clone(),
        region,
        prefix,
    })
}
