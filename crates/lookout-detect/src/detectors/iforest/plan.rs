//! The batch-scoring plan: the forest recast so that one row walks eight trees at
//! once, one vector lane per tree, with AVX2 (see `avx2.rs`).
//!
//! Three changes make that possible, and none changes a single score:
//!
//! - **Ranks instead of values.** For each feature, the forest's distinct split
//!   thresholds are sorted once. A row's value `x` becomes its rank, the number of
//!   thresholds below it, and a split on the `k`-th threshold becomes "rank > k":
//!   `x > t_k` holds exactly when at least `k + 1` thresholds lie below `x`. NaN has
//!   rank 0 and goes left, as in the value walk. A row is ranked once (a binary
//!   search per feature), then walks every tree. With at most 16 features, a row's
//!   ranks fit in two vectors, and a lane fetches its node's rank with a permutation
//!   instead of a memory load.
//! - **Complete trees of one depth.** Every tree is laid out as a complete binary
//!   tree of the forest's greatest depth `D` (children of position `i` at `2i + 1`
//!   and `2i + 2`), so a node is one `u32` (`rank << 8 | feature`) and no child index
//!   is loaded. Below a leaf shallower than `D`, pass-through nodes send every row
//!   left, and the leftmost position at depth `D` holds the leaf's path length. Every
//!   walk takes exactly `D` steps; no branch depends on the data.
//! - **Eight trees interleaved.** Trees are grouped in packs of [`LANES`]; a pack
//!   stores position `i` of its eight trees side by side (`i × 8 + lane`), so a step
//!   of the pack is one gather, and the root level is a plain load. A missing tree in
//!   the last pack is a single leaf of length 0.
//!
//! Path lengths are added to a row's total in tree order, as in the value walk, so
//! the scores are equal to the bit to those of [`IsolationForest::score`].
//!
//! A plan exists only where it pays and fits: an x86-64 processor with AVX2, at most
//! 16 features, a depth of at most [`MAX_DEPTH`] (the default 256-row subsample gives
//! 8) and fewer than 2^24 − 1 distinct thresholds per feature. Otherwise the forest
//! scores with the value walk. Size: `packs × 2^D × 8 × 12` bytes (24 KB per pack of
//! eight trees at depth 8: 300 KB for 100 trees) plus 8 bytes per distinct threshold.

use super::IsolationForest;

/// Trees walked together: one 256-bit vector of 32-bit positions.
pub(super) const LANES: usize = 8;
/// Features a plan takes: a row's ranks fill at most two vectors.
pub(super) const MAX_FEATURES: usize = 16;
/// The deepest forest a plan lays out completely.
const MAX_DEPTH: u32 = 12;
/// The rank of a pass-through node: no row's rank exceeds it.
const PASS_THROUGH: u32 = (1 << 24) - 1;

/// See the module doc.
#[derive(Debug, Clone)]
pub(super) struct BatchPlan {
    /// The depth every tree is laid out to.
    pub(super) depth: u32,
    pub(super) packs: usize,
    /// Per pack, `2^depth − 1` positions × 8 trees: `rank << 8 | feature`.
    pub(super) nodes: Vec<u32>,
    /// Per pack, `2^depth` leaves × 8 trees: path lengths (0 where no row arrives).
    pub(super) leaves: Vec<f64>,
    /// Per feature, the distinct thresholds in increasing order.
    thresholds: Vec<Vec<f64>>,
}

impl BatchPlan {
    /// The plan of `model`, or `None` when the forest or the processor does not fit
    /// one (see the module doc).
    pub(super) fn build(model: &IsolationForest) -> Option<Self> {
        if !Self::processor_fits() || model.n_features > MAX_FEATURES {
            return None;
        }
        let depth = model.depths.iter().copied().max().unwrap_or(0);
        if depth > MAX_DEPTH {
            return None;
        }
        let thresholds = Self::thresholds_by_feature(model)?;
        let packs = model.roots.len().div_ceil(LANES);
        let internal = (1usize << depth) - 1;
        let mut plan = Self {
            depth,
            packs,
            nodes: vec![PASS_THROUGH << 8; packs * internal * LANES],
            leaves: vec![0.0; packs * (internal + 1) * LANES],
            thresholds,
        };
        for (tree, &root) in model.roots.iter().enumerate() {
            plan.place(model, tree, root, 0);
        }
        Some(plan)
    }

    #[cfg(target_arch = "x86_64")]
    fn processor_fits() -> bool {
        std::arch::is_x86_feature_detected!("avx2")
    }

    #[cfg(not(target_arch = "x86_64"))]
    fn processor_fits() -> bool {
        false
    }

    /// Per feature, the sorted distinct thresholds of the forest's splits; `None` if a
    /// split has a non-finite threshold (only a hand-made model can) or a feature has
    /// too many to rank.
    fn thresholds_by_feature(model: &IsolationForest) -> Option<Vec<Vec<f64>>> {
        let mut thresholds = vec![Vec::new(); model.n_features];
        for (index, split) in model.splits.iter().enumerate() {
            if split.left as usize == index {
                continue;
            }
            if !split.threshold.is_finite() {
                return None;
            }
            thresholds[split.feature as usize].push(split.threshold);
        }
        for list in &mut thresholds {
            list.sort_unstable_by(f64::total_cmp);
            // -0 and +0 stay apart: a threshold's rank is found with `total_cmp`.
            list.dedup_by(|a, b| a.total_cmp(b).is_eq());
            if list.len() >= PASS_THROUGH as usize {
                return None;
            }
        }
        Some(thresholds)
    }

