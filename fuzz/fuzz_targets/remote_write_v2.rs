#![no_main]
//! Remote write v2: any body is decoded or refused with a typed error.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((batch, _counts)) = lookout_protocol::remote_write::v2::decode_v2_request(data) {
        assert!(batch.rejected.examples.len() <= lookout_protocol::MAX_REPORTED_ERRORS);
        assert!(batch.rejected.examples.len() as u64 <= batch.rejected.total());
    }
});
