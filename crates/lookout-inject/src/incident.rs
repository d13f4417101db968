//! Per-client injection incidents: a scanner's thousands of payloads become one incident,
//! not thousands of events.
//!
//! [`Incidents`] keeps at most one open incident per client address. The first attack
//! from a client opens it and yields a `content_injection` event at once (evidence
//! `incident = "open"`: the kind, rule, location, decoded fragment and request line of
//! that first request), so alerting hears of the attacker within one poll. Later attacks
//! from the same client only add to the incident: requests per kind, the strongest
//! finding, the distinct rules, locations and hosts, a few example lines. The incident
//! closes, yielding a second event with everything aggregated (`incident = "closed"`,
//! `closed_by` saying why, counts per kind, `first_ms`/`last_ms`), when the client has
//! been quiet for [`IncidentConfig::window_ms`], when it has lasted
//! [`IncidentConfig::max_duration_ms`] (a client attacking all day gives one closed
//! incident per period, so the store hears of it), when its slot is taken for a newer
//! client (at most [`IncidentConfig::max_clients`] open at once, least recently active
//! out first) or when the reader stops ([`Incidents::finish`]).
//!
//! Both events carry the same `first_ms` (the incident's start), which with the client
//! identifies the incident: the dashboard pairs them.
//!
//! What it misses: nothing the classifier flags is dropped, but a client evicted for
//! room and seen again opens a second incident. Time is the requests' own (log time);
//! [`Incidents::flush`] with the wall clock closes quiet incidents when the log is idle.
//! Cost per attack: one bounded-map touch (a hash look-up and two ordered-index updates);
//! per clean request nothing. Memory: `max_clients` incidents of bounded size (at most
//! [`MAX_LISTED`] rules, locations and hosts, [`MAX_EXAMPLES`] examples each).

use lookout_model::{Domain, Event, EventLimits, Evidence, Labels, Severity};
use lookout_sketch::BoundedMap;

use crate::event::{RequestContext, EVENT_KIND};
use crate::{Finding, Kind, Verdict};

/// Distinct rules, locations and hosts listed per incident.
pub const MAX_LISTED: usize = 8;
/// Example request lines kept per incident.
pub const MAX_EXAMPLES: usize = 5;

/// How incidents are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IncidentConfig {
    /// A client quiet this long (ms) has its incident closed.
    pub window_ms: i64,
    /// An incident this old (ms) is closed, and the client's next attack opens another.
    pub max_duration_ms: i64,
    /// Incidents open at once; the least recently active one is closed for room.
    pub max_clients: usize,
}

impl Default for IncidentConfig {
    fn default() -> Self {
        IncidentConfig {
            window_ms: 10 * 60 * 1000,
            max_duration_ms: 60 * 60 * 1000,
            max_clients: 10_000,
        }
    }
}

/// Why an incident closed (`closed_by` in its evidence).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// The client was quiet for the window.
    Idle,
    /// The incident lasted the maximum duration.
    MaxDuration,
    /// Its slot was taken for a newer client.
    Evicted,
    /// The reader stopped.
    Finish,
}

impl Closed {
    pub fn as_str(self) -> &'static str {
        match self {
            Closed::Idle => "idle",
            Closed::MaxDuration => "max_duration",
            Closed::Evicted => "evicted",
            Closed::Finish => "finish",
        }
    }
}

/// Counters since the start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IncidentStats {
    pub opened: u64,
    pub closed: u64,
    /// Closed for room (also counted in `closed`).
    pub evicted: u64,
}

#[derive(Debug, Clone)]
struct Incident {
    first_ms: i64,
    last_ms: i64,
    requests: u64,
    by_kind: [u64; Kind::ALL.len()],
    strongest: Finding,
    rules: Vec<&'static str>,
    locations: Vec<String>,
    hosts: Vec<String>,
    examples: Vec<String>,
}

fn push_distinct<T: PartialEq>(list: &mut Vec<T>, value: T) {
    if list.len() < MAX_LISTED && !list.contains(&value) {
        list.push(value);
    }
}

fn bounded(s: &str, max: usize) -> String {
    let mut cut = s.len().min(max);
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    s[..cut].to_owned()
}

impl Incident {
    fn new(first: &Finding, t: i64) -> Incident {
        Incident {
            first_ms: t,
            last_ms: t,
            requests: 0,
            by_kind: [0; Kind::ALL.len()],
            strongest: first.clone(),
            rules: Vec::new(),
            locations: Vec::new(),
            hosts: Vec::new(),
            examples: Vec::new(),
        }
    }

