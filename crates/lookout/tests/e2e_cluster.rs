//! End to end with real peers: three `nats-server` processes (Debian `nats-server`,
//! `tests/peers/install-cluster.sh`) clustered with JetStream on loopback, and three
//! `lookout serve` nodes with `[cluster]`.
//!
//! Influx writes go to every node; each acknowledged sample must be stored, scored,
//! on exactly one node: the one holding its partition's lease. Then one node is
//! killed with `kill -9`: its partitions must be taken by the others within 10 s, and
//! samples written afterwards are scored by their new owners. A node started with a
//! live node's id is refused, and so is one with another partition count; with every NATS server gone, a write answers 503.

mod e2e_support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use e2e_support::{eventually, find_peer, free_port, now_ms, reqwest, ChildGuard, Lookout};
use lookout_model::SeriesKey;

const PARTITIONS: u32 = 12;
const SERIES: usize = 48;
const METRIC: &str = "e2e_cluster_value";

struct Nats {
    servers: Vec<ChildGuard>,
    urls: Vec<String>,
}

/// Three JetStream servers routed to each other.
fn start_nats(binary: &Path, dir: &Path) -> Nats {
    let client: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let routes: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let mut servers = Vec::new();
    for i in 0..3 {
        let store = dir.join(format!("nats-{i}"));
        std::fs::create_dir_all(&store).expect("nats dir");
        let others: Vec<String> = (0..3)
            .filter(|j| *j != i)
            .map(|j| format!("nats://127.0.0.1:{}", routes[j]))
            .collect();
        servers.push(ChildGuard::spawn(
            "nats-server",
            Command::new(binary)
                .args(["-a", "127.0.0.1", "-p", &client[i].to_string(), "-js"])
                .arg("-sd")
                .arg(&store)
                .args(["-n", &format!("n{i}"), "--cluster_name", "e2e"])
                .args(["--cluster", &format!("nats://127.0.0.1:{}", routes[i])])
                .args(["--routes", &others.join(",")]),
            &dir.join(format!("nats-{i}.log")),
        ));
    }
    Nats {
        servers,
        urls: client
            .iter()
            .map(|port| format!("nats://127.0.0.1:{port}"))
            .collect(),
    }
}

fn node_config(id: &str, nats: &Nats) -> String {
    let urls: Vec<String> = nats.urls.iter().map(|url| format!("{url:?}")).collect();
    format!(
        "[cluster]\nnode_id = \"{id}\"\nnats = [{}]\npartitions = {PARTITIONS}\nlease_ttl = \"3s\"\n",
        urls.join(", ")
    )
}

fn host(i: usize) -> String {
    format!("h{i}")
}

fn partition_of(i: usize) -> u32 {
    let key = SeriesKey::new(METRIC).with_label("host", host(i));
    (key.stable_hash() % u64::from(PARTITIONS)) as u32
}

/// Partition → owner, from one node's `GET /api/v1/cluster`.
fn owners(node: &Lookout) -> BTreeMap<u32, String> {
    let status = node.get_json("/api/v1/cluster");
    status["partitions"]
        .as_array()
        .expect("partitions")
        .iter()
        .filter_map(|p| {
            let owner = p["owner"].as_str()?;
            Some((p["partition"].as_u64()? as u32, owner.to_string()))
        })
        .collect()
}

/// Writes one point per series at `timestamp_ms`, the series spread over `nodes`.
fn write_round(nodes: &[&Lookout], timestamp_ms: i64, round: usize) {
    let client = reqwest::blocking_client();
    for (n, node) in nodes.iter().enumerate() {
        let body: String = (0..SERIES)
            .filter(|i| i % nodes.len() == n)
            .map(|i| {
                format!(
                    "e2e_cluster,host={} value={} {timestamp_ms}\n",
                    host(i),
                    (i + round) % 7
                )
            })
            .collect();
        let response = client
            .post(node.url("/api/v2/write?precision=ms"))
            .body(body)
            .send()
            .expect("write");
        assert_eq!(
            response.status().as_u16(),
            204,
            "write to {}: {:?}",
            node.base,
            response.text()
        );
    }
}

