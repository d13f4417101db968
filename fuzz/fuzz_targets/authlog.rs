#![no_main]
//! Auth-log lines: a parser in the widest mode reads every line of the input in order.
use libfuzzer_sys::fuzz_target;
use lookout_auth::{AuthParser, Mode, ParserConfig};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut parser = AuthParser::new(ParserConfig::new(Mode::Aggressive, 2026));
    for line in text.lines() {
        let _ = parser.parse_line(line);
    }
});
