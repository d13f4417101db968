//! `type = "sns_sms"` and `type = "twilio"`: alerts as one SMS to each phone number in
//! `to`, with a per-receiver rate limit. The keys both share (`to`, `rate_limit`,
//! `rate_limit_window`) are read here once.

use std::time::Duration;

use serde::Deserialize;

use super::NotifierType;
use crate::defaults;
use crate::error::ErrorKind;
use crate::raw::Field;
use crate::types::Secret;
use crate::validate::Checker;
use crate::values::check_http_url;

/// How many messages one receiver gets at most per window; the rest wait in the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmsRateLimit {
    pub messages: u32,
    pub window: Duration,
}

/// Whether `text` is an E.164 phone number: `+`, then 2 to 15 digits, the first not 0.
pub fn is_e164(text: &str) -> bool {
    let Some(digits) = text.strip_prefix('+') else {
        return false;
    };
    (2..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// `to` (a non-empty list of distinct E.164 numbers) and the rate limit.
fn receivers(
    checker: &mut Checker<'_, '_, '_>,
    context: &str,
    line: usize,
    to: &Field<Vec<String>>,
    rate_limit: &Field<i64>,
    rate_limit_window: &Field<String>,
) -> (Option<Vec<String>>, SmsRateLimit) {
    let numbers = checker.required(context, line, "to", to).cloned();
    let numbers = numbers.and_then(|_| {
        checker.value(context, "to", to, None, |list| {
            if list.is_empty() {
                return Err("the list is empty; name at least one phone number".into());
            }
            let bad: Vec<&String> = list.iter().filter(|n| !is_e164(n)).collect();
            if !bad.is_empty() {
                return Err(format!(
                    "{bad:?} {} not E.164 phone numbers (\"+\" then the country code and number, e.g. \"+14155550100\")",
                    if bad.len() == 1 { "is" } else { "are" }
                ));
            }
            let mut seen = std::collections::BTreeSet::new();
            if let Some(twice) = list.iter().find(|n| !seen.insert(n.as_str())) {
                return Err(format!("{twice:?} is listed twice"));
            }
            Ok(Some(list.clone()))
        })
    });
    let messages = checker.integer_in(
        context,
        "rate_limit",
        rate_limit,
        u64::from(defaults::SMS_RATE_LIMIT),
        1,
        10_000,
    ) as u32;
    let window = checker.duration(
        context,
        "rate_limit_window",
        rate_limit_window,
        defaults::SMS_RATE_LIMIT_WINDOW,
        Duration::from_secs(1),
    );
    (numbers, SmsRateLimit { messages, window })
}

pub(crate) struct SnsSms;

/// SNS `Publish` straight to phone numbers (no topic).
#[derive(Debug, Clone, PartialEq)]
pub struct SnsSmsNotifier {
    pub to: Vec<String>,
    /// `AWS.SNS.SMS.SenderID`: 1 to 11 letters and digits, at least one letter.
    pub sender_id: Option<String>,
    /// `AWS.SNS.SMS.SMSType`: `Transactional` or `Promotional`.
    pub sms_type: String,
    pub region: String,
    pub endpoint: Option<String>,
    pub rate_limit: SmsRateLimit,
}

/// `[[alert.notifier]] type = "sns_sms"`: its own keys.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSnsSms {
    pub to: Field<Vec<String>>,
    pub sender_id: Field<String>,
    pub sms_type: Field<String>,
    pub region: Field<String>,
    pub endpoint: Field<String>,
    pub rate_limit: Field<i64>,
    pub rate_limit_window: Field<String>,
}

impl NotifierType for SnsSms {
    type Raw = RawSnsSms;
    type Config = SnsSmsNotifier;

    fn validate(
        raw: &RawSnsSms,
        checker: &mut Checker<'_, '_, '_>,
        context: &str,
        line: usize,
    ) -> Option<SnsSmsNotifier> {
        let (to, rate_limit) = receivers(
            checker,
            context,
            line,
            &raw.to,
            &raw.rate_limit,
            &raw.rate_limit_window,
        );
        let sender_id = checker.value(context, "sender_id", &raw.sender_id, None, |id| {
            let ok = (1..=11).contains(&id.len())
                && id.bytes().all(|b| b.is_ascii_alphanumeric())
                && id.bytes().any(|b| b.is_ascii_alphabetic());
            if ok {
                Ok(Some(id.clone()))
            } else {
                Err(format!(
                    "{id:?} is not an SNS sender id (1 to 11 letters and digits, at least one letter)"
                ))
            }
        });
        let sms_type = checker.value(
            context,
            "sms_type",
            &raw.sms_type,
            defaults::SMS_TYPE.to_string(),
            |kind| match kind.as_str() {
                "Transactional" | "Promotional" => Ok(kind.clone()),
                _ => Err(format!(
                    "{kind:?} is not an SMS type (Transactional or Promotional)"
                )),
            },
        );
        let region = checker.non_empty_string(context, "region", &raw.region, defaults::SNS_REGION);
        let endpoint = checker.value(context, "endpoint", &raw.endpoint, None, |url| {
            check_http_url(url).map(|()| Some(url.clone()))
        });
        Some(SnsSmsNotifier {
            to: to?,
            sender_id,
            sms_type,
            region,
            endpoint,
            rate_limit,
        })
    }
}

pub(crate) struct Twilio;

/// Who a Twilio message is sent from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TwilioSender {
    /// `From`: a Twilio number (E.164) or an alphanumeric sender id.
    From(String),
    /// `MessagingServiceSid` (`MG…`): the service picks the number.
    MessagingService(String),
}

