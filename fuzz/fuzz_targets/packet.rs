#![no_main]
//! One captured frame, under every supported link type.
use libfuzzer_sys::fuzz_target;
use lookout_net::decode::{decode, LinkType};

fuzz_target!(|data: &[u8]| {
    for link in [
        LinkType::Ethernet,
        LinkType::LinuxSll,
        LinkType::LinuxSll2,
        LinkType::RawIp,
        LinkType::Null,
    ] {
        if let Ok(summary) = decode(link, data, data.len() as u32) {
            assert_eq!(summary.wire_len, data.len() as u32);
        }
    }
});
