//! What the SMS notifiers ([`super::sns_sms`], [`super::twilio`]) share: the one-SMS
//! text, the per-receiver rate limit and the delivery to several receivers.
//!
//! **Text** ([`sms_text`]): what (rule, series or event kind), where (machine or event
//! entity), how bad (severity, score, value against the band), how many more, and a
//! short link (the event, or the anomalies of the metric, on the dashboard at the
//! configured `[server] external_url`), in the GSM-7 alphabet and at most 160 septets
//! ([`crate::gsm7`]): the link is kept whole and the words are cut to fit.
//!
//! **Rate limit** ([`ReceiverLimits`]): at most `rate_limit` messages per receiver within
//! `rate_limit_window` (sliding). A message over the limit is not sent to that receiver
//! now: the attempt fails with reason `rate_limited` (counted in
//! `lookout_alert_delivery_failures_total{reason="rate_limited"}`, logged, listed in the
//! notifier's delivery errors) and the outbox keeps the row and retries it, so it goes
//! out when the receiver has room again (or is given up after 24 hours, like any row).
//!
//! **Several receivers**: each attempt sends to the receivers that have not had this
//! notification yet (remembered in memory, bounded to [`REMEMBERED`] pairs) and fails
//! if any is left, so a retry reaches only those. After a restart a retry may reach a
//! receiver twice (the outbox's at-least-once rule).
//!
//! Cost: one short text per notification; per receiver a queue of at most `rate_limit`
//! send times.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use lookout_config::SmsRateLimit;

use super::{Deliver, DeliveryError};
use crate::content::{encode_component, human_duration};
use crate::gsm7::{fit, length, SMS_SEPTETS};
use crate::model::{AlertInstance, Notification, NotificationStatus};

/// (notification id, receiver) pairs remembered as sent.
pub const REMEMBERED: usize = 4096;
/// Longest link worth its room: past it, the link is the dashboard's alerts page.
const LINK_MAX_SEPTETS: usize = 70;

/// A phone number as logs and errors show it: its last four digits.
pub fn masked(number: &str) -> String {
    let digits: Vec<char> = number.chars().rev().take(4).collect();
    let tail: String = digits.into_iter().rev().collect();
    format!("...{tail}")
}

/// The dashboard link of an alert, short.
fn short_link(base: &str, alert: &AlertInstance) -> String {
    let base = base.trim_end_matches('/');
    let link = match &alert.event {
        Some(facts) => format!("{base}/#/events?id={}", facts.id),
        None => format!(
            "{base}/#/anomalies?match={}",
            encode_component(&alert.series.name)
        ),
    };
    if length(&link).unwrap_or(usize::MAX) <= LINK_MAX_SEPTETS {
        link
    } else {
        format!("{base}/#/alerts")
    }
}

fn number(value: f64) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// What, where and how bad of one alert, in few words.
fn alert_words(alert: &AlertInstance) -> String {
    let mut words = match &alert.event {
        Some(facts) => {
            let entity = ["source_ip", "client", "host", "instance"]
                .iter()
                .find_map(|label| facts.entity.get(*label))
                .map(|value| format!(" {value}"))
                .unwrap_or_default();
            format!("{}{entity}", facts.kind)
        }
        None => alert.series.name.clone(),
    };
    if let Some(place) = &alert.location {
        words.push_str(&format!(" @{place}"));
    }
    words.push_str(&format!(", {} {:.2}", alert.severity, alert.peak_score));
    let e = &alert.evidence;
    if alert.event.is_none()
        && e.value.is_finite()
        && e.expected_lower.is_finite()
        && e.expected_upper.is_finite()
    {
        words.push_str(&format!(
            ", {} vs {}-{}",
            number(e.value),
            number(e.expected_lower),
            number(e.expected_upper)
        ));
    }
    if let Some(facts) = &alert.event {
        if !facts.summary.is_empty() {
            words.push_str(&format!(": {}", facts.summary));
        }
    }
    words
}

/// The notification as one SMS: GSM-7, at most 160 septets, the link whole.
pub fn sms_text(notification: &Notification) -> String {
    let (status, alerts) = match notification.status {
        NotificationStatus::Firing => ("FIRING", &notification.firing),
        NotificationStatus::Resolved => ("RESOLVED", &notification.resolved),
    };
    let mut head = format!("[{status}] {}", notification.rule);
    if notification.test {
        head.insert_str(0, "[TEST] ");
    }
    let Some(first) = alerts.first() else {
        return fit(&head, SMS_SEPTETS);
    };
    let mut words = format!("{head}: {}", alert_words(first));
    if alerts.len() > 1 {
        words.push_str(&format!(" (+{} more)", alerts.len() - 1));
    }
    let link = short_link(&notification.dashboard, first);
    let link_septets = length(&link).unwrap_or(usize::MAX);
    if link_septets + 1 + 40 > SMS_SEPTETS {
        return fit(&words, SMS_SEPTETS);
    }
    format!("{} {link}", fit(&words, SMS_SEPTETS - link_septets - 1))
}

