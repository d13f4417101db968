//! `GET /api/v1/overview`: the fleet at a glance, for the dashboard's first page.
//!
//! Series are grouped by machine: the `host` label, else `instance`, else `instance_id`;
//! series with none of them form the group `null` ("not tied to a machine"). Per machine:
//! how many series, when the newest scored sample arrived (since this server started),
//! the highest latest score, open anomalies and anomalies that started in the last 24 h,
//! and the same per domain group: `cpu`, `memory_storage`, `network` (network and
//! traffic), `logins`, `content`, `other`. A group with no series has `series: 0` — the
//! page shows it empty rather than inventing a state.
//!
//! Status: `anomalous` (an anomaly is open), `no_data` (nothing scored in the last
//! [`STALE_MS`]), else `normal`. Usage states (idle, underused) come from the machines
//! API; the page merges them when the server has it.
//!
//! Cost: one pass over the series index and one read of the last 24 h of anomalies.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use lookout_model::clock::now_ms;
use lookout_model::{Domain, Labels, MachineIdentity};
use lookout_store::domain_of;
use serde::Serialize;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::state::AppState;

/// A machine with no scored sample for this long shows `no_data`.
pub const STALE_MS: i64 = 5 * 60_000;
const DAY_MS: i64 = 86_400_000;
/// Most anomalies of the last 24 h read for the counts.
const MAX_ANOMALIES: usize = 100_000;

/// The domain groups the overview shows, in order.
pub const DOMAIN_GROUPS: [&str; 6] = [
    "cpu",
    "memory_storage",
    "network",
    "logins",
    "content",
    "other",
];

/// The overview's group of a domain.
pub fn domain_group(domain: Domain) -> &'static str {
    match domain {
        Domain::Cpu => "cpu",
        Domain::Memory | Domain::Storage => "memory_storage",
        Domain::Network | Domain::Traffic => "network",
        Domain::Login => "logins",
        Domain::Content => "content",
        Domain::Log | Domain::Other => "other",
    }
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Counts {
    pub series: usize,
    pub open_anomalies: usize,
    pub anomalies_24h: usize,
    /// Highest latest score among the series.
    pub max_score: Option<f64>,
}

impl Counts {
    fn add_score(&mut self, score: Option<f64>) {
        if let Some(score) = score {
            self.max_score = Some(self.max_score.map_or(score, |max| max.max(score)));
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MachineSummary {
    pub machine: Option<String>,
    pub status: &'static str,
    pub last_seen_ms: Option<i64>,
    #[serde(flatten)]
    pub counts: Counts,
    pub domains: BTreeMap<&'static str, Counts>,
}

impl MachineSummary {
    fn new(machine: Option<String>) -> Self {
        MachineSummary {
            machine,
            status: "no_data",
            last_seen_ms: None,
            counts: Counts::default(),
            domains: DOMAIN_GROUPS
                .iter()
                .map(|group| (*group, Counts::default()))
                .collect(),
        }
    }
}

/// One series as the overview needs it.
pub struct SeriesFact<'a> {
    pub labels: &'a Labels,
    pub domain: Domain,
    pub latest: Option<(i64, f64)>,
}

/// One anomaly as the overview needs it.
pub struct AnomalyFact<'a> {
    pub labels: &'a Labels,
    pub domain: Domain,
    pub start_ms: i64,
    pub open: bool,
}

/// Groups series and anomalies by machine; machines sorted anomalous first, then by name.
pub fn summarize<'a>(
    identity: &MachineIdentity,
    series: impl IntoIterator<Item = SeriesFact<'a>>,
    anomalies: impl IntoIterator<Item = AnomalyFact<'a>>,
    now: i64,
) -> Vec<MachineSummary> {
    let mut machines: BTreeMap<Option<String>, MachineSummary> = BTreeMap::new();
    fn slot<'m>(
        machines: &'m mut BTreeMap<Option<String>, MachineSummary>,
        identity: &MachineIdentity,
        labels: &Labels,
    ) -> &'m mut MachineSummary {
        let machine = identity.machine(labels).map(str::to_string);
        machines
            .entry(machine.clone())
            .or_insert_with(|| MachineSummary::new(machine))
    }
    for fact in series {
        let summary = slot(&mut machines, identity, fact.labels);
        let score = fact.latest.map(|(_, score)| score);
        summary.counts.series += 1;
        summary.counts.add_score(score);
        if let Some(domain) = summary.domains.get_mut(domain_group(fact.domain)) {
            domain.series += 1;
            domain.add_score(score);
        }
        if let Some((seen, _)) = fact.latest {
            summary.last_seen_ms = Some(summary.last_seen_ms.map_or(seen, |s| s.max(seen)));
        }
    }
    for fact in anomalies {
        let summary = slot(&mut machines, identity, fact.labels);
        let recent = fact.start_ms >= now - DAY_MS;
        let domain = summary.domains.get_mut(domain_group(fact.domain));
        if let Some(domain) = domain {
            domain.open_anomalies += usize::from(fact.open);
            domain.anomalies_24h += usize::from(recent);
        }
        summary.counts.open_anomalies += usize::from(fact.open);
        summary.counts.anomalies_24h += usize::from(recent);
    }
    let mut list: Vec<MachineSummary> = machines.into_values().collect();
    for summary in &mut list {
        summary.status = if summary.counts.open_anomalies > 0 {
            "anomalous"
        } else if summary
            .last_seen_ms
            .is_some_and(|seen| seen >= now - STALE_MS)
        {
            "normal"
        } else {
            "no_data"
        };
    }
    list.sort_by(|a, b| {
        (b.counts.open_anomalies > 0)
            .cmp(&(a.counts.open_anomalies > 0))
            .then_with(|| a.machine.is_none().cmp(&b.machine.is_none()))
            .then_with(|| a.machine.cmp(&b.machine))
    });
    list
}

