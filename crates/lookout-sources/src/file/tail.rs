//! Following one file: new complete lines since the last read, partial lines kept,
//! over-long lines skipped, truncation noticed, the lines a copy made just before a
//! truncation holds past what was read (logrotate's `copytruncate`) read from the copy.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

/// Bytes read from a file at a time.
const CHUNK: usize = 64 * 1024;
/// Bytes remembered from the end of what was read: how a copy of the file is recognised.
const RECENT: usize = 256;

/// Which file a path names: device and inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Identity {
    dev: u64,
    ino: u64,
}

impl Identity {
    pub(crate) fn of(metadata: &std::fs::Metadata) -> Identity {
        Identity {
            dev: metadata.dev(),
            ino: metadata.ino(),
        }
    }

    pub(crate) fn new(dev: u64, ino: u64) -> Identity {
        Identity { dev, ino }
    }

    pub(crate) fn dev(self) -> u64 {
        self.dev
    }

    pub(crate) fn ino(self) -> u64 {
        self.ino
    }
}

/// Where to resume reading a file: its identity then, and the offset of a line start
/// with the number of complete lines before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Resume {
    pub identity: Identity,
    pub offset: u64,
    pub line: u64,
}

/// What [`Tail::read_lines`] found besides the complete lines it handed out.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReadOutcome {
    /// Lines longer than the limit, skipped.
    pub too_long: u64,
    /// The file was shorter than what had been read: it was truncated and read again
    /// from its start.
    pub truncated: bool,
    /// The line budget ran out before the end of the file.
    pub more: bool,
}

/// An open file being followed.
#[derive(Debug)]
pub(crate) struct Tail {
    path: PathBuf,
    file: File,
    identity: Identity,
    /// Bytes consumed (complete lines plus `partial`).
    offset: u64,
    /// Complete lines consumed so far (their 1-based numbers are `1..=lines`).
    lines: u64,
    /// Where the line after the last complete one starts (the partial one, if any).
    line_start: u64,
    /// The start of a line whose newline has not been written yet.
    partial: Vec<u8>,
    /// Inside a line already longer than the limit: drop bytes until its newline.
    skipping: bool,
    max_line_bytes: usize,
    /// The last (at most [`RECENT`]) bytes before `offset`.
    recent: Vec<u8>,
}

impl Tail {
    /// Opens `path`; with `at_end`, only what is written from now on will be read (the
    /// lines already there are counted, so that later line numbers are the file's).
    pub(crate) fn open(path: &Path, at_end: bool, max_line_bytes: usize) -> io::Result<Tail> {
        let file = File::open(path)?;
        let identity = Identity::of(&file.metadata()?);
        let mut tail = Tail {
            path: path.to_path_buf(),
            file,
            identity,
            offset: 0,
            lines: 0,
            line_start: 0,
            partial: Vec::new(),
            skipping: false,
            max_line_bytes,
            recent: Vec::new(),
        };
        if at_end {
            tail.skip_existing()?;
        }
        Ok(tail)
    }

    /// Opens `path` at a saved position when it still names the same file, at least
    /// that long; `None` when it does not (the caller opens it afresh).
    pub(crate) fn resume(
        path: &Path,
        at: Resume,
        max_line_bytes: usize,
    ) -> io::Result<Option<Tail>> {
        let mut file = File::open(path)?;
        let metadata = file.metadata()?;
        if Identity::of(&metadata) != at.identity || metadata.len() < at.offset {
            return Ok(None);
        }
        let before = at.offset.min(RECENT as u64);
        file.seek(SeekFrom::Start(at.offset - before))?;
        let mut recent = vec![0; before as usize];
        file.read_exact(&mut recent)?;
        Ok(Some(Tail {
            path: path.to_path_buf(),
            file,
            identity: at.identity,
            offset: at.offset,
            lines: at.line,
            line_start: at.offset,
            partial: Vec::new(),
            skipping: false,
            max_line_bytes,
            recent,
        }))
    }

