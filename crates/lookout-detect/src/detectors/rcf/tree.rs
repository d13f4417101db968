//! One random cut tree with its time-decayed reservoir sampler.
//!
//! Nodes live in two arenas (internal nodes and leaves) with free lists, so the tree
//! allocates nothing once it has reached `capacity` points. Node ids are `u32`; a
//! leaf id carries the [`LEAF`] bit. Every internal node caches its bounding box
//! (`2 * dim` values), which makes insertion top-down and scoring a single
//! root-to-leaf walk plus a walk back up.

use serde::{Deserialize, Serialize};

use super::rng::ForestRng;

const NONE: u32 = u32::MAX;
const LEAF: u32 = 1 << 31;

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Internal {
    left: u32,
    right: u32,
    parent: u32,
    cut_dim: u32,
    mass: u32,
    cut_value: f64,
}

/// A random cut tree over points of a fixed dimension, fed by a time-decayed sampler.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CutTree {
    dim: usize,
    capacity: usize,
    time_decay: f64,
    root: u32,
    nodes: Vec<Internal>,
    /// Per internal node: `dim` minima then `dim` maxima.
    bounds: Vec<f64>,
    free_nodes: Vec<u32>,
    leaf_points: Vec<f64>,
    leaf_mass: Vec<u32>,
    leaf_parent: Vec<u32>,
    free_leaves: Vec<u32>,
    /// Max-heap of sampler weights; `heap_leaf[i]` is the leaf holding that unit of mass.
    heap_weight: Vec<f64>,
    heap_leaf: Vec<u32>,
    rng: ForestRng,
    #[serde(skip)]
    path: Vec<u32>,
    #[serde(skip)]
    scratch_lo: Vec<f64>,
    #[serde(skip)]
    scratch_hi: Vec<f64>,
}

fn is_leaf(id: u32) -> bool {
    id != NONE && id & LEAF != 0
}

/// Draws a random cut on the box `[lo, hi]`, a cut proportional to the side lengths.
/// Returns `None` when the box is a single point.
fn random_cut(lo: &[f64], hi: &[f64], u: f64) -> Option<(usize, f64)> {
    let total: f64 = lo.iter().zip(hi).map(|(l, h)| h - l).sum();
    if total <= 0.0 || !total.is_finite() {
        return None;
    }
    let mut r = u * total;
    let mut last_positive = None;
    for (d, (l, h)) in lo.iter().zip(hi).enumerate() {
        let range = h - l;
        if range <= 0.0 {
            continue;
        }
        last_positive = Some(d);
        if r < range {
            let v = l + r;
            return Some((d, if v < *h { v } else { *l }));
        }
        r -= range;
    }
    last_positive.map(|d| (d, lo[d]))
}

impl CutTree {
    pub fn new(dim: usize, capacity: usize, time_decay: f64, rng: ForestRng) -> Self {
        Self {
            dim,
            capacity,
            time_decay,
            root: NONE,
            nodes: Vec::with_capacity(capacity),
            bounds: Vec::with_capacity(capacity * 2 * dim),
            free_nodes: Vec::new(),
            leaf_points: Vec::with_capacity(capacity * dim),
            leaf_mass: Vec::with_capacity(capacity),
            leaf_parent: Vec::with_capacity(capacity),
            free_leaves: Vec::new(),
            heap_weight: Vec::with_capacity(capacity),
            heap_leaf: Vec::with_capacity(capacity),
            rng,
            path: Vec::new(),
            scratch_lo: Vec::new(),
            scratch_hi: Vec::new(),
        }
    }

    /// Number of points (with multiplicity) held by the tree.
    pub fn mass(&self) -> usize {
        self.heap_weight.len()
    }

    /// Bytes of heap memory held by this tree.
    pub fn state_bytes(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<Internal>()
            + (self.bounds.capacity() + self.leaf_points.capacity() + self.heap_weight.capacity())
                * 8
            + (self.free_nodes.capacity()
                + self.leaf_mass.capacity()
                + self.leaf_parent.capacity()
                + self.free_leaves.capacity()
                + self.heap_leaf.capacity()
                + self.path.capacity())
                * 4
            + (self.scratch_lo.capacity() + self.scratch_hi.capacity()) * 8
    }

    fn leaf_point(&self, leaf: u32) -> &[f64] {
        let i = (leaf & !LEAF) as usize * self.dim;
        &self.leaf_points[i..i + self.dim]
    }

    fn node_bounds(&self, node: u32) -> (&[f64], &[f64]) {
        let i = node as usize * 2 * self.dim;
        let b = &self.bounds[i..i + 2 * self.dim];
        b.split_at(self.dim)
    }

