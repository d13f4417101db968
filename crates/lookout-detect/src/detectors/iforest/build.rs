//! Growing the trees, then laying them out for scoring.
//!
//! A tree is grown depth-first into a scratch list ([`GrownNode`]), then copied
//! breadth-first into the forest's flat arrays ([`Layout`]): a row's first few steps
//! stay in the first cache lines of its tree, and the two children of a split sit side
//! by side, so a split stores one child index (`left`; `right = left + 1`).

use super::{average_path_length, Split};
use crate::detectors::rcf::rng::ForestRng;

/// A node while its tree grows. `children` is `None` for a leaf.
#[derive(Debug, Clone, Copy)]
struct GrownNode {
    feature: u32,
    threshold: f64,
    children: Option<u32>,
    size: u32,
    depth: u32,
}

/// The forest's node arrays, appended to tree by tree.
#[derive(Debug, Default)]
pub(super) struct Layout {
    pub(super) splits: Vec<Split>,
    pub(super) paths: Vec<f64>,
    pub(super) sizes: Vec<u32>,
    pub(super) roots: Vec<u32>,
    /// Per tree, the depth of its deepest leaf.
    pub(super) depths: Vec<u32>,
}

pub(super) struct Builder<'a> {
    pub(super) rows: &'a [f64],
    pub(super) n_features: usize,
    pub(super) max_depth: usize,
    pub(super) rng: ForestRng,
    pub(super) sample: Vec<u32>,
    pub(super) features: Vec<u32>,
    stack: Vec<(u32, usize, usize, usize)>,
    grown: Vec<GrownNode>,
    queue: std::collections::VecDeque<u32>,
}

impl<'a> Builder<'a> {
    pub(super) fn new(rows: &'a [f64], n_features: usize, max_depth: usize, seed: u64) -> Self {
        Self {
            rows,
            n_features,
            max_depth,
            rng: ForestRng::new(seed),
            sample: Vec::new(),
            features: (0..n_features as u32).collect(),
            stack: Vec::new(),
            grown: Vec::new(),
            queue: std::collections::VecDeque::new(),
        }
    }

    fn value(&self, row: u32, feature: u32) -> f64 {
        self.rows[row as usize * self.n_features + feature as usize]
    }

    /// Grows one tree over `sample` and appends it, breadth-first, to `layout`.
    pub(super) fn grow(&mut self, layout: &mut Layout) {
        self.grow_depth_first();
        self.lay_out(layout);
    }

    fn grow_depth_first(&mut self) {
        self.grown.clear();
        self.grown.push(GrownNode {
            feature: 0,
            threshold: 0.0,
            children: None,
            size: 0,
            depth: 0,
        });
        self.stack.clear();
        self.stack.push((0, 0, self.sample.len(), 0));
        while let Some((index, start, end, depth)) = self.stack.pop() {
            let size = end - start;
            let split = if depth >= self.max_depth || size <= 1 {
                None
            } else {
                self.choose_split(start, end)
            };
            let node = &mut self.grown[index as usize];
            node.size = size as u32;
            node.depth = depth as u32;
            let Some((feature, threshold)) = split else {
                continue;
            };
            let mut middle = start;
            for i in start..end {
                if self.value(self.sample[i], feature) <= threshold {
                    self.sample.swap(i, middle);
                    middle += 1;
                }
            }
            let left = self.grown.len() as u32;
            self.grown[index as usize] = GrownNode {
                feature,
                threshold,
                children: Some(left),
                size: size as u32,
                depth: depth as u32,
            };
            let blank = GrownNode {
                children: None,
                ..self.grown[index as usize]
            };
            self.grown.push(blank);
            self.grown.push(blank);
            self.stack.push((left, start, middle, depth + 1));
            self.stack.push((left + 1, middle, end, depth + 1));
        }
    }

    /// Copies the grown tree breadth-first: node `k` of the queue lands at
    /// `base + k`, and a split's children are placed together when it is dequeued.
    fn lay_out(&mut self, layout: &mut Layout) {
        let base = layout.splits.len() as u32;
        layout.roots.push(base);
        self.queue.clear();
        self.queue.push_back(0);
        let mut next_free = base + 1;
        let mut at = base;
        let mut deepest = 0;
        while let Some(grown_index) = self.queue.pop_front() {
            let node = self.grown[grown_index as usize];
            layout.sizes.push(node.size);
            match node.children {
                Some(left) => {
                    layout.splits.push(Split {
                        threshold: node.threshold,
                        left: next_free,
                        feature: node.feature,
                    });
                    layout.paths.push(0.0);
                    self.queue.push_back(left);
                    self.queue.push_back(left + 1);
                    next_free += 2;
                }
                None => {
                    deepest = deepest.max(node.depth);
                    layout.splits.push(Split::leaf(at));
                    layout
                        .paths
                        .push(node.depth as f64 + average_path_length(node.size as usize));
                }
            }
            at += 1;
        }
        layout.depths.push(deepest);
    }

    /// A uniformly random non-constant feature and a uniform threshold in its range.
    fn choose_split(&mut self, start: usize, end: usize) -> Option<(u32, f64)> {
        let count = self.features.len();
        for k in 0..count {
            let j = k + self.rng.below(count - k);
            self.features.swap(k, j);
            let feature = self.features[k];
            let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
            for &row in &self.sample[start..end] {
                let v = self.value(row, feature);
                lo = lo.min(v);
                hi = hi.max(v);
            }
            if hi > lo {
                let u = self.rng.next_f64();
                let mut threshold = lo * (1.0 - u) + hi * u;
                if !(threshold >= lo && threshold < hi) {
                    threshold = lo;
                }
                return Some((feature, threshold));
            }
        }
        None
    }
}
