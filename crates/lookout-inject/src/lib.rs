//! Content-injection classifier: decides whether request content carries SQL injection,
//! cross-site scripting, path traversal (and file or resource inclusion), command
//! injection or server-side template/expression injection, names the kind, the decoded
//! fragment that triggered it and a score in [0, 1].
//!
//! A field (one query value, one header, one cookie, one body part) is decoded
//! ([`decode`]: repeated percent-decoding, `+`, overlong UTF-8, NUL bytes; HTML
//! references and JS escapes for the markup rules), then read by a SQL tokenizer with
//! structural rules ([`sql`]) and by pattern rules ([`rules`]). A request
//! ([`Classifier::classify_request`]) is split into its fields by [`request`].
//!
//! Catches: the attack forms listed in [`sql`] and [`rules`], through nested encodings.
//! Misses: payloads beyond [`Limits::max_field_bytes`] of a field or beyond
//! [`Limits::max_fields`] fields (counted in [`Verdict::truncated`]), attacks in
//! encodings it does not decode (base64 bodies, compressed bodies), attack kinds it does
//! not model (CSRF, request smuggling, business logic). Cost: linear in the inspected
//! bytes: a few decoding passes, one tokenizer pass per SQL context and one automaton
//! pass per rule view; no state between requests, so it runs on any number of threads.

pub mod corpus;
pub mod decode;
pub mod event;
pub mod incident;
pub mod request;
pub mod rules;
pub mod sql;

use serde::Serialize;

/// The attack kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Sqli,
    Xss,
    Traversal,
    Cmdi,
    Ssti,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Sqli,
        Kind::Xss,
        Kind::Traversal,
        Kind::Cmdi,
        Kind::Ssti,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Sqli => "sqli",
            Kind::Xss => "xss",
            Kind::Traversal => "traversal",
            Kind::Cmdi => "cmdi",
            Kind::Ssti => "ssti",
        }
    }
}

/// Scores at or above this are attacks.
pub const ATTACK_THRESHOLD: f64 = 0.6;

/// Where in a request a field was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Path,
    Query,
    Header,
    Cookie,
    Body,
    /// A bare input (`lookout scan requests --lines`).
    Input,
}

impl Origin {
    /// Whether the application reads this field as a parameter value.
    pub fn is_parameter(self) -> bool {
        matches!(
            self,
            Origin::Query | Origin::Body | Origin::Cookie | Origin::Input
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Path => "path",
            Origin::Query => "query",
            Origin::Header => "header",
            Origin::Cookie => "cookie",
            Origin::Body => "body",
            Origin::Input => "input",
        }
    }
}

/// Bounds on the work done per request: a deterministic bound on time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of one field inspected after decoding; the rest is not read.
    pub max_field_bytes: usize,
    /// Bytes of one field decoded (nested encodings grow threefold per level, so this is
    /// larger than `max_field_bytes`); the rest is not read.
    pub max_raw_field_bytes: usize,
    /// Fields of one request inspected.
    pub max_fields: usize,
    /// Characters of evidence kept.
    pub max_evidence_chars: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_field_bytes: 16 * 1024,
            max_raw_field_bytes: 4 << 20,
            max_fields: 256,
            max_evidence_chars: 160,
        }
    }
}

/// The strongest finding of a field or request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub kind: Kind,
    pub score: f64,
    /// The rule that fired.
    pub rule: &'static str,
    /// The decoded fragment that triggered it.
    pub evidence: String,
    /// Where: `query:id`, `header:user-agent`, `path`, …
    pub location: String,
}

/// The answer for one input or request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Verdict {
    pub attack: bool,
    /// The strongest score seen, also when below the threshold.
    pub score: f64,
    /// The strongest finding, when there is one.
    pub finding: Option<Finding>,
    /// Fields inspected.
    pub fields: usize,
    /// Fields cut at [`Limits::max_field_bytes`] or skipped past [`Limits::max_fields`].
    pub truncated: usize,
}

