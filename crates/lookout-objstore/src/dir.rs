//! The directory store: object `a/b` is the directory `<root>/a/b/`, its versions the
//! files `0000000001`, `0000000002`, … in it.
//!
//! A version is written to a temporary file in the object's directory (`.tmp-…`),
//! synced, then hard-linked to the next free number: the link fails if another writer
//! took the number first, and the writer tries the next one, so versions are never
//! overwritten and a reader sees a whole version or none. The temporary file is then
//! removed and the directory synced.
//!
//! Cost: a directory listing per `versions`; a write is one file, one fsync, one link.
//! Suits one node (or a shared filesystem with working `link(2)`, not an S3 mount).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::UNIX_EPOCH;

use crate::{check_name, ObjectError, ObjectStore, VersionInfo};

const DIGITS: usize = 10;

/// A versioned object store in a local directory.
#[derive(Debug)]
pub struct DirStore {
    root: PathBuf,
    temporaries: AtomicU64,
}

impl DirStore {
    /// A store under `root` (created when the first object is written).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DirStore {
            root: root.into(),
            temporaries: AtomicU64::new(0),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn object_dir(&self, name: &str) -> Result<PathBuf, ObjectError> {
        check_name(name)?;
        Ok(name
            .split('/')
            .fold(self.root.clone(), |dir, s| dir.join(s)))
    }
}

fn version_number(file_name: &str) -> Option<usize> {
    (file_name.len() == DIGITS && file_name.bytes().all(|b| b.is_ascii_digit()))
        .then(|| file_name.parse().ok())
        .flatten()
}

impl ObjectStore for DirStore {
    fn describe(&self) -> String {
        format!("directory {}", self.root.display())
    }

    fn put_bytes(&self, name: &str, bytes: &[u8]) -> Result<VersionInfo, ObjectError> {
        use std::io::Write;
        let dir = self.object_dir(name)?;
        std::fs::create_dir_all(&dir).map_err(ObjectError::io(&dir))?;
        let temporary = dir.join(format!(
            ".tmp-{}-{}",
            std::process::id(),
            self.temporaries.fetch_add(1, Ordering::Relaxed)
        ));
        let written = (|| {
            let mut file = std::fs::File::create(&temporary)?;
            file.write_all(bytes)?;
            file.sync_all()
        })();
        if let Err(source) = written {
            let _ = std::fs::remove_file(&temporary);
            return Err(ObjectError::Io {
                path: temporary,
                source,
            });
        }
        let mut number = self.versions(name)?.last().map_or(0, |v| v.number) + 1;
        let result = loop {
            let path = dir.join(format!("{number:0DIGITS$}"));
            match std::fs::hard_link(&temporary, &path) {
                Ok(()) => break Ok(number),
                Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => number += 1,
                Err(source) => break Err(ObjectError::Io { path, source }),
            }
        };
        let _ = std::fs::remove_file(&temporary);
        let number = result?;
        if let Ok(handle) = std::fs::File::open(&dir) {
            let _ = handle.sync_all();
        }
        Ok(VersionInfo {
            number,
            id: number.to_string(),
            size: bytes.len() as u64,
            written_ms: chrono::Utc::now().timestamp_millis(),
        })
    }

