//! The bytes of one stored object: a magic line with the envelope's version, one JSON
//! header line (what the payload is, its format version, length, SHA-256, when it was
//! written), then the payload.
//!
//! ```text
//! lookout-object 1
//! {"format":"traffic-model","format_version":1,"bytes":1234,"sha256":"…","created_ms":…}
//! <payload bytes>
//! ```
//!
//! Catches: truncation, flipped bits, a file that is not an object, an object of another
//! kind or of a format version this build cannot read (each refused with the object's
//! name and version). Misses: nothing is signed, so a deliberate forgery with a matching
//! checksum is accepted; the store's access control is the defence there.
//!
//! Cost: one SHA-256 pass over the payload on write and on read (~400 MB/s).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ObjectError;

const MAGIC: &str = "lookout-object";
/// The envelope's own version (the header's layout).
pub const ENVELOPE_VERSION: u32 = 1;
/// Longest header line read before the object is called corrupt.
const MAX_HEADER: usize = 4096;

/// What a payload is: its format name and the version of that format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Format {
    pub name: &'static str,
    pub version: u32,
}

/// The header of a stored object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub format: String,
    pub format_version: u32,
    pub bytes: u64,
    pub sha256: String,
    pub created_ms: i64,
}

/// `payload` wrapped with its header.
pub fn seal(format: Format, payload: &[u8], created_ms: i64) -> Vec<u8> {
    let header = Header {
        format: format.name.to_string(),
        format_version: format.version,
        bytes: payload.len() as u64,
        sha256: hex_sha256(payload),
        created_ms,
    };
    let header = serde_json::to_string(&header).expect("a header serialises");
    let mut out = Vec::with_capacity(payload.len() + header.len() + 32);
    out.extend_from_slice(format!("{MAGIC} {ENVELOPE_VERSION}\n").as_bytes());
    out.extend_from_slice(header.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(payload);
    out
}

/// The header and payload of `bytes`, checked (magic, envelope version, length,
/// checksum); `Err` is the reason it is corrupt.
pub fn open(bytes: &[u8]) -> Result<(Header, &[u8]), String> {
    let (magic, rest) = split_line(bytes).ok_or("no header: not a lookout object")?;
    let magic = std::str::from_utf8(magic).map_err(|_| "not a lookout object")?;
    let version = magic
        .strip_prefix(MAGIC)
        .and_then(|v| v.strip_prefix(' '))
        .ok_or("not a lookout object")?;
    if version != ENVELOPE_VERSION.to_string() {
        return Err(format!(
            "envelope version {version}, this build reads {ENVELOPE_VERSION}"
        ));
    }
    let (header, payload) = split_line(rest).ok_or("truncated header")?;
    let header: Header =
        serde_json::from_slice(header).map_err(|error| format!("unreadable header ({error})"))?;
    if payload.len() as u64 != header.bytes {
        return Err(format!(
            "{} payload bytes, the header says {}",
            payload.len(),
            header.bytes
        ));
    }
    let digest = hex_sha256(payload);
    if digest != header.sha256 {
        return Err(format!(
            "checksum mismatch: sha256 {digest}, the header says {}",
            header.sha256
        ));
    }
    Ok((header, payload))
}

/// Checks that `header` is `expected` (name and version), for the error of `name@version`.
pub fn expect(
    header: &Header,
    expected: Format,
    name: &str,
    version: &str,
) -> Result<(), ObjectError> {
    if header.format != expected.name || header.format_version != expected.version {
        return Err(ObjectError::Incompatible {
            name: name.to_string(),
            version: version.to_string(),
            found: format!("{} format {}", header.format, header.format_version),
            expected: format!("{} format {}", expected.name, expected.version),
        });
    }
    Ok(())
}

fn split_line(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = bytes.iter().take(MAX_HEADER).position(|b| *b == b'\n')?;
    Some((&bytes[..end], &bytes[end + 1..]))
}

pub(crate) fn hex_sha256(data: &[u8]) -> String {
    use std::fmt::Write;
    Sha256::digest(data)
        .iter()
        .fold(String::with_capacity(64), |mut out, byte| {
            let _ = write!(out, "{byte:02x}");
            out
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORMAT: Format = Format {
        name: "test",
        version: 3,
    };

    #[test]
    fn seals_and_opens() {
        let sealed = seal(FORMAT, b"payload\nwith lines", 42);
        let (header, payload) = open(&sealed).unwrap();
        assert_eq!(payload, b"payload\nwith lines");
        assert_eq!(header.format, "test");
        assert_eq!(header.format_version, 3);
        assert_eq!(header.created_ms, 42);
        expect(&header, FORMAT, "n", "1").unwrap();
    }

    #[test]
    fn refuses_damage_and_other_formats() {
        let sealed = seal(FORMAT, b"0123456789", 1);
        let mut flipped = sealed.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(open(&flipped).unwrap_err().contains("checksum mismatch"));
        assert!(open(&sealed[..sealed.len() - 1])
            .unwrap_err()
            .contains("payload bytes"));
        assert!(open(b"junk").unwrap_err().contains("not a lookout object"));
        assert!(open(b"lookout-object 9\n{}\n")
            .unwrap_err()
            .contains("envelope version 9"));
        let (header, _) = open(&sealed).unwrap();
        let newer = Format {
            name: "test",
            version: 4,
        };
        let error = expect(&header, newer, "models/x", "7").unwrap_err();
        assert_eq!(
            error.to_string(),
            "object \"models/x\" version 7 holds test format 3, expected test format 4; refusing it"
        );
    }
}
