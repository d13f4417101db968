#![no_main]
//! Content-encoding decoding with a small limit: never more than the limit comes out.
use libfuzzer_sys::fuzz_target;
use lookout_protocol::encoding::ContentEncoding;

const LIMIT: usize = 64 * 1024;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let encoding = match selector % 4 {
        0 => ContentEncoding::Identity,
        1 => ContentEncoding::Gzip,
        2 => ContentEncoding::Deflate,
        _ => ContentEncoding::Zstd,
    };
    if let Ok(decoded) = encoding.decode(body, LIMIT) {
        assert!(decoded.len() <= LIMIT.max(body.len()));
    }
});