    /// The start of the first line not handed out yet (the partial one, if any) and
    /// the number of complete lines before it.
    pub(crate) fn position(&self) -> (u64, u64) {
        (self.line_start, self.lines)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn identity(&self) -> Identity {
        self.identity
    }

    /// Counts the complete lines already in the file and keeps its unfinished last
    /// line as the partial one, so that reading goes on where the writer is.
    fn skip_existing(&mut self) -> io::Result<()> {
        let mut buffer = vec![0; CHUNK];
        loop {
            let read = self.file.read(&mut buffer)?;
            if read == 0 {
                return Ok(());
            }
            let base = self.offset;
            self.offset += read as u64;
            self.remember(&buffer[..read]);
            let mut rest = &buffer[..read];
            while let Some(newline) = rest.iter().position(|byte| *byte == b'\n') {
                self.lines += 1;
                self.line_start = base + (read - rest.len() + newline + 1) as u64;
                self.partial.clear();
                self.skipping = false;
                rest = &rest[newline + 1..];
            }
            self.keep_partial(rest, &mut 0);
        }
    }

    /// Hands each new complete line (without its newline) to `line` with its 1-based
    /// line number and the byte offset where it starts, at most `budget` lines; a line
    /// over the limit is skipped and counted instead.
    pub(crate) fn read_lines(
        &mut self,
        budget: usize,
        mut line: impl FnMut(u64, u64, &[u8]),
    ) -> io::Result<ReadOutcome> {
        let mut outcome = ReadOutcome::default();
        if self.truncated()? {
            self.file.seek(SeekFrom::Start(0))?;
            self.offset = 0;
            self.lines = 0;
            self.line_start = 0;
            self.partial.clear();
            self.skipping = false;
            self.recent.clear();
            outcome.truncated = true;
        }
        let mut handed = 0;
        let mut buffer = vec![0; CHUNK];
        while handed < budget {
            let read = self.file.read(&mut buffer)?;
            if read == 0 {
                return Ok(outcome);
            }
            let chunk = &buffer[..read];
            let mut start = 0;
            while let Some(newline) = chunk[start..].iter().position(|byte| *byte == b'\n') {
                let end = start + newline;
                let line_start = self.line_start;
                self.lines += 1;
                self.line_start = self.offset + end as u64 + 1;
                if self.skipping {
                    self.skipping = false;
                } else if self.partial.len() + (end - start) > self.max_line_bytes {
                    outcome.too_long += 1;
                    self.partial.clear();
                } else if self.partial.is_empty() {
                    line(self.lines, line_start, &chunk[start..end]);
                    handed += 1;
                } else {
                    self.partial.extend_from_slice(&chunk[start..end]);
                    line(self.lines, line_start, &self.partial);
                    self.partial.clear();
                    handed += 1;
                }
                start = end + 1;
                if handed >= budget {
                    break;
                }
            }
            if handed >= budget && start < chunk.len() {
                // Leave the rest of the chunk for the next read.
                let unread = (chunk.len() - start) as u64;
                self.file.seek(SeekFrom::Current(-(unread as i64)))?;
                self.offset += start as u64;
                self.remember(&chunk[..start]);
                outcome.more = true;
                return Ok(outcome);
            }
            self.offset += read as u64;
            self.remember(chunk);
            self.keep_partial(&chunk[start..], &mut outcome.too_long);
        }
        outcome.more = self.offset < self.file.metadata()?.len();
        Ok(outcome)
    }

    /// Keeps the end of what was consumed, up to [`RECENT`] bytes.
    fn remember(&mut self, consumed: &[u8]) {
        if consumed.len() >= RECENT {
            self.recent.clear();
            self.recent
                .extend_from_slice(&consumed[consumed.len() - RECENT..]);
        } else {
            let keep = RECENT - consumed.len();
            let drop = self.recent.len().saturating_sub(keep);
            self.recent.drain(..drop);
            self.recent.extend_from_slice(consumed);
        }
    }

    /// The file was truncated since the last read: it is shorter than what was read of
    /// it, or (written again past that point) its bytes before that point are not the
    /// last ones read.
    pub(crate) fn truncated(&self) -> io::Result<bool> {
        if self.file.metadata()?.len() < self.offset {
            return Ok(true);
        }
        let mut seen = vec![0; self.recent.len()];
        self.file
            .read_exact_at(&mut seen, self.offset - self.recent.len() as u64)?;
        Ok(seen != self.recent)
    }

    /// For a file truncated just after `copy` was made of it (logrotate's
    /// `copytruncate`): when `copy` is at least as long as what was read and its bytes
    /// just before that point are the last ones read, hands out the lines `copy` has
    /// past it, to its end (its unfinished last line included), and returns what it
    /// found; `None` when `copy` is not such a copy (nothing read). Lines the writer
    /// wrote between the copy and the truncation are in neither file.
    pub(crate) fn read_copy(
        &mut self,
        copy: &Path,
        mut line: impl FnMut(u64, u64, &[u8]),
    ) -> io::Result<Option<ReadOutcome>> {
        if self.recent.is_empty() {
            return Ok(None);
        }
        let mut file = File::open(copy)?;
        let metadata = file.metadata()?;
        if Identity::of(&metadata) == self.identity || metadata.len() < self.offset {
            return Ok(None);
        }
        file.seek(SeekFrom::Start(self.offset - self.recent.len() as u64))?;
        let mut seen = vec![0; self.recent.len()];
        file.read_exact(&mut seen)?;
        if seen != self.recent {
            return Ok(None);
        }
        let original = std::mem::replace(&mut self.file, file);
        let outcome = self.read_lines(usize::MAX, &mut line);
        self.finish(&mut line);
        self.file = original;
        outcome.map(Some)
    }

    /// Keeps the unfinished end of a chunk; once it exceeds the limit, the line is
    /// counted in `too_long` and the rest of it dropped.
    fn keep_partial(&mut self, bytes: &[u8], too_long: &mut u64) {
        if self.skipping || bytes.is_empty() {
            return;
        }
        if self.partial.len() + bytes.len() > self.max_line_bytes {
            *too_long += 1;
            self.partial.clear();
            self.skipping = true;
        } else {
            self.partial.extend_from_slice(bytes);
        }
    }

    /// The unfinished last line, handed out when the file will not grow any more (it
    /// was rotated away and read to its end).
    pub(crate) fn finish(&mut self, mut line: impl FnMut(u64, u64, &[u8])) {
        if !self.partial.is_empty() && !self.skipping {
            self.lines += 1;
            line(self.lines, self.line_start, &self.partial);
        }
        self.partial.clear();
        self.line_start = self.offset;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn lines_of(tail: &mut Tail, budget: usize) -> (Vec<(u64, String)>, ReadOutcome) {
        let mut lines = Vec::new();
        let outcome = tail
            .read_lines(budget, |number, _, line| {
                lines.push((number, String::from_utf8_lossy(line).into_owned()))
            })
            .unwrap();
        (lines, outcome)
    }

    fn append(path: &Path, text: &str) {
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)
            .unwrap();
        file.write_all(text.as_bytes()).unwrap();
    }

    #[test]
    fn complete_lines_come_out_and_a_partial_one_waits() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        append(&path, "one\ntwo\nthr");
        let mut tail = Tail::open(&path, false, 100).unwrap();
        let (lines, outcome) = lines_of(&mut tail, 100);
        assert_eq!(lines, [(1, "one".into()), (2, "two".into())]);
        assert_eq!(outcome, ReadOutcome::default());
        append(&path, "ee\nfour\n");
        let (lines, _) = lines_of(&mut tail, 100);
        assert_eq!(lines, [(3, "three".into()), (4, "four".into())]);
        let (lines, _) = lines_of(&mut tail, 100);
        assert!(lines.is_empty());
    }

