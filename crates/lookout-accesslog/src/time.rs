//! The times access logs write: `$time_local` (`10/Oct/2000:13:55:36 -0700`),
//! `$time_iso8601` (`2000-10-10T13:55:36-07:00`, fractions and `Z` accepted) and
//! `$msec` (`971211336.123`), all to unix milliseconds, by hand (no allocation).

use crate::record::BadLine;

/// Which time a format field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeKind {
    Local,
    Iso8601,
    Msec,
}

impl TimeKind {
    /// Parses `text` as this kind of time.
    pub fn parse(self, text: &str) -> Result<i64, BadLine> {
        match self {
            TimeKind::Local => parse_local(text),
            TimeKind::Iso8601 => parse_iso8601(text),
            TimeKind::Msec => parse_msec(text),
        }
    }
}

fn digits(bytes: &[u8]) -> Result<u32, BadLine> {
    if bytes.is_empty() || !bytes.iter().all(u8::is_ascii_digit) {
        return Err(BadLine::BadValue);
    }
    Ok(bytes
        .iter()
        .fold(0u32, |value, digit| value * 10 + u32::from(digit - b'0')))
}

fn month_of(name: &[u8]) -> Result<u32, BadLine> {
    let month = match name {
        b"Jan" => 1,
        b"Feb" => 2,
        b"Mar" => 3,
        b"Apr" => 4,
        b"May" => 5,
        b"Jun" => 6,
        b"Jul" => 7,
        b"Aug" => 8,
        b"Sep" => 9,
        b"Oct" => 10,
        b"Nov" => 11,
        b"Dec" => 12,
        _ => return Err(BadLine::BadValue),
    };
    Ok(month)
}

fn checked_ms(
    year: u32,
    month: u32,
    day: u32,
    hms: (u32, u32, u32),
    offset_s: i64,
) -> Result<i64, BadLine> {
    let (hour, minute, second) = hms;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return Err(BadLine::BadValue);
    }
    if second > 60 {
        return Err(BadLine::BadValue);
    }
    let days = lookout_model::calendar::days_from_civil(i64::from(year), month, day);
    let seconds =
        days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second);
    Ok((seconds - offset_s) * 1000)
}

/// `±hhmm` or `±hh:mm` to seconds east of UTC.
fn offset_seconds(bytes: &[u8]) -> Result<i64, BadLine> {
    let (sign, rest) = match bytes.split_first() {
        Some((b'+', rest)) => (1, rest),
        Some((b'-', rest)) => (-1, rest),
        _ => return Err(BadLine::BadValue),
    };
    let (hours, minutes) = match rest.len() {
        4 => (digits(&rest[..2])?, digits(&rest[2..])?),
        5 if rest[2] == b':' => (digits(&rest[..2])?, digits(&rest[3..])?),
        _ => return Err(BadLine::BadValue),
    };
    if hours > 23 || minutes > 59 {
        return Err(BadLine::BadValue);
    }
    Ok(sign * (i64::from(hours) * 3600 + i64::from(minutes) * 60))
}

/// `10/Oct/2000:13:55:36 -0700`.
pub fn parse_local(text: &str) -> Result<i64, BadLine> {
    let b = text.as_bytes();
    if b.len() != 26 || b[2] != b'/' || b[6] != b'/' || b[11] != b':' || b[20] != b' ' {
        return Err(BadLine::BadValue);
    }
    if b[14] != b':' || b[17] != b':' {
        return Err(BadLine::BadValue);
    }
    let day = digits(&b[0..2])?;
    let month = month_of(&b[3..6])?;
    let year = digits(&b[7..11])?;
    let hms = (
        digits(&b[12..14])?,
        digits(&b[15..17])?,
        digits(&b[18..20])?,
    );
    checked_ms(year, month, day, hms, offset_seconds(&b[21..])?)
}

/// `2000-10-10T13:55:36-07:00`, `2000-10-10T13:55:36.250Z`, `2000-10-10 13:55:36+0000`.
pub fn parse_iso8601(text: &str) -> Result<i64, BadLine> {
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b' ') {
        return Err(BadLine::BadValue);
    }
    if b[13] != b':' || b[16] != b':' {
        return Err(BadLine::BadValue);
    }
    let year = digits(&b[0..4])?;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    let hms = (
        digits(&b[11..13])?,
        digits(&b[14..16])?,
        digits(&b[17..19])?,
    );
    let mut rest = &b[19..];
    let mut millis = 0i64;
    if let Some((b'.', fraction)) = rest.split_first() {
        let length = fraction.iter().take_while(|b| b.is_ascii_digit()).count();
        if length == 0 {
            return Err(BadLine::BadValue);
        }
        for (position, digit) in fraction[..length.min(3)].iter().enumerate() {
            millis += i64::from(digit - b'0') * [100, 10, 1][position];
        }
        rest = &fraction[length..];
    }
    let offset = match rest {
        b"Z" => 0,
        other => offset_seconds(other)?,
    };
    Ok(checked_ms(year, month, day, hms, offset)? + millis)
}

/// `971211336.123` (seconds with milliseconds).
pub fn parse_msec(text: &str) -> Result<i64, BadLine> {
    let (seconds, fraction) = text.split_once('.').unwrap_or((text, ""));
    if seconds.len() > 12 || fraction.len() > 9 {
        return Err(BadLine::BadValue);
    }
    let seconds = i64::from(digits(seconds.as_bytes()).map_err(|_| BadLine::BadValue)?);
    let mut millis = 0i64;
    if !fraction.is_empty() {
        let fraction = fraction.as_bytes();
        digits(fraction)?;
        for (position, digit) in fraction[..fraction.len().min(3)].iter().enumerate() {
            millis += i64::from(digit - b'0') * [100, 10, 1][position];
        }
    }
    Ok(seconds * 1000 + millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_forms_agree() {
        // 2000-10-10T20:55:36Z = 971211336.
        assert_eq!(
            parse_local("10/Oct/2000:13:55:36 -0700"),
            Ok(971_211_336_000)
        );
        assert_eq!(
            parse_iso8601("2000-10-10T13:55:36-07:00"),
            Ok(971_211_336_000)
        );
        assert_eq!(
            parse_iso8601("2000-10-10T20:55:36.25Z"),
            Ok(971_211_336_250)
        );
        assert_eq!(
            parse_iso8601("2000-10-10 20:55:36+0000"),
            Ok(971_211_336_000)
        );
        assert_eq!(parse_msec("971211336.123"), Ok(971_211_336_123));
        assert_eq!(parse_msec("971211336"), Ok(971_211_336_000));
        assert_eq!(
            parse_local("29/Feb/2024:00:00:00 +0000"),
            Ok(1_709_164_800_000)
        );
    }

    #[test]
    fn malformed_times_are_bad_values() {
        for bad in [
            "10/Oct/2000:13:55:36",
            "10/Foo/2000:13:55:36 -0700",
            "10/Oct/2000:25:55:36 -0700",
            "10/Oct/2000:13:55:36 -07x0",
            "xx/Oct/2000:13:55:36 -0700",
        ] {
            assert_eq!(parse_local(bad), Err(BadLine::BadValue), "{bad}");
        }
        assert_eq!(
            parse_iso8601("2000-13-10T13:55:36Z"),
            Err(BadLine::BadValue)
        );
        assert_eq!(parse_iso8601("2000-10-10T13:55:36"), Err(BadLine::BadValue));
        assert_eq!(parse_msec("12.x"), Err(BadLine::BadValue));
        assert_eq!(parse_msec(""), Err(BadLine::BadValue));
    }
}
