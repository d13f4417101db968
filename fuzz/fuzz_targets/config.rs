#![no_main]
//! The TOML configuration: any UTF-8 text is accepted or refused with errors.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(errors) = lookout_config::Config::from_str_named(text, "fuzz.toml") {
        let _ = errors.to_string();
    }
});
