//! Decoding of user input before classification: repeated percent-decoding (bounded
//! depth, `+` as space, `%uXXXX`, invalid escapes kept literally), overlong UTF-8 folded
//! to ASCII, NUL bytes dropped, and, for the markup view, HTML character references and
//! JavaScript escapes.
//!
//! Every pass is linear in its input and never makes it longer than the input plus a
//! constant per escape, so decoding a field of `n` bytes costs at most
//! `O(n * MAX_DECODE_DEPTH)`.

/// How many percent-decoding passes at most: deeper nesting is left as it is after this
/// many layers (still inspected; ten levels deep decodes fully).
pub const MAX_DECODE_DEPTH: usize = 12;

/// Inputs up to this size always get all [`MAX_DECODE_DEPTH`] passes.
pub const DECODE_BUDGET_FLOOR: usize = 64 * 1024;

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn push_char(out: &mut Vec<u8>, c: u32) {
    let c = char::from_u32(c).unwrap_or('\u{fffd}');
    let mut buf = [0u8; 4];
    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
}

/// One percent-decoding pass into `out`; returns whether anything was decoded.
fn percent_pass(input: &[u8], plus_as_space: bool, out: &mut Vec<u8>) -> bool {
    out.clear();
    let mut changed = false;
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        if b == b'%' {
            if let (Some(h), Some(l)) = (
                input.get(i + 1).copied().and_then(hex),
                input.get(i + 2).copied().and_then(hex),
            ) {
                out.push(h << 4 | l);
                i += 3;
                changed = true;
                continue;
            }
            if matches!(input.get(i + 1), Some(b'u' | b'U')) && i + 6 <= input.len() {
                let digits = &input[i + 2..i + 6];
                if let Some(v) = digits
                    .iter()
                    .try_fold(0u32, |acc, &d| hex(d).map(|h| acc << 4 | h as u32))
                {
                    push_char(out, v);
                    i += 6;
                    changed = true;
                    continue;
                }
            }
            out.push(b);
        } else if b == b'+' && plus_as_space {
            out.push(b' ');
            changed = true;
        } else {
            out.push(b);
        }
        i += 1;
    }
    changed
}

/// Folds overlong two-byte UTF-8 encodings of ASCII (`C0 AE` is `.`, `C0 AF` is `/`),
/// which lenient servers decode, to the ASCII byte, and drops NUL bytes.
fn fold_overlong(bytes: &mut Vec<u8>) {
    let mut w = 0;
    let mut r = 0;
    while r < bytes.len() {
        let b = bytes[r];
        if (b == 0xC0 || b == 0xC1) && r + 1 < bytes.len() && bytes[r + 1] & 0xC0 == 0x80 {
            let c = ((b & 0x1F) << 6) | (bytes[r + 1] & 0x3F);
            if c != 0 {
                bytes[w] = c;
                w += 1;
            }
            r += 2;
            continue;
        }
        if b != 0 {
            bytes[w] = b;
            w += 1;
        }
        r += 1;
    }
    bytes.truncate(w);
}

