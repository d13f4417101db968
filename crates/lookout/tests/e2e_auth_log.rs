//! End to end with the real binary and a real OpenSSH server: `lookout serve` follows the
//! log a loopback sshd writes (`sshd -E FILE`) while a bounded loop of `sshpass`/`ssh`
//! logins with a wrong password attacks a test user, then logs in correctly. The brute
//! force event must be listed by `GET /api/v1/events` within 5 s of the 5th failure, the
//! success-after-failures event within 5 s of the login.
//!
//! Needs root (a test user with a password, sshd's privilege separation) and the Debian
//! packages `openssh-server`, `openssh-client` and `sshpass` (tests/peers/install-auth.sh).

mod e2e_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use e2e_support::netns::is_root;
use e2e_support::{find_peer, free_port, ChildGuard, Lookout};

const USER: &str = "lookout-e2e";
const PASSWORD: &str = "Lookout-e2e-C0rrect";

fn sshd() -> Option<PathBuf> {
    find_peer("sshd", "openssh-server")
}

/// The test user with its password, created once, its password set every time.
fn ensure_user() {
    let exists = Command::new("id")
        .arg(USER)
        .output()
        .is_ok_and(|o| o.status.success());
    if !exists {
        let status = Command::new("useradd")
            .args(["--create-home", "--shell", "/bin/sh", USER])
            .status()
            .expect("running useradd");
        assert!(status.success(), "useradd {USER} failed");
    }
    let mut chpasswd = Command::new("chpasswd")
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("running chpasswd");
    use std::io::Write;
    chpasswd
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{USER}:{PASSWORD}\n").as_bytes())
        .unwrap();
    assert!(chpasswd.wait().unwrap().success(), "chpasswd failed");
}

/// One password login; true when it succeeded.
fn login(sshpass: &Path, ssh: &Path, port: u16, password: &str) -> bool {
    Command::new(sshpass)
        .arg("-p")
        .arg(password)
        .arg(ssh)
        .args([
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "PreferredAuthentications=password",
            "-o",
            "PubkeyAuthentication=no",
            "-o",
            "NumberOfPasswordPrompts=1",
            "-o",
            "ConnectTimeout=10",
            "-o",
            "LogLevel=ERROR",
            "-p",
        ])
        .arg(port.to_string())
        .arg(format!("{USER}@127.0.0.1"))
        .arg("true")
        .status()
        .expect("running ssh")
        .success()
}

/// Polls for an event of `kind` for at most `limit` after `since`; the event.
fn arrives_within(
    lookout: &Lookout,
    kind: &str,
    since: Instant,
    limit: Duration,
) -> serde_json::Value {
    loop {
        if let Some(event) = lookout.events(kind).into_iter().next() {
            eprintln!("{kind} listed {:?} after", since.elapsed());
            return event;
        }
        assert!(
            since.elapsed() < limit,
            "no {kind} event within {limit:?}; the log:\n{}",
            lookout.guard.output()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn brute_force_then_success_against_a_real_sshd() {
    let (Some(sshd), Some(sshpass), Some(ssh), Some(keygen)) = (
        sshd(),
        find_peer("sshpass", "sshpass"),
        find_peer("ssh", "openssh-client"),
        find_peer("ssh-keygen", "openssh-client"),
    ) else {
        return;
    };
    if !is_root() {
        let message = "the sshd test needs root (a test user with a password)";
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{message}");
        }
        eprintln!("SKIPPED: {message}");
        return;
    }
    ensure_user();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("host_key");
    let status = Command::new(keygen)
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::create_dir_all("/run/sshd").unwrap();
    let port = free_port();
    let log = dir.path().join("auth.log");
    std::fs::write(&log, "").unwrap();
    let config = dir.path().join("sshd_config");
    std::fs::write(
        &config,
        format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nPidFile {}\nPasswordAuthentication yes\nKbdInteractiveAuthentication no\nUsePAM yes\nPermitRootLogin no\nAllowUsers {USER}\nLogLevel INFO\nMaxStartups 100\n",
            key.display(),
            dir.path().join("sshd.pid").display()
        ),
    )
    .unwrap();

    let lookout = Lookout::start(
        &dir.path().join("data"),
        &format!(
            "[[source]]\ntype = \"auth_log\"\npath = \"{}\"\ninterval = \"250ms\"\nlabels = {{ host = \"e2e\" }}\n",
            log.display()
        ),
    );
    let _sshd = ChildGuard::spawn(
        "sshd",
        Command::new(&sshd)
            .arg("-D")
            .arg("-f")
            .arg(&config)
            .arg("-E")
            .arg(&log),
        &dir.path().join("sshd.out"),
    );
    e2e_support::eventually("sshd listening", Duration::from_secs(20), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()
    });

    // A bounded loop of wrong passwords: five failures.
    let mut failures = 0;
    let mut fifth = None;
    for _ in 0..8 {
        assert!(
            !login(&sshpass, &ssh, port, "wrong-password"),
            "a wrong password was accepted"
        );
        failures += 1;
        if failures == 5 {
            fifth = Some(Instant::now());
            break;
        }
    }
    let brute = arrives_within(
        &lookout,
        "ssh_bruteforce",
        fifth.expect("five failures"),
        Duration::from_secs(5),
    );
    assert_eq!(brute["entity"]["source_ip"], "127.0.0.1", "{brute}");
    assert_eq!(brute["entity"]["host"], "e2e", "{brute}");
    assert_eq!(brute["evidence"]["fields"]["users_tried"], USER, "{brute}");
    assert!(
        brute["evidence"]["counts"]["failures"].as_u64().unwrap() >= 5,
        "{brute}"
    );
    assert!(
        brute["evidence"]["examples"][0]
            .as_str()
            .unwrap()
            .contains(&format!("Failed password for {USER} from 127.0.0.1")),
        "{brute}"
    );

    assert!(
        login(&sshpass, &ssh, port, PASSWORD),
        "the correct password was refused"
    );
    let logged_in = Instant::now();
    let success = arrives_within(
        &lookout,
        "ssh_success_after_failures",
        logged_in,
        Duration::from_secs(5),
    );
    assert_eq!(success["severity"], "critical", "{success}");
    assert_eq!(success["entity"]["user"], USER, "{success}");
    assert_eq!(success["entity"]["source_ip"], "127.0.0.1", "{success}");
    assert!(
        success["evidence"]["examples"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e
                .as_str()
                .unwrap()
                .starts_with(&format!("Accepted password for {USER}"))),
        "{success}"
    );

    // The series are stored too.
    let series = lookout.get_json("/api/v1/series?match[]=auth_login_failures_by_source");
    assert_eq!(series["data"][0]["source_ip"], "127.0.0.1", "{series}");
}
