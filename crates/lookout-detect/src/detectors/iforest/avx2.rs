//! The AVX2 kernel of the batch plan (see `plan.rs`): a row walks a pack of eight
//! trees at once, one lane per tree. A step fetches the eight trees' nodes at their
//! positions, then a permutation hands each lane the row's rank of its node's
//! feature, and a comparison gives `2i + 1 + c`. Fetching is a plain load at the
//! root, a blend of the 2 (level 1) or 4 (level 2) candidate nodes chosen by the
//! row's earlier turns, and a gather below (a gather costs ~11 cycles here, a blend
//! one; measured on the peer-comparison sets, the blends made the walk ~10 % faster).
//! [`ROWS`] rows advance together so that their gathers overlap. A pack's nodes and
//! leaves (24 KB at depth 8) stay in the first-level cache while a block of rows
//! walks it.
//!
//! The eight path lengths are then added to the row's total one by one, in tree
//! order, as in the value walk, so the totals are the same to the bit.

use std::arch::x86_64::{
    __m256i, _mm256_add_epi32, _mm256_blendv_ps, _mm256_castps_si256, _mm256_castsi256_ps,
    _mm256_castsi256_si128, _mm256_cmpgt_epi32, _mm256_extracti128_si256, _mm256_i32gather_epi32,
    _mm256_i32gather_pd, _mm256_loadu_si256, _mm256_permutevar8x32_epi32, _mm256_set1_epi32,
    _mm256_setr_epi32, _mm256_setzero_si256, _mm256_slli_epi32, _mm256_srli_epi32,
    _mm256_storeu_pd, _mm256_sub_epi32,
};

use super::plan::{BatchPlan, LANES, MAX_FEATURES};

/// Rows walked together.
const ROWS: usize = 4;

/// Adds to each row's total in `totals` the path lengths of every tree of `plan`,
/// tree by tree. `ranks` holds the rows' ranks, [`MAX_FEATURES`] per row.
///
/// # Safety
/// The processor must support AVX2 (a plan is built only then). Every memory access
/// stays in bounds: a walk of `D` steps from position 0 reads nodes at positions
/// below `2^D − 1` and ends on a leaf among `2^D`, and the ranks read per row are
/// the row's `MAX_FEATURES` (checked by the assertion).
#[target_feature(enable = "avx2")]
pub(super) unsafe fn add_path_lengths(
    plan: &BatchPlan,
    wide: bool,
    ranks: &[u32],
    totals: &mut [f64],
) {
    assert_eq!(
        ranks.len(),
        totals.len() * MAX_FEATURES,
        "ranks and totals differ"
    );
    // SAFETY: the contract above.
    unsafe {
        if wide {
            add_path_lengths_of::<true>(plan, ranks, totals);
        } else {
            add_path_lengths_of::<false>(plan, ranks, totals);
        }
    }
}

/// [`add_path_lengths`] for rows of at most 16 (`WIDE`) or at most 8 features.
#[target_feature(enable = "avx2")]
unsafe fn add_path_lengths_of<const WIDE: bool>(
    plan: &BatchPlan,
    ranks: &[u32],
    totals: &mut [f64],
) {
    let internal = (1usize << plan.depth) - 1;
    for pack in 0..plan.packs {
        // SAFETY: pack < packs, and the arrays hold `packs` packs.
        let (nodes, leaves) = unsafe {
            (
                plan.nodes.as_ptr().add(pack * internal * LANES) as *const i32,
                plan.leaves.as_ptr().add(pack * (internal + 1) * LANES),
            )
        };
        let walk = Walk {
            nodes,
            leaves,
            depth: plan.depth,
        };
        let mut row_groups = totals.chunks_exact_mut(ROWS);
        let mut rank_groups = ranks.chunks_exact(ROWS * MAX_FEATURES);
        for (group_totals, group_ranks) in (&mut row_groups).zip(&mut rank_groups) {
            // SAFETY: as above; each row has its `MAX_FEATURES` ranks.
            unsafe { walk.rows::<ROWS, WIDE>(group_ranks, group_totals) };
        }
        let rest_ranks = rank_groups.remainder();
        for (total, row_ranks) in row_groups
            .into_remainder()
            .chunks_exact_mut(1)
            .zip(rest_ranks.chunks_exact(MAX_FEATURES))
        {
            unsafe { walk.rows::<1, WIDE>(row_ranks, total) };
        }
    }
}

