//! The cloudwatch source against moto's server mode (a local AWS emulator): instances and
//! datapoints are created there with boto3 (`tests/moto/fixture.py`), then the source
//! discovers, backfills and polls them. Needs `moto[server]` in the peers venv
//! (`tests/peers/install-cloudwatch.sh`): skipped without it, a failure under CI=true.

mod moto;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use lookout_sources::cloudwatch::CloudWatchSource;
use lookout_sources::SourceBatch;
use moto::{cloudwatch_config, errors, run_source, test_options, Moto};

fn samples_of(batches: &[SourceBatch]) -> Vec<&lookout_model::Sample> {
    batches.iter().flat_map(|b| b.samples.iter()).collect()
}

#[test]
fn discovers_tagged_instances_and_backfills_their_series_with_labels_and_values() {
    let Some(program) = moto::moto_server() else {
        return;
    };
    let moto = Moto::start(&program, &[]);
    let minutes = 30;
    let prod = moto.fixture(&[
        "fleet",
        "--count",
        "3",
        "--minutes",
        &minutes.to_string(),
        "--tag",
        "Env=prod",
        "--metrics",
        "CPUUtilization,NetworkIn",
        "--extra",
        "CWAgent:mem_used_percent",
    ]);
    let dev = moto.fixture(&[
        "fleet",
        "--count",
        "1",
        "--minutes",
        "5",
        "--tag",
        "Env=dev",
        "--name",
        "db",
    ]);
    let ids: Vec<String> = prod["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap().to_string())
        .collect();
    let start_s = prod["start"].as_i64().unwrap();
    let config = cloudwatch_config(&format!(
        "[[source]]\ntype = \"cloudwatch\"\nregion = \"us-east-1\"\nendpoint = \"{}\"\n\
         interval = \"1s\"\nmetrics = [\"CPUUtilization\", \"NetworkIn\"]\n\
         tag_filters = {{ Env = [\"prod\"] }}\ntag_labels = [\"Name\", \"Env\"]\n\
         extra_metrics = {{ CWAgent = [\"mem_used_percent\"] }}\nbackfill = \"2h\"\n\
         labels = {{ account = \"test\" }}\n",
        moto.endpoint
    ));
    let source = CloudWatchSource::with_client_options(
        "cloudwatch#1",
        &config,
        test_options(&config, "AKIDTEST", "secret"),
    );
    let calls = source.calls();
    let expected = ids.len() * 3 * minutes;
    // Run until the backfill is in, then two more polls to prove nothing is sent twice.
    let batches = run_source(source, Duration::from_secs(60), |batches| {
        samples_of(batches).len() >= expected && calls.get_metric_data() >= 3
    });
    assert!(errors(&batches).is_empty(), "{:?}", errors(&batches));
    let samples = samples_of(&batches);
    assert_eq!(samples.len(), expected, "every datapoint exactly once");

    let names: BTreeSet<&str> = samples.iter().map(|s| s.key.name.as_str()).collect();
    assert_eq!(
        names,
        BTreeSet::from([
            "aws_ec2_cpu_utilization",
            "aws_ec2_network_in",
            "cwagent_mem_used_percent"
        ])
    );
    let dev_id = dev["instances"][0].as_str().unwrap();
    for sample in &samples {
        let labels = &sample.key.labels;
        let id = labels["instance_id"].as_str();
        assert_ne!(id, dev_id, "tag_filters exclude the dev instance");
        assert_eq!(labels["instance_type"], "t3.micro");
        assert_eq!(labels["region"], "us-east-1");
        assert_eq!(labels["source"], "cloudwatch");
        assert_eq!(labels["tag_name"], "web");
        assert_eq!(labels["tag_env"], "prod");
        assert_eq!(labels["account"], "test");
        // fixture.py: value = 10 * (metric index + 1) + instance index + (minute % 5).
        let metric_index = match sample.key.name.as_str() {
            "aws_ec2_cpu_utilization" => 0,
            "aws_ec2_network_in" => 1,
            _ => {
                assert_eq!(
                    labels["image_id"], "ami-12c6146b",
                    "other dimensions become labels"
                );
                2
            }
        };
        let instance_index = ids.iter().position(|known| known == id).unwrap() as i64;
        let minute = (sample.timestamp_ms / 1000 - start_s) / 60;
        assert!((0..minutes as i64).contains(&minute), "{sample:?}");
        let value = 10 * (metric_index + 1) + instance_index + minute % 5;
        assert_eq!(sample.value, value as f64, "{sample:?}");
    }
    let mut per_series: BTreeMap<_, Vec<i64>> = BTreeMap::new();
    for sample in &samples {
        per_series
            .entry(&sample.key)
            .or_default()
            .push(sample.timestamp_ms);
    }
    assert_eq!(per_series.len(), ids.len() * 3);
    for (key, times) in per_series {
        assert!(times.windows(2).all(|w| w[0] < w[1]), "{key} in time order");
    }
    assert_eq!(
        calls.describe_instances(),
        1,
        "discovery is not repeated every poll"
    );
    assert_eq!(calls.list_metrics(), 1);
}

#[test]
fn wrong_region_finds_no_instances_and_says_where_it_looked() {
    let Some(program) = moto::moto_server() else {
        return;
    };
    let moto = Moto::start(&program, &[]);
    moto.fixture(&["fleet", "--count", "1", "--minutes", "2"]);
    let config = cloudwatch_config(&format!(
        "[[source]]\ntype = \"cloudwatch\"\nregion = \"eu-west-3\"\nendpoint = \"{}\"\ninterval = \"1s\"\n",
        moto.endpoint
    ));
    let source = CloudWatchSource::with_client_options(
        "cloudwatch#1",
        &config,
        test_options(&config, "AKIDTEST", "secret"),
    );
    let batches = run_source(source, Duration::from_secs(20), |b| !errors(b).is_empty());
    let errors = errors(&batches);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("region eu-west-3")
            && errors[0].contains("found no running instance")
            && errors[0].contains(&moto.endpoint),
        "{}",
        errors[0]
    );
}

