use super::*;
use crate::evaluator::Outgoing;
use crate::model::NotificationStatus;
use crate::test_support::alert;

fn notification(id: &str) -> Notification {
    Notification {
        id: id.into(),
        rule: "r".into(),
        group: "r".into(),
        group_labels: Default::default(),
        status: NotificationStatus::Firing,
        firing: vec![alert("f")],
        resolved: vec![],
        created_ms: 1_000,
        valid_for_ms: 60_000,
        dashboard: "http://127.0.0.1:8080".into(),
        test: false,
    }
}

fn changes(ids: &[&str]) -> Changes {
    let mut changes = Changes::default();
    changes.alerts.insert("slot".into(), alert("f"));
    for id in ids {
        changes.outgoing.push(Outgoing {
            notification: notification(id),
            notifiers: vec!["a".into(), "b".into()],
        });
    }
    changes
}

#[test]
fn rows_are_queued_once_per_notifier_and_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alerts.db");
    {
        let db = AlertDb::open(&path).unwrap();
        assert_eq!(db.apply(&changes(&["n1"])).unwrap(), vec!["a", "b"]);
        // The same notification again (e.g. recomputed after a crash) is not queued twice.
        db.apply(&changes(&["n1"])).unwrap();
    }
    let db = AlertDb::open(&path).unwrap();
    let due = db.due("a", 1_000, 10).unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].notification.id, "n1");
    assert!(db.due("a", 999, 10).unwrap().is_empty());
    let (alerts, groups) = db.load_state().unwrap();
    assert_eq!(alerts.len(), 1);
    assert!(groups.is_empty());
    db.mark_delivered(due[0].id, 2_000).unwrap();
    assert!(db.due("a", 5_000, 10).unwrap().is_empty());
    assert_eq!(db.due("b", 5_000, 10).unwrap().len(), 1);
    let status = db.notifier_status(&["a".into(), "b".into()]).unwrap();
    assert_eq!((status[0].delivered, status[0].pending), (1, 0));
    assert_eq!((status[1].delivered, status[1].pending), (0, 1));
}

#[test]
fn failures_reschedule_record_errors_and_give_up_eventually() {
    let dir = tempfile::tempdir().unwrap();
    let db = AlertDb::open(&dir.path().join("alerts.db")).unwrap();
    db.apply(&changes(&["n1"])).unwrap();
    let row = db.due("a", 1_000, 10).unwrap().remove(0);
    assert!(!db
        .mark_failed(&row, 1_500, 3_000, "http_5xx", "HTTP 503")
        .unwrap());
    assert!(db.due("a", 2_999, 10).unwrap().is_empty());
    let row = db.due("a", 3_000, 10).unwrap().remove(0);
    assert_eq!(row.attempts, 1);
    let errors = db.delivery_errors(Some("a"), 10).unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(
        (errors[0].reason.as_str(), errors[0].attempt),
        ("http_5xx", 1)
    );
    assert!(db.delivery_errors(Some("b"), 10).unwrap().is_empty());
    let late = 1_000 + GIVE_UP_AFTER_MS;
    assert!(db
        .mark_failed(&row, late, late + 1, "connect", "refused")
        .unwrap());
    assert!(db.due("a", i64::MAX, 10).unwrap().is_empty());
    assert_eq!(db.notifier_status(&["a".into()]).unwrap()[0].failed, 1);
}

#[test]
fn silences_are_stored_and_expired() {
    let dir = tempfile::tempdir().unwrap();
    let db = AlertDb::open(&dir.path().join("alerts.db")).unwrap();
    let silence = Silence {
        id: 0,
        matchers: "{host=\"a\"}".into(),
        starts_ms: 0,
        ends_ms: 10,
        every_ms: None,
        author: "me".into(),
        comment: "why".into(),
        created_ms: 0,
        expired_ms: None,
        created_by: String::new(),
    };
    let stored = db.insert_silence(&silence).unwrap();
    assert!(stored.id > 0);
    let expired = db.expire_silence(stored.id, 5).unwrap().unwrap();
    assert_eq!(expired.expired_ms, Some(5));
    assert_eq!(db.silences().unwrap(), vec![expired]);
    assert!(db.expire_silence(999, 5).unwrap().is_none());
}
