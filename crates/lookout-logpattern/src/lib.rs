//! Online log pattern mining: each raw log line gets a stable pattern id and a template
//! (`<*>` for the variable parts), from the lines before it only.
//!
//! Pure, synchronous and deterministic: the same lines in the same order give the same
//! ids and templates. `lookout logs patterns FILE` runs it offline.
//!
//! - [`mask`]: whitespace tokens, variables masked inside each token (anything with a
//!   digit: numbers, hex, IPs, UUIDs, dates, times, versions, paths with digits; month
//!   and weekday names).
//! - [`Miner`]: a Drain-style fixed-depth parse tree (He et al., ICWS 2017) over the
//!   masked tokens with a similarity threshold.
//!
//! Headers (timestamps, hosts, process ids, levels) are not parsed per format: their
//! times, dates and numbers are masked like any variable, and positions where the
//! template holds a variable do not count in the similarity, so a header neither makes
//! unrelated messages look alike nor splits one message in two.
//!
//! What it catches: messages whose variables hold digits or sit where other lines of the
//! same message have something else. What it misses: one message logged with different
//! token counts (a variable that spans several words) becomes several patterns; two
//! messages that differ in only a few words of many may be merged (below the threshold
//! of difference); a pattern's template only ever generalises.
//!
//! Cost per line: one pass over its bytes to mask, `depth` hash look-ups, then a
//! comparison with each cluster of its leaf (O(tokens × clusters in the leaf)).
//!
//! Memory is bounded: at most `max_clusters` patterns (past it, the least recently
//! matched is evicted, and its id is never reused: a line of that shape later gets a
//! new id), at most `max_children` named children per tree node (past it, new tokens
//! route through the node's `<*>` child), lines cut at `max_line_bytes`, tokens past
//! `max_tokens` folded into one final `<*>`.

pub mod mask;
mod miner;

pub use miner::{Match, Miner};

/// A pattern's id: the order in which the patterns appeared, from 1, never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PatternId(pub u64);

impl std::fmt::Display for PatternId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Parameters of a [`Miner`]; the defaults are the ones measured in the README, the same
/// for every log system.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Tokens after the token count that route a line in the tree.
    pub depth: usize,
    /// Least similarity (0..=1) for a line to join a cluster.
    pub similarity: f64,
    /// Named children per tree node (a `<*>` child comes on top).
    pub max_children: usize,
    /// Patterns held; past it the least recently matched is evicted.
    pub max_clusters: usize,
    /// Tokens per line; the rest fold into one final `<*>`.
    pub max_tokens: usize,
    /// Bytes of a line mined; the rest is ignored.
    pub max_line_bytes: usize,
    /// Distinct tokens whose frequency is kept; tokens past it weigh as never seen.
    pub max_vocabulary: usize,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            depth: 2,
            similarity: 0.5,
            max_children: 100,
            max_clusters: 10_000,
            max_tokens: 256,
            max_line_bytes: 16 * 1024,
            max_vocabulary: 100_000,
        }
    }
}

/// A parameter out of its range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    #[error("log pattern {name} must be in {range}, not {value}")]
    OutOfRange {
        name: &'static str,
        range: &'static str,
        value: String,
    },
}

impl Config {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let check = |ok: bool, name, range, value: String| {
            if ok {
                Ok(())
            } else {
                Err(ConfigError::OutOfRange { name, range, value })
            }
        };
        check(self.depth <= 16, "depth", "0..=16", self.depth.to_string())?;
        check(
            (0.0..=1.0).contains(&self.similarity),
            "similarity",
            "0..=1",
            self.similarity.to_string(),
        )?;
        check(
            (1..=100_000).contains(&self.max_children),
            "max_children",
            "1..=100000",
            self.max_children.to_string(),
        )?;
        check(
            (1..=10_000_000).contains(&self.max_clusters),
            "max_clusters",
            "1..=10000000",
            self.max_clusters.to_string(),
        )?;
        check(
            (2..=65_536).contains(&self.max_tokens),
            "max_tokens",
            "2..=65536",
            self.max_tokens.to_string(),
        )?;
        check(
            (1..=1 << 30).contains(&self.max_line_bytes),
            "max_line_bytes",
            "1..=1073741824",
            self.max_line_bytes.to_string(),
        )
    }
}
