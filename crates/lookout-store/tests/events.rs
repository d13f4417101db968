//! Events: written with samples, listed newest first with filters and pages, kept across
//! a reopen, deleted past their retention.

mod common;

use common::{cpu, open, TempDir, DAY, EPOCH, MINUTE};
use lookout_model::{Domain, Event, EventId, Severity};
use lookout_store::{EventQuery, Store, StoreConfig, StoreError, WriteBatch};

fn event(minute: i64, kind: &str, host: &str, severity: Severity) -> Event {
    let domain = if kind == "syn_flood" {
        Domain::Network
    } else {
        Domain::Login
    };
    Event::new(EPOCH + minute * MINUTE, kind, domain, severity)
        .with_entity("host", host)
        .with_summary(format!("{kind} on {host}"))
        .with_count("failures", minute as u64)
        .with_example(format!("line {minute}"))
}

fn everything() -> EventQuery<'static> {
    EventQuery {
        from_ms: i64::MIN,
        to_ms: i64::MAX,
        limit: 100,
        ..EventQuery::default()
    }
}

/// Ten events: minutes 0..10, ssh on even minutes (web-1), syn floods on odd ones (db-1).
fn write_ten(store: &Store) -> Vec<EventId> {
    let events = (0..10)
        .map(|minute| {
            if minute % 2 == 0 {
                event(minute, "ssh_bruteforce", "web-1", Severity::Warning)
            } else {
                event(minute, "syn_flood", "db-1", Severity::Critical)
            }
        })
        .collect();
    let records = store.assign_event_ids(events);
    let ids = records.iter().map(|record| record.id).collect();
    let mut batch = WriteBatch::new();
    batch.push(store.series_id(&cpu("web-1")), EPOCH, 1.0);
    batch.events = records;
    store.write(batch).unwrap();
    ids
}

#[test]
fn events_list_newest_first_with_filters() {
    let dir = TempDir::new("events-filters");
    let store = open(&dir);
    let ids = write_ten(&store);

    let all = store.events(&everything()).unwrap();
    assert_eq!(all.events.len(), 10);
    assert_eq!(all.next, None);
    assert_eq!(all.events[0].id, ids[9], "newest first");
    assert_eq!(all.events[9].id, ids[0]);
    let first = store.event(ids[0]).unwrap();
    assert_eq!(
        first.event,
        event(0, "ssh_bruteforce", "web-1", Severity::Warning)
    );

    let ssh = store
        .events(&EventQuery {
            kinds: vec!["ssh_bruteforce".into()],
            ..everything()
        })
        .unwrap();
    assert_eq!(ssh.events.len(), 5);
    assert!(ssh.events.iter().all(|r| r.event.kind == "ssh_bruteforce"));

    let network = store
        .events(&EventQuery {
            domains: vec![Domain::Network],
            severities: vec![Severity::Critical],
            ..everything()
        })
        .unwrap();
    assert_eq!(network.events.len(), 5);
    assert!(network.events.iter().all(|r| r.event.kind == "syn_flood"));

    let window = store
        .events(&EventQuery {
            from_ms: EPOCH + 2 * MINUTE,
            to_ms: EPOCH + 4 * MINUTE,
            ..everything()
        })
        .unwrap();
    let minutes: Vec<i64> = window
        .events
        .iter()
        .map(|r| (r.event.timestamp_ms - EPOCH) / MINUTE)
        .collect();
    assert_eq!(minutes, [4, 3, 2], "the range is inclusive");

    let on_db = |event: &Event| event.entity.get("host").is_some_and(|host| host == "db-1");
    let by_entity = store
        .events(&EventQuery {
            matches: Some(&on_db),
            limit: 2,
            ..everything()
        })
        .unwrap();
    assert_eq!(by_entity.events.len(), 2);
    assert!(by_entity
        .events
        .iter()
        .all(|r| r.event.entity["host"] == "db-1"));
    assert!(by_entity.next.is_some());

    assert!(matches!(
        store.event(EventId(999)),
        Err(StoreError::EventNotFound(EventId(999)))
    ));
}

#[test]
fn pages_follow_the_cursor_without_gaps_or_repeats() {
    let dir = TempDir::new("events-pages");
    let store = open(&dir);
    let ids = write_ten(&store);
    // Two more at the same time as the newest: the cursor orders by time, then id.
    let same_time = store.assign_event_ids(vec![
        event(9, "syn_flood", "db-2", Severity::Info),
        event(9, "syn_flood", "db-3", Severity::Info),
    ]);
    let mut batch = WriteBatch::new();
    batch.events = same_time.clone();
    store.write(batch).unwrap();

    let mut seen = Vec::new();
    let mut after = None;
    let mut pages = 0;
    loop {
        let page = store
            .events(&EventQuery {
                limit: 5,
                after,
                ..everything()
            })
            .unwrap();
        pages += 1;
        seen.extend(page.events.iter().map(|r| r.id));
        match page.next {
            Some(cursor) => after = Some(cursor),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let mut expected: Vec<EventId> = vec![same_time[1].id, same_time[0].id, ids[9]];
    expected.extend(ids[..9].iter().rev());
    assert_eq!(seen, expected);
}

#[test]
fn events_survive_a_reopen_and_ids_keep_growing() {
    let dir = TempDir::new("events-reopen");
    let ids = {
        let store = open(&dir);
        write_ten(&store)
    };
    let store = open(&dir);
    let all = store.events(&everything()).unwrap();
    assert_eq!(all.events.len(), 10);
    assert_eq!(store.event(ids[3]).unwrap().id, ids[3]);
    let more = store.assign_event_ids(vec![event(20, "ssh_bruteforce", "x", Severity::Info)]);
    assert!(more[0].id > ids[9], "{:?} after {:?}", more[0].id, ids[9]);
}

#[test]
fn compaction_deletes_events_past_their_retention() {
    let dir = TempDir::new("events-retention");
    let config = StoreConfig {
        event_retention: std::time::Duration::from_secs(2 * 86_400),
        ..StoreConfig::default()
    };
    let store = Store::open(dir.path(), config).unwrap();
    let records = store.assign_event_ids(vec![
        event(0, "ssh_bruteforce", "old", Severity::Info),
        event(0, "ssh_bruteforce", "new", Severity::Info),
    ]);
    let mut old = records[0].clone();
    old.event.timestamp_ms = EPOCH - 3 * DAY;
    let mut batch = WriteBatch::new();
    batch.events = vec![old, records[1].clone()];
    store.write(batch).unwrap();

    let report = store.compact(EPOCH + MINUTE).unwrap();
    assert_eq!(report.deleted_events, 1);
    let left = store.events(&everything()).unwrap();
    assert_eq!(left.events.len(), 1);
    assert_eq!(left.events[0].event.entity["host"], "new");

    let too_short = StoreConfig {
        event_retention: std::time::Duration::from_secs(60),
        ..StoreConfig::default()
    };
    let error = too_short.validate().unwrap_err().to_string();
    assert!(error.contains("event_retention"), "{error}");
}