/// One pack of trees, ready to walk.
struct Walk {
    nodes: *const i32,
    leaves: *const f64,
    depth: u32,
}

impl Walk {
    /// Walks `N` rows (their ranks, `MAX_FEATURES` each) down the pack and adds the
    /// eight path lengths to each row's total, in tree order.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn rows<const N: usize, const WIDE: bool>(&self, ranks: &[u32], totals: &mut [f64]) {
        debug_assert_eq!(ranks.len(), N * MAX_FEATURES);
        debug_assert_eq!(totals.len(), N);
        let lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        let one = _mm256_set1_epi32(1);
        // SAFETY: each row has MAX_FEATURES = 16 ranks: two vectors of 8.
        let low: [__m256i; N] = std::array::from_fn(|r| unsafe {
            _mm256_loadu_si256(ranks.as_ptr().add(r * MAX_FEATURES) as *const __m256i)
        });
        let high: [__m256i; N] = std::array::from_fn(|r| unsafe {
            _mm256_loadu_si256(ranks.as_ptr().add(r * MAX_FEATURES + 8) as *const __m256i)
        });
        let mut at = [_mm256_setzero_si256(); N];
        // Where each row went right at the first two levels: the nodes of levels 1
        // and 2 (2 and 4 per tree) are picked with blends, not gathered.
        let mut right_at = [[_mm256_setzero_si256(); N]; 2];
        for level in 0..self.depth {
            for r in 0..N {
                // SAFETY: positions are internal while nodes are read; levels 0–2
                // are the pack's first 7 × 8 nodes.
                let node = unsafe {
                    let level_node = |k: usize| {
                        _mm256_castsi256_ps(_mm256_loadu_si256(
                            self.nodes.add(k * LANES) as *const __m256i
                        ))
                    };
                    let pick =
                        |a, b, mask: __m256i| _mm256_blendv_ps(a, b, _mm256_castsi256_ps(mask));
                    match level {
                        0 => _mm256_castps_si256(level_node(0)),
                        1 => {
                            _mm256_castps_si256(pick(level_node(1), level_node(2), right_at[0][r]))
                        }
                        2 => {
                            let left = pick(level_node(3), level_node(4), right_at[1][r]);
                            let right = pick(level_node(5), level_node(6), right_at[1][r]);
                            _mm256_castps_si256(pick(left, right, right_at[0][r]))
                        }
                        _ => {
                            let index = _mm256_add_epi32(_mm256_slli_epi32::<3>(at[r]), lane);
                            _mm256_i32gather_epi32::<4>(self.nodes, index)
                        }
                    }
                };
                // The permutation reads the low 3 bits of the feature; bit 3 picks
                // the second vector of ranks.
                let mut rank = _mm256_permutevar8x32_epi32(low[r], node);
                if WIDE {
                    let upper = _mm256_permutevar8x32_epi32(high[r], node);
                    let pick_upper = _mm256_castsi256_ps(_mm256_slli_epi32::<28>(node));
                    rank = _mm256_castps_si256(_mm256_blendv_ps(
                        _mm256_castsi256_ps(rank),
                        _mm256_castsi256_ps(upper),
                        pick_upper,
                    ));
                }
                // All ones where the row goes right.
                let right = _mm256_cmpgt_epi32(rank, _mm256_srli_epi32::<8>(node));
                if level < 2 {
                    right_at[level as usize][r] = right;
                }
                let doubled = _mm256_add_epi32(at[r], at[r]);
                at[r] = _mm256_sub_epi32(_mm256_add_epi32(doubled, one), right);
            }
        }
        let first_leaf = _mm256_set1_epi32((1i32 << self.depth) - 1);
        for r in 0..N {
            let leaf = _mm256_sub_epi32(at[r], first_leaf);
            let index = _mm256_add_epi32(_mm256_slli_epi32::<3>(leaf), lane);
            let mut lengths = [0.0; LANES];
            // SAFETY: leaves are below 2^depth; the pack holds 2^depth × 8 of them.
            unsafe {
                let low = _mm256_i32gather_pd::<8>(self.leaves, _mm256_castsi256_si128(index));
                let high =
                    _mm256_i32gather_pd::<8>(self.leaves, _mm256_extracti128_si256::<1>(index));
                _mm256_storeu_pd(lengths.as_mut_ptr(), low);
                _mm256_storeu_pd(lengths.as_mut_ptr().add(4), high);
            }
            for length in lengths {
                totals[r] += length;
            }
        }
    }
}