pub async fn overview(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    let data = tokio::task::spawn_blocking(move || {
        let now = now_ms();
        let anomalies = state
            .store
            .anomalies(now - DAY_MS, now, None, MAX_ANOMALIES)
            .map_err(|error| ApiError::internal(error.to_string()))?;
        let entries = state.index.all();
        let series = entries.iter().map(|entry| SeriesFact {
            labels: &entry.key.labels,
            domain: domain_of(&entry.key),
            latest: entry.latest_score(),
        });
        let anomaly_facts = anomalies.iter().map(|record| AnomalyFact {
            labels: &record.series.labels,
            domain: record.domain,
            start_ms: record.start_ms,
            open: record.end_ms.is_none(),
        });
        let machines = summarize(state.usage.identity(), series, anomaly_facts, now);
        let open = anomalies.iter().filter(|a| a.end_ms.is_none()).count();
        Ok::<_, ApiError>(json!({
            "now_ms": now,
            "totals": {
                "series": entries.len(),
                "machines": machines.iter().filter(|m| m.machine.is_some()).count(),
                "open_anomalies": open,
                "anomalies_24h": anomalies.iter().filter(|a| a.start_ms >= now - DAY_MS).count(),
            },
            "machines": machines,
        }))
    })
    .await
    .map_err(|error| ApiError::internal(format!("overview task failed: {error}")))??;
    Ok(Json(json!({ "status": "success", "data": data })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn machines_are_grouped_counted_and_given_a_status() {
        let now = 10 * DAY_MS;
        let web = labels(&[("host", "web-1")]);
        let db = labels(&[("instance", "db:9100")]);
        let idle = labels(&[("instance_id", "i-0abc")]);
        let loose = labels(&[("route", "/")]);
        let series = vec![
            SeriesFact {
                labels: &web,
                domain: Domain::Cpu,
                latest: Some((now - 1_000, 0.2)),
            },
            SeriesFact {
                labels: &web,
                domain: Domain::Memory,
                latest: Some((now - 2_000, 0.97)),
            },
            SeriesFact {
                labels: &db,
                domain: Domain::Storage,
                latest: Some((now - 1_000, 0.1)),
            },
            SeriesFact {
                labels: &idle,
                domain: Domain::Cpu,
                latest: Some((now - STALE_MS - 1, 0.1)),
            },
            SeriesFact {
                labels: &loose,
                domain: Domain::Traffic,
                latest: None,
            },
        ];
        let anomalies = vec![
            AnomalyFact {
                labels: &db,
                domain: Domain::Storage,
                start_ms: now - 60_000,
                open: true,
            },
            AnomalyFact {
                labels: &web,
                domain: Domain::Cpu,
                start_ms: now - 3_600_000,
                open: false,
            },
            AnomalyFact {
                labels: &web,
                domain: Domain::Cpu,
                start_ms: now - 2 * DAY_MS,
                open: false,
            },
        ];
        let list = summarize(&MachineIdentity::default(), series, anomalies, now);
        let names: Vec<_> = list.iter().map(|m| m.machine.as_deref()).collect();
        assert_eq!(
            names,
            [Some("db:9100"), Some("i-0abc"), Some("web-1"), None]
        );
        let statuses: Vec<_> = list.iter().map(|m| m.status).collect();
        assert_eq!(statuses, ["anomalous", "no_data", "normal", "no_data"]);
        let web = &list[2];
        assert_eq!(web.counts.series, 2);
        assert_eq!(web.counts.max_score, Some(0.97));
        assert_eq!(
            web.counts.anomalies_24h, 1,
            "the 2-day-old one is not counted"
        );
        assert_eq!(web.domains["cpu"].series, 1);
        assert_eq!(web.domains["memory_storage"].max_score, Some(0.97));
        assert_eq!(
            web.domains["logins"],
            Counts::default(),
            "no login series: empty, not zero-filled scores"
        );
        assert_eq!(web.last_seen_ms, Some(now - 1_000));
        assert_eq!(list[0].domains["memory_storage"].open_anomalies, 1);
        assert_eq!(list[3].domains["network"].series, 1);
    }

    #[test]
    fn traffic_is_grouped_with_network() {
        assert_eq!(domain_group(Domain::Traffic), "network");
    }
}
