//! Events: their table, how the writer inserts them, how they are listed and pruned.
//!
//! An event is one row of `events` (time, kind, domain, severity, score, entity labels as
//! JSON, summary, evidence as JSON), written by the writer thread in the same transaction
//! as the samples and anomaly changes of its group, so an acknowledged event survives
//! `kill -9` like an acknowledged sample. Ids are handed out by the [`Store`](crate::Store)
//! before the write ([`EventIds`]), so the caller knows them without waiting for a reply;
//! they only grow (an id whose write failed is never reused, nor one deleted by retention).
//!
//! Listing is newest first (`ts_ms DESC, id DESC`) over the index `events_by_time`, with
//! SQL filters on time, kind, domain and severity, an optional predicate (e.g. selectors
//! over the entity labels) applied while reading, and a cursor (`<ts_ms>.<id>` of the last event of a page)
//! for the next page. Cost: one index range scan; with an entity predicate, the rows it
//! refuses are read too. Compaction deletes events older than `event_retention`.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicI64, Ordering};

use lookout_model::{Domain, Event, EventId, EventRecord, Evidence, Labels, Severity};
use rusqlite::{Connection, Row};

use crate::error::SqlContext;
use crate::series::parse_domain;
use crate::StoreError;

/// The events table and its indexes (created at open; older databases gain them).
pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events (
    id       INTEGER PRIMARY KEY,
    ts_ms    INTEGER NOT NULL,
    kind     TEXT NOT NULL,
    domain   TEXT NOT NULL,
    severity TEXT NOT NULL,
    score    REAL,
    entity   TEXT NOT NULL,
    summary  TEXT NOT NULL,
    evidence TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_time ON events (ts_ms, id);
CREATE INDEX IF NOT EXISTS events_by_kind ON events (kind, ts_ms);
";

/// Key of the `meta` table holding the next event id (ids never go back, even when the
/// newest events were deleted).
const NEXT_ID: &str = "next_event_id";

/// Hands out event ids: one counter, shared by every submitter.
#[derive(Debug)]
pub(crate) struct EventIds(AtomicI64);

impl EventIds {
    /// The counter after the largest id ever stored or handed out.
    pub fn load(conn: &Connection) -> Result<EventIds, StoreError> {
        let stored: i64 = conn
            .query_row("SELECT coalesce(max(id), 0) + 1 FROM events", [], |row| {
                row.get(0)
            })
            .context("reading the largest event id")?;
        let recorded = crate::schema::read_meta(conn, NEXT_ID)?.unwrap_or(1);
        Ok(EventIds(AtomicI64::new(stored.max(recorded))))
    }

    /// Stamps each event with a new id, in order.
    pub fn assign(&self, events: Vec<Event>) -> Vec<EventRecord> {
        let count = i64::try_from(events.len()).unwrap_or(i64::MAX);
        let first = self.0.fetch_add(count, Ordering::Relaxed);
        events
            .into_iter()
            .zip(first..)
            .map(|(event, id)| EventRecord {
                id: EventId(id),
                event,
            })
            .collect()
    }
}

/// Inserts (or, for a replayed id, replaces) events inside the writer's transaction.
pub(crate) fn insert(conn: &Connection, events: &[EventRecord]) -> Result<(), StoreError> {
    let Some(max_id) = events.iter().map(|record| record.id.0).max() else {
        return Ok(());
    };
    let mut stmt = conn
        .prepare_cached(
            "INSERT OR REPLACE INTO events
             (id, ts_ms, kind, domain, severity, score, entity, summary, evidence)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )
        .context("preparing the event insert")?;
    for record in events {
        let event = &record.event;
        let entity = json(serde_json::to_string(&event.entity), record.id, "entity")?;
        let evidence = json(
            serde_json::to_string(&event.evidence),
            record.id,
            "evidence",
        )?;
        stmt.execute(rusqlite::params![
            record.id.0,
            event.timestamp_ms,
            event.kind,
            event.domain.as_str(),
            event.severity.as_str(),
            event.score,
            entity,
            event.summary,
            evidence,
        ])
        .context("storing an event")?;
    }
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)",
        rusqlite::params![NEXT_ID, max_id + 1],
    )
    .context("recording the next event id")?;
    Ok(())
}

