#![no_main]
//! Series selectors: any UTF-8 text.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(selector) = lookout_protocol::selector::parse_selector(text) {
        assert!(!selector.matchers().is_empty() || selector.metric_name().is_none());
    }
});
