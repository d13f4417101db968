//! Following the files a list of glob patterns names, across rotation: the part of the
//! `file` source that the `access_log` source shares.
//!
//! Each [`Follower::read`] expands the patterns, reads what each followed file gained
//! since the last read and hands out its complete lines with their file and number:
//!
//! - **Start**: files present at the first read are read from their end
//!   (`read_from = "end"`) or their beginning; files that appear later (a rotated
//!   file's successor, a file that disappeared and came back) from their beginning.
//! - **Rotation**: when a path names another file (renamed away and recreated) or
//!   nothing, the old file is read to its end (its unfinished last line included),
//!   then the new one from its beginning; a file that shrinks (copytruncate) is read
//!   again from its start.
//! - **Partial and long lines**: see [`Tail`].
//!
//! Cost: one glob expansion per pattern and one `stat` per followed file per read;
//! at most `budget` lines per read (a backlog drains over several reads).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lookout_config::ReadFrom;

use super::tail::{Identity, Tail};

/// What one read found besides the lines.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct FollowOutcome {
    /// Unreadable patterns and files, each naming the path.
    pub errors: Vec<String>,
    /// Lines longer than the limit, skipped.
    pub too_long: u64,
    /// Files followed from a new beginning after a rotation or a truncation.
    pub rotations: u64,
    /// Lines handed out.
    pub lines: usize,
    /// The budget ran out before every file was read to its end.
    pub more: bool,
}

/// The followed files of one source.
#[derive(Debug)]
pub(crate) struct Follower {
    patterns: Vec<String>,
    read_from: ReadFrom,
    max_line_bytes: usize,
    first_scan: bool,
    files: BTreeMap<PathBuf, Tail>,
}

impl Follower {
    pub(crate) fn new(patterns: Vec<String>, read_from: ReadFrom, max_line_bytes: u64) -> Self {
        Follower {
            patterns,
            read_from,
            max_line_bytes: usize::try_from(max_line_bytes).unwrap_or(usize::MAX),
            first_scan: true,
            files: BTreeMap::new(),
        }
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

    /// Hands each new complete line to `line` (path, 1-based line number, bytes without
    /// the newline), at most `budget` lines from files still named by their path.
    pub(crate) fn read(
        &mut self,
        budget: usize,
        mut line: impl FnMut(&Path, u64, &[u8]),
    ) -> FollowOutcome {
        let mut outcome = FollowOutcome::default();
        let matching = self.matching_paths(&mut outcome.errors);
        let at_end = self.first_scan && self.read_from == ReadFrom::End;
        self.first_scan = false;
        // Files whose path now names another file, or nothing: read them to their end.
        let followed: Vec<PathBuf> = self.files.keys().cloned().collect();
        for path in followed {
            let current = std::fs::metadata(&path).ok().map(|m| Identity::of(&m));
            if current == self.files.get(&path).map(Tail::identity) {
                continue;
            }
            let mut tail = self.files.remove(&path).expect("followed");
            let mut counted = |number: u64, bytes: &[u8]| {
                outcome.lines += 1;
                line(&path, number, bytes);
            };
            match tail.read_lines(usize::MAX, &mut counted) {
                Ok(read) => outcome.too_long += read.too_long,
                Err(error) => outcome.errors.push(format!(
                    "cannot read the rotated {}: {error}",
                    path.display()
                )),
            }
            tail.finish(&mut counted);
            if current.is_some() {
                outcome.rotations += 1;
            }
        }
        let mut left = budget;
        for path in matching {
            if left == 0 {
                outcome.more = true;
                break;
            }
            if !self.files.contains_key(&path) {
                match Tail::open(&path, at_end, self.max_line_bytes) {
                    Ok(tail) => {
                        self.files.insert(path.clone(), tail);
                    }
                    Err(error) => {
                        let message = format!("cannot open {}: {error}", path.display());
                        outcome.errors.push(message);
                        continue;
                    }
                }
            }
            let tail = self.files.get_mut(&path).expect("just opened");
            let mut handed = 0;
            let result = tail.read_lines(left, |number, bytes| {
                handed += 1;
                line(&path, number, bytes);
            });
            outcome.lines += handed;
            left = left.saturating_sub(handed);
            match result {
                Ok(read) => {
                    outcome.too_long += read.too_long;
                    outcome.more |= read.more;
                    if read.truncated {
                        outcome.rotations += 1;
                    }
                }
                Err(error) => {
                    let message = format!("cannot read {}: {error}", tail.path().display());
                    outcome.errors.push(message);
                }
            }
        }
        outcome
    }
}
