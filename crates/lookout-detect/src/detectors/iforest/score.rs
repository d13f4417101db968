//! Scoring rows: one at a time, in batches, and in batches over several threads.
//!
//! A batch uses the forest's batch plan when it has one (`plan.rs`: ranked rows,
//! eight trees per vector; about twice as fast as the value walk on the
//! peer-comparison sets). Without a plan, the value walk below runs.
//!
//! The value walk goes through the forest in blocks of [`BLOCK`] rows, tree by tree, so one
//! tree's nodes and one block's rows stay in the first-level cache. Inside a tree the
//! rows of a block advance in lockstep, one level at a time, for exactly the tree's
//! depth: a leaf points to itself, so a row that reached one stays, and a step is
//! branch-free. Rows reach a leaf after 7.7 of 8 levels on average with the default
//! 256-row subsample (measured on the peer-comparison sets), so stopping rows early
//! would save little and cost a mispredicted branch per row and tree. The steps of
//! different rows are independent, and the processor overlaps them.

use super::plan::{BatchPlan, MAX_FEATURES};
use super::{IsolationForest, Split};

/// Rows per block of the value walk.
const BLOCK: usize = 64;
/// Rows per block of the planned walk: their ranks (4 KB) and one pack of trees
/// (24 KB at depth 8) share the first-level cache.
const PLANNED_BLOCK: usize = 64;

/// The path length of `row` in the tree rooted at `root`: walk until a leaf (a node
/// that points to itself), then read the leaf's precomputed `depth + c(size)`.
#[inline]
fn path_length(splits: &[Split], paths: &[f64], root: u32, row: &[f64]) -> f64 {
    let mut index = root;
    loop {
        let next = splits[index as usize].next(row);
        if next == index {
            return paths[index as usize];
        }
        index = next;
    }
}

impl IsolationForest {
    /// The anomaly score of one row, in (0, 1] (exactly 1 only for a model fitted on a
    /// single row, where every path has length 0). Panics if the row is shorter than
    /// `n_features`. Equal, to the bit, to the row's score from [`Self::score_many`].
    pub fn score(&self, row: &[f64]) -> f64 {
        let row = &row[..self.n_features];
        let total: f64 = self
            .roots
            .iter()
            .map(|&root| path_length(&self.splits, &self.paths, root, row))
            .sum();
        self.score_from_depth(total)
    }

    /// Scores every row of a row-major slice (a trailing partial row is ignored), on
    /// the calling thread.
    pub fn score_many(&self, rows: &[f64]) -> Vec<f64> {
        let n_rows = rows.len() / self.n_features;
        let mut scores = vec![0.0; n_rows];
        self.score_into(&rows[..n_rows * self.n_features], &mut scores);
        scores
    }

    /// [`Self::score_many`] split over up to `threads` scoped threads, each scoring a
    /// contiguous share of the rows (`threads` of 0 or 1: the calling thread only).
    /// Every row's score is computed the same way whatever the split, so the result is
    /// identical to [`Self::score_many`]'s.
    pub fn score_many_parallel(&self, rows: &[f64], threads: usize) -> Vec<f64> {
        let f = self.n_features;
        let n_rows = rows.len() / f;
        let mut scores = vec![0.0; n_rows];
        let rows = &rows[..n_rows * f];
        let threads = threads.clamp(1, n_rows.div_ceil(BLOCK).max(1));
        // Build the plan once, before the threads share the model.
        let _ = self.batch_plan();
        if threads == 1 {
            self.score_into(rows, &mut scores);
            return scores;
        }
        // Shares in whole blocks, so every thread runs full blocks but the last.
        let share = n_rows.div_ceil(BLOCK).div_ceil(threads) * BLOCK;
        // The calling thread scores the first share itself: one thread fewer to start,
        // and that share stays on a core that is already running.
        std::thread::scope(|scope| {
            let mut shares = scores.chunks_mut(share).zip(rows.chunks(share * f));
            let own = shares.next();
            for (share_scores, share_rows) in shares {
                scope.spawn(move || self.score_into(share_rows, share_scores));
            }
            if let Some((share_scores, share_rows)) = own {
                self.score_into(share_rows, share_scores);
            }
        });
        scores
    }

