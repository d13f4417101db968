//! The cloudwatch source facing what moto never answers: a closed port, garbage, bare 403s
//! and throttling, from a scripted HTTP server on loopback. Each failure is a clear error
//! naming the endpoint and the action; the source backs off and keeps trying.

mod moto;

use std::time::Duration;

use lookout_sources::cloudwatch::CloudWatchSource;
use moto::{cloudwatch_config, errors, free_port, run_source, test_options, Scripted};

fn source_for(endpoint: &str) -> CloudWatchSource {
    let config = cloudwatch_config(&format!(
        "[[source]]\ntype = \"cloudwatch\"\nendpoint = \"{endpoint}\"\ninterval = \"1s\"\nmetrics = [\"CPUUtilization\"]\n"
    ));
    CloudWatchSource::with_client_options(
        "cloudwatch#1",
        &config,
        test_options(&config, "AKIDTEST", "secret"),
    )
    .with_max_backoff(Duration::from_secs(1))
}

const INSTANCES: &str = "<DescribeInstancesResponse><reservationSet><item><instancesSet><item>\
    <instanceId>i-0123</instanceId><instanceType>m5.large</instanceType></item></instancesSet>\
    </item></reservationSet></DescribeInstancesResponse>";

/// The one datapoint's time: two minutes ago, fixed at first use. (Computed per answer, it
/// moved to the next minute when a test ran across a minute boundary, and the "same"
/// datapoint arrived twice.)
static DATAPOINT_AT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let minute = (chrono::Utc::now().timestamp() / 60 - 2) * 60;
    chrono::DateTime::from_timestamp(minute, 0)
        .unwrap()
        .to_rfc3339()
});

fn metric_data(value: f64) -> String {
    let at = DATAPOINT_AT.as_str();
    format!(
        "<GetMetricDataResponse><GetMetricDataResult><MetricDataResults><member><Id>q0</Id>\
         <StatusCode>Complete</StatusCode><Timestamps><member>{at}</member></Timestamps>\
         <Values><member>{value}</member></Values></member></MetricDataResults>\
         </GetMetricDataResult></GetMetricDataResponse>"
    )
}

#[test]
fn a_closed_port_is_reported_with_the_endpoint_and_retried_with_back_off() {
    let port = free_port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let source = source_for(&endpoint);
    let calls = source.calls();
    let batches = run_source(source, Duration::from_secs(15), |_| {
        calls.describe_instances() >= 4
    });
    let errors = errors(&batches);
    assert_eq!(errors.len(), 1, "reported once while it lasts: {errors:?}");
    assert!(
        errors[0].contains(&format!("cannot reach {endpoint}"))
            && errors[0].contains("DescribeInstances"),
        "{}",
        errors[0]
    );
    assert!(calls.describe_instances() >= 4, "still retrying");
}

#[test]
fn garbage_answers_name_the_endpoint_and_what_was_wrong() {
    let server = Scripted::start(|body, _| {
        if body.contains("Action=DescribeInstances") {
            (200, INSTANCES.to_string())
        } else {
            (200, "<html><body>captive portal</body></html>".to_string())
        }
    });
    let batches = run_source(source_for(&server.endpoint), Duration::from_secs(15), |b| {
        !errors(b).is_empty()
    });
    let errors = errors(&batches);
    assert!(
        errors[0].contains(&format!(
            "unexpected answer from {} to GetMetricData",
            server.endpoint
        )) && errors[0].contains("expected <GetMetricDataResponse>, found <html>"),
        "{errors:?}"
    );
}

#[test]
fn a_bare_403_is_a_clear_rejection() {
    let server = Scripted::start(|_, _| (403, "Forbidden".to_string()));
    let batches = run_source(source_for(&server.endpoint), Duration::from_secs(15), |b| {
        !errors(b).is_empty()
    });
    let errors = errors(&batches);
    assert!(
        errors[0].contains(&server.endpoint)
            && errors[0].contains("rejected DescribeInstances")
            && errors[0].contains("HTTP 403"),
        "{errors:?}"
    );
}

#[test]
fn throttling_is_retried_within_the_poll_and_recovery_clears_the_error() {
    // The first GetMetricData is throttled (retried at once, invisible); the 3rd to 6th
    // answers fail with 500s so a whole poll fails; later ones succeed.
    let server = Scripted::start(|body, count| {
        if body.contains("Action=DescribeInstances") {
            return (200, INSTANCES.to_string());
        }
        match count {
            2 => (400, "<ErrorResponse><Error><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>".to_string()),
            4..=7 => (500, "<ErrorResponse><Error><Code>InternalFailure</Code><Message>oops</Message></Error></ErrorResponse>".to_string()),
            _ => (200, metric_data(42.0)),
        }
    });
    let requests = server.requests.clone();
    let batches = run_source(
        source_for(&server.endpoint),
        Duration::from_secs(20),
        |_| requests.lock().unwrap().len() >= 10,
    );
    let samples: Vec<_> = batches.iter().flat_map(|b| b.samples.iter()).collect();
    assert_eq!(samples.len(), 1, "the datapoint once, despite the retries");
    assert_eq!(samples[0].value, 42.0);
    assert_eq!(samples[0].key.name, "aws_ec2_cpu_utilization");
    assert_eq!(samples[0].key.labels["instance_type"], "m5.large");
    let errors = errors(&batches);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("still failing GetMetricData after 2 attempts")
            && errors[0].contains("InternalFailure"),
        "{errors:?}"
    );
}
