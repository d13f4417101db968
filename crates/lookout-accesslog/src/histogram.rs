//! Latency quantiles per interval in fixed memory: a log-bucketed histogram.
//!
//! A duration's bucket is read from its `f64` bits (exponent and the top
//! [`MANTISSA_BITS`] mantissa bits), so buckets are 1/32 of an octave wide and a
//! quantile read at a bucket's geometric middle is within 1.6 % of the true value.
//! Durations below 61 µs share bucket 0 (reported as 0); above about 4.5 hours the
//! last bucket. Cost: one bit shift per value, [`BUCKETS`] counters (3.5 KiB).

const MANTISSA_BITS: u32 = 5;
/// The smallest distinguished duration: 2^-14 s (61 µs).
const MIN_EXPONENT: i32 = -14;
/// The largest: 2^14 s.
const MAX_EXPONENT: i32 = 14;
const PER_OCTAVE: usize = 1 << MANTISSA_BITS;
pub const BUCKETS: usize = 1 + (MAX_EXPONENT - MIN_EXPONENT) as usize * PER_OCTAVE;

/// Quantiles of one interval's durations, in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quantiles {
    /// How many durations they summarise.
    pub count: u64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Histogram {
    counts: Box<[u32; BUCKETS]>,
    total: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: Box::new([0; BUCKETS]),
            total: 0,
        }
    }
}

fn bucket_of(seconds: f64) -> usize {
    if seconds.is_nan() || seconds < f64::powi(2.0, MIN_EXPONENT) {
        return 0;
    }
    let bits = seconds.to_bits();
    let exponent = ((bits >> 52) & 0x7ff) as i32 - 1023;
    if exponent >= MAX_EXPONENT {
        return BUCKETS - 1;
    }
    let mantissa = ((bits >> (52 - MANTISSA_BITS)) as usize) & (PER_OCTAVE - 1);
    1 + (exponent - MIN_EXPONENT) as usize * PER_OCTAVE + mantissa
}

/// The geometric middle of a bucket (0 for bucket 0).
fn value_of(bucket: usize) -> f64 {
    if bucket == 0 {
        return 0.0;
    }
    let index = bucket - 1;
    let exponent = MIN_EXPONENT + (index / PER_OCTAVE) as i32;
    let step = (index % PER_OCTAVE) as f64;
    let low = f64::powi(2.0, exponent) * (1.0 + step / PER_OCTAVE as f64);
    let high = f64::powi(2.0, exponent) * (1.0 + (step + 1.0) / PER_OCTAVE as f64);
    (low * high).sqrt()
}

impl Histogram {
    pub fn record(&mut self, seconds: f64) {
        let bucket = &mut self.counts[bucket_of(seconds)];
        *bucket = bucket.saturating_add(1);
        self.total += 1;
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    pub fn clear(&mut self) {
        if self.total > 0 {
            self.counts.fill(0);
            self.total = 0;
        }
    }

    /// The value at rank ⌈q·n⌉ (nearest-rank definition), for q in (0, 1].
    fn quantile(&self, q: f64) -> f64 {
        let rank = ((q * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0u64;
        for (bucket, count) in self.counts.iter().enumerate() {
            seen += u64::from(*count);
            if seen >= rank {
                return value_of(bucket);
            }
        }
        value_of(BUCKETS - 1)
    }

    /// p50, p95 and p99; none without durations.
    pub fn quantiles(&self) -> Option<Quantiles> {
        (self.total > 0).then(|| Quantiles {
            count: self.total,
            p50: self.quantile(0.5),
            p95: self.quantile(0.95),
            p99: self.quantile(0.99),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn quantiles_of_a_known_spread() {
        let mut histogram = Histogram::default();
        for millis in 1..=1000 {
            histogram.record(f64::from(millis) / 1000.0);
        }
        let quantiles = histogram.quantiles().unwrap();
        assert_eq!(quantiles.count, 1000);
        for (got, want) in [
            (quantiles.p50, 0.5),
            (quantiles.p95, 0.95),
            (quantiles.p99, 0.99),
        ] {
            assert!((got / want - 1.0).abs() < 0.016, "{got} vs {want}");
        }
        histogram.clear();
        assert_eq!(histogram.quantiles(), None);
        histogram.record(0.0);
        histogram.record(1e9);
        assert_eq!(histogram.quantiles().unwrap().p50, 0.0);
    }

    proptest! {
        #[test]
        fn a_bucket_holds_its_value_within_its_width(seconds in 1e-4f64..10_000.0) {
            let middle = value_of(bucket_of(seconds));
            prop_assert!((middle / seconds - 1.0).abs() < 0.016, "{} vs {}", middle, seconds);
        }
    }
}