/// moto checks signatures and IAM policies once `INITIAL_NO_AUTH_ACTION_COUNT` actions
/// have run (the three of `fixture.py iam-user`). A user allowed only CloudWatch is refused
/// DescribeInstances: the source names the missing action once, though it keeps retrying.
#[test]
fn a_denied_call_is_reported_once_with_the_missing_iam_action() {
    let Some(program) = moto::moto_server() else {
        return;
    };
    let moto = Moto::start(&program, &[("INITIAL_NO_AUTH_ACTION_COUNT", "3")]);
    // moto spells CloudWatch's IAM prefix `monitoring:`; AWS spells it `cloudwatch:`.
    let user = moto.fixture(&[
        "iam-user",
        "--allow",
        "monitoring:GetMetricData,monitoring:ListMetrics",
    ]);
    let key = user["access_key_id"].as_str().unwrap();
    let secret = user["secret_access_key"].as_str().unwrap();
    let config = cloudwatch_config(&format!(
        "[[source]]\ntype = \"cloudwatch\"\nendpoint = \"{}\"\ninterval = \"1s\"\n",
        moto.endpoint
    ));
    let source = CloudWatchSource::with_client_options(
        "cloudwatch#1",
        &config,
        test_options(&config, key, secret),
    )
    .with_max_backoff(Duration::from_millis(300));
    let calls = source.calls();
    let batches = run_source(source, Duration::from_secs(30), |_| {
        calls.describe_instances() >= 4
    });
    assert!(calls.describe_instances() >= 4, "it keeps retrying");
    let errors = errors(&batches);
    assert_eq!(errors.len(), 1, "reported once: {errors:?}");
    assert!(
        errors[0].contains("permission denied") && errors[0].contains("ec2:DescribeInstances"),
        "{}",
        errors[0]
    );
    assert!(!errors[0].contains(secret), "no secret in messages");

    // The same user with a wrong secret: moto's signature check refuses it.
    let source = CloudWatchSource::with_client_options(
        "cloudwatch#1",
        &config,
        test_options(&config, key, "not-the-secret"),
    );
    let batches = run_source(source, Duration::from_secs(20), |b| {
        !moto::errors(b).is_empty()
    });
    let errors = moto::errors(&batches);
    assert!(
        errors[0].contains("refused the credentials") && errors[0].contains("DescribeInstances"),
        "{errors:?}"
    );
}
