//! `[[source]] type = "file"`: defaults, and every mistake at its line.

use std::time::Duration;

use lookout_config::*;

#[test]
fn defaults_fill_everything_but_the_path() {
    let text = "[[source]]\ntype = \"file\"\npath = \"/var/log/app/*.jsonl\"\n";
    let config = Config::from_str_named(text, "lookout.toml").unwrap();
    let SourceConfig::File(file) = &config.sources[0] else {
        panic!("not a file source: {:?}", config.sources[0])
    };
    assert_eq!(file.paths, ["/var/log/app/*.jsonl"]);
    assert_eq!(file.read_from, ReadFrom::End);
    assert_eq!(file.interval, Duration::from_secs(1));
    assert_eq!(file.max_line_bytes, 1 << 20);
    assert!(file.labels.is_empty());
    assert_eq!(config.sources[0].kind(), "file");
    assert_eq!(config.sources[0].interval(), Duration::from_secs(1));
}

#[test]
fn every_key_is_read() {
    let text = "[[source]]\ntype = \"file\"\npath = [\"a.jsonl\", \"logs/*.jsonl\"]\n\
                read_from = \"beginning\"\ninterval = \"250ms\"\nmax_line_bytes = \"4KiB\"\n\
                labels = { app = \"web\" }\n";
    let config = Config::from_str_named(text, "lookout.toml").unwrap();
    let SourceConfig::File(file) = &config.sources[0] else {
        panic!("not a file source")
    };
    assert_eq!(file.paths, ["a.jsonl", "logs/*.jsonl"]);
    assert_eq!(file.read_from, ReadFrom::Beginning);
    assert_eq!(file.interval, Duration::from_millis(250));
    assert_eq!(file.max_line_bytes, 4096);
    assert_eq!(file.labels["app"], "web");
}

#[test]
fn mistakes_are_reported_at_their_lines() {
    let text = "[[source]]\ntype = \"file\"\nread_from = \"middle\"\nmax_line_bytes = 1\n\
                interval = \"soon\"\nfollow = true\n";
    let errors: Vec<String> = Config::from_str_named(text, "lookout.toml")
        .unwrap_err()
        .into_iter()
        .map(|error| error.to_string())
        .collect();
    assert_eq!(errors.len(), 5, "{errors:#?}");
    assert!(
        errors[0].starts_with("lookout.toml:1: [[source]] #1 key \"path\": missing required key")
    );
    assert_eq!(
        errors[1],
        "lookout.toml:3: [[source]] #1 key \"read_from\": unknown position \"middle\" (known: end, beginning)"
    );
    assert!(errors[2].starts_with(
        "lookout.toml:4: [[source]] #1 key \"max_line_bytes\": 1 bytes is out of range"
    ));
    assert!(errors[3]
        .starts_with("lookout.toml:5: [[source]] #1 key \"interval\": \"soon\" is not a duration"));
    assert!(errors[4].starts_with("lookout.toml:6: [[source]] #1 key \"follow\": unknown key (known: interval, labels, max_line_bytes, path, read_from, type)"));
}

#[test]
fn a_bad_path_names_the_pattern() {
    let text = "[[source]]\ntype = \"file\"\npath = [\"ok.jsonl\", \"bad[\"]\n";
    let errors = Config::from_str_named(text, "lookout.toml")
        .unwrap_err()
        .to_string();
    assert!(
        errors.starts_with(
            "lookout.toml:3: [[source]] #1 key \"path\": \"bad[\" is not a valid glob pattern"
        ),
        "{errors}"
    );
}