/// Send times per receiver within the window.
#[derive(Debug)]
pub struct ReceiverLimits {
    limit: SmsRateLimit,
    sent: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl ReceiverLimits {
    pub fn new(limit: SmsRateLimit) -> Self {
        ReceiverLimits {
            limit,
            sent: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, VecDeque<Instant>>> {
        self.sent
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Takes a slot for `receiver` at `now`, or says how long until one frees.
    pub fn take(&self, receiver: &str, now: Instant) -> Result<(), Duration> {
        let mut sent = self.lock();
        let times = sent.entry(receiver.to_string()).or_default();
        while times
            .front()
            .is_some_and(|at| now.duration_since(*at) >= self.limit.window)
        {
            times.pop_front();
        }
        if times.len() >= self.limit.messages as usize {
            let oldest = *times.front().expect("full, so not empty");
            return Err(self.limit.window.saturating_sub(now.duration_since(oldest)));
        }
        times.push_back(now);
        Ok(())
    }

    /// Gives back the slot of a message that was not sent after all.
    pub fn give_back(&self, receiver: &str, taken_at: Instant) {
        if let Some(times) = self.lock().get_mut(receiver) {
            if let Some(position) = times.iter().rposition(|at| *at == taken_at) {
                times.remove(position);
            }
        }
    }
}

/// One SMS provider's single send.
pub trait SmsGateway: Send + Sync + std::fmt::Debug {
    /// Sends `text` to one receiver; one attempt.
    fn send<'a>(
        &'a self,
        to: &'a str,
        text: &'a str,
        notification: &'a Notification,
    ) -> BoxFuture<'a, Result<(), DeliveryError>>;
}

/// (notification id, receiver) pairs sent, oldest first, and the same as a set.
type SentPairs = (VecDeque<(String, String)>, BTreeSet<(String, String)>);

/// An SMS notifier: a gateway, its receivers and their limits.
#[derive(Debug)]
pub struct SmsNotifier<G> {
    gateway: G,
    to: Vec<String>,
    limits: ReceiverLimits,
    sent: Mutex<SentPairs>,
}

impl<G: SmsGateway> SmsNotifier<G> {
    pub fn new(gateway: G, to: Vec<String>, limit: SmsRateLimit) -> Self {
        SmsNotifier {
            gateway,
            to,
            limits: ReceiverLimits::new(limit),
            sent: Mutex::new((VecDeque::new(), BTreeSet::new())),
        }
    }

    fn already_sent(&self, key: &(String, String)) -> bool {
        let sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        sent.1.contains(key)
    }

    fn remember(&self, key: (String, String)) {
        let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        if sent.1.insert(key.clone()) {
            sent.0.push_back(key);
        }
        while sent.0.len() > REMEMBERED {
            if let Some(old) = sent.0.pop_front() {
                sent.1.remove(&old);
            }
        }
    }

    /// One attempt: every receiver that has not had this notification and has room.
    pub async fn deliver(&self, notification: &Notification) -> Result<(), DeliveryError> {
        let text = sms_text(notification);
        let mut limited = Vec::new();
        let mut failed: Option<DeliveryError> = None;
        for receiver in &self.to {
            let key = (notification.id.clone(), receiver.clone());
            if self.already_sent(&key) {
                continue;
            }
            let now = Instant::now();
            if let Err(wait) = self.limits.take(receiver, now) {
                limited.push(format!(
                    "{} (room again in {})",
                    masked(receiver),
                    human_duration(wait.max(Duration::from_secs(1)))
                ));
                continue;
            }
            match self.gateway.send(receiver, &text, notification).await {
                Ok(()) => self.remember(key),
                Err(error) => {
                    self.limits.give_back(receiver, now);
                    failed.get_or_insert(DeliveryError::new(
                        error.reason,
                        format!("to {}: {}", masked(receiver), error.message),
                    ));
                }
            }
        }
        if let Some(error) = failed {
            return Err(error);
        }
        if !limited.is_empty() {
            return Err(DeliveryError::new(
                "rate_limited",
                format!(
                    "over the limit of {} messages per {}: {}; the message waits in the outbox",
                    self.limits.limit.messages,
                    human_duration(self.limits.limit.window),
                    limited.join(", ")
                ),
            ));
        }
        Ok(())
    }
}

impl<G: SmsGateway> Deliver for SmsNotifier<G> {
    fn deliver<'a>(
        &'a self,
        notification: &'a Notification,
    ) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(SmsNotifier::deliver(self, notification))
    }
}

#[cfg(test)]
mod tests;