/// Twilio's Messages API.
#[derive(Debug, Clone, PartialEq)]
pub struct TwilioNotifier {
    pub account_sid: String,
    pub auth_token: Secret,
    pub sender: TwilioSender,
    pub to: Vec<String>,
    /// `https://api.twilio.com` unless set (a mock, a regional edge).
    pub base_url: String,
    pub rate_limit: SmsRateLimit,
}

/// `[[alert.notifier]] type = "twilio"`: its own keys.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTwilio {
    pub account_sid: Field<String>,
    pub auth_token: Field<String>,
    pub from: Field<String>,
    pub messaging_service_sid: Field<String>,
    pub to: Field<Vec<String>>,
    pub base_url: Field<String>,
    pub rate_limit: Field<i64>,
    pub rate_limit_window: Field<String>,
}

/// Twilio's SID form: a two-letter prefix and 32 hex digits.
fn sid(prefix: &str, text: &str) -> bool {
    text.len() == 34 && text.starts_with(prefix) && text[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

impl NotifierType for Twilio {
    type Raw = RawTwilio;
    type Config = TwilioNotifier;

    fn validate(
        raw: &RawTwilio,
        checker: &mut Checker<'_, '_, '_>,
        context: &str,
        line: usize,
    ) -> Option<TwilioNotifier> {
        let (to, rate_limit) = receivers(
            checker,
            context,
            line,
            &raw.to,
            &raw.rate_limit,
            &raw.rate_limit_window,
        );
        let account_sid = checker
            .required(context, line, "account_sid", &raw.account_sid)
            .cloned()
            .and_then(|_| {
                checker.value(context, "account_sid", &raw.account_sid, None, |text| {
                    if sid("AC", text) {
                        Ok(Some(text.clone()))
                    } else {
                        Err(format!(
                            "{text:?} is not a Twilio account SID (\"AC\" and 32 hex digits)"
                        ))
                    }
                })
            });
        // The token is never echoed, not even in an error.
        let auth_token = match &raw.auth_token {
            None => {
                checker.required(context, line, "auth_token", &raw.auth_token);
                None
            }
            Some(token) if token.get_ref().trim().is_empty() => {
                let message = "the token is empty".to_string();
                checker.report_at(
                    ErrorKind::InvalidValue,
                    context,
                    "auth_token",
                    token,
                    message,
                );
                None
            }
            Some(token) => Some(Secret::new(token.get_ref().trim().to_string())),
        };
        let from = checker.value(context, "from", &raw.from, None, |text| {
            let alphanumeric = (1..=11).contains(&text.len())
                && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b' ')
                && text.bytes().any(|b| b.is_ascii_alphabetic());
            if is_e164(text) || alphanumeric {
                Ok(Some(text.clone()))
            } else {
                Err(format!(
                    "{text:?} is neither an E.164 number nor an alphanumeric sender id (1 to 11 characters)"
                ))
            }
        });
        let service = checker.value(
            context,
            "messaging_service_sid",
            &raw.messaging_service_sid,
            None,
            |text| {
                if sid("MG", text) {
                    Ok(Some(text.clone()))
                } else {
                    Err(format!(
                        "{text:?} is not a Twilio messaging service SID (\"MG\" and 32 hex digits)"
                    ))
                }
            },
        );
        let sender = match (&raw.from, &raw.messaging_service_sid) {
            (Some(_), Some(field)) => {
                let message = "give either `from` or `messaging_service_sid`, not both".into();
                checker.report_at(
                    ErrorKind::InvalidValue,
                    context,
                    "messaging_service_sid",
                    field,
                    message,
                );
                None
            }
            (None, None) => {
                checker.report_line(
                    ErrorKind::MissingKey,
                    line,
                    context,
                    Some("from"),
                    "missing required key (or `messaging_service_sid`)".into(),
                );
                None
            }
            _ => from
                .map(TwilioSender::From)
                .or(service.map(TwilioSender::MessagingService)),
        };
        let base_url = checker.value(
            context,
            "base_url",
            &raw.base_url,
            defaults::TWILIO_BASE_URL.to_string(),
            |url| check_http_url(url).map(|()| url.trim_end_matches('/').to_string()),
        );
        Some(TwilioNotifier {
            account_sid: account_sid?,
            auth_token: auth_token?,
            sender: sender?,
            to: to?,
            base_url,
            rate_limit,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164_numbers() {
        for good in ["+14155550100", "+447700900123", "+49"] {
            assert!(is_e164(good), "{good}");
        }
        for bad in [
            "14155550100",
            "+0123",
            "+1 415 555",
            "+",
            "+1234567890123456",
            "+1a",
        ] {
            assert!(!is_e164(bad), "{bad}");
        }
    }
}
