//! End to end with the real binary on a data directory that fills up (a small tmpfs):
//! the server reports not ready while its store cannot write, refuses writes instead of
//! acknowledging them, logs the failure a bounded number of times, and recovers by
//! itself once space is free again.

mod e2e_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use e2e_support::reqwest::blocking_client;
use e2e_support::{eventually, now_ms, Lookout};

/// A tmpfs mounted for the test's life.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(path: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(path).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .status()
            .ok()?;
        status.success().then(|| Tmpfs(path.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Writes zeros into `path` until the file system refuses.
fn fill(path: &Path) {
    use std::io::Write;
    let mut file = std::fs::File::create(path).unwrap();
    let block = vec![0u8; 64 << 10];
    while file.write_all(&block).is_ok() {}
    let _ = file.sync_all();
}

fn post_samples(lookout: &Lookout, round: i64) -> u16 {
    post_samples_answer(lookout, round).0
}

fn post_samples_answer(lookout: &Lookout, round: i64) -> (u16, String) {
    let now = now_ms();
    let samples: Vec<String> = (0..200)
        .map(|i| {
            format!(
                r#"{{"name":"disk_fill_probe","labels":{{"n":"{i}"}},"timestamp":{},"value":{round}}}"#,
                now - 1_000
            )
        })
        .collect();
    blocking_client()
        .post(lookout.url("/api/v1/samples"))
        .body(format!("[{}]", samples.join(",")))
        .send()
        .map(|response| {
            let status = response.status().as_u16();
            (status, response.text().unwrap_or_default())
        })
        .unwrap_or((0, String::new()))
}

/// Regression: a full disk logged ~700 ERROR lines a second while idle and `/readyz`
/// stayed ready.
#[test]
fn a_full_disk_makes_the_server_not_ready_without_flooding_its_log() {
    let dir = tempfile::tempdir().unwrap();
    let mount_point = dir.path().join("small");
    let Some(_tmpfs) = Tmpfs::mount(&mount_point, "48m") else {
        eprintln!("skipped: mounting a tmpfs needs root (CAP_SYS_ADMIN)");
        return;
    };
    // The data directory is the tmpfs itself: the config and the log go beside it, on
    // a file system with room.
    let lookout = Lookout::start(&mount_point, "[detection]\nprofile = \"default\"\n");
    assert_eq!(post_samples(&lookout, 0), 200);

    let filler = mount_point.join("filler");
    fill(&filler);
    let full_at = Instant::now();
    let reason = eventually(
        "the server reports not ready",
        Duration::from_secs(60),
        || {
            let status = post_samples(&lookout, 1);
            assert_ne!(status, 200, "a write was acknowledged on a full disk");
            let response = blocking_client().get(lookout.url("/readyz")).send().ok()?;
            (response.status() == 503)
                .then(|| response.text().unwrap_or_default())
                .filter(|text| text.contains("store cannot write"))
        },
    );
    assert!(reason.contains("full"), "{reason}");
    assert!(lookout.metrics().contains("lookout_store_writable 0"));

    // Keep it full and busy for a while: failures are counted, not logged each time.
    while full_at.elapsed() < Duration::from_secs(15) {
        let _ = post_samples(&lookout, 2);
        std::thread::sleep(Duration::from_millis(100));
    }
    let errors = lookout
        .guard
        .output()
        .lines()
        .filter(|line| line.contains("ERROR"))
        .count();
    assert!(
        errors <= 10,
        "{errors} ERROR lines in 15 s:\n{}",
        lookout.guard.output()
    );

    std::fs::remove_file(&filler).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ready = blocking_client()
            .get(lookout.url("/readyz"))
            .send()
            .map(|response| {
                (
                    response.status().as_u16(),
                    response.text().unwrap_or_default(),
                )
            });
        let written = post_samples_answer(&lookout, 3);
        if matches!(ready, Ok((200, _))) && written.0 == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not ready again a minute after space was freed: readyz {ready:?}, write {written:?}\n{}",
            lookout.guard.output().lines().filter(|l| !l.contains("WAL checkpoint")).collect::<Vec<_>>().join("\n")
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(lookout.metrics().contains("lookout_store_writable 1"));
}
