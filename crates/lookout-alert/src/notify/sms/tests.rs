use super::*;
use crate::event_alerts::EventFacts;
use crate::gsm7::length;
use crate::test_support::alert_with;
use lookout_model::{Domain, Event, EventId, EventRecord, Severity};
use std::sync::atomic::{AtomicUsize, Ordering};

fn notification(alerts: Vec<AlertInstance>) -> Notification {
    Notification {
        id: "0123456789abcdef".into(),
        rule: "cpu-high".into(),
        group: "cpu-high".into(),
        group_labels: Default::default(),
        status: NotificationStatus::Firing,
        firing: alerts,
        resolved: vec![],
        created_ms: 0,
        valid_for_ms: 0,
        dashboard: "https://lookout.example.com".into(),
        test: false,
    }
}

#[test]
fn the_text_says_what_where_how_bad_and_links_within_one_sms() {
    let mut alert = alert_with("f", "host_cpu_utilization_percent", &[]);
    alert.location = Some("host web-1".into());
    alert.evidence.value = 97.0;
    alert.evidence.expected_lower = 10.0;
    alert.evidence.expected_upper = 40.0;
    let mut message = notification(vec![alert.clone(), alert]);
    message.dashboard = "http://lo:8080".into();
    let text = sms_text(&message);
    assert_eq!(
        text,
        "[FIRING] cpu-high: host_cpu_utilization_percent @host web-1, warning 0.95, 97 vs 10-40 (+1 more) http://lo:8080/#/anomalies?match=host_cpu_utilization_percent"
    );
    assert!(length(&text).unwrap() <= 160, "{}", text.len());
}

#[test]
fn long_words_are_cut_and_the_link_stays_whole() {
    let mut alert = alert_with("f", &"very_long_metric_name_".repeat(10), &[]);
    alert.location = Some("instance_id {i-0abc|~[]}".into());
    let text = sms_text(&notification(vec![alert]));
    assert!(length(&text).unwrap() <= 160, "{text}");
    // The metric link is too long to be worth it: the alerts page instead.
    assert!(
        text.ends_with("... https://lookout.example.com/#/alerts"),
        "{text}"
    );
    // An event alert links to its event and says its summary.
    let mut event = alert_with("e", "ssh_bruteforce", &[]);
    let record = EventRecord {
        id: EventId(42),
        event: Event::new(0, "ssh_bruteforce", Domain::Login, Severity::Warning)
            .with_summary("37 failed logins from 203.0.113.9 for root, admin — then many more words €€€€ to cut here and there and everywhere"),
    };
    let mut facts = EventFacts::new(&record, 0);
    facts
        .entity
        .insert("source_ip".into(), "203.0.113.9".into());
    event.event = Some(facts);
    let text = sms_text(&notification(vec![event]));
    assert!(
        text.starts_with(
            "[FIRING] cpu-high: ssh_bruteforce 203.0.113.9, warning 0.95: 37 failed logins"
        ),
        "{text}"
    );
    assert!(
        text.ends_with(" https://lookout.example.com/#/events?id=42"),
        "{text}"
    );
    assert!(length(&text).unwrap() <= 160, "{text}");
}

#[test]
fn each_receiver_gets_at_most_the_limit_per_window() {
    let limits = ReceiverLimits::new(SmsRateLimit {
        messages: 2,
        window: Duration::from_secs(60),
    });
    let t0 = Instant::now();
    assert!(limits.take("+1", t0).is_ok());
    assert!(limits.take("+1", t0 + Duration::from_secs(10)).is_ok());
    let wait = limits.take("+1", t0 + Duration::from_secs(20)).unwrap_err();
    assert_eq!(wait, Duration::from_secs(40));
    assert!(
        limits.take("+2", t0 + Duration::from_secs(20)).is_ok(),
        "per receiver"
    );
    assert!(
        limits.take("+1", t0 + Duration::from_secs(60)).is_ok(),
        "the window slides"
    );
    limits.give_back("+1", t0 + Duration::from_secs(60));
    assert!(limits.take("+1", t0 + Duration::from_secs(61)).is_ok());
    assert_eq!(masked("+14155550100"), "...0100");
}

#[derive(Debug, Default)]
struct Recorder {
    sent: Mutex<Vec<(String, String)>>,
    fail_for: Option<&'static str>,
    calls: AtomicUsize,
}

impl SmsGateway for Recorder {
    fn send<'a>(
        &'a self,
        to: &'a str,
        text: &'a str,
        _notification: &'a Notification,
    ) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(async move {
            self.calls.fetch_add(1, Ordering::Relaxed);
            if self.fail_for == Some(to) {
                return Err(DeliveryError::new("http_5xx", "HTTP 503: busy"));
            }
            self.sent.lock().unwrap().push((to.into(), text.into()));
            Ok(())
        })
    }
}

#[tokio::test]
async fn over_the_limit_the_attempt_fails_and_a_retry_reaches_only_who_is_left() {
    let limit = SmsRateLimit {
        messages: 1,
        window: Duration::from_secs(3600),
    };
    let notifier = SmsNotifier::new(
        Recorder::default(),
        vec!["+14155550100".into(), "+14155550111".into()],
        limit,
    );
    let first = notification(vec![alert_with("f", "cpu", &[])]);
    notifier.deliver(&first).await.unwrap();
    assert_eq!(notifier.gateway.sent.lock().unwrap().len(), 2);
    // The same notification again (a retry after a lost answer): nobody gets it twice.
    notifier.deliver(&first).await.unwrap();
    assert_eq!(notifier.gateway.calls.load(Ordering::Relaxed), 2);
    let mut second = first.clone();
    second.id = "fedcba9876543210".into();
    let error = notifier.deliver(&second).await.unwrap_err();
    assert_eq!(error.reason, "rate_limited");
    assert!(
        error.message.contains("...0100 (room again in"),
        "{}",
        error.message
    );
    assert!(
        error.message.contains("waits in the outbox"),
        "{}",
        error.message
    );
    assert!(
        !error.message.contains("+1415"),
        "numbers are masked: {}",
        error.message
    );
    assert_eq!(
        notifier.gateway.sent.lock().unwrap().len(),
        2,
        "nothing over the limit was sent"
    );
}

#[tokio::test]
async fn a_failed_send_gives_its_slot_back_and_names_the_receiver() {
    let limit = SmsRateLimit {
        messages: 1,
        window: Duration::from_secs(3600),
    };
    let gateway = Recorder {
        fail_for: Some("+14155550111"),
        ..Recorder::default()
    };
    let notifier = SmsNotifier::new(
        gateway,
        vec!["+14155550100".into(), "+14155550111".into()],
        limit,
    );
    let message = notification(vec![alert_with("f", "cpu", &[])]);
    let error = notifier.deliver(&message).await.unwrap_err();
    assert_eq!(error.reason, "http_5xx");
    assert!(
        error.message.starts_with("to ...0111: HTTP 503"),
        "{}",
        error.message
    );
    // The retry reaches only the one that failed, whose slot was given back.
    let calls = notifier.gateway.calls.load(Ordering::Relaxed);
    let _ = notifier.deliver(&message).await;
    assert_eq!(notifier.gateway.calls.load(Ordering::Relaxed), calls + 1);
}