impl Verdict {
    pub fn kind(&self) -> Option<Kind> {
        self.finding
            .as_ref()
            .filter(|_| self.attack)
            .map(|f| f.kind)
    }
}

/// The classifier: limits and reusable scratch space. Cheap to create; one per thread.
#[derive(Debug, Default)]
pub struct Classifier {
    limits: Limits,
    sql_buf: Vec<sql::lexer::Token>,
    in_base64: bool,
}

fn evidence(text: &[u8], start: usize, end: usize, max: usize) -> String {
    let end = end.min(text.len());
    let start = start.min(end);
    let s = String::from_utf8_lossy(&text[start..end]);
    let s = s.trim();
    if s.chars().count() > max {
        s.chars().take(max).collect()
    } else {
        s.to_owned()
    }
}

/// Whether SQL rules cannot fire: only letters, digits and `._:/-` (no spaces, quotes,
/// operators, parentheses or comments).
fn sql_inert(lower: &[u8]) -> bool {
    lower
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'/' | b'-'))
}

/// A scanner's syntax-breaking probe (sqlmap's heuristic check sends a value followed by
/// ten random characters of `()'".,`, to provoke a database error): an optional word,
/// then 6 to 24 of those characters only, with a quote and a parenthesis among them.
fn sql_syntax_probe(lower: &[u8]) -> Option<usize> {
    let start = lower
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-')))?;
    let rest = &lower[start..];
    let probe = (6..=24).contains(&rest.len())
        && rest
            .iter()
            .all(|b| matches!(b, b'(' | b')' | b'\'' | b'"' | b'.' | b','))
        && rest.iter().any(|b| matches!(b, b'\'' | b'"'))
        && rest.iter().any(|b| matches!(b, b'(' | b')'));
    probe.then_some(start)
}

fn needs_markup_view(lower: &[u8]) -> bool {
    lower
        .iter()
        .any(|&b| matches!(b, b'&' | b'\\' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c))
}

fn markup_view(lower: &str) -> String {
    let mut s = decode::js_decode(lower);
    for _ in 0..3 {
        if !s.contains('&') {
            break;
        }
        let next = decode::html_decode(&s);
        if next == s {
            break;
        }
        s = decode::js_decode(&next);
    }
    s.retain(|c| !matches!(c, '\t' | '\n' | '\r' | '\u{b}' | '\u{c}' | '\0'));
    s.make_ascii_lowercase();
    s
}

