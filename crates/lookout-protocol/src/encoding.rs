//! `Content-Encoding` of write bodies: `gzip` (Telegraf's `content_encoding = "gzip"`),
//! `deflate` (zlib, as HTTP means it), `zstd`, and none.
//!
//! Decompression is bounded: a body that inflates past the caller's limit is refused
//! with [`ProtocolError::BodyTooLarge`] as soon as the limit is crossed, so a small
//! compressed bomb costs at most `limit` bytes of memory. An encoding the endpoint does
//! not take is [`ProtocolError::UnsupportedMediaType`] (HTTP 415), never a misleading
//! parse error of the compressed bytes.
//!
//! Remote write bodies carry their own block compression (snappy) and do not come
//! through here.

use std::borrow::Cow;
use std::io::Read;

use crate::error::ProtocolError;

/// A body's `Content-Encoding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentEncoding {
    Identity,
    Gzip,
    Deflate,
    Zstd,
}

/// What the write endpoints accept, for error messages.
pub const ACCEPTED_ENCODINGS: &str = "accepted: gzip, deflate, zstd, identity";

impl ContentEncoding {
    /// Parses a `Content-Encoding` header value (absent or empty: identity). A list of
    /// several encodings is refused: no client sends one.
    pub fn from_header(value: Option<&str>) -> Result<ContentEncoding, ProtocolError> {
        let Some(raw) = value else {
            return Ok(ContentEncoding::Identity);
        };
        match raw.trim().to_ascii_lowercase().as_str() {
            "" | "identity" => Ok(ContentEncoding::Identity),
            "gzip" | "x-gzip" => Ok(ContentEncoding::Gzip),
            "deflate" => Ok(ContentEncoding::Deflate),
            "zstd" => Ok(ContentEncoding::Zstd),
            _ => Err(ProtocolError::UnsupportedMediaType {
                header: "Content-Encoding",
                value: raw.to_owned(),
                accepted: ACCEPTED_ENCODINGS,
            }),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ContentEncoding::Identity => "identity",
            ContentEncoding::Gzip => "gzip",
            ContentEncoding::Deflate => "deflate",
            ContentEncoding::Zstd => "zstd",
        }
    }

    /// The decoded body, at most `limit` bytes.
    pub fn decode<'a>(self, body: &'a [u8], limit: usize) -> Result<Cow<'a, [u8]>, ProtocolError> {
        let malformed = |error: std::io::Error| ProtocolError::MalformedCompression {
            encoding: self.name(),
            message: error.to_string(),
        };
        let out = match self {
            ContentEncoding::Identity => return Ok(Cow::Borrowed(body)),
            ContentEncoding::Gzip => read_bounded(flate2::read::GzDecoder::new(body), limit),
            ContentEncoding::Deflate => read_bounded(flate2::read::ZlibDecoder::new(body), limit),
            ContentEncoding::Zstd => {
                let decoder = ruzstd::decoding::StreamingDecoder::new(body).map_err(|error| {
                    ProtocolError::MalformedCompression {
                        encoding: "zstd",
                        message: error.to_string(),
                    }
                })?;
                read_bounded(decoder, limit)
            }
        };
        match out {
            Ok(Some(bytes)) => Ok(Cow::Owned(bytes)),
            Ok(None) => Err(ProtocolError::BodyTooLarge {
                declared: limit + 1,
                limit,
            }),
            Err(error) => Err(malformed(error)),
        }
    }
}

/// Reads everything, or `None` once more than `limit` bytes came out.
fn read_bounded(reader: impl Read, limit: usize) -> std::io::Result<Option<Vec<u8>>> {
    let mut out = Vec::new();
    reader.take(limit as u64 + 1).read_to_end(&mut out)?;
    Ok((out.len() <= limit).then_some(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn each_encoding_round_trips() {
        let text = b"cpu,host=a usage=1 1700000000000000000\n".repeat(100);
        let gzipped = gzip(&text);
        let deflated = zlib(&text);
        let zstd = ruzstd::encoding::compress_to_vec(
            &text[..],
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        for (encoding, body) in [
            (ContentEncoding::Gzip, &gzipped),
            (ContentEncoding::Deflate, &deflated),
            (ContentEncoding::Zstd, &zstd),
            (ContentEncoding::Identity, &text),
        ] {
            assert_eq!(
                &encoding.decode(body, 1 << 20).unwrap()[..],
                &text[..],
                "{encoding:?}"
            );
        }
    }

    #[test]
    fn headers_parse_and_unknown_encodings_are_unsupported() {
        assert_eq!(
            ContentEncoding::from_header(None).unwrap(),
            ContentEncoding::Identity
        );
        assert_eq!(
            ContentEncoding::from_header(Some(" GZip ")).unwrap(),
            ContentEncoding::Gzip
        );
        let error = ContentEncoding::from_header(Some("br")).unwrap_err();
        assert_eq!(error.reason(), crate::RejectReason::UnsupportedMediaType);
        assert!(error.to_string().contains("\"br\""), "{error}");
    }

    /// Well under a megabyte of gzip that inflates to 100 MB stops at the limit.
    #[test]
    fn a_compression_bomb_is_cut_off_at_the_limit() {
        let bomb = gzip(&vec![0u8; 100 << 20]);
        assert!(bomb.len() < 1 << 20, "{}", bomb.len());
        let error = ContentEncoding::Gzip.decode(&bomb, 1 << 20).unwrap_err();
        assert_eq!(error.reason(), crate::RejectReason::BodyTooLarge);
    }

    #[test]
    fn garbage_is_malformed_compression_naming_the_encoding() {
        let error = ContentEncoding::Gzip.decode(b"not gzip", 1024).unwrap_err();
        assert_eq!(error.reason(), crate::RejectReason::MalformedCompression);
        assert!(
            error.to_string().starts_with("malformed gzip body"),
            "{error}"
        );
    }
}