    /// Copies the subtree of `model` node `index` of `tree` to complete-tree
    /// `position`.
    fn place(&mut self, model: &IsolationForest, tree: usize, index: u32, position: usize) {
        let internal = (1usize << self.depth) - 1;
        let (pack, lane) = (tree / LANES, tree % LANES);
        let split = model.splits[index as usize];
        if split.left == index {
            // A leaf: rows reaching it go left through the pass-through nodes below.
            let mut at = position;
            while at < internal {
                at = 2 * at + 1;
            }
            let leaf = (pack * (internal + 1) + at - internal) * LANES + lane;
            self.leaves[leaf] = model.paths[index as usize];
            return;
        }
        let rank = self.thresholds[split.feature as usize]
            .binary_search_by(|t| t.total_cmp(&split.threshold))
            .expect("every split's threshold is in its feature's list") as u32;
        self.nodes[(pack * internal + position) * LANES + lane] = rank << 8 | split.feature;
        self.place(model, tree, split.left, 2 * position + 1);
        self.place(model, tree, split.left + 1, 2 * position + 2);
    }

    /// Writes the ranks of row-major `rows` into `ranks`, [`MAX_FEATURES`] per row
    /// (features beyond the model's get rank 0). Eight rows are searched in lockstep
    /// so that their searches overlap.
    pub(super) fn rank_rows(&self, rows: &[f64], ranks: &mut [u32]) {
        let f = self.thresholds.len();
        debug_assert_eq!(ranks.len(), rows.len() / f * MAX_FEATURES);
        ranks.fill(0);
        for (group_rows, group_ranks) in rows
            .chunks(f * LANES)
            .zip(ranks.chunks_mut(MAX_FEATURES * LANES))
        {
            let n = group_rows.len() / f;
            for (feature, list) in self.thresholds.iter().enumerate() {
                let mut values = [f64::NAN; LANES];
                for (lane, value) in values.iter_mut().enumerate().take(n) {
                    *value = group_rows[lane * f + feature];
                }
                let counts = count_below(list, values);
                for (lane, &count) in counts.iter().enumerate().take(n) {
                    group_ranks[lane * MAX_FEATURES + feature] = count;
                }
            }
        }
    }

    /// Adds to each row's total in `totals` the path lengths of every tree, tree by
    /// tree; `ranks` holds the rows' ranks from [`Self::rank_rows`].
    pub(super) fn add_path_lengths(&self, ranks: &[u32], totals: &mut [f64]) {
        #[cfg(target_arch = "x86_64")]
        {
            let wide = self.thresholds.len() > LANES;
            // SAFETY: a plan is built only on a processor with AVX2
            // (`processor_fits`), and it is the plan's own layout.
            unsafe { super::avx2::add_path_lengths(self, wide, ranks, totals) }
        }
        #[cfg(not(target_arch = "x86_64"))]
        unreachable!("a batch plan is built only on x86-64 ({ranks:?}, {totals:?})");
    }

    /// Bytes held by the plan.
    pub(super) fn bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.nodes.capacity() * 4
            + self.leaves.capacity() * 8
            + self
                .thresholds
                .iter()
                .map(|list| std::mem::size_of::<Vec<f64>>() + list.capacity() * 8)
                .sum::<usize>()
    }
}

/// For each value, how many entries of the sorted `list` are below it (`t < x`;
/// 0 for NaN): a branch-free binary search, eight at a time.
fn count_below(list: &[f64], values: [f64; LANES]) -> [u32; LANES] {
    let mut base = [0usize; LANES];
    if list.is_empty() {
        return [0; LANES];
    }
    let mut size = list.len();
    while size > 1 {
        let half = size / 2;
        for (start, &x) in base.iter_mut().zip(&values) {
            // SAFETY: `start + size <= list.len()` holds throughout, and half < size.
            let below = unsafe { *list.get_unchecked(*start + half) } < x;
            // A conditional move, not a branch: the comparison is a coin toss.
            *start = std::hint::select_unpredictable(below, *start + half, *start);
        }
        size -= half;
    }
    std::array::from_fn(|lane| (base[lane] + usize::from(list[base[lane]] < values[lane])) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_below_matches_a_linear_count() {
        let lists = [
            vec![],
            vec![1.0],
            vec![-0.0, 0.0, 2.0],
            (0..37).map(f64::from).collect(),
        ];
        let values = [f64::NAN, -1.0, -0.0, 0.0, 0.5, 2.0, 36.0, f64::INFINITY];
        for list in &lists {
            let expected: Vec<u32> = values
                .iter()
                .map(|&x| list.iter().filter(|&&t| t < x).count() as u32)
                .collect();
            assert_eq!(count_below(list, values).to_vec(), expected, "{list:?}");
        }
    }
}
