//! Resource limits (#16): `match[]` caps and the series-visited budget, the global
//! query sample budget, the global in-flight body budget.

mod common;

use common::{now_ms, TestServer};
use lookout_server::ServerOptions;
use serde_json::Value;

/// Stores `count` series `m{i="..."}` with one sample each.
async fn load_series(server: &TestServer, count: usize) {
    let now = now_ms();
    let samples: Vec<String> = (0..count)
        .map(|i| format!(r#"{{"name":"m","labels":{{"i":"{i}"}},"timestamp":{now},"value":1}}"#))
        .collect();
    let response = server
        .post("/api/v1/samples", format!("[{}]", samples.join(",")))
        .await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

async fn post_form(server: &TestServer, path: &str, form: String) -> (u16, Value) {
    let response = server
        .client
        .post(server.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn match_selectors_are_capped_and_budgeted() {
    let options = ServerOptions {
        max_matchers: 5,
        max_series_visited: 50,
        ..ServerOptions::default()
    };
    let server = TestServer::start_with(options, common::engine()).await;
    load_series(&server, 20).await;

    // Within both limits: answered.
    let (status, body) = post_form(&server, "/api/v1/series", "match[]=m".into()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"].as_array().unwrap().len(), 20);

    // More selectors than max_matchers: 400 naming the limit, on every metadata route.
    let many = (0..6)
        .map(|i| format!("match[]=m{{i=\"{i}\"}}"))
        .collect::<Vec<_>>();
    for path in ["/api/v1/series", "/api/v1/labels"] {
        let (status, body) = post_form(&server, path, many.join("&")).await;
        assert_eq!(status, 400, "{path}: {body}");
        let error = body["error"].as_str().unwrap();
        assert!(error.contains("max_matchers = 5"), "{path}: {error}");
    }
    let response = server
        .client
        .get(server.url(&format!("/api/v1/label/i/values?{}", many.join("&"))))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);

    // Within max_matchers but visiting 3 × 20 series > 50: 422 naming the budget.
    let three = "match[]=m&match[]=m{i=\"1\"}&match[]=m{i!=\"2\"}".to_string();
    let (status, body) = post_form(&server, "/api/v1/series", three).await;
    assert_eq!(status, 422, "{body}");
    let error = body["error"].as_str().unwrap();
    assert!(error.contains("max_series_visited"), "{error}");

    // The server still answers after the refusals.
    let health = server
        .client
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert!(health.status().is_success());
    server.stop().await;
}

/// Opens a connection and sends the headers of a `Content-Length: 1000000` POST and
/// `sent` bytes of its body, then holds it open (dropping the stream cancels it).
async fn partial_body(server: &TestServer, sent: usize) -> tokio::net::TcpStream {
    partial_body_from(server, "127.0.0.1".parse().unwrap(), sent).await
}

/// [`partial_body`] from the client address `from` (any of 127.0.0.0/8).
async fn partial_body_from(
    server: &TestServer,
    from: std::net::IpAddr,
    sent: usize,
) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let address = server.base.trim_start_matches("http://");
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(std::net::SocketAddr::new(from, 0)).unwrap();
    let mut stream = socket.connect(address.parse().unwrap()).await.unwrap();
    let head = format!(
        "POST /api/v1/samples HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&vec![b' '; sent]).await.unwrap();
    stream.flush().await.unwrap();
    stream
}

/// Polls `probe` (a 40,000-byte body) until its status satisfies `done`, for at most a
/// generous minute.
async fn poll_status(server: &TestServer, done: impl Fn(u16) -> bool) -> reqwest::Response {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let response = server.post("/api/v1/samples", vec![b' '; 40_000]).await;
        if done(response.status().as_u16()) || std::time::Instant::now() > deadline {
            return response;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inflight_body_budget_refuses_and_is_given_back_on_cancel() {
    let options = ServerOptions {
        max_body_bytes: 1 << 20,
        max_inflight_body_bytes: 100_000,
        ..ServerOptions::default()
    };
    let server = TestServer::start_with(options, common::engine()).await;
    // A connection holds a body that never finishes: its first 64 KiB are reserved
    // (a second one does not fit and is refused at once). The probes start once the
    // server holds it: a probe read first once took the budget and refused the holder.
    let first = partial_body(&server, 40_000).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while common::counter(&server.metrics().await, "lookout_inflight_body_bytes") < 40_000.0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the held body never arrived"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let second = partial_body(&server, 40_000).await;
    // A third 40,000-byte body does not fit beside it: 503 naming the budget.
    let response = poll_status(&server, |status| status == 503).await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    // Answered before the body was read: the connection is not reused (the next request
    // on it once failed with an incomplete message).
    assert_eq!(response.headers()["connection"], "close");
    let body: Value = response.json().await.unwrap();
    let error = body["error"].as_str().unwrap();
    assert!(error.contains("max_inflight_body_bytes"), "{error}");
    let metrics = server.metrics().await;
    assert!(metrics.contains("inflight_body_budget"), "{metrics}");

    // Cancelled requests give their bytes back: the same body is read again (and
    // refused as JSON, not for the budget).
    drop(first);
    drop(second);
    let response = poll_status(&server, |status| status != 503).await;
    assert_eq!(response.status(), 400, "{}", response.text().await.unwrap());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_sample_budget_is_shared_across_queries() {
    let options = ServerOptions {
        max_query_samples_total: 10,
        ..ServerOptions::default()
    };
    let server = TestServer::start_with(options, common::engine()).await;
    load_series(&server, 20).await;
    // 20 samples do not fit the 10 the queries in flight may share: 503, Retry-After.
    let at = now_ms() as f64 / 1000.0;
    let response = server
        .client
        .get(server.url(&format!("/api/v1/query?query=m&time={at}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    let body: Value = response.json().await.unwrap();
    let error = body["error"].as_str().unwrap();
    assert!(error.contains("max_query_samples_total"), "{error}");
    // A query within the shared budget is answered.
    let response = server
        .client
        .get(server.url(&format!("/api/v1/query?query=m{{i=\"3\"}}&time={at}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    server.stop().await;
}

/// A range answer's points once left the shared query budget as soon as its evaluation
/// ended, while the answer was still in memory being written to a slow client: other
/// queries could load as much again beside it. The points are now held until the answer
/// has been handed over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn range_answer_holds_its_samples_in_the_shared_budget_while_it_streams() {
    let options = ServerOptions {
        max_query_samples_total: 1_500_000,
        lookback_ms: 3 * 3_600_000,
        ..ServerOptions::default()
    };
    let server = TestServer::start_with(options, common::engine()).await;
    load_series(&server, 100).await;
    let at = now_ms() / 1000;
    // 100 series x 10,800 steps: 1,080,000 points, ~25 MB of JSON, far more than the
    // chunks the writer may be ahead plus what the sockets buffer.
    let range = format!(
        "/api/v1/query_range?query=m&start={}&end={}&step=1",
        at,
        at + 10_799
    );
    let first = server.client.get(server.url(&range)).send().await.unwrap();
    assert_eq!(first.status(), 200);
    // The first answer is not read: its points stay counted, so the same query again
    // does not fit the 1,500,000 samples beside it.
    let second = server.client.get(server.url(&range)).send().await.unwrap();
    assert_eq!(second.status(), 503, "{}", second.text().await.unwrap());
    let body: Value = second.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("max_query_samples_total"),
        "{body}"
    );
    // Once the first answer has been read to its end, its samples are given back.
    let answer: Value = first.json().await.unwrap();
    assert_eq!(answer["data"]["result"].as_array().unwrap().len(), 100);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let again = server.client.get(server.url(&range)).send().await.unwrap();
        if again.status() == 200 {
            let answer: Value = again.json().await.unwrap();
            assert_eq!(answer["data"]["result"].as_array().unwrap().len(), 100);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the samples of the answer read were never given back"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    server.stop().await;
}

/// Query routes once read their form bodies outside the in-flight body budget: bodies
/// held open by slow clients on `POST /api/v1/query` now count against it like
/// ingestion's, and a body over the query limit is refused as it arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_bodies_count_against_the_inflight_budget_and_have_a_limit() {
    let options = ServerOptions {
        max_inflight_body_bytes: 100_000,
        ..ServerOptions::default()
    };
    let server = TestServer::start_with(options, common::engine()).await;
    let form = |bytes: usize| format!("query=up&pad={}", "x".repeat(bytes));
    let post_query = |body: String| {
        server
            .client
            .post(server.url("/api/v1/query"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let response = post_query(form(3 << 20))
        .await
        .expect("an answer, not a reset");
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("for query parameters"),
        "{body}"
    );
    // An ingestion body held open takes most of the budget: a 40,000-byte query waits
    // for nothing and is refused with 503, then served once the bytes are given back.
    let held = partial_body(&server, 90_000).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let Ok(response) = post_query(form(40_000)).await else {
            assert!(std::time::Instant::now() < deadline, "never answered");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            continue;
        };
        if response.status() == 503 {
            let body: Value = response.json().await.unwrap();
            assert!(body["error"]
                .as_str()
                .unwrap()
                .contains("max_inflight_body_bytes"));
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never refused");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    drop(held);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let response = post_query(form(40_000)).await.unwrap();
        if response.status() == 200 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never served again");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    server.stop().await;
}

/// A query body a little over its limit was refused before it was read and the connection
/// closed under the client, which saw a broken pipe instead of the 413 about one time in
/// ten; a body up to `REFUSED_BODY_DRAIN_BYTES` over is now read to its end first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_just_over_the_limit_gets_its_413_not_a_reset() {
    let server = TestServer::start().await;
    let limit = lookout_server::ingest::routes::MAX_QUERY_BODY_BYTES;
    for over in [
        1,
        64 << 10,
        1 << 20,
        lookout_server::ingest::routes::REFUSED_BODY_DRAIN_BYTES,
    ] {
        for _ in 0..5 {
            let response = server
                .client
                .post(server.url("/api/v1/query"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("a".repeat(limit + over))
                .send()
                .await
                .unwrap_or_else(|error| panic!("{over} bytes over the limit: {error}"));
            assert_eq!(response.status(), 413, "{over} bytes over the limit");
        }
    }
    server.stop().await;
}

/// One client holding slow bodies open took the whole in-flight body budget, and every
/// other client's ingestion got 503 until its bodies timed out; one address may now
/// hold only `max_inflight_body_bytes_per_client` of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_holding_slow_bodies_cannot_refuse_everyone_else() {
    let options = ServerOptions {
        max_body_bytes: 1 << 20,
        max_inflight_body_bytes: 400_000,
        max_inflight_body_bytes_per_client: 150_000,
        ..ServerOptions::default()
    };
    let server = TestServer::start_with(options, common::engine()).await;
    let abuser: std::net::IpAddr = "127.0.0.2".parse().unwrap();
    // Each held body reserves its first 64 KiB: two fit the abuser's share of 150,000.
    let mut held = Vec::new();
    for count in 1..=2 {
        held.push(partial_body_from(&server, abuser, 40_000).await);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while common::counter(&server.metrics().await, "lookout_inflight_body_bytes")
            < (count * 65_536) as f64
        {
            assert!(
                std::time::Instant::now() < deadline,
                "held body {count} never arrived"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
    // The abuser's next body is refused for its share, naming it and the address.
    let abuser_client = reqwest::Client::builder()
        .local_address(abuser)
        .build()
        .unwrap();
    let response = abuser_client
        .post(server.url("/api/v1/samples"))
        .body(vec![b' '; 40_000])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    let error = body["error"].as_str().unwrap();
    assert!(
        error.contains("max_inflight_body_bytes_per_client") && error.contains("127.0.0.2"),
        "{error}"
    );
    // Everyone else still writes.
    let now = now_ms();
    let samples = format!(r#"[{{"name":"m","timestamp":{now},"value":1}}]"#);
    let response = server.post("/api/v1/samples", samples).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let metrics = server.metrics().await;
    assert!(metrics.contains("inflight_body_client_share"), "{metrics}");
    drop(held);
    server.stop().await;
}
