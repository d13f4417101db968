//! `[[source]] type = "packet_capture"`: the capture method and ring size, with their
//! defaults and mistakes at their lines.

use lookout_config::*;

fn capture(text: &str) -> PacketCaptureConfig {
    let config = Config::from_str_named(text, "lookout.toml").unwrap();
    let SourceConfig::PacketCapture(capture) = &config.sources[0] else {
        panic!("not a packet capture source: {:?}", config.sources[0])
    };
    capture.clone()
}

#[test]
fn the_ring_of_32_mib_is_the_default() {
    let config = capture("[[source]]\ntype = \"packet_capture\"\ninterface = \"eth0\"\n");
    assert_eq!(config.capture, CaptureMethod::Ring);
    assert_eq!(config.ring_size, 32 << 20);
    assert_eq!(config.snaplen, 256);
}

#[test]
fn the_method_and_ring_size_are_read() {
    let config = capture(
        "[[source]]\ntype = \"packet_capture\"\ninterface = \"eth0\"\ncapture = \"socket\"\n\
         ring_size = \"128MiB\"\n",
    );
    assert_eq!(config.capture, CaptureMethod::Socket);
    assert_eq!(config.ring_size, 128 << 20);
    let config = capture(
        "[[source]]\ntype = \"packet_capture\"\ninterface = \"eth0\"\nring_size = 2097152\n",
    );
    assert_eq!(config.ring_size, 2 << 20);
}

#[test]
fn mistakes_are_reported_at_their_lines() {
    let text = "[[source]]\ntype = \"packet_capture\"\ninterface = \"eth0\"\n\
                capture = \"pcap\"\nring_size = \"1500KiB\"\n\
                [[source]]\ntype = \"packet_capture\"\ninterface = \"eth1\"\nring_size = \"2GiB\"\n";
    let errors: Vec<String> = Config::from_str_named(text, "lookout.toml")
        .unwrap_err()
        .into_iter()
        .map(|error| error.to_string())
        .collect();
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert_eq!(
        errors[0],
        "lookout.toml:4: [[source]] #1 key \"capture\": unknown capture method \"pcap\" (known: ring, socket)"
    );
    assert!(
        errors[1].starts_with("lookout.toml:5: [[source]] #1 key \"ring_size\": 1536000 bytes is not a whole number of MiB"),
        "{}",
        errors[1]
    );
    assert!(
        errors[2].starts_with(
            "lookout.toml:9: [[source]] #2 key \"ring_size\": 2147483648 bytes is out of range"
        ),
        "{}",
        errors[2]
    );
}
