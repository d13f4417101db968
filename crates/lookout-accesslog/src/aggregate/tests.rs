use super::*;

fn request<'a>(ts: i64, client: &'a str, path: &'a str, status: u16) -> Request<'a> {
    Request {
        timestamp_ms: Some(ts),
        client,
        method: "GET",
        path,
        status,
        bytes: 10,
        request_time: Some(0.1),
        upstream_time: None,
        vhost: None,
    }
}

fn config() -> AggregatorConfig {
    AggregatorConfig {
        interval_ms: 1000,
        grace_ms: 500,
        ..AggregatorConfig::default()
    }
}

#[test]
fn intervals_close_on_later_lines_and_gaps_are_reported_empty() {
    let mut aggregator = Aggregator::new(config());
    let mut out = Vec::new();
    aggregator.observe(&request(100, "a", "/u/1", 200), "l1", 0, &mut out);
    aggregator.observe(&request(900, "b", "/u/2", 500), "l2", 0, &mut out);
    assert!(out.is_empty());
    aggregator.observe(&request(3100, "a", "/x", 404), "l3", 0, &mut out);
    assert_eq!(out.len(), 3, "the first interval and two empty ones");
    let first = &out[0];
    assert_eq!(first.start_ms, 0);
    assert_eq!(first.total.requests, 2);
    assert_eq!(first.total.class(2), 1);
    assert_eq!(first.total.class(5), 1);
    assert_eq!(first.total.bytes, 20);
    assert_eq!(first.routes.len(), 1);
    assert_eq!(first.routes[0].route, "/u/:id");
    assert_eq!(first.routes[0].error_examples, ["l2"]);
    assert_eq!(first.error_examples, ["l2"]);
    assert_eq!(first.vhosts[0].0, NO_VHOST);
    assert!(first.total.latency.is_some());
    assert_eq!((out[1].start_ms, out[1].total.requests), (1000, 0));
    assert_eq!((out[2].start_ms, out[2].total.requests), (2000, 0));
    // A late line is counted in the open interval.
    aggregator.observe(&request(1500, "a", "/x", 200), "late", 0, &mut out);
    aggregator.finish(&mut out);
    let last = out.last().unwrap();
    assert_eq!(
        (last.start_ms, last.total.requests, last.late),
        (3000, 2, 1)
    );
}

#[test]
fn flush_closes_after_the_grace_period_and_reports_silence() {
    let mut aggregator = Aggregator::new(config());
    let mut out = Vec::new();
    aggregator.observe(&request(100, "a", "/", 200), "l", 0, &mut out);
    aggregator.flush(1400, &mut out);
    assert!(out.is_empty());
    aggregator.flush(1500, &mut out);
    assert_eq!(out.len(), 1);
    aggregator.flush(4600, &mut out);
    let starts: Vec<i64> = out.iter().map(|summary| summary.start_ms).collect();
    assert_eq!(starts, [0, 1000, 2000, 3000]);
}

#[test]
fn routes_and_hosts_are_bounded_with_other_buckets() {
    let mut aggregator = Aggregator::new(AggregatorConfig {
        max_routes: 3,
        max_vhosts: 2,
        ..config()
    });
    let mut out = Vec::new();
    let hosts = ["a", "b", "c", "d"];
    for index in 0..40 {
        let path = format!("/r{}/x", index % 10);
        let mut line = request(10, "c", &path, 200);
        line.vhost = Some(hosts[index % 4]);
        aggregator.observe(&line, "l", 0, &mut out);
    }
    aggregator.finish(&mut out);
    let summary = &out[0];
    assert_eq!(summary.total.requests, 40);
    let hosts: Vec<&str> = summary
        .vhosts
        .iter()
        .map(|(name, _)| name.as_str())
        .collect();
    assert_eq!(hosts, [":other", "a", "b"]);
    let routed: u64 = summary
        .routes
        .iter()
        .map(|route| route.counts.requests)
        .sum();
    assert_eq!(routed, 40, "every request is under one route");
    let own = summary
        .routes
        .iter()
        .filter(|route| route.route != OTHER_ROUTE);
    assert_eq!(own.count(), 3);
    assert!(summary
        .routes
        .iter()
        .any(|route| route.route == OTHER_ROUTE));
}

