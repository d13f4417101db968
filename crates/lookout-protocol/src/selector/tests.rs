use super::*;

fn key(name: &str, labels: &[(&str, &str)]) -> SeriesKey {
    labels
        .iter()
        .fold(SeriesKey::new(name), |key, (n, v)| key.with_label(*n, *v))
}

fn selects(selector: &str, key: &SeriesKey) -> bool {
    parse_selector(selector)
        .unwrap_or_else(|error| panic!("{selector}: {error}"))
        .matches(key)
}

fn error(selector: &str) -> String {
    parse_selector(selector).unwrap_err().to_string()
}

#[test]
fn parses_every_form() {
    let selector =
        parse_selector(r#"cpu{host="web-1", mode!='idle', dc=~`eu-.*`, env!~"dev|test",}"#)
            .unwrap();
    let parts: Vec<(&str, MatchOp, &str)> = selector
        .matchers()
        .iter()
        .map(|m| (m.name(), m.op(), m.value()))
        .collect();
    assert_eq!(
        parts,
        [
            ("__name__", MatchOp::Equal, "cpu"),
            ("host", MatchOp::Equal, "web-1"),
            ("mode", MatchOp::NotEqual, "idle"),
            ("dc", MatchOp::RegexMatch, "eu-.*"),
            ("env", MatchOp::RegexNoMatch, "dev|test"),
        ]
    );
    assert_eq!(selector.metric_name(), Some("cpu"));
    assert_eq!(
        parse_selector("  node:cpu:rate5m  ").unwrap().metric_name(),
        Some("node:cpu:rate5m")
    );
    assert_eq!(parse_selector("up{}").unwrap().matchers().len(), 1);
    assert_eq!(
        parse_selector(r#"{__name__=~"node_.*"}"#)
            .unwrap()
            .metric_name(),
        None
    );
}

#[test]
fn equality_and_inequality() {
    let web = key("cpu", &[("host", "web-1")]);
    let db = key("cpu", &[("host", "db-1")]);
    assert!(selects(r#"cpu{host="web-1"}"#, &web));
    assert!(!selects(r#"cpu{host="web-1"}"#, &db));
    assert!(!selects(r#"mem{host="web-1"}"#, &web));
    assert!(selects(r#"cpu{host!="web-1"}"#, &db));
    assert!(!selects(r#"cpu{host!="web-1"}"#, &web));
}

#[test]
fn regexes_are_fully_anchored() {
    let web = key("cpu", &[("host", "web-12")]);
    assert!(selects(r#"{host=~"web-.*"}"#, &web));
    assert!(
        !selects(r#"{host=~"web"}"#, &web),
        "a regex must match the whole value"
    );
    assert!(!selects(r#"{host=~"eb-12"}"#, &web));
    assert!(
        selects(r#"{host=~"web-1|web-12"}"#, &web),
        "alternation is inside the anchors"
    );
    assert!(selects(r#"cpu{host!~"web"}"#, &web));
    assert!(!selects(r#"cpu{host!~"web-.*"}"#, &web));
    assert!(selects(r#"{__name__=~"c.u"}"#, &web));
    assert!(!selects(r#"{__name__!~"c.u", host="web-12"}"#, &web));
    assert!(
        selects(r#"{host=~"a.b"}"#, &key("m", &[("host", "a\nb")])),
        "'.' matches a newline, as in Prometheus"
    );
}

#[test]
fn absent_labels_have_the_empty_value() {
    let bare = key("cpu", &[]);
    let tagged = key("cpu", &[("env", "prod")]);
    assert!(selects(r#"cpu{env=""}"#, &bare));
    assert!(!selects(r#"cpu{env=""}"#, &tagged));
    assert!(selects(r#"cpu{env!=""}"#, &tagged));
    assert!(!selects(r#"cpu{env!=""}"#, &bare));
    assert!(selects(r#"cpu{env=~"prod|"}"#, &bare));
    assert!(selects(r#"cpu{env!~"prod"}"#, &bare));
    assert!(selects(r#"cpu{env!="dev"}"#, &bare));
}

#[test]
fn at_least_one_matcher_must_not_match_the_empty_string() {
    let expected = "invalid selector at position 0: a selector needs at least one matcher that does not match the \
                    empty string, such as a metric name or label=\"value\"";
    for selector in [
        "{}",
        r#"{env=""}"#,
        r#"{env=~".*"}"#,
        r#"{env!="x"}"#,
        r#"{a!~"b", c=~"d?"}"#,
    ] {
        assert_eq!(error(selector), expected, "{selector}");
    }
    for selector in [
        r#"{env!=""}"#,
        r#"{env=~".+"}"#,
        r#"{a="", b="x"}"#,
        r#"{env!~""}"#,
    ] {
        assert!(parse_selector(selector).is_ok(), "{selector}");
    }
}

#[test]
fn string_escapes_follow_go() {
    let value = |selector: &str| {
        parse_selector(selector).unwrap().matchers()[1]
            .value()
            .to_string()
    };
    assert_eq!(value(r#"m{a="q\"b\\c\nd\te"}"#), "q\"b\\c\nd\te");
    assert_eq!(value(r#"m{a='it\'s'}"#), "it's");
    assert_eq!(value(r#"m{a="\x41\u00e9\U0001F600\101"}"#), "Aé😀A");
    assert_eq!(value(r#"m{a=`raw\n\x`}"#), "raw\\n\\x");
    assert_eq!(value("m{a=\"é,}\"}"), "é,}");
}

#[test]
fn display_round_trips() {
    for text in [
        r#"cpu{host="web-1",mode!="idle",dc=~"eu-.*",env!~"dev|test"}"#,
        r#"{__name__=~"node_.*"}"#,
        "up",
        r#"m{a="q\"b\\c\nd"}"#,
    ] {
        let selector = parse_selector(text).unwrap();
        assert_eq!(selector.to_string(), text);
        assert_eq!(parse_selector(&selector.to_string()).unwrap(), selector);
    }
}

#[test]
fn every_error_says_where_and_what_was_expected() {
    let cases = [
        (
            "",
            "at position 0: expected a metric name or '{', found end of input",
        ),
        (
            "  ",
            "at position 2: expected a metric name or '{', found end of input",
        ),
        (
            "1cpu",
            "at position 0: expected a metric name or '{', found '1'",
        ),
        (
            "cpu{host}",
            "at position 8: expected '=', '!=', '=~' or '!~' after label name \"host\", found '}'",
        ),
        (
            "cpu{host==\"a\"}",
            "at position 9: expected a quoted string, found '='",
        ),
        (
            "cpu{host=a}",
            "at position 9: expected a quoted string, found 'a'",
        ),
        (
            "cpu{\"host\"=\"a\"}",
            "at position 4: expected a label name or '}', found '\"'",
        ),
        (
            "cpu{a:b=\"x\"}",
            "at position 5: expected '=', '!=', '=~' or '!~' after label name \"a\", found ':'",
        ),
        (
            "cpu{host=\"a\" mode=\"b\"}",
            "at position 13: expected ',' or '}' after a matcher, found 'm'",
        ),
        (
            "cpu{host=\"a\"",
            "at position 12: expected ',' or '}' after a matcher, found end of input",
        ),
        ("cpu{host=\"a}", "at position 9: unterminated string"),
        ("cpu{host=\"a\nb\"}", "at position 9: unterminated string"),
        (
            "cpu{host=\"\\q\"}",
            "at position 10: unknown escape sequence '\\q' in string",
        ),
        (
            "cpu{host=\"\\x4\"}",
            "at position 10: invalid escape sequence '\\x...' in string",
        ),
        (
            "cpu{host=\"\\xff\"}",
            "at position 10: escape sequence '\\x...' is not a valid character",
        ),
        (
            "cpu{host=~\"a(b\"}",
            "at position 10: invalid regular expression \"a(b\": unclosed group",
        ),
        (
            "cpu{__name__=\"x\"}",
            "at position 4: metric name set twice: \"cpu\" and a __name__ matcher",
        ),
        (
            "cpu[5m]",
            "at position 3: range selectors like [5m] are not supported, only series selectors",
        ),
        (
            "cpu offset 5m",
            "at position 4: expected end of selector, found 'o'",
        ),
        (
            "cpu{a=\"b\"} + 1",
            "at position 11: expected end of selector, found '+'",
        ),
        (
            "é{a=\"b\"}",
            "at position 0: expected a metric name or '{', found 'é'",
        ),
    ];
    for (selector, expected) in cases {
        assert_eq!(
            error(selector),
            format!("invalid selector {expected}"),
            "{selector:?}"
        );
    }
}

#[test]
fn functions_are_refused_clearly() {
    assert_eq!(
        error("rate(http_requests_total[5m])"),
        "invalid selector at position 0: functions are not supported yet (rate(...)); write a series selector such \
         as name{label=\"value\"}"
    );
    assert!(error("sum (x)").contains("functions are not supported yet"));
}

#[test]
fn huge_regexes_are_refused() {
    let selector = format!("{{a=~\"{}\"}}", "(a{1000}){1000}");
    assert!(
        error(&selector).contains("invalid regular expression"),
        "{}",
        error(&selector)
    );
}
