//! Following the files a set of path patterns names, the way `tail -F` does: new
//! complete lines of each, across rotation and truncation.
//!
//! Shared by the `file`, `auth_log`, `access_log` and `log` sources: each tick
//! [`Follower::read`] expands the patterns and hands every complete line to the caller
//! with its file and line number, at most `budget` lines a tick. Files present at the
//! first tick are read from their end or their beginning (`ReadFrom`); files that
//! appear later from their beginning.
//!
//! Rotation:
//! - **by rename** (the path names another file, or nothing): the rotated-away file
//!   is read to its end before its successor from its beginning, and then still read
//!   every tick, since its writer goes on writing to it until it reopens its log
//!   (`nginx -s reopen` after logrotate's `create`), until it has gained nothing for
//!   [`DRAIN_IDLE_TICKS`] ticks in a row; its unfinished last line is handed out then.
//!   At most [`MAX_DRAINING`] such files at once (the oldest is let go first).
//! - **by truncation** (the file is shorter than what was read, or its bytes before
//!   that point are no longer the last ones read: it was truncated and written again):
//!   read again from its start. Before that, a copy made just before the truncation (logrotate's
//!   `copytruncate`: a file beside it named after it plus a suffix, `access.log.1`,
//!   not itself followed) holds the lines written since the last tick: the newest of
//!   at most [`MAX_COPY_CANDIDATES`] such files whose bytes just before the point read
//!   are the last ones read is read from there to its end. Missed: lines written
//!   between the copy and the truncation (they are in neither file), a copy compressed
//!   before the next tick (`delaycompress` keeps it), and a truncation followed before
//!   the next tick by the very bytes that were there.
//!
//! Cost: one `stat` and one read of 256 bytes per followed file and one glob expansion
//! per pattern per tick, 64 KiB read buffers, one open handle, the partial line and 256 bytes per file (and
//! per rotated-away file for a few ticks); a directory listing per truncation.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use lookout_config::ReadFrom;
use lookout_model::ReadOffset;

use super::tail::{Identity, Resume, Tail};

/// Ticks without a new byte after which a rotated-away file is let go.
pub const DRAIN_IDLE_TICKS: u32 = 5;
/// Rotated-away files read at once.
pub const MAX_DRAINING: usize = 16;
/// Files beside a truncated one checked for being its copy.
pub const MAX_COPY_CANDIDATES: usize = 8;

/// A rotated-away file still read, and the ticks it has gained nothing.
#[derive(Debug)]
struct Draining {
    path: PathBuf,
    tail: Tail,
    idle: u32,
}

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
    /// Rotated-away files, oldest first.
    draining: Vec<Draining>,
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
            draining: Vec::new(),
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
        // Files whose path now names another file, or nothing: read on while their
        // writer may still write to them, before their successors.
        let followed: Vec<PathBuf> = self.files.keys().cloned().collect();
        for path in followed {
            let current = std::fs::metadata(&path).ok().map(|m| Identity::of(&m));
            if current == self.files.get(&path).map(Tail::identity) {
                continue;
            }
            let tail = self.files.remove(&path).expect("followed");
            if current.is_some() {
                self.stats.rotations += 1;
            }
            self.draining.push(Draining {
                path,
                tail,
                idle: 0,
            });
        }
        let over = self.draining.len().saturating_sub(MAX_DRAINING);
        let mut draining = std::mem::take(&mut self.draining);
        for (index, mut rotated) in draining.drain(..).enumerate() {
            let path = rotated.path.clone();
            let identity = rotated.tail.identity();
            let before = rotated.tail.position();
            match rotated.tail.read_lines(usize::MAX, |n, at, bytes| {
                count(&path, identity, n, at, bytes, &mut handed)
            }) {
                Ok(outcome) => {
                    self.stats.too_long += outcome.too_long;
                    let grew = rotated.tail.position() != before || outcome.truncated;
                    rotated.idle = if grew { 0 } else { rotated.idle + 1 };
                }
                Err(error) => {
                    errors.push(format!(
                        "cannot read the rotated {}: {error}",
                        path.display()
                    ));
                    rotated.idle = DRAIN_IDLE_TICKS;
                }
            }
            // A file back under its path (renamed back) is followed there again.
            let back = matching.contains(&path) && !self.files.contains_key(&path) && {
                let current = std::fs::metadata(&path).ok().map(|m| Identity::of(&m));
                current == Some(identity)
            };
            if back {
                self.files.insert(path, rotated.tail);
            } else if index < over || rotated.idle >= DRAIN_IDLE_TICKS {
                rotated
                    .tail
                    .finish(|n, at, bytes| count(&path, identity, n, at, bytes, &mut handed));
            } else {
                self.draining.push(rotated);
            }
        }
        for path in &matching {
            if handed >= budget {
                break;
            }
            if !self.files.contains_key(path) {
                let opened = match self.resume.remove(path) {
                    Some(at) => Tail::resume(path, at, self.max_line_bytes)
                        .transpose()
                        .unwrap_or_else(|| Tail::open(path, at_end, self.max_line_bytes)),
                    None => Tail::open(path, at_end, self.max_line_bytes),
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
            let tail = self.files.get_mut(path).expect("just opened");
            let identity = tail.identity();
            if tail.truncated().unwrap_or(false) {
                for copy in copy_candidates(path, &matching) {
                    if let Ok(Some(outcome)) = tail.read_copy(&copy, |n, at, bytes| {
                        count(path, identity, n, at, bytes, &mut handed)
                    }) {
                        self.stats.too_long += outcome.too_long;
                        break;
                    }
                }
            }
            let left = budget.saturating_sub(handed);
            match tail.read_lines(left, |n, at, bytes| {
                count(path, identity, n, at, bytes, &mut handed)
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

/// Files beside `path` that may be its copy by logrotate's `copytruncate`: named after
/// it plus a suffix starting with `.`, `-` or `_` (`access.log.1`,
/// `access.log-20261204`), not followed themselves, newest first, at most
/// [`MAX_COPY_CANDIDATES`].
fn copy_candidates(path: &Path, followed: &[PathBuf]) -> Vec<PathBuf> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else {
        return Vec::new();
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<(SystemTime, PathBuf)> = entries
        .flatten()
        .filter_map(|entry| {
            let file_name = entry.file_name();
            let suffix = file_name.to_str()?.strip_prefix(name)?;
            if !suffix.starts_with(['.', '-', '_']) {
                return None;
            }
            let candidate = dir.join(&file_name);
            if followed.contains(&candidate) {
                return None;
            }
            let metadata = std::fs::metadata(&candidate).ok()?;
            let modified = metadata.modified().ok()?;
            metadata.is_file().then_some((modified, candidate))
        })
        .collect();
    found.sort_by_key(|(modified, _)| std::cmp::Reverse(*modified));
    found
        .into_iter()
        .take(MAX_COPY_CANDIDATES)
        .map(|(_, candidate)| candidate)
        .collect()
}
