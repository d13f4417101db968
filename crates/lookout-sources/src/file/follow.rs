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
use lookout_model::ReadOffset;

use super::tail::{Identity, Resume, Tail};

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
    /// Saved positions not used yet: a file is resumed when it is first opened.
    resume: BTreeMap<PathBuf, Resume>,
    stats: FollowStats,
}

/// Where a line handed out by [`Follower::read_at`] is: its 1-based number, the byte
/// offset where it starts and the identity of its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineAt {
    pub number: u64,
    pub offset: u64,
    pub dev: u64,
    pub ino: u64,
}

/// Where a followed file is read up to: see [`Follower::positions`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub path: PathBuf,
    pub dev: u64,
    pub ino: u64,
    /// The start of the first line not handed out yet.
    pub offset: u64,
    /// Complete lines before `offset`.
    pub line: u64,
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
            resume: BTreeMap::new(),
            stats: FollowStats::default(),
        }
    }

    pub fn stats(&self) -> FollowStats {
        self.stats
    }

    /// Saved positions to resume from: a file opened for the first time whose path
    /// still names the same file (device and inode), at least `offset` bytes long, is
    /// read from `offset` on; any other file is opened as without them.
    pub fn resume_from(&mut self, positions: impl IntoIterator<Item = Position>) {
        for position in positions {
            let identity = Identity::new(position.dev, position.ino);
            self.resume.insert(
                position.path,
                Resume {
                    identity,
                    offset: position.offset,
                    line: position.line,
                },
            );
        }
    }

    /// [`Follower::resume_from`] with offsets saved in the store; returns them by path,
    /// the ones [`Follower::changed_offsets`] compares with.
    pub fn resume_from_offsets(
        &mut self,
        offsets: Vec<ReadOffset>,
    ) -> BTreeMap<String, ReadOffset> {
        self.resume_from(offsets.iter().map(|offset| Position {
            path: PathBuf::from(&offset.path),
            dev: offset.dev,
            ino: offset.ino,
            offset: offset.offset,
            line: offset.line,
        }));
        offsets
            .into_iter()
            .map(|offset| (offset.path.clone(), offset))
            .collect()
    }

    /// The read offsets of the followed files that differ from `saved` (which is
    /// updated): each file's position, or the earlier one `hold` gives for it (offset
    /// and lines before it: lines handed out but not accounted for yet).
    pub fn changed_offsets(
        &self,
        source: &str,
        saved: &mut BTreeMap<String, ReadOffset>,
        hold: impl Fn(&Position) -> Option<(u64, u64)>,
    ) -> Vec<ReadOffset> {
        let mut changed = Vec::new();
        for position in self.positions() {
            let (offset, line) = hold(&position).unwrap_or((position.offset, position.line));
            let row = ReadOffset {
                source: source.to_string(),
                path: position.path.to_string_lossy().into_owned(),
                dev: position.dev,
                ino: position.ino,
                offset,
                line,
            };
            if saved.get(&row.path) != Some(&row) {
                saved.insert(row.path.clone(), row.clone());
                changed.push(row);
            }
        }
        changed
    }

    /// Where each followed file is read up to (the start of its first line not handed
    /// out yet), by path.
    pub fn positions(&self) -> impl Iterator<Item = Position> + '_ {
        self.files.iter().map(|(path, tail)| {
            let (offset, line) = tail.position();
            Position {
                path: path.clone(),
                dev: tail.identity().dev(),
                ino: tail.identity().ino(),
                offset,
                line,
            }
        })
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
        self.read_at(budget, errors, |path, at, bytes| {
            line(path, at.number, bytes)
        })
    }

    /// [`Follower::read`], each line with where it is ([`LineAt`]).
    pub fn read_at(
        &mut self,
        budget: usize,
        errors: &mut Vec<String>,
        mut line: impl FnMut(&Path, LineAt, &[u8]),
    ) {
        let matching = self.matching_paths(errors);
        let at_end = self.first_scan && self.read_from == ReadFrom::End;
        self.first_scan = false;
        let mut handed = 0usize;
        let mut count = |path: &Path,
                         identity: Identity,
                         number: u64,
                         offset: u64,
                         bytes: &[u8],
                         handed: &mut usize| {
            *handed += 1;
            let at = LineAt {
                number,
                offset,
                dev: identity.dev(),
                ino: identity.ino(),
            };
            line(path, at, bytes);
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
            let result = {
                let identity = tail.identity();
                tail.read_lines(usize::MAX, |n, at, bytes| {
                    count(&path, identity, n, at, bytes, &mut handed)
                })
            };
            match result {
                Ok(outcome) => self.stats.too_long += outcome.too_long,
                Err(error) => errors.push(format!(
                    "cannot read the rotated {}: {error}",
                    path.display()
                )),
            }
            let identity = tail.identity();
            tail.finish(|n, at, bytes| count(&path, identity, n, at, bytes, &mut handed));
            if current.is_some() {
                self.stats.rotations += 1;
            }
        }
        for path in matching {
            if handed >= budget {
                break;
            }
            if !self.files.contains_key(&path) {
                let opened = match self.resume.remove(&path) {
                    Some(at) => Tail::resume(&path, at, self.max_line_bytes)
                        .transpose()
                        .unwrap_or_else(|| Tail::open(&path, at_end, self.max_line_bytes)),
                    None => Tail::open(&path, at_end, self.max_line_bytes),
                };
                match opened {
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
            let identity = tail.identity();
            match tail.read_lines(left, |n, at, bytes| {
                count(&path, identity, n, at, bytes, &mut handed)
            }) {
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
