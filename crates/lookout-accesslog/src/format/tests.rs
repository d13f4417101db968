use super::*;

/// Parses one line with a fresh parser and hands the result to `check`.
fn parse_with<T>(
    config: ParserConfig,
    line: &str,
    check: impl FnOnce(Result<Request<'_>, BadLine>) -> T,
) -> T {
    let mut parser = Parser::new(&config).unwrap();
    check(parser.parse(line.as_bytes()).map(|(request, _)| request))
}

#[test]
fn combined_lines_give_every_field() {
    let line = r#"203.0.113.9 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif?x=1 HTTP/1.0" 200 2326 "http://example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)""#;
    parse_with(ParserConfig::new(LogFormat::Combined), line, |request| {
        assert_eq!(
            request.unwrap(),
            Request {
                timestamp_ms: Some(971_211_336_000),
                client: "203.0.113.9",
                method: "GET",
                path: "/apache_pb.gif?x=1",
                status: 200,
                bytes: 2326,
                request_time: None,
                upstream_time: None,
                vhost: None,
            }
        );
    });
}

#[test]
fn common_lines_and_dashes() {
    let line = r#"::1 - - [10/Oct/2000:13:55:36 +0000] "-" 400 -"#;
    parse_with(ParserConfig::new(LogFormat::Common), line, |request| {
        let request = request.unwrap();
        assert_eq!(request.method, "-");
        assert_eq!(request.path, "-");
        assert_eq!(request.status, 400);
        assert_eq!(request.bytes, 0);
    });
}

#[test]
fn nginx_formats_find_times_hosts_and_custom_fields() {
    let format = r#"$remote_addr [$time_iso8601] $host "$request" $status $body_bytes_sent rt=$request_time urt="$upstream_response_time" ua=$upstream_addr"#;
    let config = ParserConfig::new(LogFormat::Nginx(format.into()));
    let mut parser = Parser::new(&config).unwrap();
    assert!(parser.has_request_time());
    let line = br#"10.0.0.1 [2026-12-02T14:00:00+00:00] shop.example "POST /api/v1/orders HTTP/1.1" 502 0 rt=1.250 urt="1.001, 0.249" ua=10.1.1.1:80"#;
    let (request, fields) = parser.parse(line).unwrap();
    assert_eq!(request.vhost, Some("shop.example"));
    assert_eq!(request.request_time, Some(1.25));
    assert_eq!(request.upstream_time, Some(1.25));
    assert_eq!(request.status, 502);
    assert_eq!(request.timestamp_ms, Some(1_796_220_000_000));
    assert_eq!(fields.get("upstream_addr").as_deref(), Some("10.1.1.1:80"));
    assert_eq!(fields.get("nope"), None);
}

#[test]
fn configured_fields_must_be_in_the_format() {
    let mut config = ParserConfig::new(LogFormat::Combined);
    config.client_field = Some("http_x_forwarded_for".into());
    let error = Parser::new(&config).unwrap_err().to_string();
    assert!(
        error.contains("client field \"http_x_forwarded_for\""),
        "{error}"
    );
    assert!(error.contains("$remote_addr"), "{error}");
    let error = Parser::new(&ParserConfig::new(LogFormat::Nginx(
        "$remote_addr $request".into(),
    )))
    .unwrap_err();
    assert_eq!(error, FormatError::Missing("status", "$status".into()));
    let error = Parser::new(&ParserConfig::new(LogFormat::Nginx(
        "$remote_addr $status".into(),
    )))
    .unwrap_err();
    assert!(matches!(error, FormatError::Missing("request", _)));
    assert!(matches!(
        LogFormat::from_name("apache"),
        Err(FormatError::UnknownFormat(_))
    ));
}

#[test]
fn json_lines_with_numbers_or_strings() {
    let config = ParserConfig::new(LogFormat::Json(Box::default()));
    let line = r#"{"time":"2026-12-02T14:00:00Z","remote_addr":"10.0.0.2","request":"GET /u/1 HTTP/1.1","status":"404","body_bytes_sent":12,"request_time":0.004,"host":"a"}"#;
    parse_with(config.clone(), line, |request| {
        let request = request.unwrap();
        assert_eq!(request.status, 404);
        assert_eq!(request.path, "/u/1");
        assert_eq!(request.bytes, 12);
        assert_eq!(request.request_time, Some(0.004));
        assert_eq!(request.vhost, Some("a"));
    });
    let line = r#"{"request_method":"PUT","request_uri":"/x","status":201}"#;
    parse_with(config.clone(), line, |request| {
        let request = request.unwrap();
        assert_eq!(
            (request.method, request.path, request.status),
            ("PUT", "/x", 201)
        );
    });
    let reason = |line: &str| parse_with(config.clone(), line, |request| request.err());
    assert_eq!(reason("[1]"), Some(BadLine::NoMatch));
    assert_eq!(reason(r#"{"status":200}"#), Some(BadLine::NoMatch));
    assert_eq!(
        reason(r#"{"status":"2x","request":"GET / H"}"#),
        Some(BadLine::BadValue)
    );
}

#[test]
fn bad_lines_are_named_by_reason() {
    let config = ParserConfig::new(LogFormat::Combined);
    let mut parser = Parser::new(&config).unwrap();
    assert_eq!(
        parser.parse(b"\xff\xfe garbage").unwrap_err(),
        BadLine::InvalidUtf8
    );
    assert_eq!(parser.parse(b"hello world").unwrap_err(), BadLine::NoMatch);
    let bad_status = br#"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 2000 1 "-" "-""#;
    assert_eq!(parser.parse(bad_status).unwrap_err(), BadLine::BadValue);
    let bad_time = br#"1.2.3.4 - - [10/Oct/2000:13:55 -0700] "GET / HTTP/1.1" 200 1 "-" "-""#;
    assert_eq!(parser.parse(bad_time).unwrap_err(), BadLine::BadValue);
    let crlf = b"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.1\" 200 1 \"-\" \"-\"\r";
    assert_eq!(parser.parse(crlf).unwrap().0.status, 200);
}
