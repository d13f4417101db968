//! The parse tree and its clusters.
//!
//! Root → token count → the first `depth` masked tokens (a token holding a variable
//! routes through the `<*>` child) → a leaf holding clusters. A line goes to the leaf of
//! its route and joins the most similar cluster there when the similarity reaches
//! `similarity`, the positions where they differ becoming `<*>` in the template; else it
//! starts a new cluster.

use rustc_hash::FxHashMap;
use std::collections::BTreeMap;

use crate::mask::{self, WILDCARD};
use crate::{Config, ConfigError, PatternId};

#[derive(Debug, Default, Clone)]
struct Node {
    children: FxHashMap<Box<str>, Node>,
    /// Clusters of this leaf, oldest first.
    clusters: Vec<u64>,
}

#[derive(Debug, Clone)]
struct Cluster {
    tokens: Vec<Box<str>>,
    template: String,
    /// Route from the root: token count and child keys.
    route: (usize, Vec<Box<str>>),
    last_used: u64,
    lines: u64,
}

/// What [`Miner::add`] says of a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match<'a> {
    pub id: PatternId,
    /// The pattern's template after this line joined it.
    pub template: &'a str,
    /// The line started a new pattern.
    pub new: bool,
}

/// Online pattern miner: one line at a time, deterministic.
#[derive(Debug, Clone)]
pub struct Miner {
    config: Config,
    roots: FxHashMap<usize, Node>,
    clusters: FxHashMap<u64, Cluster>,
    /// `last_used` → cluster, to evict the least recently used.
    recency: BTreeMap<u64, u64>,
    next_id: u64,
    clock: u64,
    evicted: u64,
    tokens: Vec<String>,
    /// Lines each constant token appeared in (at most `max_vocabulary` tokens).
    frequency: FxHashMap<Box<str>, u64>,
    lines: u64,
}

impl Miner {
    pub fn new(config: Config) -> Result<Miner, ConfigError> {
        config.validate()?;
        Ok(Miner {
            config,
            roots: FxHashMap::default(),
            clusters: FxHashMap::default(),
            recency: BTreeMap::new(),
            next_id: 1,
            clock: 0,
            evicted: 0,
            tokens: Vec::new(),
            frequency: FxHashMap::default(),
            lines: 0,
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Patterns held now (at most `max_clusters`).
    pub fn len(&self) -> usize {
        self.clusters.len()
    }

    pub fn is_empty(&self) -> bool {
        self.clusters.is_empty()
    }

    /// Patterns evicted to stay under `max_clusters`.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// The current template of a pattern still held.
    pub fn template(&self, id: PatternId) -> Option<&str> {
        self.clusters.get(&id.0).map(|c| c.template.as_str())
    }

    /// Lines a held pattern has matched.
    pub fn count(&self, id: PatternId) -> Option<u64> {
        self.clusters.get(&id.0).map(|c| c.lines)
    }

    /// Mines one line (its first `max_line_bytes` bytes).
    pub fn add(&mut self, line: &str) -> Match<'_> {
        let line = truncate(line, self.config.max_line_bytes);
        let mut tokens = std::mem::take(&mut self.tokens);
        mask::tokens(line, self.config.max_tokens, &mut tokens);
        self.clock += 1;
        let route = self.route(&tokens);
        let weights = Weights {
            frequency: &self.frequency,
            lines: self.lines,
        };
        let best = self.find_leaf(&route).and_then(|leaf| {
            best_match(
                leaf,
                &self.clusters,
                &tokens,
                self.config.similarity,
                &weights,
            )
        });
        self.count_tokens(&tokens);
        let (id, new) = match best {
            Some(id) => {
                let clock = self.clock;
                let cluster = self.clusters.get_mut(&id).expect("leaf holds live ids");
                self.recency.remove(&cluster.last_used);
                cluster.last_used = clock;
                cluster.lines += 1;
                if merge(&mut cluster.tokens, &tokens) {
                    cluster.template = render(&cluster.tokens);
                }
                self.recency.insert(clock, id);
                (id, false)
            }
            None => {
                if self.clusters.len() >= self.config.max_clusters {
                    self.evict_oldest();
                }
                let id = self.next_id;
                self.next_id += 1;
                let tokens: Vec<Box<str>> = tokens.iter().map(|t| t.as_str().into()).collect();
                let template = render(&tokens);
                self.leaf(&route).clusters.push(id);
                self.recency.insert(self.clock, id);
                self.clusters.insert(
                    id,
                    Cluster {
                        tokens,
                        template,
                        route,
                        last_used: self.clock,
                        lines: 1,
                    },
                );
                (id, true)
            }
        };
        self.tokens = tokens;
        Match {
            id: PatternId(id),
            template: &self.clusters[&id].template,
            new,
        }
    }

    /// The route of a line: existing children are followed, a new child is made while
    /// the node has fewer than `max_children`, else the line goes through `<*>`.
    fn route(&self, tokens: &[String]) -> (usize, Vec<Box<str>>) {
        let mut keys = Vec::with_capacity(self.config.depth);
        let mut node = self.roots.get(&tokens.len());
        for token in tokens.iter().take(self.config.depth) {
            let key: &str = if mask::has_wildcard(token) {
                WILDCARD
            } else {
                token
            };
            let child = node.and_then(|n| n.children.get(key));
            let key = match (node, child) {
                (_, Some(_)) | (None, None) => key,
                (Some(n), None) if n.children.len() < self.config.max_children => key,
                (Some(_), None) => WILDCARD,
            };
            node = node.and_then(|n| n.children.get(key));
            keys.push(key.into());
        }
        (tokens.len(), keys)
    }

    fn count_tokens(&mut self, tokens: &[String]) {
        self.lines += 1;
        for token in tokens {
            if token == WILDCARD {
                continue;
            }
            if let Some(count) = self.frequency.get_mut(token.as_str()) {
                *count += 1;
            } else if self.frequency.len() < self.config.max_vocabulary {
                self.frequency.insert(token.as_str().into(), 1);
            }
        }
    }

    fn find_leaf(&self, route: &(usize, Vec<Box<str>>)) -> Option<&Node> {
        let mut node = self.roots.get(&route.0)?;
        for key in &route.1 {
            node = node.children.get(key)?;
        }
        Some(node)
    }

    fn leaf(&mut self, route: &(usize, Vec<Box<str>>)) -> &mut Node {
        let mut node = self.roots.entry(route.0).or_default();
        for key in &route.1 {
            node = node.children.entry(key.clone()).or_default();
        }
        node
    }

    fn evict_oldest(&mut self) {
        let Some((_, id)) = self.recency.pop_first() else {
            return;
        };
        let Some(cluster) = self.clusters.remove(&id) else {
            return;
        };
        self.evicted += 1;
        let (count, keys) = cluster.route;
        if let Some(root) = self.roots.get_mut(&count) {
            remove(root, &keys, id);
            if root.children.is_empty() && root.clusters.is_empty() {
                self.roots.remove(&count);
            }
        }
    }
}

/// Removes a cluster from its leaf and prunes the nodes left empty.
fn remove(node: &mut Node, keys: &[Box<str>], id: u64) {
    match keys.split_first() {
        None => node.clusters.retain(|&c| c != id),
        Some((key, rest)) => {
            if let Some(child) = node.children.get_mut(key) {
                remove(child, rest, id);
                if child.children.is_empty() && child.clusters.is_empty() {
                    node.children.remove(key);
                }
            }
        }
    }
}

/// The most similar cluster of the leaf at or above the threshold (the oldest on ties).
fn best_match(
    leaf: &Node,
    clusters: &FxHashMap<u64, Cluster>,
    tokens: &[String],
    threshold: f64,
    weights: &Weights<'_>,
) -> Option<u64> {
    let mut best: Option<(f64, u64)> = None;
    for &id in &leaf.clusters {
        let cluster = &clusters[&id];
        let score = similarity(&cluster.tokens, tokens, weights);
        if score >= threshold && best.is_none_or(|(b, _)| score > b) {
            best = Some((score, id));
        }
    }
    best.map(|(_, id)| id)
}

/// How much a token tells: `ln((lines + 1) / (lines with it + 1))` over the lines
/// before, so tokens on most lines (a host, a level in the header) weigh next to nothing.
pub(crate) struct Weights<'a> {
    frequency: &'a FxHashMap<Box<str>, u64>,
    lines: u64,
}

impl Weights<'_> {
    fn of(&self, token: &str) -> f64 {
        let seen = self.frequency.get(token).copied().unwrap_or(0);
        ((self.lines as f64 + 1.0) / (seen as f64 + 1.0)).ln() + MIN_WEIGHT
    }
}

