//! Parameters of the Prometheus HTTP API: times, durations and the merged GET/POST form.
//!
//! Times are unix seconds with an optional fraction (`1700000000.5`) or RFC 3339
//! (`2023-11-14T22:13:20Z`), as Prometheus accepts them, or relative to the time of the
//! request: `now`, `now-1h`, `now-15m`, `now-2d`, `now+30s` (a duration as below). Durations (`step`) are seconds
//! as a float (`15`, `0.5`) or a Prometheus duration (`1m30s`, `500ms`, `1d`).

use std::collections::HashMap;

use crate::error::ApiError;

/// Form values of one request: the query string followed by the POST body's form, so
/// that a repeated key (`match[]`) collects from both.
#[derive(Debug, Default, Clone)]
pub struct Form {
    pairs: Vec<(String, String)>,
}

impl Form {
    /// Parses `application/x-www-form-urlencoded` text from the query string and the body.
    pub fn parse(query: Option<&str>, body: &[u8]) -> Form {
        let mut pairs = Vec::new();
        for text in [query.unwrap_or("").as_bytes(), body] {
            pairs.extend(parse_urlencoded(text));
        }
        Form { pairs }
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.as_str())
    }

    /// Every value of `key`, in order.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(name, _)| name == key)
            .map(|(_, value)| value.as_str())
            .collect()
    }

    /// Every pair as a map of first values (for tests and logs).
    pub fn to_map(&self) -> HashMap<String, String> {
        let mut map = HashMap::new();
        for (name, value) in &self.pairs {
            map.entry(name.clone()).or_insert_with(|| value.clone());
        }
        map
    }

    /// A required time parameter.
    pub fn time(&self, key: &str) -> Result<i64, ApiError> {
        match self.get(key) {
            Some(text) => parse_time(text).map_err(|reason| {
                ApiError::bad_data(format!("invalid parameter {key:?}: {reason}"))
            }),
            None => Err(ApiError::bad_data(format!("missing parameter {key:?}"))),
        }
    }

    /// An optional time parameter, `default_ms` when absent.
    pub fn time_or(&self, key: &str, default_ms: i64) -> Result<i64, ApiError> {
        match self.get(key) {
            Some(text) if !text.is_empty() => self.time(key),
            _ => Ok(default_ms),
        }
    }
}

/// Decodes `a=1&b=x%20y+z` into pairs; malformed escapes are kept literally.
fn parse_urlencoded(text: &[u8]) -> Vec<(String, String)> {
    text.split(|byte| *byte == b'&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut split = part.splitn(2, |byte| *byte == b'=');
            let name = split.next().unwrap_or_default();
            let value = split.next().unwrap_or_default();
            (percent_decode(name), percent_decode(value))
        })
        .collect()
}

