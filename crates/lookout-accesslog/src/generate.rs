//! Synthetic access-log traffic, deterministic from a seed, for tests and benchmarks.
//!
//! Lines are in the `combined` format, optionally followed by ` $request_time`
//! ([`COMBINED_TIMED`]). Requests per second follow a daily pattern (a sine over the
//! day, ±`daily_amplitude`) with Poisson noise; clients are drawn from a skewed pool of
//! 2,000 addresses, routes from a small site (ids, UUIDs and hashes in their paths),
//! statuses mostly 2xx with a steady trickle of 3xx, 4xx and 5xx, durations
//! log-normal around 40 ms. [`Incident`]s change one aspect for a time window.
//!
//! Cost: a few random draws and one formatted line per request.

use std::f64::consts::PI;

use crate::format::COMBINED;

/// `combined` followed by ` $request_time`.
pub const COMBINED_TIMED: &str = "$remote_addr $remote_ident $remote_user [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\" $request_time";

/// What an incident changes while it lasts.
#[derive(Debug, Clone, PartialEq)]
pub enum IncidentKind {
    /// Every route answers 5xx with this probability.
    Errors { share: f64 },
    /// One route (its template, e.g. `/api/orders/:id`) answers 500 always.
    RouteFailing { route: &'static str },
    /// Request rate multiplied.
    Traffic { factor: f64 },
    /// One extra client sending this many requests per second.
    Flood {
        client: &'static str,
        per_second: f64,
    },
    /// Durations multiplied.
    Slow { factor: f64 },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    pub start_ms: i64,
    pub end_ms: i64,
    pub kind: IncidentKind,
}

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct TrafficSpec {
    pub start_ms: i64,
    pub duration_ms: i64,
    /// Mean requests per second over the day.
    pub rate: f64,
    /// Relative amplitude of the daily sine, in [0, 1).
    pub daily_amplitude: f64,
    pub seed: u64,
    /// Append ` $request_time` to each line ([`COMBINED_TIMED`]) instead of plain
    /// [`COMBINED`].
    pub timed: bool,
    pub incidents: Vec<Incident>,
}

/// The format the spec's lines are in.
pub fn format_of(spec: &TrafficSpec) -> &'static str {
    if spec.timed {
        COMBINED_TIMED
    } else {
        COMBINED
    }
}

