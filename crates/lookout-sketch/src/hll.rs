//! HyperLogLog distinct counts: see the crate documentation.

use std::hash::{DefaultHasher, Hash, Hasher};

/// A precision outside 4..=16.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrecisionError(pub u8);

impl std::fmt::Display for PrecisionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "HyperLogLog precision {} is outside 4..=16 (2^precision registers)",
            self.0
        )
    }
}

impl std::error::Error for PrecisionError {}

/// Estimated number of distinct items, in `2^precision` bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HyperLogLog {
    precision: u8,
    registers: Vec<u8>,
}

impl Default for HyperLogLog {
    /// Precision 12: 4 KiB, about 1.6 % relative standard error.
    fn default() -> Self {
        HyperLogLog::new(12).expect("12 is a valid precision")
    }
}

impl HyperLogLog {
    pub fn new(precision: u8) -> Result<Self, PrecisionError> {
        if !(4..=16).contains(&precision) {
            return Err(PrecisionError(precision));
        }
        Ok(HyperLogLog {
            precision,
            registers: vec![0; 1 << precision],
        })
    }

    pub fn precision(&self) -> u8 {
        self.precision
    }

    /// Adds one item (any hashable value: an address, a user name).
    pub fn insert<T: Hash + ?Sized>(&mut self, item: &T) {
        let mut hasher = DefaultHasher::new();
        item.hash(&mut hasher);
        self.insert_hash(hasher.finish());
    }

    /// Adds an item by a 64-bit hash the caller computed (well mixed, e.g. from a
    /// flow's packed address).
    pub fn insert_hash(&mut self, hash: u64) {
        let precision = u32::from(self.precision);
        let index = (hash >> (64 - precision)) as usize;
        // A sentinel bit bounds the rank at 64 - precision + 1.
        let rest = (hash << precision) | (1 << (precision - 1));
        let rank = rest.leading_zeros() as u8 + 1;
        let register = &mut self.registers[index];
        if rank > *register {
            *register = rank;
        }
    }

    /// The estimated number of distinct items inserted since the last clear.
    pub fn estimate(&self) -> f64 {
        let m = self.registers.len() as f64;
        let alpha = match self.registers.len() {
            16 => 0.673,
            32 => 0.697,
            64 => 0.709,
            _ => 0.7213 / (1.0 + 1.079 / m),
        };
        let (sum, zeros) =
            self.registers
                .iter()
                .fold((0.0f64, 0usize), |(sum, zeros), &register| {
                    (
                        sum + (-f64::from(register)).exp2(),
                        zeros + usize::from(register == 0),
                    )
                });
        let raw = alpha * m * m / sum;
        if raw <= 2.5 * m && zeros > 0 {
            // Linear counting is far more accurate for small cardinalities.
            return m * (m / zeros as f64).ln();
        }
        raw
    }

    /// Adds every item of `other` (same precision required).
    pub fn merge(&mut self, other: &HyperLogLog) -> Result<(), PrecisionError> {
        if other.precision != self.precision {
            return Err(PrecisionError(other.precision));
        }
        for (mine, theirs) in self.registers.iter_mut().zip(&other.registers) {
            *mine = (*mine).max(*theirs);
        }
        Ok(())
    }

    /// Forgets every item; keeps the allocation.
    pub fn clear(&mut self) {
        self.registers.fill(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relative_error(estimate: f64, truth: f64) -> f64 {
        (estimate - truth).abs() / truth
    }

    #[test]
    fn small_counts_are_nearly_exact() {
        let mut hll = HyperLogLog::default();
        assert_eq!(hll.estimate(), 0.0);
        for i in 0..100u32 {
            hll.insert(&i);
            hll.insert(&i); // duplicates do not count
        }
        assert!(
            relative_error(hll.estimate(), 100.0) < 0.02,
            "{}",
            hll.estimate()
        );
    }

    #[test]
    fn a_million_distinct_sources_within_the_documented_error() {
        let mut hll = HyperLogLog::default();
        for i in 0..1_000_000u64 {
            hll.insert(&i);
        }
        // 1.6 % standard error: 4 sigma is a failure that practically never happens.
        assert!(
            relative_error(hll.estimate(), 1e6) < 0.065,
            "{}",
            hll.estimate()
        );
    }

    #[test]
    fn merge_is_the_union() {
        let (mut a, mut b) = (HyperLogLog::default(), HyperLogLog::default());
        for i in 0..5_000u32 {
            a.insert(&i);
            b.insert(&(i + 2_500));
        }
        a.merge(&b).unwrap();
        assert!(
            relative_error(a.estimate(), 7_500.0) < 0.065,
            "{}",
            a.estimate()
        );
        assert_eq!(
            a.merge(&HyperLogLog::new(10).unwrap()),
            Err(PrecisionError(10))
        );
    }

    #[test]
    fn precision_outside_the_range_is_refused_with_its_value() {
        assert_eq!(HyperLogLog::new(3), Err(PrecisionError(3)));
        assert_eq!(
            HyperLogLog::new(17).unwrap_err().to_string(),
            "HyperLogLog precision 17 is outside 4..=16 (2^precision registers)"
        );
    }

    #[test]
    fn clear_forgets() {
        let mut hll = HyperLogLog::new(8).unwrap();
        hll.insert("x");
        hll.clear();
        assert_eq!(hll.estimate(), 0.0);
    }
}
