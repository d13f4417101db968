#![no_main]
//! JSON samples: any body.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(batch) = lookout_protocol::json_samples::parse_json_samples(data, 1_700_000_000_000) {
        assert!(batch.rejected.examples.len() <= lookout_protocol::MAX_REPORTED_ERRORS);
        assert!(batch.rejected.examples.len() as u64 <= batch.rejected.total());
    }
});
