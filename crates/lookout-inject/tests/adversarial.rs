//! Hostile input: bounded work per request, no panics, nothing silently dropped.

use lookout_inject::{Classifier, Kind, Limits};
use proptest::prelude::*;
use std::time::Instant;

fn nested(payload: &str, levels: usize) -> String {
    let mut s = payload.to_owned();
    for _ in 0..levels {
        s = s.bytes().map(|b| format!("%{b:02X}")).collect();
    }
    s
}

#[test]
fn one_megabyte_adversarial_query_is_bounded() {
    // Quotes, comment openers, parentheses, percent signs and entity starts: the inputs
    // that make tokenizers and decoders work hardest.
    let unit = "%27(/*&#x%25%2%u00'\"<a on=";
    let mut q = String::from("GET /?q=");
    while q.len() < 1 << 20 {
        q.push_str(unit);
    }
    q.push_str(" HTTP/1.1\r\nHost: x\r\nCookie: ");
    q.push_str(&"a=%27;".repeat(1 << 14));
    q.push_str("\r\n\r\n");
    let mut c = Classifier::default();
    // The rule automata are built once per process, on first use: not part of a request.
    c.classify_input(b"warm up");
    let start = Instant::now();
    let v = c.classify_request(q.as_bytes()).unwrap();
    let took = start.elapsed();
    eprintln!("1 MB adversarial request: {took:?}");
    // The bound is on work (bytes decoded and inspected per field, fields per request);
    // the time limit holds for optimised builds, unoptimised ones get ten times more.
    let limit_ms = if cfg!(debug_assertions) { 500 } else { 50 };
    assert!(took.as_millis() < limit_ms, "took {took:?}");
    assert!(
        v.truncated > 0,
        "the over-long field is counted as truncated"
    );
    // The attack at the front of the field is still seen.
    let v = c
        .classify_request(
            format!(
                "GET /?q=%27%20or%201=1--{} HTTP/1.1\r\n\r\n",
                "a".repeat(1 << 20)
            )
            .as_bytes(),
        )
        .unwrap();
    assert_eq!(v.kind(), Some(Kind::Sqli));
}

#[test]
fn ten_levels_of_encoding_decode_fully() {
    let mut c = Classifier::default();
    for (payload, kind) in [
        ("' union select password from users--", Kind::Sqli),
        ("<script>alert(1)</script>", Kind::Xss),
        ("../../../../etc/passwd", Kind::Traversal),
        ("{{7*7}}", Kind::Ssti),
        (";cat /etc/hosts", Kind::Cmdi),
    ] {
        let v = c.classify_input(nested(payload, 10).as_bytes());
        assert!(v.attack, "{payload}");
        // traversal rules may name a command's file argument too; the kind is one of them
        assert!(
            v.kind() == Some(kind) || (kind == Kind::Cmdi && v.kind() == Some(Kind::Traversal)),
            "{payload}: {:?}",
            v.kind()
        );
    }
}

#[test]
fn nul_bytes_and_invalid_utf8() {
    let mut c = Classifier::default();
    let v = c.classify_input(b"..%2f..%2f..%2fetc%2fpasswd%00.png");
    assert_eq!(v.kind(), Some(Kind::Traversal));
    let v = c.classify_input(b"%3Cscr%00ipt%3Ealert(1)");
    assert_eq!(v.kind(), Some(Kind::Xss));
    let raw = b"GET /\xff\xfe\x00?a=\xc0\xaf\xc0\xae\xc0\xae/\xed\xa0\x80 HTTP/1.1\r\nUser-Agent: \x00\x01\x02\r\n\r\n\xff";
    let v = c.classify_request(raw).unwrap();
    assert!(v.fields >= 3);
}

#[test]
fn limits_are_honoured() {
    let mut c = Classifier::new(Limits {
        max_fields: 2,
        ..Limits::default()
    });
    let v = c
        .classify_request(b"GET /a?x=1&y=2&z=3 HTTP/1.1\r\n\r\n")
        .unwrap();
    assert_eq!(v.fields, 2);
    assert_eq!(v.truncated, 2);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let mut c = Classifier::default();
        let v = c.classify_input(&bytes);
        prop_assert!((0.0..=1.0).contains(&v.score));
        let _ = c.classify_request(&bytes);
    }

    #[test]
    fn never_panics_on_requestlike_text(s in "(GET|POST) /[a-z%0-9'\"<>();&=?+-]{0,64} HTTP/1.1\r\n([A-Za-z-]{1,12}: [ -~]{0,40}\r\n){0,6}\r\n[ -~]{0,200}") {
        let mut c = Classifier::default();
        let v = c.classify_request(s.as_bytes()).unwrap();
        prop_assert!((0.0..=1.0).contains(&v.score));
        prop_assert_eq!(v.attack, v.score >= lookout_inject::ATTACK_THRESHOLD);
    }

    #[test]
    fn deterministic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let a = Classifier::default().classify_input(&bytes);
        let b = Classifier::default().classify_input(&bytes);
        prop_assert_eq!(a, b);
    }

    #[test]
    fn encoding_does_not_hide_an_attack(depth in 0usize..10, which in 0usize..4) {
        let payload = ["1' or '1'='1", "<svg onload=alert(1)>", "../../../etc/shadow", "${jndi:ldap://x/a}"][which];
        let v = Classifier::default().classify_input(nested(payload, depth).as_bytes());
        prop_assert!(v.attack, "{} at depth {}", payload, depth);
    }
}

/// Binary request bodies (an uploaded file) once read as command substitution: a
/// backtick before bytes starting `Ls` matched `ls` without a word boundary, and `$(`
/// before any letter matched as a command.
#[test]
fn command_names_in_substitutions_are_whole_words() {
    let mut c = Classifier::default();
    for benign in [
        &b"x=`Lsg\xff\xfe5/\x01Ux`"[..],
        b"x=$(B&u%v:Aeh)",
        b"note=`lsblk`",
    ] {
        let v = c.classify_input(benign);
        assert_eq!(v.kind(), None, "{:?}", String::from_utf8_lossy(benign));
    }
    for attack in [
        "x=`ls -la`",
        "x=`id`",
        "x=$(id)",
        "x=$(cat</etc/passwd)",
        "x=$(sleep 5&)",
    ] {
        let v = c.classify_input(attack.as_bytes());
        assert_eq!(v.kind(), Some(Kind::Cmdi), "{attack}");
    }
}

/// Help text in a form body ("Select File > Print from the menu") once read as SQL.
#[test]
fn select_from_a_determiner_and_a_word_is_prose() {
    let mut c = Classifier::default();
    for benign in [
        "text=Select+File+>+Print+from+the+menu",
        "q=select your plan from the list below",
    ] {
        assert_eq!(c.classify_input(benign.as_bytes()).kind(), None, "{benign}");
    }
    for attack in [
        "id=1 union select password from users",
        "q=' or 1=1; select * from the_users--",
        "x=1;select * from the",
    ] {
        assert_eq!(
            c.classify_input(attack.as_bytes()).kind(),
            Some(Kind::Sqli),
            "{attack}"
        );
    }
}
