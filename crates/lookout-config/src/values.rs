//! Parsers for the value formats of the configuration file: durations, byte sizes,
//! listen addresses, URLs. Each returns the message to show after `key "...":`.

use std::net::SocketAddr;
use std::time::Duration;

/// `"1s"`, `"15s"`, `"1m"`, `"3d"`, `"1h 30m"` (humantime syntax).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|_| format!("{text:?} is not a duration (e.g. \"1s\", \"15s\", \"1m\")"))
}

/// Formats a duration the way it is written in the file (`"1m 30s"`).
pub fn format_duration(duration: Duration) -> String {
    humantime::format_duration(duration).to_string()
}

/// A byte size: an integer number of bytes or a string with a unit, `"16MiB"`, `"512 KB"`.
/// Decimal units (kB, MB, GB) are powers of 1000, binary units (KiB, MiB, GiB) of 1024.
pub fn parse_byte_size(value: &toml::Value) -> Result<u64, String> {
    const EXAMPLE: &str = "(e.g. 16777216, \"16MiB\", \"512KiB\", \"1GB\")";
    match value {
        toml::Value::Integer(bytes) if *bytes >= 0 => Ok(*bytes as u64),
        toml::Value::Integer(bytes) => Err(format!(
            "{bytes} is negative; expected a byte size {EXAMPLE}"
        )),
        toml::Value::String(text) => parse_byte_size_text(text)
            .ok_or_else(|| format!("{text:?} is not a byte size {EXAMPLE}")),
        other => Err(format!(
            "expected a byte size {EXAMPLE}, found {}",
            other.type_str()
        )),
    }
}

fn parse_byte_size_text(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let number: u64 = digits.parse().ok()?;
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" | "k" => 1_000,
        "mb" | "m" => 1_000_000,
        "gb" | "g" => 1_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        _ => return None,
    };
    number.checked_mul(multiplier)
}

/// `ip:port`, e.g. `127.0.0.1:8080` or `[::1]:8080`.
pub fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    text.trim().parse().map_err(|_| {
        format!("{text:?} is not a listen address (e.g. \"127.0.0.1:8080\", \"[::1]:8080\")")
    })
}

/// An `http://` or `https://` URL with a host.
pub fn check_http_url(text: &str) -> Result<(), String> {
    let rest = text
        .strip_prefix("http://")
        .or_else(|| text.strip_prefix("https://"));
    match rest {
        Some(rest)
            if !rest.is_empty()
                && !rest.starts_with('/')
                && !rest.contains(char::is_whitespace) =>
        {
            Ok(())
        }
        _ => Err(format!("{text:?} is not an http:// or https:// URL")),
    }
}

/// `host:port` without a scheme, e.g. `127.0.0.1:9100` or `node-1.example:9100`.
pub fn check_host_port(text: &str) -> Result<(), String> {
    let problem = || {
        format!("{text:?} is not host:port (e.g. \"127.0.0.1:9100\"); the scheme goes in `scheme`")
    };
    let (host, port) = text.rsplit_once(':').ok_or_else(problem)?;
    if host.is_empty() || host.contains('/') || host.contains(char::is_whitespace) {
        return Err(problem());
    }
    match port.parse::<u16>() {
        Ok(port) if port > 0 => Ok(()),
        _ => Err(problem()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_duration("3d"), Ok(Duration::from_secs(3 * 86_400)));
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5_400)));
        assert_eq!(parse_duration("200ms"), Ok(Duration::from_millis(200)));
        assert_eq!(
            parse_duration("5x").unwrap_err(),
            r#""5x" is not a duration (e.g. "1s", "15s", "1m")"#
        );
        assert_eq!(format_duration(Duration::from_secs(90)), "1m 30s");
    }

    #[test]
    fn byte_sizes() {
        assert_eq!(parse_byte_size(&toml::Value::Integer(42)), Ok(42));
        assert_eq!(
            parse_byte_size(&toml::Value::String("16MiB".into())),
            Ok(16 << 20)
        );
        assert_eq!(
            parse_byte_size(&toml::Value::String("512 KB".into())),
            Ok(512_000)
        );
        assert!(parse_byte_size(&toml::Value::String("lots".into())).is_err());
        assert!(parse_byte_size(&toml::Value::Integer(-1)).is_err());
        assert!(parse_byte_size(&toml::Value::Boolean(true)).is_err());
        assert!(parse_byte_size(&toml::Value::String("99999999999GiB".into())).is_err());
    }

    #[test]
    fn addresses_and_urls() {
        assert!(parse_listen("127.0.0.1:8080").is_ok());
        assert!(parse_listen("[::1]:8080").is_ok());
        assert!(parse_listen("localhost").is_err());
        assert!(check_http_url("http://127.0.0.1:9093").is_ok());
        assert!(check_http_url("https://hooks.slack.com/x").is_ok());
        assert!(check_http_url("ftp://x").is_err());
        assert!(check_http_url("http://").is_err());
        assert!(check_host_port("127.0.0.1:9100").is_ok());
        assert!(check_host_port("node.example:9100").is_ok());
        assert!(check_host_port("http://a:1").is_err());
        assert!(check_host_port("a:0").is_err());
        assert!(check_host_port("a").is_err());
    }
}
