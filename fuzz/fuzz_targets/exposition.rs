#![no_main]
//! Prometheus text exposition: any body.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(exposition) = lookout_protocol::exposition::parse_exposition(data, 1_700_000_000_000)
    {
        let typed = exposition.typed_samples().count();
        assert_eq!(typed, exposition.into_samples().len());
    }
});
