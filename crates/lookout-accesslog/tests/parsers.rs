//! Property tests of the line parsers: lines written from known fields parse back to
//! those fields, and no input makes a parser panic.

use lookout_accesslog::{LogFormat, Parser, ParserConfig};
use proptest::prelude::*;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

#[derive(Debug, Clone)]
struct Fields {
    client: String,
    user: String,
    day: u32,
    month: usize,
    year: u32,
    hms: (u32, u32, u32),
    method: String,
    path: String,
    status: u16,
    bytes: Option<u64>,
    referer: String,
    agent: String,
    request_time: u32,
}

fn fields() -> impl Strategy<Value = Fields> {
    (
        (
            "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}|[0-9a-f:]{2,20}",
            "-|[a-z]{1,8}",
            1u32..=28,
            0usize..12,
            1970u32..2100,
            (0u32..24, 0u32..60, 0u32..60),
        ),
        (
            "GET|POST|PUT|DELETE|HEAD|PATCH|OPTIONS|PROPFIND",
            "/[a-zA-Z0-9/._~%?=&-]{0,60}",
            100u16..600,
            proptest::option::of(0u64..10_000_000_000),
            "-|https?://[a-z.]{1,20}/[a-z]{0,10}",
            // A user agent may hold quotes: it is the last field.
            "[ -~]{0,80}",
            0u32..100_000,
        ),
    )
        .prop_map(|((client, user, day, month, year, hms), rest)| Fields {
            client,
            user,
            day,
            month,
            year,
            hms,
            method: rest.0,
            path: rest.1,
            status: rest.2,
            bytes: rest.3,
            referer: rest.4,
            agent: rest.5,
            request_time: rest.6,
        })
}

fn time_local(fields: &Fields) -> String {
    let (h, m, s) = fields.hms;
    format!(
        "{:02}/{}/{}:{h:02}:{m:02}:{s:02} +0000",
        fields.day, MONTHS[fields.month], fields.year
    )
}

fn bytes_text(fields: &Fields) -> String {
    fields
        .bytes
        .map_or("-".to_string(), |bytes| bytes.to_string())
}

/// Unix ms of the fields' time, by an independent route (days counted year by year).
fn expected_ms(fields: &Fields) -> i64 {
    let leap = |y: u32| (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
    let mut days: i64 = (1970..fields.year)
        .map(|y| if leap(y) { 366 } else { 365 })
        .sum();
    let lengths = [
        31,
        if leap(fields.year) { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    days += lengths[..fields.month].iter().sum::<i64>() + i64::from(fields.day) - 1;
    let (h, m, s) = fields.hms;
    (days * 86_400 + i64::from(h) * 3600 + i64::from(m) * 60 + i64::from(s)) * 1000
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn combined_lines_parse_back_to_their_fields(fields in fields()) {
        let line = format!(
            "{} - {} [{}] \"{} {} HTTP/1.1\" {} {} \"{}\" \"{}\"",
            fields.client, fields.user, time_local(&fields), fields.method, fields.path,
            fields.status, bytes_text(&fields), fields.referer, fields.agent
        );
        let mut parser = Parser::new(&ParserConfig::new(LogFormat::Combined)).unwrap();
        let (request, parsed) = parser.parse(line.as_bytes()).unwrap();
        prop_assert_eq!(request.client, fields.client.as_str());
        prop_assert_eq!(request.method, fields.method.as_str());
        prop_assert_eq!(request.path, fields.path.as_str());
        prop_assert_eq!(request.status, fields.status);
        prop_assert_eq!(request.bytes, fields.bytes.unwrap_or(0));
        prop_assert_eq!(request.timestamp_ms, Some(expected_ms(&fields)));
        let agent = parsed.get("http_user_agent");
        prop_assert_eq!(agent.as_deref(), Some(fields.agent.as_str()));
        let user = parsed.get("remote_user");
        prop_assert_eq!(user.as_deref(), Some(fields.user.as_str()));
    }

    #[test]
    fn custom_nginx_formats_parse_back(fields in fields()) {
        let format = "$remote_addr|$host|$time_local|$request_method $request_uri|$status|$body_bytes_sent|$request_time|$upstream_response_time|$http_user_agent";
        let seconds = format!("{}.{:03}", fields.request_time / 1000, fields.request_time % 1000);
        let line = format!(
            "{}|{}|{}|{} {}|{}|{}|{}|{}|{}",
            fields.client, "example.org", time_local(&fields), fields.method, fields.path,
            fields.status, bytes_text(&fields), seconds, seconds, fields.agent
        );
        let mut parser = Parser::new(&ParserConfig::new(LogFormat::Nginx(format.into()))).unwrap();
        let (request, _) = parser.parse(line.as_bytes()).unwrap();
        let expected = f64::from(fields.request_time) / 1000.0;
        prop_assert_eq!(request.vhost, Some("example.org"));
        prop_assert_eq!(request.path, fields.path.as_str());
        prop_assert_eq!(request.status, fields.status);
        prop_assert!((request.request_time.unwrap() - expected).abs() < 1e-9);
        prop_assert!((request.upstream_time.unwrap() - expected).abs() < 1e-9);
        prop_assert_eq!(request.timestamp_ms, Some(expected_ms(&fields)));
    }

    #[test]
    fn no_input_makes_a_parser_panic(line in proptest::collection::vec(any::<u8>(), 0..300)) {
        for format in [
            LogFormat::Combined,
            LogFormat::Common,
            LogFormat::Json(Box::default()),
            LogFormat::Nginx("[$time_iso8601] $request_time \"$request\" $status".into()),
        ] {
            let mut parser = Parser::new(&ParserConfig::new(format)).unwrap();
            let _ = parser.parse(&line);
        }
    }

    #[test]
    fn mangled_combined_lines_never_panic(fields in fields(), cut in 0usize..200, byte in any::<u8>()) {
        let mut line = format!(
            "{} - - [{}] \"{} {} HTTP/1.1\" {} {} \"-\" \"{}\"",
            fields.client, time_local(&fields), fields.method, fields.path,
            fields.status, bytes_text(&fields), fields.agent
        ).into_bytes();
        let at = cut.min(line.len().saturating_sub(1));
        if !line.is_empty() {
            line[at] = byte;
        }
        let mut parser = Parser::new(&ParserConfig::new(LogFormat::Combined)).unwrap();
        let _ = parser.parse(&line);
    }
}