    fn add(&mut self, f: &Finding, ctx: RequestContext<'_>, line: &str) {
        let limits = EventLimits::default();
        self.requests += 1;
        self.first_ms = self.first_ms.min(ctx.timestamp_ms);
        self.last_ms = self.last_ms.max(ctx.timestamp_ms);
        let kind = f.kind as usize;
        // The first example of each kind is kept, then any until the list is full.
        if self.examples.len() < MAX_EXAMPLES
            && (self.by_kind[kind] == 0 || self.examples.len() + 2 < MAX_EXAMPLES)
        {
            self.examples.push(bounded(line, limits.max_example_bytes));
        }
        self.by_kind[kind] += 1;
        if f.score > self.strongest.score {
            self.strongest = f.clone();
        }
        push_distinct(&mut self.rules, f.rule);
        push_distinct(&mut self.locations, bounded(&f.location, 256));
        if let Some(host) = ctx.host {
            push_distinct(&mut self.hosts, bounded(host, 256));
        }
    }

    /// The kinds seen, most requests first.
    fn kinds(&self) -> Vec<(Kind, u64)> {
        let mut kinds: Vec<(Kind, u64)> = Kind::ALL
            .iter()
            .map(|k| (*k, self.by_kind[*k as usize]))
            .filter(|(_, n)| *n > 0)
            .collect();
        kinds.sort_by_key(|k| std::cmp::Reverse(k.1));
        kinds
    }
}

/// The open incidents of one log; see the module documentation.
#[derive(Debug, Clone)]
pub struct Incidents {
    open: BoundedMap<String, Incident>,
    config: IncidentConfig,
    labels: Labels,
    stats: IncidentStats,
}

impl Incidents {
    /// Incidents whose events carry `labels` in their entity besides `client`.
    pub fn new(config: IncidentConfig, labels: Labels) -> Incidents {
        Incidents {
            open: BoundedMap::new(config.max_clients, config.window_ms),
            config,
            labels,
            stats: IncidentStats::default(),
        }
    }

    pub fn stats(&self) -> IncidentStats {
        self.stats
    }

    /// Incidents open now.
    pub fn open(&self) -> usize {
        self.open.len()
    }

    /// Adds one classified request: an attack opens its client's incident (its event
    /// goes to `out`) or joins it; anything else is ignored. Incidents that this
    /// request's time closes go to `out` too.
    pub fn observe(
        &mut self,
        v: &Verdict,
        ctx: RequestContext<'_>,
        line: &str,
        out: &mut Vec<Event>,
    ) {
        let Some(f) = v.finding.as_ref().filter(|_| v.attack) else {
            return;
        };
        let t = ctx.timestamp_ms;
        self.flush(t, out);
        let client = ctx.client.unwrap_or("-");
        let key = client.to_owned();
        let too_old = self
            .open
            .peek(&key)
            .is_some_and(|i| t.saturating_sub(i.first_ms) >= self.config.max_duration_ms);
        if too_old {
            if let Some(incident) = self.open.remove(&key) {
                self.close(&key, incident, Closed::MaxDuration, out);
            }
        }
        let mut opened = false;
        let mut evicted = Vec::new();
        let incident = self.open.touch_evicting(
            &key,
            t,
            || {
                opened = true;
                Incident::new(f, t)
            },
            |k, i| evicted.push((k, i)),
        );
        incident.add(f, ctx, line);
        if opened {
            self.stats.opened += 1;
            let event = self.open_event(f, ctx, line);
            out.push(event);
        }
        for (k, incident) in evicted {
            // A stale entry of this client comes back through here too: it went quiet.
            let why = if k == key {
                Closed::Idle
            } else {
                Closed::Evicted
            };
            self.close(&k, incident, why, out);
        }
    }

    /// Closes the incidents quiet for the window at `now_ms`.
    pub fn flush(&mut self, now_ms: i64, out: &mut Vec<Event>) {
        let mut quiet = Vec::new();
        self.open.drain_expired(now_ms, |k, i| quiet.push((k, i)));
        for (k, incident) in quiet {
            self.close(&k, incident, Closed::Idle, out);
        }
    }

    /// Closes every open incident.
    pub fn finish(&mut self, out: &mut Vec<Event>) {
        let mut all = Vec::new();
        self.open.drain(|k, i| all.push((k, i)));
        for (k, incident) in all {
            self.close(&k, incident, Closed::Finish, out);
        }
    }

