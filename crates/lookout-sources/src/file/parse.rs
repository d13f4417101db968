//! One JSON line → one checked record.

use std::collections::BTreeMap;

use lookout_model::{Event, EventLimits, Record, Sample, SeriesKey};

/// Parses one line (without its newline) as a `lookout_model::Record` and checks it: a
/// sample's key must be a valid series key and its value finite, an event must pass
/// [`Event::validate`] with the default limits. `labels` are added to every sample and
/// every event's entity that lacks them. `Err` is the reason, for a message naming the
/// file and line.
pub(crate) fn parse_record(
    line: &[u8],
    labels: &BTreeMap<String, String>,
) -> Result<Record, String> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let record: Record =
        serde_json::from_slice(line).map_err(|error| format!("not a record: {error}"))?;
    match record {
        Record::Sample(sample) => {
            let mut key_labels = sample.key.labels;
            for (name, value) in labels {
                key_labels
                    .entry(name.clone())
                    .or_insert_with(|| value.clone());
            }
            let key = SeriesKey::validated(sample.key.name, key_labels)
                .map_err(|error| format!("invalid series key: {error}"))?;
            if !sample.value.is_finite() {
                return Err(format!("the value {} is not finite", sample.value));
            }
            Ok(Record::Sample(Sample {
                key,
                timestamp_ms: sample.timestamp_ms,
                value: sample.value,
            }))
        }
        Record::Event(mut event) => {
            add_missing(&mut event, labels);
            event
                .validate(&EventLimits::default())
                .map_err(|error| format!("invalid event: {error}"))?;
            Ok(Record::Event(event))
        }
    }
}

fn add_missing(event: &mut Event, labels: &BTreeMap<String, String>) {
    for (name, value) in labels {
        event
            .entity
            .entry(name.clone())
            .or_insert_with(|| value.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout_model::{Domain, Severity};

    fn no_labels() -> BTreeMap<String, String> {
        BTreeMap::new()
    }

    #[test]
    fn samples_parse_with_the_configured_labels_added() {
        let line = br#"{"type":"sample","key":{"name":"queue_depth","labels":{"queue":"mail","app":"mine"}},"timestamp_ms":1700000000000,"value":3.5}"#;
        let labels = BTreeMap::from([
            ("app".to_string(), "web".to_string()),
            ("env".to_string(), "prod".to_string()),
        ]);
        let Record::Sample(sample) = parse_record(line, &labels).unwrap() else {
            panic!("not a sample")
        };
        assert_eq!(sample.key.name, "queue_depth");
        assert_eq!(
            sample.key.labels["app"], "mine",
            "the line's own label wins"
        );
        assert_eq!(sample.key.labels["env"], "prod");
        assert_eq!(sample.key.labels["queue"], "mail");
        assert_eq!(sample.timestamp_ms, 1_700_000_000_000);
        assert_eq!(sample.value, 3.5);
    }

    #[test]
    fn events_parse_and_are_validated() {
        let line = br#"{"type":"event","timestamp_ms":5,"kind":"ssh_bruteforce","domain":"login","severity":"warning","entity":{"host":"web-1"},"summary":"30 failed logins","evidence":{"counts":{"failures":30}}}"#;
        let labels = BTreeMap::from([("env".to_string(), "prod".to_string())]);
        let Record::Event(event) = parse_record(line, &labels).unwrap() else {
            panic!("not an event")
        };
        assert_eq!(event.kind, "ssh_bruteforce");
        assert_eq!(event.domain, Domain::Login);
        assert_eq!(event.severity, Severity::Warning);
        assert_eq!(event.entity["host"], "web-1");
        assert_eq!(event.entity["env"], "prod");
        assert_eq!(event.evidence.counts["failures"], 30);
        let bad_kind = br#"{"type":"event","timestamp_ms":5,"kind":"Not A Kind","domain":"login","severity":"warning"}"#;
        assert!(parse_record(bad_kind, &no_labels())
            .unwrap_err()
            .starts_with("invalid event:"));
    }

    #[test]
    fn windows_line_endings_are_accepted() {
        let line =
            b"{\"type\":\"sample\",\"key\":{\"name\":\"m\"},\"timestamp_ms\":1,\"value\":1}\r";
        assert!(parse_record(line, &no_labels()).is_ok());
    }

    #[test]
    fn bad_lines_say_why() {
        let cases: [(&[u8], &str); 4] = [
            (b"not json", "not a record:"),
            (br#"{"type":"gauge","value":1}"#, "not a record:"),
            (
                br#"{"type":"sample","key":{"name":"1bad"},"timestamp_ms":1,"value":1}"#,
                "invalid series key:",
            ),
            (
                br#"{"type":"sample","key":{"name":"m"},"timestamp_ms":1}"#,
                "not a record:",
            ),
        ];
        for (line, expected) in cases {
            let error = parse_record(line, &no_labels()).unwrap_err();
            assert!(error.starts_with(expected), "{error}");
        }
    }
}
