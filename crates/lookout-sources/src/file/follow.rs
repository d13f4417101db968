//! Following the files a set of path patterns names, the way `tail -F` does: new
//! complete lines of each, across rotation and truncation.
//!
//! Shared by the `file` source (JSON lines) and the `auth_log` source (syslog lines):
//! each tick [`Follower::read`] expands the patterns, reads a rotated-away file to its
//! end (its unfinished last line included) before its successor from the beginning,
//! rereads a truncated file from its start, and hands every complete line to the
//! caller with its file and line number, at most `budget` lines a tick. Files present
//! at the first tick are read from their end or their beginning (`ReadFrom`); files that
//! appear later from their beginning. Cost: one `stat` per followed file and one glob
//! expansion per pattern per tick, 64 KiB read buffers, one open handle and the partial
//! line per file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lookout_config::ReadFrom;

use super::tail::{Identity, Tail};

/// Counters of a follower since it started.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FollowStats {
    /// Lines longer than the limit, skipped.
    pub too_long: u64,
    /// Files followed from a new beginning after a rotation or a truncation.
    pub rotations: u64,
}

/// The files of some path patterns being followed.
#[derive(Debug)]
pub struct Follower {
    patterns: Vec<String>,
    max_line_bytes: usize,
    first_scan: bool,
    read_from: ReadFrom,
    files: BTreeMap<PathBuf, Tail>,
    stats: FollowStats,
}

impl Follower {
    /// Follows `patterns` (paths or globs), skipping lines over `max_line_bytes`.
    pub fn new(patterns: Vec<String>, read_from: ReadFrom, max_line_bytes: usize) -> Follower {
        Follower {
            patterns,
            max_line_bytes,
            first_scan: true,
            read_from,
            files: BTreeMap::new(),
            stats: FollowStats::default(),
        }
    }

    pub fn stats(&self) -> FollowStats {
        self.stats
    }

    /// The files the patterns name now (a pattern without a match names nothing).
    fn matching_paths(&self, errors: &mut Vec<String>) -> Vec<PathBuf> {
        let mut paths = Vec::new();
        for pattern in &self.patterns {
            match glob::glob(pattern) {
                Ok(entries) => paths.extend(entries.flatten().filter(|path| path.is_file())),
                Err(error) => errors.push(format!("path pattern {pattern:?}: {error}")),
            }
        }
        paths.sort();
        paths.dedup();
        paths
    }

    /// Hands each new complete line to `line` (file, 1-based number, bytes), at most
    /// about `budget` lines (a rotated-away file is always read to its end); problems
    /// go to `errors`, naming the file.
    pub fn read(
        &mut self,
        budget: usize,
        errors: &mut Vec<String>,
        mut line: impl FnMut(&Path, u64, &[u8]),
    ) {
        let matching = self.matching_paths(errors);
        let at_end = self.first_scan && self.read_from == ReadFrom::End;
        self.first_scan = false;
        let mut handed = 0usize;
        let mut count = |path: &Path, number: u64, bytes: &[u8], handed: &mut usize| {
            *handed += 1;
            line(path, number, bytes);
        };
        // Files whose path now names another file, or nothing: read them to their end.
        let followed: Vec<PathBuf> = self.files.keys().cloned().collect();
        for path in followed {
            let current = std::fs::metadata(&path).ok().map(|m| Identity::of(&m));
            let tail = self.files.get_mut(&path).expect("followed");
            if current == Some(tail.identity()) {
                continue;
            }
            let mut tail = self.files.remove(&path).expect("followed");
            let result =
                tail.read_lines(usize::MAX, |n, bytes| count(&path, n, bytes, &mut handed));
            match result {
                Ok(outcome) => self.stats.too_long += outcome.too_long,
                Err(error) => errors.push(format!(
                    "cannot read the rotated {}: {error}",
                    path.display()
                )),
            }
            tail.finish(|n, bytes| count(&path, n, bytes, &mut handed));
            if current.is_some() {
                self.stats.rotations += 1;
            }
        }
        for path in matching {
            if handed >= budget {
                break;
            }
            if !self.files.contains_key(&path) {
                match Tail::open(&path, at_end, self.max_line_bytes) {
                    Ok(tail) => {
                        self.files.insert(path.clone(), tail);
                    }
                    Err(error) => {
                        errors.push(format!("cannot open {}: {error}", path.display()));
                        continue;
                    }
                }
            }
            let tail = self.files.get_mut(&path).expect("just opened");
            let left = budget - handed;
            match tail.read_lines(left, |n, bytes| count(&path, n, bytes, &mut handed)) {
                Ok(outcome) => {
                    self.stats.too_long += outcome.too_long;
                    if outcome.truncated {
                        self.stats.rotations += 1;
                    }
                }
                Err(error) => {
                    errors.push(format!("cannot read {}: {error}", tail.path().display()));
                }
            }
        }
    }
}
