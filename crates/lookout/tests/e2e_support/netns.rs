//! A network namespace joined to the host by a veth pair, made by a capture test and
//! removed on drop (root only: see [`is_root`]). The namespace has no route anywhere
//! else, so what is sent into it, spoofed or not, stays between the two ends.

use std::process::{Command, Stdio};

/// The namespace and the veth pair, removed on drop.
pub struct Network {
    pub namespace: String,
    /// The host's end of the pair (where lookout captures).
    pub outer: String,
}

impl Network {
    /// Names from `prefix` (two letters of the test's own, so tests running at once do
    /// not collide) and the process id; the host's end gets `host/30`, the namespace's end
    /// `inner/30`, and the namespace's loopback is up.
    pub fn create(prefix: &str, host: &str, inner: &str) -> Network {
        let id = std::process::id() % 100_000;
        let network = Network {
            namespace: format!("{prefix}t{id}"),
            outer: format!("{prefix}a{id}"),
        };
        let inner_link = format!("{prefix}b{id}");
        let ns = network.namespace.as_str();
        run("ip", &["netns", "add", ns]);
        run(
            "ip",
            &[
                "link",
                "add",
                &network.outer,
                "type",
                "veth",
                "peer",
                "name",
                &inner_link,
            ],
        );
        run("ip", &["link", "set", &inner_link, "netns", ns]);
        run(
            "ip",
            &["addr", "add", &format!("{host}/30"), "dev", &network.outer],
        );
        run("ip", &["link", "set", &network.outer, "up"]);
        let inner_address = format!("{inner}/30");
        for args in [
            &["ip", "addr", "add", &inner_address, "dev", &inner_link][..],
            &["ip", "link", "set", &inner_link, "up"][..],
            &["ip", "link", "set", "lo", "up"][..],
        ] {
            let mut all = vec!["netns", "exec", ns];
            all.extend_from_slice(args);
            run("ip", &all);
        }
        network
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.outer])
            .status();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.namespace])
            .status();
    }
}

/// Runs `program` and panics unless it succeeds.
pub fn run(program: &str, args: &[&str]) {
    let status = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .status()
        .unwrap_or_else(|error| panic!("{program} {args:?}: {error}"));
    assert!(status.success(), "{program} {args:?} failed: {status}");
}

/// Whether the test runs as root (namespaces and captures need it; CI runs as root).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}
