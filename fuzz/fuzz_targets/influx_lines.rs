#![no_main]
//! Influx line protocol: every precision, any body.
use libfuzzer_sys::fuzz_target;
use lookout_protocol::influx::{parse_lines, Precision};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let precision = match selector % 4 {
        0 => Precision::Nanoseconds,
        1 => Precision::Microseconds,
        2 => Precision::Milliseconds,
        _ => Precision::Seconds,
    };
    if let Ok(batch) = parse_lines(body, precision, 1_700_000_000_000) {
        assert!(batch.rejected.examples.len() <= lookout_protocol::MAX_REPORTED_ERRORS);
        assert!(batch.rejected.examples.len() as u64 <= batch.rejected.total());
    }
});