    /// Offers the point with stream index `sequence` to the sampler; inserts it (and
    /// evicts the heaviest sampled point) when the sampler accepts it.
    pub fn offer(&mut self, point: &[f64], sequence: u64) {
        let u = self.rng.next_open_f64();
        let weight = (-u.ln()).ln() - self.time_decay * sequence as f64;
        if self.heap_weight.len() >= self.capacity {
            if weight >= self.heap_weight[0] {
                return;
            }
            let evicted = self.heap_leaf[0];
            self.heap_pop();
            self.delete(evicted);
        }
        let leaf = self.insert(point);
        self.heap_push(weight, leaf);
    }

    fn heap_push(&mut self, weight: f64, leaf: u32) {
        self.heap_weight.push(weight);
        self.heap_leaf.push(leaf);
        let mut i = self.heap_weight.len() - 1;
        while i > 0 {
            let parent = (i - 1) / 2;
            if self.heap_weight[parent] >= self.heap_weight[i] {
                break;
            }
            self.heap_weight.swap(parent, i);
            self.heap_leaf.swap(parent, i);
            i = parent;
        }
    }

    fn heap_pop(&mut self) {
        let last = self.heap_weight.len() - 1;
        self.heap_weight.swap(0, last);
        self.heap_leaf.swap(0, last);
        self.heap_weight.pop();
        self.heap_leaf.pop();
        let n = self.heap_weight.len();
        let mut i = 0;
        loop {
            let (l, r) = (2 * i + 1, 2 * i + 2);
            let mut largest = i;
            if l < n && self.heap_weight[l] > self.heap_weight[largest] {
                largest = l;
            }
            if r < n && self.heap_weight[r] > self.heap_weight[largest] {
                largest = r;
            }
            if largest == i {
                break;
            }
            self.heap_weight.swap(i, largest);
            self.heap_leaf.swap(i, largest);
            i = largest;
        }
    }

    fn new_leaf(&mut self, point: &[f64], parent: u32) -> u32 {
        let index = match self.free_leaves.pop() {
            Some(i) => {
                let at = i as usize * self.dim;
                self.leaf_points[at..at + self.dim].copy_from_slice(point);
                self.leaf_mass[i as usize] = 1;
                self.leaf_parent[i as usize] = parent;
                i
            }
            None => {
                self.leaf_points.extend_from_slice(point);
                self.leaf_mass.push(1);
                self.leaf_parent.push(parent);
                (self.leaf_mass.len() - 1) as u32
            }
        };
        index | LEAF
    }

    fn new_node(&mut self, node: Internal, lo: &[f64], hi: &[f64]) -> u32 {
        let index = match self.free_nodes.pop() {
            Some(i) => {
                self.nodes[i as usize] = node;
                i
            }
            None => {
                self.nodes.push(node);
                self.bounds.resize(self.nodes.len() * 2 * self.dim, 0.0);
                (self.nodes.len() - 1) as u32
            }
        };
        let at = index as usize * 2 * self.dim;
        self.bounds[at..at + self.dim].copy_from_slice(lo);
        self.bounds[at + self.dim..at + 2 * self.dim].copy_from_slice(hi);
        index
    }

    fn set_parent(&mut self, child: u32, parent: u32) {
        if is_leaf(child) {
            self.leaf_parent[(child & !LEAF) as usize] = parent;
        } else {
            self.nodes[child as usize].parent = parent;
        }
    }

    fn replace_child(&mut self, parent: u32, old: u32, new: u32) {
        if parent == NONE {
            self.root = new;
            return;
        }
        let node = &mut self.nodes[parent as usize];
        if node.left == old {
            node.left = new;
        } else {
            node.right = new;
        }
    }

    /// Inserts one unit of mass at `point`; returns the leaf that holds it.
    fn insert(&mut self, point: &[f64]) -> u32 {
        if self.root == NONE {
            self.root = self.new_leaf(point, NONE);
            return self.root;
        }
        let mut lo = std::mem::take(&mut self.scratch_lo);
        let mut hi = std::mem::take(&mut self.scratch_hi);
        lo.resize(self.dim, 0.0);
        hi.resize(self.dim, 0.0);
        let leaf = self.insert_below_root(point, &mut lo, &mut hi);
        self.scratch_lo = lo;
        self.scratch_hi = hi;
        leaf
    }

