#![no_main]
//! Syslog and journald headers as the `log` source splits them: every line of the input
//! through `lookout_auth::header::syslog` (RFC 5424, RFC 3164, `<PRI>` optional) and
//! `lookout_auth::header::journal`. The first byte picks the year (1900 + byte) that
//! completes RFC 3164 times.
use libfuzzer_sys::fuzz_target;
use lookout_auth::header;

fuzz_target!(|data: &[u8]| {
    let Some((&year, rest)) = data.split_first() else {
        return;
    };
    let year = 1900 + i32::from(year);
    for line in rest.split(|&b| b == b'\n') {
        let _ = header::journal(line);
        let Ok(text) = std::str::from_utf8(line) else {
            continue;
        };
        let Some(split) = header::syslog(text, year) else {
            continue;
        };
        // The header is cut from the front: the message is the line's end, host and
        // program are parts of the line.
        let text = text.strip_suffix('\r').unwrap_or(text);
        assert!(text.as_bytes().ends_with(&split.message), "{text:?}");
        if let Some(host) = &split.host {
            assert!(text.contains(&**host), "{text:?}");
        }
        if let Some(program) = &split.program {
            assert!(text.contains(&**program), "{text:?}");
        }
    }
});