    fn entity(&self, client: &str) -> Labels {
        let limits = EventLimits::default();
        let mut entity = self.labels.clone();
        entity.insert(
            "client".to_owned(),
            bounded(client, limits.max_label_value_bytes),
        );
        entity
    }

    fn open_event(&self, f: &Finding, ctx: RequestContext<'_>, line: &str) -> Event {
        let limits = EventLimits::default();
        let client = ctx.client.unwrap_or("-");
        let mut evidence = finding_evidence(f);
        evidence
            .fields
            .insert("incident".to_owned(), "open".to_owned());
        if let Some(host) = ctx.host {
            evidence
                .fields
                .insert("hosts".to_owned(), bounded(host, limits.max_field_bytes));
        }
        evidence.counts.insert("requests".to_owned(), 1);
        evidence.counts.insert(f.kind.as_str().to_owned(), 1);
        evidence
            .examples
            .push(bounded(line, limits.max_example_bytes));
        evidence.first_ms = Some(ctx.timestamp_ms);
        evidence.last_ms = Some(ctx.timestamp_ms);
        let summary = format!(
            "{} from {client} in {}: {}",
            f.kind.as_str(),
            f.location,
            f.evidence
        );
        Event {
            timestamp_ms: ctx.timestamp_ms,
            kind: EVENT_KIND.to_owned(),
            domain: Domain::Content,
            entity: self.entity(client),
            severity: Severity::from_score(f.score),
            score: Some(f.score),
            summary: bounded(&summary, limits.max_summary_bytes),
            evidence,
        }
    }

    fn close(&mut self, client: &str, i: Incident, why: Closed, out: &mut Vec<Event>) {
        let limits = EventLimits::default();
        self.stats.closed += 1;
        if why == Closed::Evicted {
            self.stats.evicted += 1;
        }
        let f = &i.strongest;
        let mut evidence = finding_evidence(f);
        let kinds = i.kinds();
        let names: Vec<&str> = kinds.iter().map(|(k, _)| k.as_str()).collect();
        let fields = &mut evidence.fields;
        fields.insert("incident".to_owned(), "closed".to_owned());
        fields.insert("closed_by".to_owned(), why.as_str().to_owned());
        // The kind the incident is about: the one with the most requests.
        fields.insert("attack_kind".to_owned(), names[0].to_owned());
        fields.insert("kinds".to_owned(), names.join(","));
        fields.insert(
            "rules".to_owned(),
            bounded(&i.rules.join(","), limits.max_field_bytes),
        );
        fields.insert(
            "locations".to_owned(),
            bounded(&i.locations.join(","), limits.max_field_bytes),
        );
        if !i.hosts.is_empty() {
            fields.insert(
                "hosts".to_owned(),
                bounded(&i.hosts.join(","), limits.max_field_bytes),
            );
        }
        evidence.counts.insert("requests".to_owned(), i.requests);
        for (k, n) in &kinds {
            evidence.counts.insert(k.as_str().to_owned(), *n);
        }
        evidence.examples = i.examples.clone();
        evidence.first_ms = Some(i.first_ms);
        evidence.last_ms = Some(i.last_ms);
        let breakdown: Vec<String> = kinds
            .iter()
            .map(|(k, n)| format!("{} {n}", k.as_str()))
            .collect();
        let seconds = (i.last_ms - i.first_ms).max(0) / 1000;
        let summary = format!(
            "{} injection attempts from {client} over {seconds}s ({}), closed ({})",
            i.requests,
            breakdown.join(", "),
            why.as_str()
        );
        out.push(Event {
            timestamp_ms: i.last_ms,
            kind: EVENT_KIND.to_owned(),
            domain: Domain::Content,
            entity: self.entity(client),
            severity: Severity::from_score(f.score),
            score: Some(f.score),
            summary: bounded(&summary, limits.max_summary_bytes),
            evidence,
        });
    }
}

/// The strongest finding's part of the evidence.
fn finding_evidence(f: &Finding) -> Evidence {
    let limits = EventLimits::default();
    let mut evidence = Evidence::default();
    let fields = &mut evidence.fields;
    fields.insert("attack_kind".to_owned(), f.kind.as_str().to_owned());
    fields.insert("rule".to_owned(), f.rule.to_owned());
    fields.insert(
        "location".to_owned(),
        bounded(&f.location, limits.max_field_bytes),
    );
    fields.insert(
        "evidence".to_owned(),
        bounded(&f.evidence, limits.max_field_bytes),
    );
    evidence
}

#[cfg(test)]
mod tests;