    fn insert_below_root(&mut self, point: &[f64], lo: &mut [f64], hi: &mut [f64]) -> u32 {
        let dim = self.dim;
        let mut current = self.root;
        loop {
            if is_leaf(current) {
                if self.leaf_point(current) == point {
                    self.leaf_mass[(current & !LEAF) as usize] += 1;
                    return current;
                }
                let existing = self.leaf_point(current);
                for d in 0..dim {
                    lo[d] = existing[d].min(point[d]);
                    hi[d] = existing[d].max(point[d]);
                }
                let mass = self.leaf_mass[(current & !LEAF) as usize];
                let u = self.rng.next_f64();
                let (cut_dim, cut_value) =
                    random_cut(&lo[..dim], &hi[..dim], u).expect("distinct points have a cut");
                return self.split_above(current, point, cut_dim, cut_value, mass, lo, hi);
            }
            let (blo, bhi) = self.node_bounds(current);
            for d in 0..dim {
                lo[d] = blo[d].min(point[d]);
                hi[d] = bhi[d].max(point[d]);
            }
            let u = self.rng.next_f64();
            if let Some((cut_dim, cut_value)) = random_cut(&lo[..dim], &hi[..dim], u) {
                let (blo, bhi) = self.node_bounds(current);
                let below = point[cut_dim] <= cut_value && cut_value < blo[cut_dim];
                let above = point[cut_dim] > cut_value && cut_value >= bhi[cut_dim];
                if below || above {
                    let mass = self.nodes[current as usize].mass;
                    return self.split_above(current, point, cut_dim, cut_value, mass, lo, hi);
                }
            }
            let at = current as usize * 2 * dim;
            self.bounds[at..at + dim].copy_from_slice(&lo[..dim]);
            self.bounds[at + dim..at + 2 * dim].copy_from_slice(&hi[..dim]);
            let node = &mut self.nodes[current as usize];
            node.mass += 1;
            current = if point[node.cut_dim as usize] <= node.cut_value {
                node.left
            } else {
                node.right
            };
        }
    }

    /// Puts a new internal node in place of `sibling`, with children `sibling` and a new
    /// leaf for `point`, on the sides given by the cut.
    #[allow(clippy::too_many_arguments)]
    fn split_above(
        &mut self,
        sibling: u32,
        point: &[f64],
        cut_dim: usize,
        cut_value: f64,
        sibling_mass: u32,
        lo: &[f64],
        hi: &[f64],
    ) -> u32 {
        let parent = if is_leaf(sibling) {
            self.leaf_parent[(sibling & !LEAF) as usize]
        } else {
            self.nodes[sibling as usize].parent
        };
        let node = Internal {
            left: NONE,
            right: NONE,
            parent,
            cut_dim: cut_dim as u32,
            mass: sibling_mass + 1,
            cut_value,
        };
        let id = self.new_node(node, &lo[..self.dim], &hi[..self.dim]);
        let leaf = self.new_leaf(point, id);
        let (left, right) = if point[cut_dim] <= cut_value {
            (leaf, sibling)
        } else {
            (sibling, leaf)
        };
        self.nodes[id as usize].left = left;
        self.nodes[id as usize].right = right;
        self.replace_child(parent, sibling, id);
        self.set_parent(sibling, id);
        leaf
    }

    /// Removes one unit of mass from `leaf`.
    fn delete(&mut self, leaf: u32) {
        let index = (leaf & !LEAF) as usize;
        self.leaf_mass[index] -= 1;
        let parent = self.leaf_parent[index];
        if self.leaf_mass[index] > 0 {
            self.decrement_masses(parent, false);
            return;
        }
        self.free_leaves.push(leaf & !LEAF);
        if parent == NONE {
            self.root = NONE;
            return;
        }
        let node = self.nodes[parent as usize];
        let sibling = if node.left == leaf {
            node.right
        } else {
            node.left
        };
        let grandparent = node.parent;
        self.replace_child(grandparent, parent, sibling);
        self.set_parent(sibling, grandparent);
        self.free_nodes.push(parent);
        self.decrement_masses(grandparent, true);
    }

    /// Walks from `node` to the root decrementing masses and, while `refit`, shrinking
    /// bounding boxes to the union of the children's.
    fn decrement_masses(&mut self, mut node: u32, mut refit: bool) {
        let dim = self.dim;
        while node != NONE {
            self.nodes[node as usize].mass -= 1;
            if refit {
                let Internal { left, right, .. } = self.nodes[node as usize];
                let at = node as usize * 2 * dim;
                let mut changed = false;
                for d in 0..dim {
                    let (llo, lhi) = self.child_extent(left, d);
                    let (rlo, rhi) = self.child_extent(right, d);
                    let (nlo, nhi) = (llo.min(rlo), lhi.max(rhi));
                    if nlo != self.bounds[at + d] || nhi != self.bounds[at + dim + d] {
                        changed = true;
                        self.bounds[at + d] = nlo;
                        self.bounds[at + dim + d] = nhi;
                    }
                }
                refit = changed;
            }
            node = self.nodes[node as usize].parent;
        }
    }

