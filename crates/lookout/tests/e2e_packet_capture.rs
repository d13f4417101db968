//! End to end with the real binary and real floods: `lookout serve` captures on one end
//! of a veth pair whose other end lives in a network namespace the test creates; hping3
//! floods the namespace's address (every packet stays on the pair: the namespace has no
//! route anywhere else, so its answers to spoofed sources are dropped inside it). Each
//! flood kind must arrive as its event, with its victim; ordinary pings raise nothing.
//! A last bounded SYN flood checks the capture keeps account: every frame hping3 sent is
//! captured or counted as a kernel drop on `/metrics`, and no second is lost between the
//! capture and ingestion (`lookout_packet_capture_batches_total{outcome="dropped"}` 0).
//! Needs root (as CI runs), iproute2 and hping3 (tests/peers/install-traffic.sh).

mod e2e_support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use e2e_support::netns::{is_root, run, Network};
use e2e_support::{eventually, find_peer, Lookout};

const HOST_ADDRESS: &str = "10.203.7.1";
const VICTIM: &str = "10.203.7.2";

fn events(lookout: &Lookout, kind: &str) -> Vec<serde_json::Value> {
    let answer = lookout.get_json(&format!("/api/v1/events?from=now-10m&kind={kind}"));
    answer["data"]["events"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Starts a flood bounded by time and by count; the caller waits for it.
fn flood(hping3: &std::path::Path, mode: &[&str], seconds: u64) -> std::process::Child {
    Command::new("timeout")
        .arg(seconds.to_string())
        .arg(hping3)
        .args(["-c", "2000000"])
        .args(mode)
        .args(["--flood", "--rand-source", "-q", VICTIM])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("running hping3")
}

#[test]
fn live_floods_on_a_veth_are_named_within_seconds_and_pings_raise_nothing() {
    if !is_root() {
        assert!(
            std::env::var("CI").is_err(),
            "packet capture tests need root under CI"
        );
        eprintln!("SKIPPED: packet capture needs root");
        return;
    }
    let (Some(_), Some(_), Some(hping3)) = (
        find_peer("ip", "iproute2"),
        find_peer("ping", "iputils-ping"),
        find_peer("hping3", "hping3"),
    ) else {
        return;
    };
    let network = Network::create("lk", HOST_ADDRESS, VICTIM);
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[[source]]\ntype = \"packet_capture\"\ninterface = \"{}\"\nlabels = {{ site = \"lab\" }}\n",
        network.outer
    );
    let lookout = Lookout::start(&dir.path().join("data"), &config);
    let started = Instant::now();
    run("ping", &["-c", "5", "-i", "0.2", "-q", VICTIM]);
    eventually(
        "the capture's first series",
        Duration::from_secs(30),
        || {
            let answer = lookout.get_json("/api/v1/series?match[]=net_packets_per_second");
            answer["data"].as_array().filter(|s| !s.is_empty()).cloned()
        },
    );
    // Ordinary traffic through the learning period: nothing to report.
    while started.elapsed() < Duration::from_secs(25) {
        run("ping", &["-c", "10", "-i", "0.2", "-q", VICTIM]);
    }
    let quiet = lookout.get_json("/api/v1/events?from=now-10m");
    let quiet = quiet["data"]["events"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(quiet.is_empty(), "pings raised events: {quiet:#?}");

    for (mode, kind) in [
        (&["-S", "-p", "80"][..], "syn_flood"),
        (&["--udp", "-p", "9999"][..], "udp_flood"),
        (&["--icmp"][..], "icmp_flood"),
        (&["-F", "-p", "80"][..], "fin_flood"),
        (&["-R", "-p", "80"][..], "rst_flood"),
        (&["-P", "-A", "-p", "80"][..], "push_ack_flood"),
    ] {
        let onset = Instant::now();
        let mut hping = flood(&hping3, mode, 4);
        let event = eventually(kind, Duration::from_secs(15), || {
            events(&lookout, kind).into_iter().next()
        });
        let latency = onset.elapsed();
        let status = hping.wait().expect("waiting for hping3");
        // timeout exits 124 when it stopped the flood, which is the usual end.
        assert!(
            status.success() || status.code() == Some(124),
            "hping3 {mode:?}: {status}"
        );
        eprintln!(
            "{kind}: listed {:.2} s after the flood began",
            latency.as_secs_f64()
        );
        // The target is 2 s; a loaded test machine gets one more.
        assert!(latency < Duration::from_secs(3), "{kind} took {latency:?}");
        assert_eq!(event["entity"]["victim"], VICTIM, "{event}");
        assert_eq!(
            event["entity"]["interface"],
            network.outer.as_str(),
            "{event}"
        );
        assert_eq!(event["evidence"]["fields"]["spoofed"], "likely", "{event}");
        // Let the flood's kind close before the next one starts.
        std::thread::sleep(Duration::from_secs(1));
    }
    let metrics = lookout.get_json("/api/v1/series?match[]=net_capture_kernel_drops_per_second");
    assert!(
        metrics["data"].as_array().is_some_and(|s| !s.is_empty()),
        "the capture reports its drops: {metrics}"
    );
    keeps_up_with_a_flood_with_no_own_drops(&lookout, &hping3);
}

/// The value of `name{source="packet_capture#…", outcome}` on `/metrics` (one source).
fn counter(metrics: &str, name: &str, outcome: &str) -> Option<u64> {
    let source = format!("{name}{{source=\"packet_capture#");
    let outcome = format!(",outcome=\"{outcome}\"}} ");
    metrics
        .lines()
        .filter(|line| line.starts_with(&source))
        .find_map(|line| line.split_once(outcome.as_str()).map(|(_, value)| value))
        .and_then(|value| value.trim().parse::<f64>().ok())
        .map(|value| value as u64)
}

/// A bounded SYN flood: every frame hping3 sent is captured or counted as a kernel drop,
/// and no second is lost between the capture and ingestion (own drops 0).
fn keeps_up_with_a_flood_with_no_own_drops(lookout: &Lookout, hping3: &std::path::Path) {
    const FRAMES: &str = "lookout_packet_capture_frames_total";
    const BATCHES: &str = "lookout_packet_capture_batches_total";
    let before = lookout.metrics();
    let captured_before = counter(&before, FRAMES, "captured").expect("captured frames");
    let kernel_before = counter(&before, FRAMES, "kernel_dropped").expect("kernel drops");
    let output = Command::new("timeout")
        .arg("3")
        .arg(hping3)
        .args(["-S", "-p", "80", "--flood", "--rand-source", VICTIM])
        .output()
        .expect("running hping3");
    let text = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    let sent: u64 = text
        .lines()
        .find_map(transmitted)
        .unwrap_or_else(|| panic!("hping3 said how many it sent: {text}"));
    // The flood's last second closes 200 ms after its end; the counters follow.
    let deadline = Instant::now() + Duration::from_secs(10);
    let (captured, kernel) = loop {
        let after = lookout.metrics();
        let captured = counter(&after, FRAMES, "captured").unwrap_or(0) - captured_before;
        let kernel = counter(&after, FRAMES, "kernel_dropped").unwrap_or(0) - kernel_before;
        if captured + kernel >= sent || Instant::now() > deadline {
            break (captured, kernel);
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    assert!(
        captured + kernel >= sent,
        "hping3 sent {sent} frames, {captured} captured and {kernel} dropped by the kernel"
    );
    let after = lookout.metrics();
    eprintln!(
        "flood of {sent} frames: {captured} captured ({:.1} %), {kernel} dropped by the kernel",
        100.0 * captured as f64 / sent as f64
    );
    assert_eq!(
        counter(&after, BATCHES, "dropped"),
        Some(0),
        "own drops: seconds lost between the capture and ingestion"
    );
    assert!(counter(&after, BATCHES, "delivered").is_some_and(|n| n > 30));
    // Only the flood and a few ARP frames crossed the pair meanwhile. hping3 stopped by
    // `timeout` prints a count a few per cent short of what it sent (449,652 frames
    // captured of 432,831 "transmitted" once): a tenth over is the bound.
    assert!(
        captured + kernel <= sent + sent / 10 + 1000,
        "{captured} + {kernel} vs {sent}"
    );
}

/// `1347217 packets transmitted, 0 packets received, …` → 1347217.
fn transmitted(line: &str) -> Option<u64> {
    let (count, rest) = line.split_once(' ')?;
    rest.starts_with("packets transmitted")
        .then(|| count.parse().ok())
        .flatten()
}