    /// Writes the scores of `rows` (exactly `scores.len()` rows) into `scores`: with
    /// the batch plan when the forest has one, else with the value walk.
    fn score_into(&self, rows: &[f64], scores: &mut [f64]) {
        debug_assert_eq!(rows.len(), scores.len() * self.n_features);
        match self.batch_plan() {
            Some(plan) => self.score_into_planned(plan, rows, scores),
            None => self.score_into_by_value(rows, scores),
        }
    }

    /// Scores with the batch plan (`plan.rs`), [`PLANNED_BLOCK`] rows at a time:
    /// rank the block's rows, then walk every pack of trees over them.
    fn score_into_planned(&self, plan: &BatchPlan, rows: &[f64], scores: &mut [f64]) {
        let mut ranks = [0u32; PLANNED_BLOCK * MAX_FEATURES];
        let mut totals = [0.0; PLANNED_BLOCK];
        for (block_scores, block_rows) in scores
            .chunks_mut(PLANNED_BLOCK)
            .zip(rows.chunks(PLANNED_BLOCK * self.n_features))
        {
            let n = block_scores.len();
            let ranks = &mut ranks[..n * MAX_FEATURES];
            plan.rank_rows(block_rows, ranks);
            let totals = &mut totals[..n];
            totals.fill(0.0);
            plan.add_path_lengths(ranks, totals);
            for (score, &total) in block_scores.iter_mut().zip(totals.iter()) {
                *score = self.score_from_depth(total);
            }
        }
    }

    /// Scores by walking the nodes with the rows' values (forests without a plan).
    fn score_into_by_value(&self, rows: &[f64], scores: &mut [f64]) {
        let mut at = [0u32; BLOCK];
        let mut other = [0u32; BLOCK];
        for (block_scores, block_rows) in scores
            .chunks_mut(BLOCK)
            .zip(rows.chunks(BLOCK * self.n_features))
        {
            block_scores.fill(0.0);
            // Trees two at a time: two independent walks per row and level keep more
            // loads in flight than one (~15 % faster; four at a time was slower). Each
            // tree's path lengths are still added in tree order, so the sums (and
            // scores) are the same as one tree at a time.
            let rows = block_scores.len();
            let trees = self.roots.len();
            for first in (0..trees).step_by(2) {
                // An odd last tree is walked as a pair with itself and counted once.
                let second = (first + 1).min(trees - 1);
                let (at_a, at_b) = (&mut at[..rows], &mut other[..rows]);
                let depth = self.depths[first].max(self.depths[second]);
                let roots = [self.roots[first], self.roots[second]];
                self.walk_pair(roots, depth, block_rows, at_a, at_b);
                let count_second = second != first;
                for ((total, &a), &b) in block_scores.iter_mut().zip(at_a.iter()).zip(at_b.iter()) {
                    *total += self.paths[a as usize];
                    if count_second {
                        *total += self.paths[b as usize];
                    }
                }
            }
            for score in block_scores.iter_mut() {
                *score = self.score_from_depth(*score);
            }
        }
    }