    fn child_extent(&self, child: u32, d: usize) -> (f64, f64) {
        if is_leaf(child) {
            let v = self.leaf_point(child)[d];
            (v, v)
        } else {
            let at = child as usize * 2 * self.dim;
            (self.bounds[at + d], self.bounds[at + self.dim + d])
        }
    }

    /// The AWS-style anomaly score of `point` in this tree (not normalised by the
    /// tree's mass yet): the expected `1 / (depth + 1)` at which a random cut would
    /// separate the point, mixed bottom-up by each box's probability of separation.
    pub fn score(&mut self, point: &[f64]) -> f64 {
        if self.root == NONE {
            return 0.0;
        }
        let total_mass = self.mass() as f64;
        self.path.clear();
        let mut current = self.root;
        while !is_leaf(current) {
            self.path.push(current);
            let node = &self.nodes[current as usize];
            current = if point[node.cut_dim as usize] <= node.cut_value {
                node.left
            } else {
                node.right
            };
        }
        let depth = self.path.len() as f64;
        let mass = self.leaf_mass[(current & !LEAF) as usize] as f64;
        let mut score = if self.leaf_point(current) == point {
            let damp = 1.0 - mass / (2.0 * total_mass);
            return damp / (depth + (1.0 + mass).log2()) * (1.0 + total_mass).log2();
        } else {
            1.0 / (depth + 1.0)
        };
        for (node_depth, &node) in self.path.iter().enumerate().rev() {
            let (lo, hi) = self.node_bounds(node);
            let mut inside = 0.0;
            let mut merged = 0.0;
            for d in 0..self.dim {
                inside += hi[d] - lo[d];
                merged += hi[d].max(point[d]) - lo[d].min(point[d]);
            }
            let probability = if merged > 0.0 {
                (merged - inside) / merged
            } else {
                0.0
            };
            if probability <= 0.0 {
                break;
            }
            score = (1.0 - probability) * score + probability / (node_depth as f64 + 1.0);
        }
        score * (1.0 + total_mass).log2()
    }

    /// Checks the structural invariants (for tests): masses, boxes and parent links.
    #[cfg(test)]
    pub fn check_invariants(&self) -> usize {
        if self.root == NONE {
            assert_eq!(self.mass(), 0);
            return 0;
        }
        let total = self.check_subtree(self.root, NONE);
        assert_eq!(total, self.mass());
        total
    }

    #[cfg(test)]
    fn check_subtree(&self, id: u32, parent: u32) -> usize {
        if is_leaf(id) {
            assert_eq!(self.leaf_parent[(id & !LEAF) as usize], parent);
            return self.leaf_mass[(id & !LEAF) as usize] as usize;
        }
        let node = self.nodes[id as usize];
        assert_eq!(node.parent, parent);
        let mass = self.check_subtree(node.left, id) + self.check_subtree(node.right, id);
        assert_eq!(mass, node.mass as usize);
        let (lo, hi) = self.node_bounds(id);
        for d in 0..self.dim {
            let (llo, lhi) = self.child_extent(node.left, d);
            let (rlo, rhi) = self.child_extent(node.right, d);
            assert_eq!(lo[d], llo.min(rlo));
            assert_eq!(hi[d], lhi.max(rhi));
        }
        mass
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invariants_hold_under_churn_and_duplicates() {
        let mut rng = ForestRng::new(3);
        let mut tree = CutTree::new(3, 32, 0.01, ForestRng::new(9));
        for t in 0..2000u64 {
            let point = if t % 7 == 0 {
                [1.0, 2.0, 3.0]
            } else {
                [rng.next_f64(), rng.next_f64().round(), rng.next_f64() * 5.0]
            };
            tree.offer(&point, t);
            assert_eq!(tree.check_invariants(), tree.mass());
            assert!(tree.mass() <= 32);
        }
        assert_eq!(tree.mass(), 32);
    }

    #[test]
    fn isolated_point_scores_higher_than_cluster_point() {
        let mut rng = ForestRng::new(5);
        let mut tree = CutTree::new(2, 64, 0.0, ForestRng::new(1));
        for t in 0..64 {
            tree.offer(&[rng.next_f64(), rng.next_f64()], t);
        }
        let inlier = tree.score(&[0.5, 0.5]);
        let outlier = tree.score(&[10.0, -10.0]);
        assert!(outlier > inlier, "outlier {outlier} vs inlier {inlier}");
    }
}