/// host → (count of stored samples, count of scores) on one node, since `window`.
fn stored(node: &Lookout, query: &str) -> BTreeMap<String, f64> {
    let path = format!("/api/v1/query?query={}", urlencode(query));
    let answer = node.get_json(&path);
    answer["data"]["result"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| {
            let host = r["metric"]["host"].as_str()?.to_string();
            let value: f64 = r["value"][1].as_str()?.parse().ok()?;
            Some((host, value))
        })
        .collect()
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'.' | b'-' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn counts(node: &Lookout) -> (BTreeMap<String, f64>, BTreeMap<String, f64>) {
    (
        stored(node, &format!("count_over_time({METRIC}[10m])")),
        stored(
            node,
            &format!("count_over_time(lookout_anomaly_score{{lookout_metric=\"{METRIC}\"}}[10m])"),
        ),
    )
}

#[test]
fn writes_go_to_their_partition_owner_and_a_dead_node_is_replaced_within_10s() {
    let Some(binary) = find_peer("nats-server", "nats-server") else {
        return;
    };
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut nats = start_nats(&binary, dir.path());
    let data = |id: &str| -> PathBuf { dir.path().join(format!("data-{id}")) };
    let a = Lookout::start(&data("a"), &node_config("a", &nats));
    let b = Lookout::start(&data("b"), &node_config("b", &nats));
    let mut c = Lookout::start(&data("c"), &node_config("c", &nats));
    let ids = ["a", "b", "c"];
    // Balanced: ceil(12 / 3) = 4 partitions each, which no node then gives up.
    let balanced = eventually(
        "four partitions owned by each node",
        Duration::from_secs(40),
        || {
            let owners = owners(&a);
            let held = |id: &str| owners.values().filter(|owner| *owner == id).count();
            ids.iter().all(|id| held(id) == 4).then_some(owners)
        },
    );

    // Five rounds to all three nodes: every acknowledged point on its owner, scored.
    let base = now_ms() - 60_000;
    for round in 0..5 {
        write_round(&[&a, &b, &c], base + round as i64 * 1_000, round);
    }
    let nodes = [("a", &a), ("b", &b), ("c", &c)];
    eventually(
        "every acknowledged sample stored and scored on its owner",
        Duration::from_secs(20),
        || {
            let owners = owners(&a);
            for (id, node) in nodes {
                let (samples, scores) = counts(node);
                for i in 0..SERIES {
                    let owned_here = owners.get(&partition_of(i)).map(String::as_str) == Some(id);
                    let have = samples.get(&host(i)).copied().unwrap_or(0.0);
                    if owned_here
                        && (have != 5.0 || scores.get(&host(i)).copied().unwrap_or(0.0) < 1.0)
                    {
                        return None;
                    }
                    assert!(
                        owned_here || have == 0.0,
                        "{} stored on {id}, which does not own partition {}",
                        host(i),
                        partition_of(i)
                    );
                }
            }
            Some(())
        },
    );

    // kill -9 one node: its partitions move to the others within 10 s.
    c.guard.kill_hard();
    let killed = Instant::now();
    let moved = eventually("c's partitions taken over", Duration::from_secs(15), || {
        let owners = owners(&a);
        (owners.len() == PARTITIONS as usize && owners.values().all(|owner| owner != "c"))
            .then(|| (killed.elapsed(), owners))
    });
    eprintln!("partitions of the killed node taken over in {:?}", moved.0);
    assert!(
        moved.0 <= Duration::from_secs(10),
        "takeover took {:?}",
        moved.0
    );

    // Later points, to the survivors: scored by the new owners.
    for round in 5..8 {
        write_round(&[&a, &b], base + round as i64 * 1_000, round);
    }
    let survivors = [("a", &a), ("b", &b)];
    eventually(
        "later samples scored by the new owners",
        Duration::from_secs(20),
        || {
            let owners = owners(&a);
            for (id, node) in survivors {
                let (samples, scores) = counts(node);
                for i in 0..SERIES {
                    if owners.get(&partition_of(i)).map(String::as_str) != Some(id) {
                        continue;
                    }
                    let was_c = balanced.get(&partition_of(i)).map(String::as_str) == Some("c");
                    let have = samples.get(&host(i)).copied().unwrap_or(0.0);
                    // A series that moved holds at least the points written after the
                    // takeover (and any the old owner scored after its last progress write).
                    let enough = if was_c { have >= 3.0 } else { have == 8.0 };
                    if !enough || scores.get(&host(i)).copied().unwrap_or(0.0) < 1.0 {
                        return None;
                    }
                }
            }
            Some(())
        },
    );

    // A second node with a live node's id is refused at start.
    let mut twin = Lookout::spawn_on(&data("a2"), &node_config("a", &nats), free_port());
    let refused = eventually(
        "the twin of node a to exit",
        Duration::from_secs(20),
        || twin.guard.exited_output(),
    );
    assert!(refused.contains("already live"), "{refused}");
    // So is one with another partition count than the stream's.
    let other_count = node_config("d", &nats).replace("partitions = 12", "partitions = 8");
    let mut odd = Lookout::spawn_on(&data("d"), &other_count, free_port());
    let refused = eventually(
        "the node with 8 partitions to exit",
        Duration::from_secs(20),
        || odd.guard.exited_output(),
    );
    assert!(refused.contains("partitioned 12 ways"), "{refused}");

    // No NATS server left: nothing can be acknowledged.
    for server in &mut nats.servers {
        server.kill_hard();
    }
    let response = reqwest::blocking_client()
        .post(a.url("/api/v2/write?precision=ms"))
        .body(format!("e2e_cluster,host=h0 value=1 {}\n", now_ms()))
        .send()
        .expect("write");
    assert_eq!(response.status().as_u16(), 503, "{:?}", response.text());
    assert!(
        started.elapsed() < Duration::from_secs(90),
        "took {:?}",
        started.elapsed()
    );
}
