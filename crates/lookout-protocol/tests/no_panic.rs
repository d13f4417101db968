//! Every parser takes hostile input: arbitrary bytes must give a value or an error, never a panic.

use lookout_model::SeriesKey;
use lookout_protocol::exposition::parse_exposition;
use lookout_protocol::influx::{parse_lines, Precision};
use lookout_protocol::json_samples::parse_json_samples;
use lookout_protocol::remote_write::decode_write_request;
use lookout_protocol::selector::parse_selector;
use lookout_protocol::SampleLimits;
use proptest::prelude::*;

/// Text made mostly of the characters the formats care about, to reach deep parser states.
fn syntax_soup() -> impl Strategy<Value = String> {
    proptest::string::string_regex(r#"[a-z_:0-9 ,={}\[\]()"'`\\~!.*+#\n\r\tiuTFé-]{0,80}"#).unwrap()
}

const PRECISIONS: [Precision; 4] = [
    Precision::Nanoseconds,
    Precision::Microseconds,
    Precision::Milliseconds,
    Precision::Seconds,
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn remote_write_never_panics_on_bytes(body in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode_write_request(&body);
    }

    #[test]
    fn remote_write_never_panics_on_compressed_garbage(raw in proptest::collection::vec(any::<u8>(), 0..256)) {
        let body = snap::raw::Encoder::new().compress_vec(&raw).unwrap();
        if let Ok(mut batch) = decode_write_request(&body) {
            SampleLimits::default().apply(&mut batch, 0);
        }
    }

    #[test]
    fn influx_never_panics(body in proptest::collection::vec(any::<u8>(), 0..256), soup in syntax_soup(), now in any::<i64>()) {
        for precision in PRECISIONS {
            let _ = parse_lines(&body, precision, now);
            if let Ok(mut batch) = parse_lines(soup.as_bytes(), precision, now) {
                SampleLimits::default().apply(&mut batch, now);
            }
        }
    }

    #[test]
    fn json_never_panics(body in proptest::collection::vec(any::<u8>(), 0..256), soup in syntax_soup()) {
        let _ = parse_json_samples(&body, 0);
        let _ = parse_json_samples(soup.as_bytes(), 0);
        let wrapped = format!("[{{\"name\": \"m\", \"value\": 1, \"timestamp\": {soup}}}]");
        let _ = parse_json_samples(wrapped.as_bytes(), 0);
    }

    #[test]
    fn exposition_never_panics(body in proptest::collection::vec(any::<u8>(), 0..256), soup in syntax_soup()) {
        let _ = parse_exposition(&body, 0);
        let _ = parse_exposition(soup.as_bytes(), 0);
    }

    #[test]
    fn selector_never_panics(text in any::<String>(), soup in syntax_soup(), value in any::<String>()) {
        let _ = parse_selector(&text);
        let key = SeriesKey::new("m").with_label("a", value);
        if let Ok(selector) = parse_selector(&soup) {
            let _ = selector.matches(&key);
            let _ = selector.to_string();
        }
    }
}
