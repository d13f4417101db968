//! Events over HTTP: pushed, refused whole with the reason, listed with filters and
//! pages, read by id, streamed live; and relative times (`now-1h`) on the time APIs.

mod common;

use std::time::Duration;

use common::{now_ms, TestServer};
use serde_json::{json, Value};

fn brute_force(ts_ms: i64, host: &str, failures: u64) -> Value {
    json!({
        "timestamp_ms": ts_ms,
        "kind": "ssh_bruteforce",
        "domain": "login",
        "severity": "warning",
        "entity": { "host": host, "source_ip": "203.0.113.9" },
        "summary": format!("{failures} failed logins on {host}"),
        "evidence": {
            "counts": { "failures": failures },
            "fields": { "users_tried": "root,admin" },
            "examples": ["Failed password for root from 203.0.113.9 port 4242 ssh2"],
            "first_ms": ts_ms - 60_000,
            "last_ms": ts_ms,
        },
    })
}

async fn post_events(server: &TestServer, events: &Value) -> (u16, Value) {
    let response = server
        .client
        .post(server.url("/api/v1/events"))
        .json(events)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_stored_listed_filtered_and_paged() {
    let server = TestServer::start().await;
    let now = now_ms();
    let mut events: Vec<Value> = (0..5)
        .map(|i| brute_force(now - (10 - i) * 60_000, &format!("web-{}", i % 2), i as u64))
        .collect();
    events.push(json!({
        "timestamp_ms": now - 30_000, "kind": "syn_flood", "domain": "network",
        "severity": "critical", "score": 0.97, "entity": { "host": "db-1" },
        "summary": "SYN flood on db-1",
    }));
    let (status, answer) = post_events(&server, &json!(events)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data"]["accepted"], 6);
    let ids: Vec<i64> = answer["data"]["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 6);

    let all = server.get_json("/api/v1/events?from=now-1h").await;
    let listed = all["data"]["events"].as_array().unwrap();
    assert_eq!(listed.len(), 6);
    assert_eq!(listed[0]["kind"], "syn_flood", "newest first");
    assert_eq!(listed[0]["score"], 0.97);
    assert_eq!(listed[0]["entity"]["host"], "db-1");
    let oldest = &listed[5];
    assert_eq!(oldest["id"], ids[0]);
    assert_eq!(oldest["summary"], "0 failed logins on web-0");
    assert_eq!(oldest["evidence"]["fields"]["users_tried"], "root,admin");
    assert!(oldest["time"].as_str().unwrap().ends_with('Z'));
    assert_eq!(oldest["score"], Value::Null);
    assert_eq!(all["data"]["next_cursor"], Value::Null);

    let ssh = server.get_json("/api/v1/events?kind=ssh_bruteforce").await;
    assert_eq!(ssh["data"]["events"].as_array().unwrap().len(), 5);
    let critical = server
        .get_json("/api/v1/events?severity=critical&domain=network,login")
        .await;
    assert_eq!(critical["data"]["events"].as_array().unwrap().len(), 1);
    let on_web_1 = server
        .get_json("/api/v1/events?match[]=%7Bhost%3D%22web-1%22%7D")
        .await;
    let on_web_1 = on_web_1["data"]["events"].as_array().unwrap();
    assert_eq!(on_web_1.len(), 2);
    assert!(on_web_1.iter().all(|e| e["entity"]["host"] == "web-1"));
    let by_kind_name = server
        .get_json("/api/v1/events?match[]=syn_flood&match[]=%7Bhost%3D%22web-0%22%7D")
        .await;
    assert_eq!(by_kind_name["data"]["events"].as_array().unwrap().len(), 4);
    let window = server
        .get_json(&format!(
            "/api/v1/events?from={}&to=now-8m",
            (now - 9 * 60_000 - 1) as f64 / 1000.0
        ))
        .await;
    assert_eq!(window["data"]["events"].as_array().unwrap().len(), 2);

    let mut seen = Vec::new();
    let mut path = "/api/v1/events?limit=4".to_string();
    loop {
        let page = server.get_json(&path).await;
        seen.extend(
            page["data"]["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].as_i64().unwrap()),
        );
        match page["data"]["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/events?limit=4&cursor={cursor}"),
            None => break,
        }
    }
    let mut expected = ids.clone();
    expected.reverse();
    assert_eq!(seen, expected, "every event once, newest first");

    let one = server.get_json(&format!("/api/v1/events/{}", ids[2])).await;
    assert_eq!(one["data"]["id"], ids[2]);
    assert_eq!(one["data"]["evidence"]["counts"]["failures"], 2);
    let missing = server
        .client
        .get(server.url("/api/v1/events/999999"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    for bad in [
        "/api/v1/events?limit=0",
        "/api/v1/events?cursor=nope",
        "/api/v1/events?domain=space",
        "/api/v1/events?severity=doom",
        "/api/v1/events?from=now-x",
        "/api/v1/events?from=now&to=now-1h",
    ] {
        let response = server.client.get(server.url(bad)).send().await.unwrap();
        assert_eq!(response.status(), 400, "{bad}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_event_refuses_the_request_whole_with_its_index_and_reason() {
    let server = TestServer::start().await;
    let now = now_ms();
    let (status, _) = post_events(&server, &json!([brute_force(now, "web-1", 1)])).await;
    assert_eq!(status, 200);

    let mut bad = brute_force(now, "web-2", 2);
    bad["kind"] = json!("SSH-Brute");
    let (status, answer) = post_events(
        &server,
        &json!([
            brute_force(now, "web-3", 3),
            brute_force(now, "web-4", 4),
            bad
        ]),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    let error = answer["error"].as_str().unwrap();
    assert!(
        error.contains("event #2")
            && error.contains("SSH-Brute")
            && error.contains("nothing stored"),
        "{error}"
    );
    let mut long = brute_force(now, "web-5", 5);
    long["evidence"]["examples"] = json!(vec!["x"; 11]);
    let (status, answer) = post_events(&server, &json!([long])).await;
    assert_eq!(status, 400);
    assert!(
        answer["error"].as_str().unwrap().contains("examples"),
        "{answer}"
    );
    let response = server
        .post("/api/v1/events", "{\"not\": \"an array\"}")
        .await;
    assert_eq!(response.status(), 400);

    let listed = server.get_json("/api/v1/events").await;
    let listed = listed["data"]["events"].as_array().unwrap();
    assert_eq!(
        listed.len(),
        1,
        "only the first request's event: {listed:?}"
    );
    assert_eq!(listed[0]["entity"]["host"], "web-1");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_events_reach_the_live_stream() {
    let server = TestServer::start().await;
    let response = server
        .client
        .get(server.url("/api/v1/stream?events=ssh_bruteforce%7Bhost%3D%22web-1%22%7D"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut stream = response;
    let mut text = String::new();
    while !text.contains("event: ready") {
        text.push_str(&String::from_utf8_lossy(
            &stream.chunk().await.unwrap().unwrap(),
        ));
    }
    let now = now_ms();
    let (status, _) = post_events(
        &server,
        &json!([brute_force(now, "web-2", 1), brute_force(now, "web-1", 2)]),
    )
    .await;
    assert_eq!(status, 200);
    let received = tokio::time::timeout(Duration::from_secs(10), async {
        while !text.contains("event: events") || !text.ends_with("\n\n") {
            text.push_str(&String::from_utf8_lossy(
                &stream.chunk().await.unwrap().unwrap(),
            ));
        }
        text.clone()
    })
    .await
    .expect("the event arrives on the stream");
    let data = received
        .lines()
        .skip_while(|line| *line != "event: events")
        .find_map(|line| line.strip_prefix("data: "))
        .unwrap();
    let data: Value = serde_json::from_str(data).unwrap();
    let events = data["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "only the matching event: {data}");
    assert_eq!(events[0]["entity"]["host"], "web-1");
    assert_eq!(events[0]["evidence"]["counts"]["failures"], 2);
    drop(stream);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relative_times_are_accepted_wherever_a_time_is() {
    let server = TestServer::start().await;
    let now = now_ms();
    let samples: Vec<Value> = (0..5)
        .map(|i| json!({ "name": "cpu_utilization", "labels": { "host": "a" }, "timestamp": now - (5 - i) * 1000, "value": 1.0 + i as f64 }))
        .collect();
    let response = server
        .client
        .post(server.url("/api/v1/samples"))
        .json(&samples)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let anomalies = server.get_json("/api/v1/anomalies?from=now-1h").await;
    assert_eq!(anomalies["status"], "success");
    let range = server
        .get_json("/api/v1/query_range?query=cpu_utilization&start=now-15m&end=now&step=15s")
        .await;
    assert_eq!(range["data"]["result"][0]["metric"]["host"], "a");
    let instant = server
        .get_json("/api/v1/query?query=cpu_utilization&time=now")
        .await;
    assert_eq!(instant["data"]["result"][0]["value"][1], "5");
    let series = server
        .get_json("/api/v1/series?match[]=cpu_utilization&start=now-2d&end=now")
        .await;
    assert_eq!(series["data"].as_array().unwrap().len(), 1);
    let bad = server
        .client
        .get(server.url("/api/v1/anomalies?from=now-eventually"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("now-eventually"));
    server.stop().await;
}
