//! The web-attack corpus layout (`webattacks/` as unpacked from `webattacks-dev.tar.xz`):
//! libinjection's line lists (`libinjection/data/sqli-*.txt`, `xss-*.txt` attacks,
//! `false_positives.txt` benign; `#` and blank lines are comments) and raw HTTP
//! requests (`blazehttp-dev/**/<id>.black` attacks, `.white` benign). Used by the
//! accuracy tests and `lookout bench inject`.

use std::path::{Path, PathBuf};

/// One labelled sample.
#[derive(Debug, Clone)]
pub struct Sample {
    /// File (and line, for line lists) it came from.
    pub source: String,
    pub malicious: bool,
    pub bytes: Vec<u8>,
}

/// An error reading the corpus, naming the file.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct CorpusError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

fn read(path: &Path) -> Result<Vec<u8>, CorpusError> {
    std::fs::read(path).map_err(|source| CorpusError {
        path: path.to_owned(),
        source,
    })
}

fn list(dir: &Path) -> Result<Vec<PathBuf>, CorpusError> {
    let rd = std::fs::read_dir(dir).map_err(|source| CorpusError {
        path: dir.to_owned(),
        source,
    })?;
    let mut v = Vec::new();
    for e in rd {
        let e = e.map_err(|source| CorpusError {
            path: dir.to_owned(),
            source,
        })?;
        v.push(e.path());
    }
    v.sort();
    Ok(v)
}

/// Files under `dir`, recursively, sorted.
pub fn walk(dir: &Path) -> Result<Vec<PathBuf>, CorpusError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for p in list(&d)? {
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The input lines of a libinjection list.
pub fn lines(path: &Path) -> Result<Vec<Sample>, CorpusError> {
    let text = read(path)?;
    let malicious = !path
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with("false_positives"));
    Ok(text
        .split(|&b| b == b'\n')
        .enumerate()
        .filter_map(|(i, l)| {
            let l = l.strip_suffix(b"\r").unwrap_or(l);
            (!l.is_empty() && l[0] != b'#').then(|| Sample {
                source: format!("{}:{}", path.display(), i + 1),
                malicious,
                bytes: l.to_vec(),
            })
        })
        .collect())
}

/// libinjection's lists whose names start with `prefix` (`sqli-`, `xss-`, `false_positives`).
pub fn libinjection(root: &Path, prefix: &str) -> Result<Vec<Sample>, CorpusError> {
    let mut out = Vec::new();
    for p in list(&root.join("libinjection/data"))? {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with(prefix) && name.ends_with(".txt") {
            out.extend(lines(&p)?);
        }
    }
    Ok(out)
}

/// The raw requests of `blazehttp-dev/`.
pub fn blazehttp(root: &Path) -> Result<Vec<Sample>, CorpusError> {
    let mut out = Vec::new();
    for p in walk(&root.join("blazehttp-dev"))? {
        let malicious = match p.extension().and_then(|e| e.to_str()) {
            Some("black") => true,
            Some("white") => false,
            _ => continue,
        };
        out.push(Sample {
            source: p.display().to_string(),
            malicious,
            bytes: read(&p)?,
        });
    }
    Ok(out)
}

/// The archive's place beside a checkout: `<repo>/../shared/datasets/webattacks/`.
pub fn archive_beside(repo_root: &Path) -> PathBuf {
    repo_root.join("../shared/datasets/webattacks/webattacks-dev.tar.xz")
}

/// The default cache directory for unpacked corpora: `$XDG_CACHE_HOME/lookout` or
/// `~/.cache/lookout`.
pub fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(d).join("lookout");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    home.join(".cache/lookout")
}

/// Why the archive could not be unpacked.
#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("tar could not unpack {archive}: {stderr}")]
    Tar { archive: PathBuf, stderr: String },
}

/// Unpacks `archive` (a `.tar.xz` holding `webattacks/`) under `cache/webattacks-dev/`
/// once, with the system `tar`, and returns the `webattacks/` directory. A marker file
/// written last says the unpacking finished.
pub fn unpack(archive: &Path, cache: &Path) -> Result<PathBuf, UnpackError> {
    let dest = cache.join("webattacks-dev");
    let root = dest.join("webattacks");
    let marker = dest.join(".unpacked");
    if marker.exists() {
        return Ok(root);
    }
    std::fs::create_dir_all(&dest).map_err(|source| UnpackError::Io {
        path: dest.clone(),
        source,
    })?;
    let out = std::process::Command::new("tar")
        .arg("-xJf")
        .arg(archive)
        .arg("-C")
        .arg(&dest)
        .output()
        .map_err(|source| UnpackError::Io {
            path: archive.to_owned(),
            source,
        })?;
    if !out.status.success() {
        return Err(UnpackError::Tar {
            archive: archive.to_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    std::fs::write(&marker, b"").map_err(|source| UnpackError::Io {
        path: marker.clone(),
        source,
    })?;
    Ok(root)
}