/// Weight even of a token on every line.
const MIN_WEIGHT: f64 = 0.05;

/// Weighted share of the positions holding a constant in the template where the line
/// holds the same token; positions where the template holds a variable do not count
/// (the pattern already says anything goes there). A template made only of variables is
/// similar to every line of its leaf (1.0). Two different words (letters
/// only, punctuation around them aside) at one position make them dissimilar (0.0):
/// `VM Started` and `VM Paused`, `"GET` and `"POST` are different messages, however
/// long the rest they share.
pub(crate) fn similarity(template: &[Box<str>], tokens: &[String], weights: &Weights<'_>) -> f64 {
    let mut same = 0.0;
    let mut counted = 0.0;
    for (t, l) in template.iter().zip(tokens) {
        // The template already holds a variable there: whatever the line holds (even a
        // never-seen token, which weighs most) tells nothing against the pattern.
        if &**t == WILDCARD {
            continue;
        }
        let weight = weights.of(t).max(weights.of(l));
        counted += weight;
        if **t == **l {
            same += weight;
        } else if is_word(t) && is_word(l) {
            return 0.0;
        }
    }
    if counted == 0.0 {
        1.0
    } else {
        same / counted
    }
}

/// A word: letters only once the punctuation around it is trimmed (`"GET`, `Started`).
fn is_word(token: &str) -> bool {
    let core = token.trim_matches(|c: char| !c.is_alphanumeric());
    !core.is_empty() && core.chars().all(char::is_alphabetic)
}

/// Generalises the template to the line; whether it changed.
fn merge(template: &mut [Box<str>], tokens: &[String]) -> bool {
    let mut changed = false;
    for (t, l) in template.iter_mut().zip(tokens) {
        if **t != **l && &**t != WILDCARD {
            *t = WILDCARD.into();
            changed = true;
        }
    }
    changed
}

fn render(tokens: &[Box<str>]) -> String {
    tokens.join(" ")
}

fn truncate(line: &str, max: usize) -> &str {
    if line.len() <= max {
        return line;
    }
    let mut end = max;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    &line[..end]
}
