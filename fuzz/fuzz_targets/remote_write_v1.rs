#![no_main]
//! Remote write v1: any body is decoded or refused with a typed error.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(batch) = lookout_protocol::remote_write::decode_write_request(data) {
        assert!(batch.rejected.examples.len() <= lookout_protocol::MAX_REPORTED_ERRORS);
        assert!(batch.rejected.examples.len() as u64 <= batch.rejected.total());
    }
});