    /// Moves the rows of a block (`at_a.len()` rows of `n_features` values) from the
    /// roots of two trees down `depth` levels, leaving in `at_a` and `at_b` the leaf
    /// each row reached in each tree (a leaf points to itself, so the rows of the
    /// shallower tree simply stay).
    #[inline]
    fn walk_pair(
        &self,
        roots: [u32; 2],
        depth: u32,
        block_rows: &[f64],
        at_a: &mut [u32],
        at_b: &mut [u32],
    ) {
        let f = self.n_features;
        assert_eq!(
            block_rows.len(),
            at_a.len() * f,
            "block rows and slots differ"
        );
        assert_eq!(at_a.len(), at_b.len(), "slot arrays differ");
        let (top_a, top_b) = (
            self.splits[roots[0] as usize],
            self.splits[roots[1] as usize],
        );
        for ((a, b), row) in at_a
            .iter_mut()
            .zip(at_b.iter_mut())
            .zip(block_rows.chunks_exact(f))
        {
            *a = top_a.next(row);
            *b = top_b.next(row);
        }
        for _ in 1..depth {
            for (i, (a, b)) in at_a.iter_mut().zip(at_b.iter_mut()).enumerate() {
                // SAFETY: `*a` and `*b` are node indices (a root's child or a node's
                // child), and `check_layout` (run on every model built or deserialised)
                // proved that every node's children are in `splits` and every feature
                // is below `n_features = f`; `i < at_a.len()`, so
                // `i * f + feature < block_rows.len()` by the assertion above.
                let (split_a, x_a, split_b, x_b) = unsafe {
                    let split_a = self.splits.get_unchecked(*a as usize);
                    let split_b = self.splits.get_unchecked(*b as usize);
                    let x_a = *block_rows.get_unchecked(i * f + split_a.feature as usize);
                    let x_b = *block_rows.get_unchecked(i * f + split_b.feature as usize);
                    (split_a, x_a, split_b, x_b)
                };
                *a = split_a.left + u32::from(x_a > split_a.threshold);
                *b = split_b.left + u32::from(x_b > split_b.threshold);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::IsolationForestConfig;
    use super::*;

    fn rows(n: usize, f: usize) -> Vec<f64> {
        (0..n * f)
            .map(|i| ((i * 7919) % 1000) as f64 / 100.0 - 5.0)
            .collect()
    }

    #[test]
    fn batch_parallel_and_single_scores_agree_to_the_bit() {
        let data = rows(1000, 3);
        let model = IsolationForest::fit(&data, 3, &IsolationForestConfig::default(), 4).unwrap();
        // 203 rows: three full blocks and a partial one, plus a trailing partial row.
        let batch = &data[..203 * 3 + 2];
        let single: Vec<f64> = batch.chunks_exact(3).map(|r| model.score(r)).collect();
        assert_eq!(model.score_many(batch), single);
        for threads in [0, 1, 2, 3, 7, 64] {
            assert_eq!(
                model.score_many_parallel(batch, threads),
                single,
                "{threads}"
            );
        }
        assert!(model.score_many_parallel(&[], 4).is_empty());
    }

    #[test]
    fn an_odd_number_of_trees_scores_like_single_rows() {
        let data = rows(300, 3);
        for n_trees in [1, 7] {
            let config = IsolationForestConfig {
                n_trees,
                ..IsolationForestConfig::default()
            };
            let model = IsolationForest::fit(&data, 3, &config, 9).unwrap();
            let single: Vec<f64> = data.chunks_exact(3).map(|r| model.score(r)).collect();
            assert_eq!(model.score_many(&data), single, "{n_trees} trees");
        }
    }

    #[test]
    fn rows_with_nan_or_infinities_score_like_their_single_scores() {
        let data = rows(500, 2);
        let model = IsolationForest::fit(&data, 2, &IsolationForestConfig::default(), 5).unwrap();
        let odd = [
            f64::NAN,
            1.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.0,
            f64::NAN,
        ];
        let single: Vec<f64> = odd.chunks_exact(2).map(|r| model.score(r)).collect();
        assert_eq!(model.score_many(&odd), single);
        assert!(single.iter().all(|s| *s > 0.0 && *s < 1.0), "{single:?}");
    }

    /// Rows with ties, signed zeros, a constant feature and a few far values, so
    /// that thresholds repeat and ranks meet every edge case.
    fn awkward_rows(n: usize, f: usize, seed: u64) -> Vec<f64> {
        let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        (0..n * f)
            .map(|i| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                match (i % f, state % 10) {
                    (0, _) if f > 2 => 3.0,
                    (_, 0) => 0.0,
                    (_, 1) => -0.0,
                    (_, 2) => 1e12,
                    _ => ((state >> 20) % 200) as f64 / 8.0 - 12.0,
                }
            })
            .collect()
    }

    fn odd_rows(f: usize) -> Vec<f64> {
        let specials = [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.0,
            -0.0,
            1e300,
            -1e-300,
        ];
        (0..specials.len() * f)
            .map(|i| specials[(i * 5 + i / f) % specials.len()])
            .collect()
    }

    #[test]
    fn the_batch_plan_the_value_walk_and_single_rows_agree_to_the_bit() {
        for f in [1, 3, 8, 9, 16, 17] {
            for (n_trees, sample_size) in [(1, 256), (7, 16), (9, 256), (100, 256), (3, 2)] {
                let data = awkward_rows(700, f, (f * 31 + n_trees) as u64);
                let config = IsolationForestConfig {
                    n_trees,
                    sample_size,
                    ..IsolationForestConfig::default()
                };
                let model = IsolationForest::fit(&data, f, &config, 3).unwrap();
                let mut batch = data.clone();
                batch.extend(odd_rows(f));
                let single: Vec<f64> = batch.chunks_exact(f).map(|r| model.score(r)).collect();
                let mut by_value = vec![0.0; single.len()];
                model.score_into_by_value(&batch, &mut by_value);
                let context = format!("{f} features, {n_trees} trees of {sample_size}");
                assert_eq!(by_value, single, "value walk, {context}");
                assert_eq!(model.score_many(&batch), single, "batch, {context}");
                assert_eq!(model.score_many_parallel(&batch, 3), single, "{context}");
                let planned = model.batch_plan().is_some();
                if f <= 16 && std::arch::is_x86_feature_detected!("avx2") {
                    assert!(planned, "no plan for {context}");
                }
                if f > 16 {
                    assert!(!planned, "a plan for {context}");
                }
            }
        }
    }

    #[test]
    fn a_forest_deeper_than_a_plan_scores_with_the_value_walk() {
        let data = awkward_rows(9000, 2, 7);
        let config = IsolationForestConfig {
            n_trees: 3,
            sample_size: 8192,
            ..IsolationForestConfig::default()
        };
        let model = IsolationForest::fit(&data, 2, &config, 1).unwrap();
        assert!(model.batch_plan().is_none());
        let rows = &data[..400];
        let single: Vec<f64> = rows.chunks_exact(2).map(|r| model.score(r)).collect();
        assert_eq!(model.score_many(rows), single);
    }

    #[test]
    fn a_deserialised_model_rebuilds_its_plan_and_scores_the_same() {
        let data = awkward_rows(500, 4, 11);
        let model = IsolationForest::fit(&data, 4, &IsolationForestConfig::default(), 2).unwrap();
        let json = serde_json::to_string(&model).unwrap();
        let restored: IsolationForest = serde_json::from_str(&json).unwrap();
        assert_eq!(restored.score_many(&data), model.score_many(&data));
        let mut released = model.clone();
        released.release_batch_plan();
        if model.batch_plan().is_some() {
            assert!(released.state_bytes() < model.state_bytes());
        }
        assert_eq!(released.score_many(&data), model.score_many(&data));
    }

    proptest::proptest! {
        #[test]
        fn batch_scores_equal_single_row_scores(
            f in 1usize..20,
            values in proptest::collection::vec(
                proptest::prop_oneof![
                    -1e6f64..1e6,
                    proptest::strategy::Just(0.0),
                    proptest::strategy::Just(-0.0),
                    proptest::strategy::Just(f64::NAN),
                    proptest::strategy::Just(f64::INFINITY),
                ],
                1..600,
            ),
            seed in 0u64..1000,
        ) {
            let training: Vec<f64> = values.iter().map(|v| if v.is_finite() { *v } else { 1.0 }).collect();
            let n = training.len() / f * f;
            proptest::prop_assume!(n > 0);
            let config = IsolationForestConfig { n_trees: 11, ..IsolationForestConfig::default() };
            let model = IsolationForest::fit(&training[..n], f, &config, seed).unwrap();
            let single: Vec<f64> = values[..n].chunks_exact(f).map(|r| model.score(r)).collect();
            proptest::prop_assert_eq!(model.score_many(&values[..n]), single);
        }
    }
}
