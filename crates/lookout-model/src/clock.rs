//! The wall clock, in the unit every record uses: milliseconds since the Unix epoch.
//! One `SystemTime` read per call; a clock before 1970 reads as 0.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_reads_milliseconds_after_2020_and_never_goes_back_much() {
        let first = now_ms();
        let second = now_ms();
        assert!(first > 1_577_836_800_000, "after 2020-01-01: {first}");
        assert!(second >= first - 1_000, "{first} then {second}");
    }
}
