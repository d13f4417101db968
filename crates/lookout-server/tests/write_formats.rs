//! Write bodies the issue found silently dropped or misread: Remote Write 2.0 (was
//! acknowledged with 204 and nothing stored) and compressed Influx/JSON bodies (a gzip
//! body from Telegraf got 400 "invalid UTF-8").

mod common;

use std::io::Write;

use common::{counter, now_ms, TestServer};
use lookout_model::{Sample, SeriesKey};
use lookout_protocol::remote_write::v2::{encode_v2_request, proto, V2_PROTO};
use prost::Message;

const V2_CONTENT_TYPE: &str = "application/x-protobuf;proto=io.prometheus.write.v2.Request";

async fn series_count(server: &TestServer, selector: &str) -> usize {
    let answer = server
        .get_json(&format!("/api/v1/series?match[]={}", urlencode(selector)))
        .await;
    answer["data"].as_array().map_or(0, Vec::len)
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn samples(name: &str, hosts: &[&str]) -> Vec<Sample> {
    hosts
        .iter()
        .map(|host| Sample {
            key: SeriesKey::new(name).with_label("host", *host),
            timestamp_ms: now_ms() - 1_000,
            value: 0.5,
        })
        .collect()
}

/// Regression: a Remote Write 2.0 body got 204 and nothing was stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_write_2_0_body_is_stored_and_its_written_counts_answered() {
    let server = TestServer::start().await;
    let response = server
        .client
        .post(server.url("/api/v1/write"))
        .header("content-type", V2_CONTENT_TYPE)
        .header("content-encoding", "snappy")
        .header("x-prometheus-remote-write-version", "2.0.0")
        .body(encode_v2_request(&samples("rw2_up", &["a", "b", "c"])))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let header = |name: &str| response.headers()[name].to_str().unwrap().to_owned();
    assert_eq!(header("x-prometheus-remote-write-samples-written"), "3");
    assert_eq!(header("x-prometheus-remote-write-histograms-written"), "0");
    assert_eq!(header("x-prometheus-remote-write-exemplars-written"), "0");
    assert_eq!(series_count(&server, "rw2_up").await, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_write_2_0_request_with_histograms_is_a_partial_write() {
    let server = TestServer::start().await;
    let request = proto::Request {
        symbols: vec!["".into(), "__name__".into(), "rw2_mixed".into()],
        timeseries: vec![
            proto::TimeSeries {
                labels_refs: vec![1, 2],
                samples: vec![lookout_protocol::remote_write::proto::Sample {
                    value: 1.0,
                    timestamp: now_ms() - 1_000,
                }],
                ..Default::default()
            },
            proto::TimeSeries {
                labels_refs: vec![1, 2],
                histograms: vec![vec![]],
                ..Default::default()
            },
        ],
    };
    let body = snap::raw::Encoder::new()
        .compress_vec(&request.encode_to_vec())
        .unwrap();
    let response = server
        .client
        .post(server.url("/api/v1/write"))
        .header("content-type", V2_CONTENT_TYPE)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.headers()["x-prometheus-remote-write-samples-written"],
        "1"
    );
    let answer: serde_json::Value = response.json().await.unwrap();
    let message = answer["error"].as_str().unwrap();
    assert!(
        message.contains("1 native histogram samples were not written"),
        "{message}"
    );
    assert_eq!(series_count(&server, "rw2_mixed").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_remote_write_message_or_encoding_is_415() {
    let server = TestServer::start().await;
    let body = encode_v2_request(&samples("rw_refused", &["a"]));
    for (content_type, encoding) in [
        (
            "application/x-protobuf;proto=io.prometheus.write.v3.Request",
            "snappy",
        ),
        ("application/json", "snappy"),
        (V2_CONTENT_TYPE, "gzip"),
    ] {
        let response = server
            .client
            .post(server.url("/api/v1/write"))
            .header("content-type", content_type)
            .header("content-encoding", encoding)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 415, "{content_type} {encoding}");
    }
    assert_eq!(series_count(&server, "rw_refused").await, 0);
    let metrics = server.metrics().await;
    assert_eq!(
        counter(
            &metrics,
            "lookout_ingest_rejected_requests_total{reason=\"unsupported_media_type\"}"
        ),
        3.0
    );
    assert!(V2_PROTO.ends_with("v2.Request"));
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// Regression: `Content-Encoding: gzip` on Influx writes (Telegraf's setting) got a
/// misleading 400 "invalid UTF-8".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compressed_influx_and_json_writes_are_stored() {
    let server = TestServer::start().await;
    let now_ns = now_ms() * 1_000_000;
    let lines = |host: &str| format!("influx_gz,host={host} usage=1.5 {now_ns}\n");
    let zstd = ruzstd::encoding::compress_to_vec(
        lines("zstd").as_bytes(),
        ruzstd::encoding::CompressionLevel::Fastest,
    );
    let cases = [
        ("/api/v2/write", "gzip", gzip(lines("gzip").as_bytes())),
        ("/write", "deflate", zlib(lines("deflate").as_bytes())),
        ("/api/v2/write", "zstd", zstd),
    ];
    for (path, encoding, body) in cases {
        let response = server
            .client
            .post(server.url(path))
            .header("content-encoding", encoding)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            204,
            "{encoding}: {}",
            response.text().await.unwrap()
        );
    }
    assert_eq!(series_count(&server, "influx_gz_usage").await, 3);

    let json = format!(
        r#"[{{"name":"json_gz","labels":{{"host":"a"}},"timestamp":{},"value":1}}]"#,
        now_ms() - 1_000
    );
    let response = server
        .client
        .post(server.url("/api/v1/samples"))
        .header("content-encoding", "gzip")
        .body(gzip(json.as_bytes()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(series_count(&server, "json_gz").await, 1);

    let response = server
        .client
        .post(server.url("/api/v2/write"))
        .header("content-encoding", "br")
        .body(lines("br"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
    let response = server
        .client
        .post(server.url("/api/v2/write"))
        .header("content-encoding", "gzip")
        .body(lines("not-gzip"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let answer: serde_json::Value = response.json().await.unwrap();
    assert!(answer["error"]
        .as_str()
        .unwrap()
        .contains("malformed gzip body"));
}
