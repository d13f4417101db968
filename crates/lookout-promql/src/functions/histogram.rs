//! `histogram_quantile` over classic buckets, as Prometheus' `bucketQuantile`: buckets
//! sorted by upper bound, equal bounds merged, counts made monotonic, linear
//! interpolation inside the bucket holding the rank.

/// One bucket: upper bound (`le`) and cumulative count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    pub upper: f64,
    pub count: f64,
}

/// The `q` quantile of a histogram's buckets (NaN without a `+Inf` bucket or with
/// fewer than two buckets or no observations).
pub fn bucket_quantile(q: f64, buckets: &mut [Bucket]) -> f64 {
    if q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    if buckets.is_empty() {
        return f64::NAN;
    }
    buckets.sort_by(|a, b| {
        a.upper
            .partial_cmp(&b.upper)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    if buckets[buckets.len() - 1].upper != f64::INFINITY {
        return f64::NAN;
    }
    // coalesceBuckets
    let mut merged: Vec<Bucket> = Vec::with_capacity(buckets.len());
    for b in buckets.iter() {
        match merged.last_mut() {
            Some(last) if last.upper == b.upper => last.count += b.count,
            _ => merged.push(*b),
        }
    }
    // ensureMonotonic
    let mut max = f64::NEG_INFINITY;
    for b in &mut merged {
        if b.count > max {
            max = b.count;
        } else if b.count < max {
            b.count = max;
        }
    }
    if merged.len() < 2 {
        return f64::NAN;
    }
    let observations = merged[merged.len() - 1].count;
    if observations == 0.0 {
        return f64::NAN;
    }
    let mut rank = q * observations;
    let b = merged[..merged.len() - 1].partition_point(|b| b.count < rank);
    if b == merged.len() - 1 {
        return merged[merged.len() - 2].upper;
    }
    if b == 0 && merged[0].upper <= 0.0 {
        return merged[0].upper;
    }
    let mut start = 0.0;
    let end = merged[b].upper;
    let mut count = merged[b].count;
    if b > 0 {
        start = merged[b - 1].upper;
        count -= merged[b - 1].count;
        rank -= merged[b - 1].count;
    }
    start + (end - start) * (rank / count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buckets(pairs: &[(f64, f64)]) -> Vec<Bucket> {
        pairs
            .iter()
            .map(|(upper, count)| Bucket {
                upper: *upper,
                count: *count,
            })
            .collect()
    }

    #[test]
    fn interpolates_inside_the_bucket() {
        // 100 observations: 50 ≤ 0.1, 90 ≤ 0.5, all ≤ +Inf. q = 0.75: rank 75 in (0.1, 0.5]
        // → 0.1 + 0.4 * (75 - 50) / 40 = 0.35.
        let mut b = buckets(&[(0.5, 90.0), (0.1, 50.0), (f64::INFINITY, 100.0)]);
        assert!((bucket_quantile(0.75, &mut b) - 0.35).abs() < 1e-12);
        // q = 0.25: rank 25 in the first bucket, from 0 → 0.1 * 25 / 50 = 0.05.
        assert!((bucket_quantile(0.25, &mut b) - 0.05).abs() < 1e-12);
        // q = 0.99: rank 99 in +Inf → the highest finite bound.
        assert_eq!(bucket_quantile(0.99, &mut b), 0.5);
    }

    #[test]
    fn edge_cases() {
        let mut no_inf = buckets(&[(0.1, 1.0), (0.5, 2.0)]);
        assert!(bucket_quantile(0.5, &mut no_inf).is_nan());
        let mut one = buckets(&[(f64::INFINITY, 3.0)]);
        assert!(bucket_quantile(0.5, &mut one).is_nan());
        let mut empty = buckets(&[(1.0, 0.0), (f64::INFINITY, 0.0)]);
        assert!(bucket_quantile(0.5, &mut empty).is_nan());
        let mut b = buckets(&[(1.0, 1.0), (f64::INFINITY, 2.0)]);
        assert_eq!(bucket_quantile(-0.1, &mut b), f64::NEG_INFINITY);
        assert_eq!(bucket_quantile(1.1, &mut b), f64::INFINITY);
        // Non-monotonic counts are raised: (1: 5, 2: 3 → 5, +Inf: 10); q = 0.5 → rank 5 in
        // the first bucket: 1 * 5 / 5 = 1.
        let mut bumpy = buckets(&[(1.0, 5.0), (2.0, 3.0), (f64::INFINITY, 10.0)]);
        assert_eq!(bucket_quantile(0.5, &mut bumpy), 1.0);
        // A first bucket with a non-positive bound answers its bound.
        let mut neg = buckets(&[(-1.0, 5.0), (f64::INFINITY, 10.0)]);
        assert_eq!(bucket_quantile(0.2, &mut neg), -1.0);
    }
}