fn percent_decode(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => out.push(b' '),
            b'%' if index + 2 < bytes.len() => {
                match (hex_value(bytes[index + 1]), hex_value(bytes[index + 2])) {
                    (Some(high), Some(low)) => {
                        out.push(high * 16 + low);
                        index += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_value(byte: u8) -> Option<u8> {
    (byte as char).to_digit(16).map(|digit| digit as u8)
}

/// Unix seconds (float), RFC 3339 or `now[±duration]` → milliseconds since the epoch.
pub fn parse_time(text: &str) -> Result<i64, String> {
    parse_time_at(text, lookout_model::clock::now_ms())
}

/// [`parse_time`] with `now` given.
pub fn parse_time_at(text: &str, now_ms: i64) -> Result<i64, String> {
    let text = text.trim();
    if let Some(offset) = text.strip_prefix("now") {
        let offset = offset.trim_start();
        let (sign, duration) = match offset.chars().next() {
            None => return Ok(now_ms),
            Some('-') => (-1, &offset[1..]),
            Some('+') => (1, &offset[1..]),
            Some(_) => {
                return Err(format!(
                    "cannot parse {text:?} to a valid timestamp (`now`, `now-1h`, `now+15m`, ...)"
                ))
            }
        };
        let millis = parse_duration(duration)
            .map_err(|reason| format!("cannot parse {text:?} to a relative time: {reason}"))?;
        return Ok(now_ms.saturating_add(sign * millis));
    }
    if let Ok(seconds) = text.parse::<f64>() {
        if !seconds.is_finite() {
            return Err(format!("{text:?} is not a finite number of seconds"));
        }
        let millis = (seconds * 1000.0).round();
        if millis.abs() > 9.0e15 {
            return Err(format!("{text:?} is out of range"));
        }
        return Ok(millis as i64);
    }
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|time| time.timestamp_millis())
        .map_err(|_| {
            format!("cannot parse {text:?} to a valid timestamp (unix seconds, RFC 3339 or now-1h)")
        })
}

/// Seconds (float) or a Prometheus duration (`1h30m`, `500ms`) → milliseconds.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<f64>() {
        if !seconds.is_finite() || !(0.0..=9.0e12).contains(&seconds) {
            return Err(format!("{text:?} is not a valid number of seconds"));
        }
        return Ok((seconds * 1000.0).round() as i64);
    }
    let invalid = || format!("cannot parse {text:?} to a valid duration (seconds or e.g. 1m30s)");
    if text.is_empty() {
        return Err(invalid());
    }
    let mut total: i64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(invalid());
        }
        let number: i64 = rest[..digits].parse().map_err(|_| invalid())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit_ms: i64 = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 7 * 86_400_000,
            "y" => 365 * 86_400_000,
            _ => return Err(invalid()),
        };
        rest = &rest[unit_len..];
        total = number
            .checked_mul(unit_ms)
            .and_then(|part| total.checked_add(part))
            .ok_or_else(invalid)?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_as_seconds_or_rfc3339() {
        assert_eq!(parse_time("1700000000"), Ok(1_700_000_000_000));
        assert_eq!(parse_time("1700000000.123"), Ok(1_700_000_000_123));
        assert_eq!(parse_time("2023-11-14T22:13:20Z"), Ok(1_700_000_000_000));
        assert_eq!(
            parse_time("2023-11-14T23:13:20.5+01:00"),
            Ok(1_700_000_000_500)
        );
        assert!(parse_time("yesterday").unwrap_err().contains("yesterday"));
    }

    #[test]
    fn times_relative_to_now() {
        let now = 1_700_000_000_000;
        assert_eq!(parse_time_at("now", now), Ok(now));
        assert_eq!(parse_time_at(" now ", now), Ok(now));
        assert_eq!(parse_time_at("now-1h", now), Ok(now - 3_600_000));
        assert_eq!(parse_time_at("now-15m", now), Ok(now - 900_000));
        assert_eq!(parse_time_at("now-2d", now), Ok(now - 2 * 86_400_000));
        assert_eq!(parse_time_at("now+30s", now), Ok(now + 30_000));
        assert_eq!(parse_time_at("now-1h30m", now), Ok(now - 5_400_000));
        for bad in ["now-", "now-x", "nowish", "now*2"] {
            let error = parse_time_at(bad, now).unwrap_err();
            assert!(error.contains(bad), "{bad}: {error}");
        }
        let real = parse_time("now-1h").unwrap();
        assert!((lookout_model::clock::now_ms() - 3_600_000 - real).abs() < 60_000);
        assert!(parse_time("NaN").is_err());
    }

    #[test]
    fn durations_parse_as_seconds_or_units() {
        assert_eq!(parse_duration("15"), Ok(15_000));
        assert_eq!(parse_duration("0.5"), Ok(500));
        assert_eq!(parse_duration("1m30s"), Ok(90_000));
        assert_eq!(parse_duration("500ms"), Ok(500));
        assert_eq!(parse_duration("1d2h"), Ok(93_600_000));
        assert!(parse_duration("1x").is_err());
        assert!(parse_duration("m").is_err());
        assert!(parse_duration("-5").is_err());
    }

    #[test]
    fn forms_merge_query_and_body() {
        let form = Form::parse(
            Some("match[]=up&start=1"),
            b"match%5B%5D=node_load1%7Bjob%3D%22n%22%7D&end=2+3",
        );
        assert_eq!(form.all("match[]"), ["up", "node_load1{job=\"n\"}"]);
        assert_eq!(form.get("end"), Some("2 3"));
        assert_eq!(form.get("start"), Some("1"));
        assert_eq!(form.to_map().len(), 3);
    }

    #[test]
    fn bad_escapes_are_kept() {
        assert_eq!(percent_decode(b"100%"), "100%");
        assert_eq!(percent_decode(b"%zz"), "%zz");
        assert_eq!(percent_decode(b"a%41"), "aA");
    }
}
