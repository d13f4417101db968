//! The README's quick tour, run as written against the real binary: every command of its
//! `sh` block after the first (which starts the server: here a `lookout serve` on a free
//! port, the address rewritten) must succeed, each JSON answer must say `success`, and
//! the sample pushed must be read back.

mod e2e_support;

use std::process::Command;

use e2e_support::{find_peer, Lookout};

/// The commands of the quick tour's `sh` block: comments dropped, continued lines joined.
fn tour_commands() -> Vec<String> {
    let readme = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"));
    let tour = readme
        .split("## Quick tour")
        .nth(1)
        .expect("the README has a quick tour");
    let block = tour
        .split("```sh\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("the quick tour has an sh block");
    let mut commands = Vec::new();
    let mut current = String::new();
    for line in block.lines() {
        let line = line.trim_end();
        if current.is_empty() && (line.trim().is_empty() || line.trim_start().starts_with('#')) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(start) => current.push_str(start),
            None => {
                current.push_str(line);
                commands.push(std::mem::take(&mut current));
            }
        }
    }
    commands
}

#[test]
fn the_quick_tour_runs_as_written() {
    let Some(_curl) = find_peer("curl", "curl") else {
        return;
    };
    let commands = tour_commands();
    assert!(
        commands[0].starts_with("cargo run --release -- serve &"),
        "the tour starts the server first: {:?}",
        commands[0]
    );
    let dir = tempfile::tempdir().unwrap();
    let lookout = Lookout::start(&dir.path().join("data"), "");
    let address = format!("127.0.0.1:{}", lookout.port);
    let mut answers = Vec::new();
    for command in &commands[1..] {
        assert!(
            command.contains("127.0.0.1:8080"),
            "a tour command that does not talk to the server: {command}"
        );
        let command = command.replace("127.0.0.1:8080", &address);
        let output = Command::new("bash")
            .arg("-c")
            .arg(&command)
            .output()
            .expect("running bash");
        let stdout = String::from_utf8_lossy(&output.stdout).to_string();
        assert!(
            output.status.success(),
            "{command}: {}\n{stdout}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        if !stdout.trim().is_empty() {
            let json: serde_json::Value = serde_json::from_str(&stdout)
                .unwrap_or_else(|error| panic!("{command}: not JSON ({error}): {stdout}"));
            assert_eq!(json["status"], "success", "{command}: {json}");
        }
        answers.push(stdout);
    }
    let read_back = answers
        .iter()
        .find(|answer| answer.contains("\"cpu_utilization\""))
        .expect("the pushed sample read back");
    assert!(read_back.contains("\"42.5\""), "{read_back}");
}
