use super::*;

use lookout_config::{Config, SourceConfig};

const T0: i64 = 1_700_000_000_000;

fn config(table: &str) -> KafkaSourceConfig {
    let text = format!(
        "[[source]]\ntype = \"kafka\"\nbrokers = [\"127.0.0.1:9092\"]\ntopics = [\"t\"]\n{table}"
    );
    match Config::from_str_named(&text, "t.toml")
        .unwrap()
        .sources
        .remove(0)
    {
        SourceConfig::Kafka(config) => config,
        other => panic!("{other:?}"),
    }
}

fn record(partition: i32, offset: i64, value: &str) -> Record {
    Record {
        topic: "t".to_string(),
        partition,
        offset,
        value: Some(value.as_bytes().to_vec()),
    }
}

fn offsets(decoded: &Decoded) -> Vec<(String, u64)> {
    decoded
        .read_offsets
        .iter()
        .map(|offset| (offset.path.clone(), offset.offset))
        .collect()
}

#[test]
fn influx_records_become_samples_with_the_source_label_and_offsets_move() {
    let mut decoder = Decoder::new("kafka#1", &config("format = \"influx\"\n")).unwrap();
    let decoded = decoder.decode(
        vec![
            record(
                0,
                0,
                "cpu,host=a usage=1 1700000000000000000\ncpu,host=a usage=2 1700000001000000000",
            ),
            record(1, 7, "mem,host=b used=5 1700000000000000000"),
        ],
        T0,
    );
    let values: Vec<(String, f64)> = decoded
        .samples
        .iter()
        .map(|s| (s.key.name.clone(), s.value))
        .collect();
    assert_eq!(values.len(), 3, "{values:?}");
    assert!(decoded
        .samples
        .iter()
        .all(|s| s.key.labels["kafka"] == "kafka#1"));
    assert_eq!(
        offsets(&decoded),
        [("t/0".to_string(), 1), ("t/1".to_string(), 8)]
    );
    assert_eq!(decoded.commits[&("t".to_string(), 1)], 8);
    assert!(decoded.errors.is_empty(), "{:?}", decoded.errors);
    // Nothing new: no offsets handed out again.
    assert!(decoder.decode(Vec::new(), T0).read_offsets.is_empty());
}

#[test]
fn records_below_the_saved_offsets_are_duplicates_and_skipped() {
    let mut decoder = Decoder::new("kafka#1", &config("format = \"influx\"\n")).unwrap();
    decoder.resume(vec![ReadOffset {
        source: "kafka#1".to_string(),
        path: "t/0".to_string(),
        dev: 0,
        ino: 0,
        offset: 2,
        line: 0,
    }]);
    assert_eq!(decoder.saved_offset("t", 0), Some(2));
    let decoded = decoder.decode(
        (0..4)
            .map(|n| record(0, n, &format!("cpu value={n} {}", (T0 + n) * 1_000_000)))
            .collect(),
        T0,
    );
    let values: Vec<f64> = decoded.samples.iter().map(|s| s.value).collect();
    assert_eq!(values, [2.0, 3.0]);
    assert_eq!(decoder.counts().duplicate, 2);
    assert_eq!(decoder.counts().ingested, 2);
    // Delivered again (a rebalance, a new group): all duplicates.
    let again = decoder.decode(vec![record(0, 3, "cpu value=3 1")], T0);
    assert!(again.samples.is_empty());
    assert_eq!(decoder.counts().duplicate, 3);
    let counted = |outcome| counters::get(RECORDS_METRIC, "kafka#1", ("outcome", outcome));
    assert_eq!(counted("duplicate"), Some(3));
}

#[test]
fn bad_records_are_counted_and_named_by_partition_and_offset() {
    let mut decoder = Decoder::new(
        "kafka#bad",
        &config("format = \"json\"\nmax_record_bytes = \"64B\"\n"),
    )
    .unwrap();
    let big = format!("{{\"samples\": [{}]}}", "0,".repeat(100));
    let mut empty = record(0, 2, "");
    empty.value = None;
    let decoded = decoder.decode(
        vec![record(0, 0, "not json"), record(0, 1, &big), empty],
        T0,
    );
    assert_eq!(decoded.errors.len(), 2, "{:?}", decoded.errors);
    assert!(
        decoded.errors[0].starts_with("kafka record t/0 offset 0: "),
        "{:?}",
        decoded.errors
    );
    assert!(
        decoded.errors[1].contains("offset 1: 2"),
        "{:?}",
        decoded.errors
    );
    assert!(
        decoded.errors[1].contains("over max_record_bytes (64)"),
        "{:?}",
        decoded.errors
    );
    let counts = decoder.counts();
    assert_eq!((counts.invalid, counts.too_large, counts.empty), (1, 1, 1));
    // Refused records are accounted for: their offsets move too.
    assert_eq!(offsets(&decoded), [("t/0".to_string(), 3)]);
}

fn access_line(ms: i64, status: u16) -> String {
    let time = chrono::DateTime::from_timestamp_millis(ms)
        .unwrap()
        .format("%d/%b/%Y:%H:%M:%S +0000");
    format!("10.0.0.1 - - [{time}] \"GET /users/42 HTTP/1.1\" {status} 512 \"-\" \"curl\"")
}

#[test]
fn access_log_records_become_request_series_and_the_open_interval_is_read_again() {
    let mut decoder = Decoder::new(
        "kafka#2",
        &config("format = \"access_log\"\ninterval = \"5s\"\n"),
    )
    .unwrap();
    // Two intervals' lines; the second stays open.
    let records: Vec<Record> = (0..10)
        .map(|n| {
            record(
                0,
                n,
                &access_line(T0 + n * 1_000, if n == 3 { 500 } else { 200 }),
            )
        })
        .collect();
    let decoded = decoder.decode(records, T0 + 9_000);
    let requests = decoded
        .samples
        .iter()
        .find(|s| s.key.name == "log_http_requests_per_second")
        .expect("the first interval's requests");
    assert_eq!(requests.value, 5.0 / 5.0);
    assert_eq!(requests.key.labels["log"], "kafka#2");
    // The read offset is the first record of the open interval: a restart reads it again.
    assert_eq!(offsets(&decoded), [("t/0".to_string(), 5)]);
    let refused = decoder.decode(vec![record(0, 10, "garbage")], T0 + 9_500);
    assert_eq!(refused.errors.len(), 1, "{:?}", refused.errors);
    assert_eq!(decoder.counts().invalid, 1);
    // Once the open interval closes, everything read is accounted for.
    let closed = decoder.decode(Vec::new(), T0 + 60_000);
    assert_eq!(offsets(&closed), [("t/0".to_string(), 11)]);
}
