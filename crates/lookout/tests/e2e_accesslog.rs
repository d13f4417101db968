//! End to end with a real nginx: it serves on loopback and writes its access log in the
//! `combined` format and in a custom `log_format` with `$request_time`; `lookout serve`
//! follows both with `[[source]] type = "access_log"`. Steady traffic, then a location
//! that answers 500: the derived series are queryable, labelled with their log, and
//! `error_rate_spike` and `route_failing` are listed by `GET /api/v1/events`.

mod e2e_support;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use e2e_support::{eventually, free_port, nginx, ChildGuard, Lookout};

const TIMED: &str = "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\" rt=$request_time";

fn start_nginx(binary: &Path, dir: &Path, port: u16) -> ChildGuard {
    let d = dir.display();
    nginx::start(
        binary,
        dir,
        &format!(
            "log_format timed '{TIMED}';\n\
             access_log {d}/combined.log combined;\n\
             access_log {d}/timed.log timed;\n\
             server {{\n\
               listen 127.0.0.1:{port};\n\
               location / {{ return 200 \"ok\\n\"; }}\n\
               location /api/orders/ {{ return 500; }}\n\
             }}"
        ),
    )
}

#[test]
fn nginx_logs_become_series_and_a_failing_location_raises_events() {
    let Some(nginx) = nginx::binary() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let web = dir.path().join("web");
    std::fs::create_dir(&web).unwrap();
    let port = free_port();
    let _nginx = start_nginx(&nginx, &web, port);
    let base = format!("http://127.0.0.1:{port}");
    let client = e2e_support::reqwest::blocking_client();
    eventually("nginx answers", Duration::from_secs(20), || {
        client
            .get(format!("{base}/"))
            .send()
            .ok()
            .filter(|r| r.status().is_success())
    });
    let config = format!(
        "[[source]]\ntype = \"access_log\"\npath = \"{w}/combined.log\"\ninterval = \"1s\"\n\
         [[source]]\ntype = \"access_log\"\npath = \"{w}/timed.log\"\ninterval = \"1s\"\nformat = '{TIMED}'\n",
        w = web.display()
    );
    let lookout = Lookout::start(&dir.path().join("data"), &config);

    // Steady traffic from a thread; after the warm-up, one location starts failing.
    let failing = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let traffic = {
        let (failing, stop, base) = (failing.clone(), stop.clone(), base.clone());
        std::thread::spawn(move || {
            let client = e2e_support::reqwest::blocking_client();
            let mut index = 0u64;
            while !stop.load(Ordering::SeqCst) {
                index += 1;
                let path = if failing.load(Ordering::SeqCst) && index.is_multiple_of(2) {
                    format!("/api/orders/{index}")
                } else {
                    format!("/users/{}", index % 50)
                };
                let _ = client.get(format!("{base}{path}")).send();
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    // Warm-up: 12 intervals of 1 s, plus margin.
    std::thread::sleep(Duration::from_secs(18));
    let series = lookout.get_json("/api/v1/series?match[]=log_http_requests_per_second");
    let logs: Vec<String> = series["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|labels| labels["log"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(logs.contains(&"access_log#1".to_string()), "{series}");
    assert!(logs.contains(&"access_log#2".to_string()), "{series}");
    let latency = lookout.get_json("/api/v1/series?match[]=log_http_request_duration_seconds");
    assert!(
        !latency["data"].as_array().unwrap().is_empty(),
        "the timed log has latency quantiles"
    );
    assert!(
        lookout.events("error_rate_spike").is_empty(),
        "no event on steady traffic"
    );

    failing.store(true, Ordering::SeqCst);
    let spike = eventually("error_rate_spike", Duration::from_secs(30), || {
        lookout.events("error_rate_spike").into_iter().next()
    });
    let route = eventually("route_failing", Duration::from_secs(30), || {
        lookout.events("route_failing").into_iter().next()
    });
    stop.store(true, Ordering::SeqCst);
    traffic.join().unwrap();
    assert_eq!(route["entity"]["route"], "/api/orders/:id", "{route}");
    let examples = spike["evidence"]["examples"].as_array().unwrap();
    assert!(
        examples
            .iter()
            .any(|line| line.as_str().unwrap().contains("/api/orders/")),
        "{spike}"
    );
}