/// SplitMix64: small, fast and good enough for synthetic traffic.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn poisson(&mut self, mean: f64) -> u64 {
        if mean > 30.0 {
            // Normal approximation.
            let normal =
                (-2.0 * self.unit().max(1e-300).ln()).sqrt() * (2.0 * PI * self.unit()).cos();
            return (mean + normal * mean.sqrt()).round().max(0.0) as u64;
        }
        let limit = (-mean).exp();
        let mut product = self.unit();
        let mut count = 0;
        while product > limit {
            count += 1;
            product *= self.unit();
        }
        count
    }

    fn normal(&mut self) -> f64 {
        (-2.0 * self.unit().max(1e-300).ln()).sqrt() * (2.0 * PI * self.unit()).cos()
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `$time_local` of a unix time, in UTC.
pub fn time_local(timestamp_ms: i64) -> String {
    let seconds = timestamp_ms.div_euclid(1000);
    let days = seconds.div_euclid(86_400);
    let rest = seconds.rem_euclid(86_400);
    let (year, month, day) = lookout_model::calendar::civil_from_days(days);
    format!(
        "{day:02}/{}/{year}:{:02}:{:02}:{:02} +0000",
        MONTHS[(month - 1) as usize],
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// The routes of the synthetic site: a template and how to fill it.
const ROUTES: [(&str, u64); 8] = [
    ("/", 20),
    ("/api/users/:id", 20),
    ("/api/orders/:id", 15),
    ("/api/orders/:id/items", 10),
    ("/static/app.:hash.js", 15),
    ("/items/:uuid", 10),
    ("/login", 5),
    ("/search", 5),
];

fn path_of(template: &str, rng: &mut Rng) -> String {
    match template {
        "/api/users/:id" => format!("/api/users/{}", rng.below(100_000)),
        "/api/orders/:id" => format!("/api/orders/{}", rng.below(1_000_000)),
        "/api/orders/:id/items" => format!(
            "/api/orders/{}/items?page={}",
            rng.below(1_000_000),
            rng.below(5)
        ),
        "/static/app.:hash.js" => format!("/static/app.{:016x}.js", rng.next()),
        "/items/:uuid" => {
            let a = rng.next();
            let b = rng.next();
            format!(
                "/items/{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
                a >> 32,
                (a >> 16) & 0xffff,
                a & 0xffff,
                b >> 48,
                b & 0xffff_ffff_ffff
            )
        }
        "/search" => format!("/search?q=term{}", rng.below(1000)),
        other => other.to_string(),
    }
}

/// Generates the spec's lines in time order, one per request, each handed to `line`.
pub fn generate(spec: &TrafficSpec, mut line: impl FnMut(i64, &str)) {
    let mut rng = Rng(spec.seed);
    let weights: u64 = ROUTES.iter().map(|(_, weight)| weight).sum();
    let mut text = String::new();
    let mut second = spec.start_ms - spec.start_ms.rem_euclid(1000);
    while second < spec.start_ms + spec.duration_ms {
        let active: Vec<&IncidentKind> = spec
            .incidents
            .iter()
            .filter(|incident| (incident.start_ms..incident.end_ms).contains(&second))
            .map(|incident| &incident.kind)
            .collect();
        let phase = 2.0 * PI * (second.rem_euclid(86_400_000) as f64 / 86_400_000.0);
        let mut rate = spec.rate * (1.0 + spec.daily_amplitude * phase.sin());
        let mut flood = None;
        let mut errors = 0.002;
        let mut failing = None;
        let mut slow = 1.0;
        for kind in &active {
            match kind {
                IncidentKind::Traffic { factor } => rate *= factor,
                IncidentKind::Errors { share } => errors = *share,
                IncidentKind::RouteFailing { route } => failing = Some(*route),
                IncidentKind::Flood { client, per_second } => flood = Some((*client, *per_second)),
                IncidentKind::Slow { factor } => slow = *factor,
            }
        }
        let mut requests = rng.poisson(rate);
        let flood_requests = flood.map_or(0, |(_, per_second)| rng.poisson(per_second));
        requests += flood_requests;
        for index in 0..requests {
            let timestamp_ms = second + (index * 1000 / requests.max(1)) as i64;
            let client = match flood {
                Some((client, _)) if rng.below(requests) < flood_requests => client.to_string(),
                _ => {
                    // Skewed: low addresses are far more frequent.
                    let pick = (rng.unit().powi(3) * 2000.0) as u64;
                    format!("10.{}.{}.{}", pick / 65_536, pick / 256 % 256, pick % 256)
                }
            };
            let mut pick = rng.below(weights);
            let template = ROUTES
                .iter()
                .find(|(_, weight)| {
                    let found = pick < *weight;
                    pick = pick.saturating_sub(*weight);
                    found
                })
                .map_or("/", |(template, _)| template);
            let path = path_of(template, &mut rng);
            let draw = rng.unit();
            let status = if failing == Some(template) || draw < errors {
                500 + (rng.below(4) as u16 % 3) * 2
            } else if draw < errors + 0.03 {
                [400, 401, 403, 404][rng.below(4) as usize]
            } else if draw < errors + 0.08 {
                [301, 302, 304][rng.below(3) as usize]
            } else {
                [200, 200, 200, 201, 204][rng.below(5) as usize]
            };
            let method = match rng.below(20) {
                0..=13 => "GET",
                14..=16 => "POST",
                17 => "PUT",
                18 => "DELETE",
                _ => "HEAD",
            };
            let seconds = (0.04 * (0.5 * rng.normal()).exp() * slow).min(600.0);
            text.clear();
            use std::fmt::Write;
            let _ = write!(
                text,
                "{client} - - [{}] \"{method} {path} HTTP/1.1\" {status} {} \"-\" \"Mozilla/5.0 (X11; Linux x86_64) lookout-generate\"",
                time_local(timestamp_ms),
                200 + rng.below(20_000),
            );
            if spec.timed {
                let _ = write!(text, " {seconds:.3}");
            }
            line(timestamp_ms, &text);
        }
        second += 1000;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_local;

    #[test]
    fn time_local_round_trips() {
        for ms in [0, 971_211_336_000, 1_709_164_800_000, 4_102_444_799_000] {
            assert_eq!(parse_local(&time_local(ms)), Ok(ms));
        }
    }

    #[test]
    fn generation_is_deterministic_and_near_the_rate() {
        let spec = TrafficSpec {
            start_ms: 1_796_220_000_000,
            duration_ms: 60_000,
            rate: 50.0,
            daily_amplitude: 0.0,
            seed: 7,
            timed: true,
            incidents: Vec::new(),
        };
        let mut first = Vec::new();
        generate(&spec, |_, line| first.push(line.to_string()));
        let mut second = Vec::new();
        generate(&spec, |_, line| second.push(line.to_string()));
        assert_eq!(first, second);
        assert!((2_700..3_300).contains(&first.len()), "{}", first.len());
    }
}