    #[test]
    fn at_end_skips_what_is_there_but_keeps_numbering() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        append(&path, "old\nolder\nhalf");
        let mut tail = Tail::open(&path, true, 100).unwrap();
        append(&path, " done\nnew\n");
        let (lines, _) = lines_of(&mut tail, 100);
        assert_eq!(lines, [(3, "half done".into()), (4, "new".into())]);
    }

    #[test]
    fn long_lines_are_skipped_and_counted_whether_or_not_they_end_in_one_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        append(&path, "short\n0123456789abc\nok\n");
        let mut tail = Tail::open(&path, false, 8).unwrap();
        let (lines, outcome) = lines_of(&mut tail, 100);
        assert_eq!(lines, [(1, "short".into()), (3, "ok".into())]);
        assert_eq!(outcome.too_long, 1);
        // A long line written in pieces: counted once, its end dropped.
        append(&path, "0123456");
        assert_eq!(lines_of(&mut tail, 100).1.too_long, 0);
        append(&path, "789");
        assert_eq!(lines_of(&mut tail, 100).1.too_long, 1);
        append(&path, "abcdef\nafter\n");
        let (lines, outcome) = lines_of(&mut tail, 100);
        assert_eq!(lines, [(5, "after".into())]);
        assert_eq!(outcome.too_long, 0);
    }

    #[test]
    fn the_budget_leaves_the_rest_for_the_next_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        append(&path, "a\nb\nc\nd\n");
        let mut tail = Tail::open(&path, false, 100).unwrap();
        let (lines, outcome) = lines_of(&mut tail, 3);
        assert_eq!(lines.len(), 3);
        assert!(outcome.more);
        let (lines, outcome) = lines_of(&mut tail, 3);
        assert_eq!(lines, [(4, "d".into())]);
        assert!(!outcome.more);
    }

    #[test]
    fn a_truncated_file_is_read_again_from_its_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        append(&path, "first\nsecond\n");
        let mut tail = Tail::open(&path, false, 100).unwrap();
        lines_of(&mut tail, 100);
        std::fs::write(&path, "x\n").unwrap();
        let (lines, outcome) = lines_of(&mut tail, 100);
        assert!(outcome.truncated);
        assert_eq!(lines, [(1, "x".into())]);
    }

    #[test]
    fn finish_hands_out_the_unfinished_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jsonl");
        append(&path, "a\nlast");
        let mut tail = Tail::open(&path, false, 100).unwrap();
        lines_of(&mut tail, 100);
        let mut finished = Vec::new();
        tail.finish(|number, _, line| finished.push((number, line.to_vec())));
        assert_eq!(finished, [(2, b"last".to_vec())]);
    }

    #[test]
    fn a_resumed_tail_goes_on_at_the_saved_line_start_of_the_same_file_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.log");
        append(&path, "one\ntwo\nthr");
        let mut tail = Tail::open(&path, false, 100).unwrap();
        lines_of(&mut tail, 1);
        assert_eq!(tail.position(), (4, 1));
        lines_of(&mut tail, 100);
        // The partial line is not accounted for: a resume reads it again.
        assert_eq!(tail.position(), (8, 2));
        let (offset, line) = tail.position();
        let at = Resume {
            identity: tail.identity(),
            offset,
            line,
        };
        append(&path, "ee\nfour\n");
        let mut resumed = Tail::resume(&path, at, 100).unwrap().expect("same file");
        let (lines, _) = lines_of(&mut resumed, 100);
        assert_eq!(lines, [(3, "three".into()), (4, "four".into())]);
        assert_eq!(resumed.position(), (19, 4));
        // Shorter than the saved offset, or another file: not resumed.
        std::fs::write(&path, "x\n").unwrap();
        assert!(Tail::resume(&path, at, 100).unwrap().is_none());
        let other = dir.path().join("b.log");
        append(&other, "one\ntwo\nthree\nfour\n");
        assert!(Tail::resume(&other, at, 100).unwrap().is_none());
    }
}