fn json(
    encoded: Result<String, serde_json::Error>,
    id: EventId,
    what: &str,
) -> Result<String, StoreError> {
    encoded.map_err(|error| StoreError::Corrupt {
        what: format!("{what} of event {id}"),
        reason: error.to_string(),
    })
}

/// Deletes events before `cutoff_ms`; returns how many.
pub(crate) fn delete_before(conn: &Connection, cutoff_ms: i64) -> Result<u64, StoreError> {
    let deleted = conn
        .execute("DELETE FROM events WHERE ts_ms < ?1", [cutoff_ms])
        .context("deleting events past retention")?;
    Ok(deleted as u64)
}

/// Where a page of events ended: the time and id of its last (oldest) event. Written
/// `<ts_ms>.<id>`; the next page starts strictly after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventCursor {
    pub ts_ms: i64,
    pub id: EventId,
}

impl fmt::Display for EventCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.ts_ms, self.id.0)
    }
}

/// A cursor that is not `<ts_ms>.<id>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event cursor {0:?} is not <time>.<id> as returned in `next_cursor`")]
pub struct BadCursor(pub String);

impl FromStr for EventCursor {
    type Err = BadCursor;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || BadCursor(text.to_string());
        let (ts, id) = text.rsplit_once('.').ok_or_else(bad)?;
        Ok(EventCursor {
            ts_ms: ts.parse().map_err(|_| bad())?,
            id: EventId(id.parse().map_err(|_| bad())?),
        })
    }
}

/// Which events to list: `[from_ms, to_ms]` inclusive, and each non-empty list restricts
/// to its values.
#[derive(Default)]
pub struct EventQuery<'a> {
    pub from_ms: i64,
    pub to_ms: i64,
    pub kinds: Vec<String>,
    pub domains: Vec<Domain>,
    pub severities: Vec<Severity>,
    /// Keeps only the events it accepts (e.g. label selectors over the entity).
    pub matches: Option<&'a (dyn Fn(&Event) -> bool + Sync)>,
    /// Continue after this cursor (the previous page's `next`).
    pub after: Option<EventCursor>,
    /// Most events in the page (at least 1).
    pub limit: usize,
}

/// One page of events, newest first, and the cursor of the next page if there is one.
#[derive(Debug, Clone, PartialEq)]
pub struct EventPage {
    pub events: Vec<EventRecord>,
    pub next: Option<EventCursor>,
}

const SELECT_EVENT: &str =
    "SELECT id, ts_ms, kind, domain, severity, score, entity, summary, evidence FROM events";

fn list_param<T>(values: &[T], text: impl Fn(&T) -> &str) -> Option<String> {
    if values.is_empty() {
        return None;
    }
    let texts: Vec<&str> = values.iter().map(text).collect();
    Some(serde_json::Value::from(texts).to_string())
}

/// A page of events matching `query`, newest first.
pub(crate) fn list(conn: &Connection, query: &EventQuery<'_>) -> Result<EventPage, StoreError> {
    let sql = format!(
        "{SELECT_EVENT} WHERE ts_ms >= ?1 AND ts_ms <= ?2
         AND (?3 IS NULL OR kind IN (SELECT value FROM json_each(?3)))
         AND (?4 IS NULL OR domain IN (SELECT value FROM json_each(?4)))
         AND (?5 IS NULL OR severity IN (SELECT value FROM json_each(?5)))
         AND (?6 IS NULL OR ts_ms < ?6 OR (ts_ms = ?6 AND id < ?7))
         ORDER BY ts_ms DESC, id DESC"
    );
    let kinds = list_param(&query.kinds, |kind| kind.as_str());
    let domains = list_param(&query.domains, |domain| domain.as_str());
    let severities = list_param(&query.severities, |severity| severity.as_str());
    let after_ts = query.after.map(|cursor| cursor.ts_ms);
    let after_id = query.after.map(|cursor| cursor.id.0);
    let limit = query.limit.max(1);
    let mut stmt = conn
        .prepare_cached(&sql)
        .context("preparing the event list")?;
    let mut rows = stmt
        .query(rusqlite::params![
            query.from_ms,
            query.to_ms,
            kinds,
            domains,
            severities,
            after_ts,
            after_id
        ])
        .context("listing events")?;
    let mut events = Vec::new();
    let mut more = false;
    while let Some(row) = rows.next().context("listing events")? {
        let record = record_from_row(row)?;
        if let Some(accepts) = query.matches {
            if !accepts(&record.event) {
                continue;
            }
        }
        if events.len() == limit {
            more = true;
            break;
        }
        events.push(record);
    }
    let next = if more {
        events.last().map(|record| EventCursor {
            ts_ms: record.event.timestamp_ms,
            id: record.id,
        })
    } else {
        None
    };
    Ok(EventPage { events, next })
}

