//! Turning Influx names into Prometheus names, the way Telegraf's Prometheus output does.
//!
//! A name that is already valid is kept as is. Otherwise: the first character is dropped
//! if it may not start a name, every later character that may not appear in a name is
//! replaced by `_`, leading and trailing `_` are trimmed, and (lookout's addition, so the
//! result is always valid) a result starting with a digit gets a `_` prefix. A name with
//! nothing left is refused (`None`).

use lookout_model::{validate_label_name, validate_metric_name};

/// The Prometheus metric name for a field: `<measurement>_<field>`, or `<field>` alone for
/// the measurement `prometheus`, sanitised by [`sanitize_metric_name`].
pub fn metric_name(measurement: &str, field: &str) -> Option<String> {
    if measurement == "prometheus" {
        return sanitize_metric_name(field);
    }
    let mut name = String::with_capacity(measurement.len() + 1 + field.len());
    name.push_str(measurement);
    name.push('_');
    name.push_str(field);
    if validate_metric_name(&name).is_ok() {
        return Some(name);
    }
    sanitize_metric_name(&name)
}

/// A valid metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`) made from `name`, or `None`.
pub fn sanitize_metric_name(name: &str) -> Option<String> {
    if validate_metric_name(name).is_ok() {
        return Some(name.to_string());
    }
    sanitize(
        name,
        |c| c.is_ascii_alphabetic() || c == '_' || c == ':',
        |c| c.is_ascii_alphanumeric() || c == '_' || c == ':',
    )
}

/// A valid label name (`[a-zA-Z_][a-zA-Z0-9_]*`) made from `name`, or `None`.
pub fn sanitize_label_name(name: &str) -> Option<String> {
    if validate_label_name(name).is_ok() {
        return Some(name.to_string());
    }
    sanitize(
        name,
        |c| c.is_ascii_alphabetic() || c == '_',
        |c| c.is_ascii_alphanumeric() || c == '_',
    )
}

fn sanitize(
    name: &str,
    first: impl Fn(char) -> bool,
    rest: impl Fn(char) -> bool,
) -> Option<String> {
    let mut text = String::with_capacity(name.len());
    for (index, c) in name.chars().enumerate() {
        if index == 0 {
            if first(c) {
                text.push(c);
            }
        } else if rest(c) {
            text.push(c);
        } else {
            text.push('_');
        }
    }
    let trimmed = text.trim_matches('_');
    if trimmed.is_empty() {
        return None;
    }
    if trimmed.starts_with(|c: char| c.is_ascii_digit()) {
        return Some(format!("_{trimmed}"));
    }
    Some(trimmed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_names_are_kept() {
        assert_eq!(
            metric_name("cpu", "usage_idle").as_deref(),
            Some("cpu_usage_idle")
        );
        assert_eq!(sanitize_label_name("__host").as_deref(), Some("__host"));
        assert_eq!(sanitize_metric_name("a:b").as_deref(), Some("a:b"));
    }

    #[test]
    fn prometheus_measurement_is_left_out() {
        assert_eq!(
            metric_name("prometheus", "go_goroutines").as_deref(),
            Some("go_goroutines")
        );
    }

    #[test]
    fn invalid_characters_are_replaced_and_underscores_trimmed() {
        assert_eq!(
            metric_name("disk.io", "read bytes").as_deref(),
            Some("disk_io_read_bytes")
        );
        assert_eq!(
            metric_name("net", "bytes-sent/s").as_deref(),
            Some("net_bytes_sent_s")
        );
        assert_eq!(
            sanitize_metric_name("température").as_deref(),
            Some("temp_rature")
        );
        assert_eq!(sanitize_metric_name("-cpu-").as_deref(), Some("cpu"));
        assert_eq!(sanitize_label_name("a:b").as_deref(), Some("a_b"));
        assert_eq!(
            sanitize_label_name("host.name").as_deref(),
            Some("host_name")
        );
    }

    #[test]
    fn leading_digits_are_dropped_or_prefixed() {
        assert_eq!(sanitize_metric_name("1cpu").as_deref(), Some("cpu"));
        assert_eq!(sanitize_metric_name("9 5").as_deref(), Some("_5"));
        assert_eq!(metric_name("1", "2").as_deref(), Some("_2"));
        assert_eq!(sanitize_label_name("1").as_deref(), None);
    }

    #[test]
    fn names_with_nothing_left_are_refused() {
        assert_eq!(sanitize_metric_name("---"), None);
        assert_eq!(sanitize_metric_name(""), None);
        assert_eq!(sanitize_label_name("é"), None);
    }
}