impl Classifier {
    pub fn new(limits: Limits) -> Self {
        Classifier {
            limits,
            sql_buf: Vec::with_capacity(sql::MAX_TOKENS),
            in_base64: false,
        }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Classifies one URL-encoded user input (a query value, a form field).
    pub fn classify_input(&mut self, encoded: &[u8]) -> Verdict {
        let mut v = Verdict::default();
        self.field(encoded, true, Origin::Input, "", &mut v);
        v
    }

    /// Classifies one raw HTTP request: request line, headers, blank line, body.
    pub fn classify_request(&mut self, raw: &[u8]) -> Result<Verdict, request::RequestError> {
        let mut v = Verdict::default();
        let max_fields = self.limits.max_fields;
        let mut fields = Vec::new();
        request::fields(raw, |f| fields.push(f))?;
        for f in fields.iter() {
            if v.fields >= max_fields {
                v.truncated += 1;
                continue;
            }
            self.field(&f.value, f.plus, f.origin, &f.name, &mut v);
        }
        Ok(v)
    }

    /// Classifies a request target as an access log writes it (`/path?query`): the path
    /// and each query parameter, as [`Classifier::classify_request`] reads a request
    /// line, without building a request. Never fails: any bytes are a target.
    pub fn classify_target(&mut self, target: &[u8]) -> Verdict {
        let mut v = Verdict::default();
        let max_fields = self.limits.max_fields;
        request::target_fields(target, |f| {
            if v.fields >= max_fields {
                v.truncated += 1;
            } else {
                self.field(&f.value, f.plus, f.origin, &f.name, &mut v);
            }
        });
        v
    }

    /// Attacks hidden in base64 inside a field (`{"id":"MSB8fCB3aG9hbWk="}`): each run that
    /// decodes to text is classified as a field of its own, one level deep.
    fn base64_inside(
        &mut self,
        plain: &str,
        origin: Origin,
    ) -> Option<(f64, Kind, &'static str, String)> {
        if self.in_base64 {
            return None;
        }
        let mut best: Option<(f64, Kind, &'static str, String)> = None;
        for (a, b) in decode::base64_runs(plain.as_bytes(), 12, 8) {
            let Some(text) = decode::base64_text(&plain.as_bytes()[a..b]) else {
                continue;
            };
            self.in_base64 = true;
            let mut v = Verdict::default();
            self.field(text.as_bytes(), false, origin, "", &mut v);
            self.in_base64 = false;
            if let Some(f) = v
                .finding
                .filter(|f| best.as_ref().is_none_or(|b| f.score > b.0))
            {
                best = Some((f.score, f.kind, f.rule, format!("base64 {}", f.evidence)));
            }
        }
        best
    }

    /// Classifies one field into `acc`, keeping the strongest finding.
    pub fn field(&mut self, raw: &[u8], plus: bool, origin: Origin, name: &str, acc: &mut Verdict) {
        acc.fields += 1;
        let raw = if raw.len() > self.limits.max_raw_field_bytes {
            acc.truncated += 1;
            &raw[..self.limits.max_raw_field_bytes]
        } else {
            raw
        };
        if raw.is_empty() {
            return;
        }
        let mut plain = decode::url_decode(raw, plus);
        if plain.len() > self.limits.max_field_bytes {
            if raw.len() <= self.limits.max_raw_field_bytes {
                acc.truncated += 1;
            }
            let mut cut = self.limits.max_field_bytes;
            while !plain.is_char_boundary(cut) {
                cut -= 1;
            }
            plain.truncate(cut);
        }
        let lower = plain.to_ascii_lowercase();
        let max_ev = self.limits.max_evidence_chars;
        let mut best: Option<(f64, Kind, &'static str, String)> = None;
        let mut rules_fired = 0usize;
        let mut consider = |score: f64, kind: Kind, rule: &'static str, ev: &dyn Fn() -> String| {
            if score >= ATTACK_THRESHOLD {
                rules_fired += 1;
            }
            if best.as_ref().is_none_or(|b| score > b.0) {
                best = Some((score, kind, rule, ev()));
            }
        };
        if !sql_inert(lower.as_bytes()) {
            if let Some(h) = sql::detect(&lower, &mut self.sql_buf) {
                consider(h.score, Kind::Sqli, h.rule, &|| {
                    evidence(plain.as_bytes(), h.start, h.end, max_ev)
                });
            }
        }
        let parameter = origin.is_parameter();
        if parameter {
            if let Some(start) = sql_syntax_probe(lower.as_bytes()) {
                consider(0.7, Kind::Sqli, "sql_syntax_probe", &|| {
                    evidence(plain.as_bytes(), start, plain.len(), max_ev)
                });
            }
        }
        rules::scan(rules::View::Plain, lower.as_bytes(), parameter, |h| {
            let r = &rules::RULES[h.rule];
            consider(r.score, r.kind, r.name, &|| {
                evidence(plain.as_bytes(), h.start, h.end, max_ev)
            });
        });
        let markup;
        let markup_text: &str = if needs_markup_view(lower.as_bytes()) {
            markup = markup_view(&lower);
            &markup
        } else {
            &lower
        };
        rules::scan(
            rules::View::Markup,
            markup_text.as_bytes(),
            parameter,
            |h| {
                let r = &rules::RULES[h.rule];
                consider(r.score, r.kind, r.name, &|| {
                    evidence(markup_text.as_bytes(), h.start, h.end, max_ev)
                });
            },
        );
        if markup_text.contains('\\') {
            let css = decode::css_decode(markup_text).to_ascii_lowercase();
            rules::scan(rules::View::Markup, css.as_bytes(), parameter, |h| {
                let r = &rules::RULES[h.rule];
                consider(r.score, r.kind, r.name, &|| {
                    evidence(css.as_bytes(), h.start, h.end, max_ev)
                });
            });
        }
        if markup_text != lower {
            if let Some(h) = sql::detect(markup_text, &mut self.sql_buf) {
                consider(h.score, Kind::Sqli, h.rule, &|| {
                    evidence(markup_text.as_bytes(), h.start, h.end, max_ev)
                });
            }
        }
        let found = best.take();
        let found = match found {
            Some(f) if f.0 >= ATTACK_THRESHOLD => Some(f),
            weak => self.base64_inside(&plain, origin).or(weak),
        };
        let Some((mut score, kind, rule, ev)) = found else {
            return;
        };
        // Several independent rules on one field corroborate each other.
        if rules_fired > 1 {
            score = (score + 0.05 * (rules_fired - 1) as f64).min(0.99);
        }
        if score > acc.score {
            acc.score = score;
            acc.attack = score >= ATTACK_THRESHOLD;
            let location = if name.is_empty() {
                origin.as_str().to_owned()
            } else {
                format!("{}:{}", origin.as_str(), name)
            };
            acc.finding = Some(Finding {
                kind,
                score,
                rule,
                evidence: ev,
                location,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(s: &str) -> Option<Kind> {
        Classifier::default().classify_input(s.as_bytes()).kind()
    }

    #[test]
    fn names_each_kind() {
        assert_eq!(kind("1%27%20or%20%271%27%3D%271"), Some(Kind::Sqli));
        assert_eq!(kind("%3Cscript%3Ealert(1)%3C/script%3E"), Some(Kind::Xss));
        assert_eq!(kind("..%2f..%2f..%2fetc%2fpasswd"), Some(Kind::Traversal));
        assert_eq!(kind("127.0.0.1%3Bwhoami"), Some(Kind::Cmdi));
        assert_eq!(kind("%7B%7B7*7%7D%7D"), Some(Kind::Ssti));
        assert_eq!(kind("%24%7Bjndi%3Aldap%3A%2F%2Fx%7D"), Some(Kind::Ssti));
        assert_eq!(kind("hello+world"), None);
        assert_eq!(kind("1%29%29%29%22.%29%29%28%28%27"), Some(Kind::Sqli));
        assert_eq!(kind("1'\".(,)"), Some(Kind::Sqli));
        assert_eq!(kind("(a,b)"), None);
        assert_eq!(kind("...."), None);
    }

    #[test]
    fn a_target_reads_like_its_request_line() {
        let mut c = Classifier::default();
        for target in [
            "/item?id=1%27%20union%20select%20password%20from%20users--",
            "/search?q=%3Csvg%2Fonload%3Dalert(1)%3E",
            "/static/..%252f..%252f..%252fetc%252fpasswd",
            "/shop/items/42?sort=price&page=2",
        ] {
            let line = format!("GET {target} HTTP/1.1");
            let whole = c.classify_request(line.as_bytes()).unwrap();
            assert_eq!(c.classify_target(target.as_bytes()), whole, "{target}");
        }
    }

    #[test]
    fn evidence_is_the_decoded_fragment() {
        let v = Classifier::default()
            .classify_input(b"id=%2527%2520UNION%2520SELECT%2520password%2520FROM%2520users");
        let f = v.finding.unwrap();
        assert_eq!(f.kind, Kind::Sqli);
        assert!(f.evidence.contains("UNION SELECT"), "{}", f.evidence);
    }
}
