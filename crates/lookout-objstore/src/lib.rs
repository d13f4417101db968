//! Versioned objects for what lookout learns: trained models (`models/traffic/<name>`)
//! and detector snapshots (`snapshots/<name>`).
//!
//! [`ObjectStore`] is the seam: `put` writes a new version (never overwrites), `get`
//! reads the current (newest) version or a named one, `versions` lists them oldest
//! first, `list` names the objects under a prefix. Nothing is ever deleted, so there
//! are no delete markers to reason about: the current version is always the newest one
//! written, and a rollback writes an old version again as the newest ([`ObjectStore::rollback`]).
//!
//! Two stores:
//! - [`DirStore`], the single-node default under `<data dir>/objects`: each version a
//!   numbered file written to a temporary file, synced, then linked into place (atomic,
//!   and two writers never take the same number);
//! - [`S3Store`], a versioned S3 bucket (path-style URLs, any endpoint: AWS, MinIO,
//!   moto), signed with `lookout-aws`' SigV4 and credential chain.
//!
//! Every object is sealed in an [envelope] with its format name, format version and a
//! SHA-256 of the payload; a damaged object, or one of a format this build does not
//! read, is refused with an error naming the object and its version.
//!
//! The API is blocking: call it from a plain thread or the async runtime's blocking pool.

pub mod dir;
pub mod envelope;
mod error;
mod name;
pub mod s3;

use std::fmt;

pub use dir::DirStore;
pub use envelope::{Format, Header};
pub use error::ObjectError;
pub use name::check_name;
pub use s3::{S3Options, S3Store};

/// One stored version of an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionInfo {
    /// 1 for the oldest, counting up.
    pub number: usize,
    /// The store's own id: the number again for a directory, S3's `VersionId`.
    pub id: String,
    /// Stored bytes (envelope included).
    pub size: u64,
    /// When it was written (unix ms).
    pub written_ms: i64,
}

/// One version read back: its identity, header and payload (checked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    pub version: VersionInfo,
    pub header: Header,
    pub payload: Vec<u8>,
}

/// A versioned object store (see the crate doc). Blocking.
pub trait ObjectStore: Send + Sync + fmt::Debug {
    /// Where it stores, for messages: `directory /data/objects`, `s3://bucket/prefix`.
    fn describe(&self) -> String;
    /// Writes `bytes` as the newest version of `name`.
    fn put_bytes(&self, name: &str, bytes: &[u8]) -> Result<VersionInfo, ObjectError>;
    /// The bytes of one version (by its [`VersionInfo::id`]).
    fn get_bytes(&self, name: &str, version: &VersionInfo) -> Result<Vec<u8>, ObjectError>;
    /// Every version of `name`, oldest first; empty when there is none.
    fn versions(&self, name: &str) -> Result<Vec<VersionInfo>, ObjectError>;
    /// The names of the objects whose name starts with `prefix`, sorted.
    fn list(&self, prefix: &str) -> Result<Vec<String>, ObjectError>;

    /// Seals `payload` as `format` and writes it as the newest version of `name`.
    fn put(&self, name: &str, format: Format, payload: &[u8]) -> Result<VersionInfo, ObjectError> {
        check_name(name)?;
        let sealed = envelope::seal(format, payload, chrono::Utc::now().timestamp_millis());
        self.put_bytes(name, &sealed)
    }

    /// The version `wanted` names (its id, else its number), or the newest for `None`.
    fn resolve(&self, name: &str, wanted: Option<&str>) -> Result<VersionInfo, ObjectError> {
        check_name(name)?;
        let versions = self.versions(name)?;
        let found = match wanted {
            None => versions.last(),
            Some(wanted) => versions.iter().find(|v| v.id == wanted).or_else(|| {
                let number: usize = wanted.parse().ok()?;
                versions.iter().find(|v| v.number == number)
            }),
        };
        match (found, wanted) {
            (Some(found), _) => Ok(found.clone()),
            (None, None) => Err(ObjectError::NotFound {
                name: name.to_string(),
                store: self.describe(),
            }),
            (None, Some(wanted)) => Err(ObjectError::NoVersion {
                name: name.to_string(),
                version: wanted.to_string(),
                store: self.describe(),
            }),
        }
    }

    /// A version of `name` (the newest for `None`), checked against its checksum, of
    /// whatever format.
    fn get_any(&self, name: &str, wanted: Option<&str>) -> Result<StoredObject, ObjectError> {
        let version = self.resolve(name, wanted)?;
        let bytes = self.get_bytes(name, &version)?;
        let (header, payload) = envelope::open(&bytes).map_err(|reason| ObjectError::Corrupt {
            name: name.to_string(),
            version: version.number.to_string(),
            reason,
        })?;
        Ok(StoredObject {
            header,
            payload: payload.to_vec(),
            version,
        })
    }

    /// Like [`ObjectStore::get_any`], refusing any format but `expected`.
    fn get(
        &self,
        name: &str,
        wanted: Option<&str>,
        expected: Format,
    ) -> Result<StoredObject, ObjectError> {
        let object = self.get_any(name, wanted)?;
        envelope::expect(
            &object.header,
            expected,
            name,
            &object.version.number.to_string(),
        )?;
        Ok(object)
    }

    /// Makes version `wanted` the current one by writing it again as the newest; the
    /// old version is checked first, so a corrupt one is never made current.
    fn rollback(&self, name: &str, wanted: &str) -> Result<VersionInfo, ObjectError> {
        let version = self.resolve(name, Some(wanted))?;
        let bytes = self.get_bytes(name, &version)?;
        envelope::open(&bytes).map_err(|reason| ObjectError::Corrupt {
            name: name.to_string(),
            version: version.number.to_string(),
            reason,
        })?;
        self.put_bytes(name, &bytes)
    }
}