    fn get_bytes(&self, name: &str, version: &VersionInfo) -> Result<Vec<u8>, ObjectError> {
        let path = self
            .object_dir(name)?
            .join(format!("{:0DIGITS$}", version.number));
        std::fs::read(&path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => ObjectError::NoVersion {
                name: name.to_string(),
                version: version.id.clone(),
                store: self.describe(),
            },
            _ => ObjectError::Io { path, source },
        })
    }

    fn versions(&self, name: &str) -> Result<Vec<VersionInfo>, ObjectError> {
        let dir = self.object_dir(name)?;
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(ObjectError::Io { path: dir, source }),
        };
        let mut versions = Vec::new();
        for entry in entries {
            let entry = entry.map_err(ObjectError::io(&dir))?;
            let Some(number) = entry.file_name().to_str().and_then(version_number) else {
                continue;
            };
            let metadata = entry.metadata().map_err(ObjectError::io(entry.path()))?;
            if !metadata.is_file() {
                continue;
            }
            let written_ms = metadata
                .modified()
                .ok()
                .and_then(|at| at.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_millis() as i64);
            versions.push(VersionInfo {
                number,
                id: number.to_string(),
                size: metadata.len(),
                written_ms,
            });
        }
        versions.sort_by_key(|v| v.number);
        Ok(versions)
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, ObjectError> {
        let mut names = Vec::new();
        let mut pending = vec![(self.root.clone(), String::new())];
        while let Some((dir, name)) = pending.pop() {
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => return Err(ObjectError::Io { path: dir, source }),
            };
            let mut holds_versions = false;
            for entry in entries {
                let entry = entry.map_err(ObjectError::io(&dir))?;
                let file_name = entry.file_name().to_string_lossy().into_owned();
                if file_name.starts_with('.') {
                    continue;
                }
                let is_dir = entry.file_type().map_err(ObjectError::io(entry.path()))?;
                if is_dir.is_dir() {
                    let child = if name.is_empty() {
                        file_name
                    } else {
                        format!("{name}/{file_name}")
                    };
                    pending.push((entry.path(), child));
                } else if version_number(&file_name).is_some() {
                    holds_versions = true;
                }
            }
            if holds_versions && name.starts_with(prefix) {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Format;

    const FORMAT: Format = Format {
        name: "test",
        version: 1,
    };

    #[test]
    fn each_put_is_a_new_version_and_rollback_writes_an_old_one_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirStore::new(dir.path().join("objects"));
        assert!(store.versions("models/traffic/a").unwrap().is_empty());
        assert!(matches!(
            store.get_any("models/traffic/a", None),
            Err(ObjectError::NotFound { .. })
        ));
        for payload in [b"one".as_slice(), b"two", b"three"] {
            store.put("models/traffic/a", FORMAT, payload).unwrap();
        }
        store.put("snapshots/detectors", FORMAT, b"s").unwrap();
        let versions = store.versions("models/traffic/a").unwrap();
        assert_eq!(
            versions.iter().map(|v| v.number).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        assert_eq!(
            store.get("models/traffic/a", None, FORMAT).unwrap().payload,
            b"three"
        );
        assert_eq!(
            store
                .get("models/traffic/a", Some("1"), FORMAT)
                .unwrap()
                .payload,
            b"one"
        );
        let rolled = store.rollback("models/traffic/a", "1").unwrap();
        assert_eq!(rolled.number, 4);
        assert_eq!(
            store.get("models/traffic/a", None, FORMAT).unwrap().payload,
            b"one"
        );
        assert!(matches!(
            store.get("models/traffic/a", Some("9"), FORMAT),
            Err(ObjectError::NoVersion { .. })
        ));
        assert_eq!(
            store.list("").unwrap(),
            ["models/traffic/a", "snapshots/detectors"]
        );
        assert_eq!(store.list("models/").unwrap(), ["models/traffic/a"]);
        let leftovers: Vec<_> = std::fs::read_dir(store.root().join("models/traffic/a"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(leftovers.is_empty(), "no temporary left: {leftovers:?}");
    }

    #[test]
    fn a_damaged_version_is_refused_by_name_and_never_rolled_back_to() {
        let dir = tempfile::tempdir().unwrap();
        let store = DirStore::new(dir.path());
        store.put("models/traffic/b", FORMAT, b"good").unwrap();
        store.put("models/traffic/b", FORMAT, b"later").unwrap();
        let first = dir.path().join("models/traffic/b/0000000001");
        let mut bytes = std::fs::read(&first).unwrap();
        *bytes.last_mut().unwrap() ^= 0x20;
        std::fs::write(&first, bytes).unwrap();
        let error = store.get_any("models/traffic/b", Some("1")).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("object \"models/traffic/b\" version 1 is corrupt (checksum mismatch"),
            "{error}"
        );
        assert!(matches!(
            store.rollback("models/traffic/b", "1"),
            Err(ObjectError::Corrupt { .. })
        ));
        assert_eq!(store.versions("models/traffic/b").unwrap().len(), 2);
        let other = Format {
            name: "test",
            version: 2,
        };
        assert!(matches!(
            store.get("models/traffic/b", None, other),
            Err(ObjectError::Incompatible { .. })
        ));
    }

    #[test]
    fn concurrent_writers_never_share_a_number() {
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(DirStore::new(dir.path()));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let store = std::sync::Arc::clone(&store);
                std::thread::spawn(move || {
                    for i in 0..10 {
                        store
                            .put("x", FORMAT, format!("{t}-{i}").as_bytes())
                            .unwrap();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        let versions = store.versions("x").unwrap();
        assert_eq!(versions.len(), 40);
        let mut payloads: Vec<_> = versions
            .iter()
            .map(|v| store.get("x", Some(&v.id), FORMAT).unwrap().payload)
            .collect();
        payloads.sort();
        payloads.dedup();
        assert_eq!(payloads.len(), 40, "no version overwritten");
    }

    #[test]
    fn names_cannot_leave_the_root() {
        let store = DirStore::new("/nonexistent");
        assert!(matches!(
            store.put("../etc/x", FORMAT, b""),
            Err(ObjectError::BadName(_))
        ));
    }
}