/// One event by id.
pub(crate) fn by_id(conn: &Connection, id: EventId) -> Result<Option<EventRecord>, StoreError> {
    let sql = format!("{SELECT_EVENT} WHERE id = ?1");
    let mut stmt = conn
        .prepare_cached(&sql)
        .context("preparing an event read")?;
    let mut rows = stmt.query([id.0]).context("reading an event")?;
    match rows.next().context("reading an event")? {
        Some(row) => record_from_row(row).map(Some),
        None => Ok(None),
    }
}

fn record_from_row(row: &Row<'_>) -> Result<EventRecord, StoreError> {
    let read = |error| StoreError::Sqlite {
        context: "reading an event row",
        source: error,
    };
    let id = EventId(row.get(0).map_err(read)?);
    let corrupt = |reason: String| StoreError::Corrupt {
        what: format!("event {id}"),
        reason,
    };
    let domain: String = row.get(3).map_err(read)?;
    let severity: String = row.get(4).map_err(read)?;
    let entity: String = row.get(6).map_err(read)?;
    let evidence: String = row.get(8).map_err(read)?;
    let entity: Labels =
        serde_json::from_str(&entity).map_err(|error| corrupt(format!("entity JSON: {error}")))?;
    let evidence: Evidence = serde_json::from_str(&evidence)
        .map_err(|error| corrupt(format!("evidence JSON: {error}")))?;
    Ok(EventRecord {
        id,
        event: Event {
            timestamp_ms: row.get(1).map_err(read)?,
            kind: row.get(2).map_err(read)?,
            domain: parse_domain(&domain).map_err(corrupt)?,
            entity,
            severity: severity
                .parse()
                .map_err(|error| corrupt(format!("{error}")))?,
            score: row.get(5).map_err(read)?,
            summary: row.get(7).map_err(read)?,
            evidence,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_bad_ones_are_named() {
        let cursor = EventCursor {
            ts_ms: 1_700_000_000_000,
            id: EventId(42),
        };
        assert_eq!(cursor.to_string(), "1700000000000.42");
        assert_eq!("1700000000000.42".parse::<EventCursor>(), Ok(cursor));
        let negative = "-5.3".parse::<EventCursor>().unwrap();
        assert_eq!(negative.ts_ms, -5);
        for bad in ["", "12", "a.b", "1.", ".2"] {
            let error = bad.parse::<EventCursor>().unwrap_err();
            assert!(error.to_string().contains("next_cursor"), "{error}");
        }
    }

    #[test]
    fn ids_grow_past_what_was_handed_out() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(SCHEMA).unwrap();
        conn.execute_batch("CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)")
            .unwrap();
        let ids = EventIds::load(&conn).unwrap();
        let event = Event::new(5, "syn_flood", Domain::Network, Severity::Critical);
        let records = ids.assign(vec![event.clone(), event.clone()]);
        assert_eq!(
            records.iter().map(|r| r.id).collect::<Vec<_>>(),
            [EventId(1), EventId(2)]
        );
        insert(&conn, &records).unwrap();
        delete_before(&conn, 10).unwrap();
        // Both were deleted: the next id still follows the largest one ever stored.
        let reloaded = EventIds::load(&conn).unwrap();
        assert_eq!(reloaded.assign(vec![event])[0].id, EventId(3));
    }
}
