//! The pipeline hook: turns one request (an access-log request line, or a whole raw
//! request received through the API) into a `content_injection` event when it carries an
//! attack. The event's entity is the client (and the virtual host when known), so
//! alerting's grouping by `client` folds one attacker's requests into one incident; its
//! evidence names the kind, the rule, where in the request, the decoded fragment and the
//! request line itself. Cost: one classification; nothing is kept between calls.

use crate::{Classifier, Verdict};
use lookout_model::{Domain, Event, EventLimits, Evidence, Labels, Severity};

/// The event kind alert rules match (`[[alert.rule]] event = "content_injection"`).
pub const EVENT_KIND: &str = "content_injection";

/// What is known about the request besides its content.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestContext<'a> {
    /// When the request was made (unix ms).
    pub timestamp_ms: i64,
    /// The client's address, as logged.
    pub client: Option<&'a str>,
    /// The virtual host or server name, as logged.
    pub host: Option<&'a str>,
}

fn bounded(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut cut = max;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    s[..cut].to_owned()
}

/// The event for a classified request, when it is an attack. `example` is the request
/// line (or what stands for the request in people's eyes), kept within the event limits.
pub fn event_for_verdict(v: &Verdict, ctx: RequestContext<'_>, example: &str) -> Option<Event> {
    let f = v.finding.as_ref().filter(|_| v.attack)?;
    let limits = EventLimits::default();
    let mut entity = Labels::new();
    if let Some(c) = ctx.client {
        entity.insert(
            "client".to_owned(),
            bounded(c, limits.max_label_value_bytes),
        );
    }
    if let Some(h) = ctx.host {
        entity.insert("host".to_owned(), bounded(h, limits.max_label_value_bytes));
    }
    let mut evidence = Evidence::default();
    evidence
        .fields
        .insert("attack_kind".to_owned(), f.kind.as_str().to_owned());
    evidence.fields.insert("rule".to_owned(), f.rule.to_owned());
    evidence.fields.insert(
        "location".to_owned(),
        bounded(&f.location, limits.max_field_bytes),
    );
    evidence.fields.insert(
        "evidence".to_owned(),
        bounded(&f.evidence, limits.max_field_bytes),
    );
    evidence
        .counts
        .insert("fields_inspected".to_owned(), v.fields as u64);
    if v.truncated > 0 {
        evidence
            .counts
            .insert("fields_truncated".to_owned(), v.truncated as u64);
    }
    evidence
        .examples
        .push(bounded(example, limits.max_example_bytes));
    let summary = format!(
        "{} in {} from {}: {}",
        f.kind.as_str(),
        f.location,
        ctx.client.unwrap_or("an unknown client"),
        f.evidence
    );
    Some(Event {
        timestamp_ms: ctx.timestamp_ms,
        kind: EVENT_KIND.to_owned(),
        domain: Domain::Content,
        entity,
        severity: Severity::from_score(f.score),
        score: Some(f.score),
        summary: bounded(&summary, limits.max_summary_bytes),
        evidence,
    })
}

impl Classifier {
    /// Classifies an access-log request line (`GET /path?query HTTP/1.1`, after the log
    /// format is parsed) and returns its `content_injection` event, if any. A line that
    /// is not a request line is read as a bare URL-encoded input, never skipped.
    pub fn request_line_event(&mut self, line: &str, ctx: RequestContext<'_>) -> Option<Event> {
        let v = match self.classify_request(line.as_bytes()) {
            Ok(v) => v,
            Err(_) => self.classify_input(line.as_bytes()),
        };
        event_for_verdict(&v, ctx, line)
    }

    /// Classifies a whole raw request (headers and body too, as received through the API)
    /// and returns its event, if any; the example is its request line.
    pub fn raw_request_event(
        &mut self,
        raw: &[u8],
        ctx: RequestContext<'_>,
    ) -> Result<Option<Event>, crate::request::RequestError> {
        let v = self.classify_request(raw)?;
        let first = raw.split(|&b| b == b'\n').next().unwrap_or_default();
        let line = String::from_utf8_lossy(first);
        Ok(event_for_verdict(&v, ctx, line.trim_end()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attack_becomes_a_valid_event_about_its_client() {
        let mut c = Classifier::default();
        let ctx = RequestContext {
            timestamp_ms: 1_700_000_000_000,
            client: Some("203.0.113.9"),
            host: Some("shop"),
        };
        let e = c
            .request_line_event(
                "GET /item?id=1%27%20union%20select%20password%20from%20users-- HTTP/1.1",
                ctx,
            )
            .unwrap();
        e.validate(&EventLimits::default()).unwrap();
        assert_eq!(e.kind, EVENT_KIND);
        assert_eq!(e.domain, Domain::Content);
        assert_eq!(e.entity["client"], "203.0.113.9");
        assert_eq!(e.evidence.fields["attack_kind"], "sqli");
        assert!(e.evidence.fields["evidence"].contains("union select"));
        assert!(e.summary.starts_with("sqli in query:id from 203.0.113.9"));
        assert!(c
            .request_line_event("GET /item?id=42 HTTP/1.1", ctx)
            .is_none());
    }

    #[test]
    fn huge_requests_stay_within_the_event_limits() {
        let mut c = Classifier::default();
        let line = format!("GET /?q=%3Cscript%3E{} HTTP/1.1", "a".repeat(100_000));
        let e = c
            .request_line_event(&line, RequestContext::default())
            .unwrap();
        e.validate(&EventLimits::default()).unwrap();
        let raw = "POST /x HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{\"t\":\"{{7*7}}\"}";
        let e = c
            .raw_request_event(raw.as_bytes(), RequestContext::default())
            .unwrap()
            .unwrap();
        assert_eq!(e.evidence.fields["attack_kind"], "ssti");
        assert_eq!(e.evidence.examples, ["POST /x HTTP/1.1"]);
    }
}