/// Decodes `input` as URL-encoded user input, repeatedly, until it no longer changes or
/// [`MAX_DECODE_DEPTH`] passes were made (fewer for inputs over [`DECODE_BUDGET_FLOOR`]
/// whose passes barely shrink them); `+` is a space in the first pass only when
/// `plus_as_space` (query strings and form bodies). Invalid UTF-8 becomes U+FFFD.
pub fn url_decode(input: &[u8], plus_as_space: bool) -> String {
    let mut cur = input.to_vec();
    let mut next = Vec::with_capacity(input.len());
    // Work bound: passes over at most max(4n, DEPTH * 64 KiB) bytes in all, so a huge
    // input whose passes barely shrink it costs four passes, not twelve.
    let mut budget = (4 * input.len()).max(MAX_DECODE_DEPTH * DECODE_BUDGET_FLOOR);
    for depth in 0..MAX_DECODE_DEPTH {
        if cur.len() > budget {
            break;
        }
        budget -= cur.len();
        if !(cur.contains(&b'%') || plus_as_space && depth == 0 && cur.contains(&b'+')) {
            break;
        }
        if !percent_pass(&cur, plus_as_space && depth == 0, &mut next) {
            break;
        }
        std::mem::swap(&mut cur, &mut next);
    }
    fold_overlong(&mut cur);
    match String::from_utf8(cur) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

const NAMED: &[(&str, char)] = &[
    ("lt", '<'),
    ("gt", '>'),
    ("quot", '"'),
    ("apos", '\''),
    ("amp", '&'),
    ("colon", ':'),
    ("tab", '\t'),
    ("newline", '\n'),
    ("lpar", '('),
    ("rpar", ')'),
    ("equals", '='),
    ("sol", '/'),
    ("bsol", '\\'),
    ("nbsp", ' '),
    ("grave", '`'),
    ("lsqb", '['),
    ("rsqb", ']'),
    ("lbrace", '{'),
    ("rbrace", '}'),
    ("semi", ';'),
    ("comma", ','),
    ("period", '.'),
    ("excl", '!'),
    ("plus", '+'),
];

fn numeric_reference(s: &[u8]) -> Option<(u32, usize)> {
    // s starts after "&#"
    let (radix, start) = match s.first() {
        Some(b'x' | b'X') => (16, 1),
        _ => (10, 0),
    };
    let mut v: u32 = 0;
    let mut n = start;
    while n < s.len() && n - start < 10 {
        let d = match (radix, s[n]) {
            (16, c) => hex(c).map(u32::from),
            (_, c @ b'0'..=b'9') => Some(u32::from(c - b'0')),
            _ => None,
        };
        let Some(d) = d else { break };
        v = v.saturating_mul(radix).saturating_add(d);
        n += 1;
    }
    // leading zeros are allowed and unbounded in browsers: skip extra digits
    while n < s.len() && s[n].is_ascii_hexdigit() && radix == 16
        || n < s.len() && radix == 10 && s[n].is_ascii_digit()
    {
        n += 1;
    }
    if n == start {
        return None;
    }
    if s.get(n) == Some(&b';') {
        n += 1;
    }
    Some((v, n))
}

/// Decodes HTML character references (`&lt;`, `&#60;`, `&#x3c`, with or without the
/// semicolon, as browsers do) once.
pub fn html_decode(input: &str) -> String {
    let b = input.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'&' {
            if b.get(i + 1) == Some(&b'#') {
                if let Some((v, n)) = numeric_reference(&b[i + 2..]) {
                    push_char(&mut out, v);
                    i += 2 + n;
                    continue;
                }
            } else if let Some((name, c)) = NAMED.iter().find(|(name, _)| {
                b.len() > i + name.len()
                    && b[i + 1..i + 1 + name.len()].eq_ignore_ascii_case(name.as_bytes())
            }) {
                push_char(&mut out, *c as u32);
                i += 1 + name.len();
                if b.get(i) == Some(&b';') {
                    i += 1;
                }
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Decodes JavaScript/CSS escapes once: `\uXXXX`, `\u{X…}`, `\xHH`, octal `\141`.
pub fn js_decode(input: &str) -> String {
    let b = input.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            let rest = &b[i + 1..];
            match rest[0] {
                b'u' | b'U' => {
                    if rest.get(1) == Some(&b'{') {
                        let end = rest.iter().take(12).position(|&c| c == b'}');
                        if let Some(end) = end {
                            let v = rest[2..end].iter().try_fold(0u32, |a, &d| {
                                hex(d).map(|h| a.saturating_mul(16) | h as u32)
                            });
                            if let Some(v) = v.filter(|_| end > 2) {
                                push_char(&mut out, v);
                                i += 2 + end;
                                continue;
                            }
                        }
                    } else if rest.len() >= 5 {
                        if let Some(v) = rest[1..5]
                            .iter()
                            .try_fold(0u32, |a, &d| hex(d).map(|h| a << 4 | h as u32))
                        {
                            push_char(&mut out, v);
                            i += 6;
                            continue;
                        }
                    }
                }
                b'x' | b'X' if rest.len() >= 3 => {
                    if let (Some(h), Some(l)) = (hex(rest[1]), hex(rest[2])) {
                        push_char(&mut out, u32::from(h << 4 | l));
                        i += 4;
                        continue;
                    }
                }
                b'0'..=b'7' => {
                    let n = rest
                        .iter()
                        .take(3)
                        .take_while(|c| (b'0'..=b'7').contains(c))
                        .count();
                    let v = rest[..n]
                        .iter()
                        .fold(0u32, |a, &d| a * 8 + u32::from(d - b'0'));
                    if n >= 2 && v < 256 {
                        push_char(&mut out, v);
                        i += 1 + n;
                        continue;
                    }
                }
                _ => {}
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn b64_value(b: u8) -> Option<u8> {
    match b {
        b'A'..=b'Z' => Some(b - b'A'),
        b'a'..=b'z' => Some(b - b'a' + 26),
        b'0'..=b'9' => Some(b - b'0' + 52),
        b'+' | b'-' => Some(62),
        b'/' | b'_' => Some(63),
        _ => None,
    }
}

/// Runs of base64 text (standard or URL-safe alphabet, at least `min_len` characters,
/// mixed letters and digits or padded) in `s`, as byte ranges, at most `max_runs`.
pub fn base64_runs(s: &[u8], min_len: usize, max_runs: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() && out.len() < max_runs {
        if b64_value(s[i]).is_none() {
            i += 1;
            continue;
        }
        let start = i;
        while i < s.len() && b64_value(s[i]).is_some() {
            i += 1;
        }
        let mut end = i;
        while end < s.len() && s[end] == b'=' && end - i < 2 {
            end += 1;
        }
        let run = &s[start..i];
        let padded = end > i;
        let lower = run.iter().any(u8::is_ascii_lowercase);
        let upper = run.iter().any(u8::is_ascii_uppercase);
        let digit = run.iter().any(u8::is_ascii_digit);
        if run.len() >= min_len
            && (padded || (lower && upper && digit))
            && (run.len() + end - i) % 4 != 1
        {
            out.push((start, end));
        }
        i = end.max(i + 1);
    }
    out
}

/// Decodes base64 (either alphabet, padding optional); `None` when it is not valid or
/// does not decode to mostly printable text (so random tokens are not read as words).
pub fn base64_text(run: &[u8]) -> Option<String> {
    let mut out = Vec::with_capacity(run.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &b in run {
        if b == b'=' {
            break;
        }
        acc = acc << 6 | u32::from(b64_value(b)?);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    let printable = out
        .iter()
        .filter(|&&b| (0x20..0x7f).contains(&b) || b == b'\n' || b == b'\t')
        .count();
    (out.len() >= 6 && printable * 10 >= out.len() * 9)
        .then(|| String::from_utf8_lossy(&out).into_owned())
}

/// Decodes CSS escapes once: a backslash and one to six hex digits (and one following
/// space), or a backslash before any other character (which stands for that character).
pub fn css_decode(input: &str) -> String {
    let b = input.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            let n = b[i + 1..]
                .iter()
                .take(6)
                .take_while(|c| c.is_ascii_hexdigit())
                .count();
            if n > 0 {
                let v = b[i + 1..i + 1 + n]
                    .iter()
                    .fold(0u32, |a, &d| a << 4 | u32::from(hex(d).unwrap_or(0)));
                if v != 0 {
                    push_char(&mut out, v);
                }
                i += 1 + n;
                if b.get(i) == Some(&b' ') {
                    i += 1;
                }
                continue;
            }
            if b[i + 1] != b'\n' {
                i += 1;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_nested_layers_and_plus() {
        let mut s = String::from("' or 1=1--");
        for _ in 0..10 {
            s = s.bytes().map(|b| format!("%{b:02X}")).collect();
        }
        assert_eq!(url_decode(s.as_bytes(), false), "' or 1=1--");
        assert_eq!(url_decode(b"a+b%20c", true), "a b c");
        assert_eq!(url_decode(b"a+b", false), "a+b");
    }

    #[test]
    fn keeps_invalid_escapes_and_folds_overlong() {
        assert_eq!(url_decode(b"100%zz%4", false), "100%zz%4");
        assert_eq!(url_decode(b"%c0%ae%c0%ae%c0%af", false), "../");
        assert_eq!(url_decode(b"a%00b", false), "ab");
        assert_eq!(url_decode(b"%u003cscript", false), "<script");
        assert_eq!(url_decode(b"%ff%fe", false), "\u{fffd}\u{fffd}");
    }

    #[test]
    fn base64_runs_that_are_text() {
        let s = b"id=MSB8fCB3aG9hbWkgfHwg&x=abc";
        let runs = base64_runs(s, 12, 8);
        assert_eq!(runs, vec![(3, 23)]);
        assert_eq!(base64_text(&s[3..23]).as_deref(), Some("1 || whoami || "));
        assert_eq!(base64_text(b"2KZ8/w9fA1Q="), None);
    }

    #[test]
    fn html_and_js_references() {
        assert_eq!(
            html_decode("j&#x61vascript&colon;a&#0000108;ert&lpar;1)"),
            "javascript:alert(1)"
        );
        assert_eq!(html_decode("&LT;b&gt; &amp &unknown;"), "<b> & &unknown;");
        assert_eq!(js_decode(r"\u0061\u{006c}\x65\162t"), "alert");
        assert_eq!(js_decode(r"\q\u12"), r"\q\u12");
        assert_eq!(css_decode(r"\0075\0072\006C\0028 x\:y"), "url(x:y");
    }
}