#[test]
fn top_clients_come_from_the_sketch_with_examples() {
    let mut aggregator = Aggregator::new(config());
    let mut out = Vec::new();
    for index in 0..100 {
        let client = if index % 2 == 0 { "flood" } else { "x" };
        let other = format!("c{index}");
        let client = if index % 4 == 1 {
            other.as_str()
        } else {
            client
        };
        aggregator.observe(&request(10, client, "/", 200), client, 0, &mut out);
    }
    aggregator.finish(&mut out);
    let summary = &out[0];
    assert_eq!(summary.top_clients[0], ("flood".to_string(), 50));
    assert_eq!(summary.top_client_examples, ["flood", "flood", "flood"]);
    assert!(summary.top_clients.len() <= 5);
}

#[test]
fn slow_examples_keep_the_slowest() {
    let mut aggregator = Aggregator::new(config());
    let mut out = Vec::new();
    for (index, seconds) in [0.1, 0.9, 0.3, 0.5, 2.0, 0.2].iter().enumerate() {
        let mut line = request(10, "a", "/", 200);
        line.request_time = Some(*seconds);
        aggregator.observe(&line, &format!("line{index}"), 0, &mut out);
    }
    aggregator.finish(&mut out);
    let slow: Vec<f64> = out[0].slow_examples.iter().map(|(s, _)| *s).collect();
    assert_eq!(slow, [2.0, 0.9, 0.5]);
}

#[test]
fn lines_without_time_use_their_arrival() {
    let mut aggregator = Aggregator::new(config());
    let mut out = Vec::new();
    let mut line = request(0, "a", "/", 200);
    line.timestamp_ms = None;
    aggregator.observe(&line, "l", 5_300, &mut out);
    aggregator.finish(&mut out);
    assert_eq!(out[0].start_ms, 5_000);
}

#[test]
fn idle_routes_give_their_slot_back() {
    let mut aggregator = Aggregator::new(AggregatorConfig {
        max_routes: 1,
        route_idle_intervals: 2,
        ..config()
    });
    let mut out = Vec::new();
    aggregator.observe(&request(0, "a", "/a", 200), "l", 0, &mut out);
    aggregator.observe(&request(10, "a", "/b", 200), "l", 0, &mut out);
    // Two intervals later /a is idle: /b gets the slot.
    aggregator.observe(&request(3_000, "a", "/b", 200), "l", 0, &mut out);
    aggregator.finish(&mut out);
    let routes = |summary: &IntervalSummary| -> Vec<String> {
        summary
            .routes
            .iter()
            .map(|route| route.route.clone())
            .collect()
    };
    assert_eq!(routes(&out[0]), ["/a", OTHER_ROUTE]);
    assert_eq!(routes(out.last().unwrap()), ["/b"]);
}

#[test]
fn a_million_clients_and_a_hundred_thousand_paths_stay_within_the_bounds() {
    let mut aggregator = Aggregator::new(AggregatorConfig::default());
    let mut out = Vec::new();
    let mut client = String::new();
    let mut path = String::new();
    for index in 0..1_000_000u32 {
        use std::fmt::Write;
        client.clear();
        let _ = write!(
            client,
            "10.{}.{}.{}",
            index >> 16,
            (index >> 8) & 255,
            index & 255
        );
        path.clear();
        // Words, not numbers: each path is its own template.
        let _ = write!(path, "/p{}x/item", index % 100_000);
        let vhost = format!("host{}", index % 100);
        let mut line = request(i64::from(index / 1000) * 1000, &client, &path, 200);
        line.vhost = Some(&vhost);
        aggregator.observe(&line, "l", 0, &mut out);
        assert!(
            aggregator.routes.len()
                <= aggregator.config.max_routes + aggregator.config.max_vhosts + 1
        );
        assert!(aggregator.vhosts.len() <= aggregator.config.max_vhosts + 1);
        assert!(aggregator.clients.held_names() <= 2 * (256 + crate::clients::CACHE_SLOTS));
    }
    aggregator.finish(&mut out);
    let total: u64 = out.iter().map(|summary| summary.total.requests).sum();
    assert_eq!(total, 1_000_000);
}
