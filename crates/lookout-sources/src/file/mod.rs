//! The `file` source: follows files of JSON lines, each line one `lookout_model::Record`
//! (a sample or an event), the way `tail -F` follows a log.
//!
//! Every `interval` the [`FileCollector`] (run by [`PollingSource`] on the blocking
//! pool) expands the configured paths (globs allowed), reads what each followed file
//! gained since the last tick and turns each complete line into a sample or an event:
//!
//! - **Start**: files present at startup are read from their end (`read_from = "end"`)
//!   or their beginning; files that appear later are read from their beginning.
//! - **Partial lines**: an unfinished last line is kept until its newline arrives.
//! - **Bad lines** (not JSON, not a record, an invalid series key, an event beyond
//!   `EventLimits::default()`) are skipped, counted ([`FileStats`]) and reported in the
//!   batch's errors with their file and line number (at most [`MAX_REPORTED`] a tick,
//!   then a count); they never stop the source.
//! - **Long lines**: a line longer than `max_line_bytes` is skipped and counted; at most
//!   that many bytes of one line are ever held.
//! - **Rotation**: when the path names another file (renamed away and recreated) or
//!   disappears, the old file is read to its end, then the new one from its beginning,
//!   and the old one is still read until it stays idle (its unfinished last line then
//!   counts); a truncated file is read again from its start, after what a
//!   `copytruncate` copy holds past the point read (see [`follow`]).
//!
//! - **Restart**: each batch carries the read offsets of the files it moved; `serve`
//!   saves them in the store once the batch's records are committed and resumes each
//!   file there at the next start when its path still names the same file (device and
//!   inode), at least that long (`read_from` applies to the others). A crash between
//!   the commit and the save reads those lines again: samples replace themselves (same
//!   series and time), events are stored twice. See `crate::access_log` for the rest.
//!
//! `FILE_SOURCE.md` in this crate documents the format and behaviour for users.
//!
//! Cost: one `stat` per followed file and one glob expansion per pattern per tick; 64 KiB
//! read buffers; at most [`MAX_LINES_PER_TICK`] lines per tick in all (a backlog drains
//! over several ticks, so a batch stays bounded); memory per file is its open handle
//! plus its partial line.

pub mod follow;
mod parse;
mod tail;

use std::collections::BTreeMap;
use std::path::Path;

use lookout_config::FileSourceConfig;
use lookout_model::Record;

use crate::{Collected, Collector, PollingSource};
use follow::Follower;

/// Lines read per tick, over all files.
pub const MAX_LINES_PER_TICK: usize = 100_000;
/// Bad-line messages per tick; the rest are counted in one message.
pub const MAX_REPORTED: usize = 10;

/// Counters of one file source since it started.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FileStats {
    /// Lines that became a record.
    pub records: u64,
    /// Lines that were not a valid record.
    pub bad_lines: u64,
    /// Lines longer than `max_line_bytes`, skipped.
    pub too_long: u64,
    /// Files followed from a new beginning after a rotation or a truncation.
    pub rotations: u64,
}

/// The file source as a polling source.
pub fn file_source(
    name: impl Into<String>,
    config: &FileSourceConfig,
) -> PollingSource<FileCollector> {
    PollingSource::new(name, config.interval, FileCollector::new(config))
}

impl crate::registry::BuildSource for FileSourceConfig {
    /// Read from the end, a file's lines are live; from the beginning, they are history.
    fn build_source(
        &self,
        index: usize,
    ) -> Result<(Box<dyn crate::Source>, crate::Delivery), String> {
        let delivery = crate::Delivery::from(self.read_from);
        Ok((
            Box::new(file_source(format!("file#{index}"), self)),
            delivery,
        ))
    }
}

/// Follows the files of one `[[source]] type = "file"`. See the module documentation.
#[derive(Debug)]
pub struct FileCollector {
    labels: BTreeMap<String, String>,
    follower: Follower,
    stats: FileStats,
    /// The read offsets last handed out, by path.
    saved: BTreeMap<String, lookout_model::ReadOffset>,
}

impl FileCollector {
    pub fn new(config: &FileSourceConfig) -> FileCollector {
        FileCollector {
            labels: config.labels.clone(),
            follower: Follower::new(
                config.paths.clone(),
                config.read_from,
                usize::try_from(config.max_line_bytes).unwrap_or(usize::MAX),
            ),
            stats: FileStats::default(),
            saved: BTreeMap::new(),
        }
    }

    pub fn stats(&self) -> FileStats {
        let follow = self.follower.stats();
        FileStats {
            too_long: follow.too_long,
            rotations: follow.rotations,
            ..self.stats
        }
    }
}

/// Turns lines into records and bad lines into counted, bounded messages.
struct Lines<'a> {
    labels: &'a BTreeMap<String, String>,
    collected: Collected,
    stats: &'a mut FileStats,
    reported: usize,
    unreported: u64,
}

impl Lines<'_> {
    fn line(&mut self, path: &Path, number: u64, line: &[u8]) {
        if line.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        match parse::parse_record(line, self.labels) {
            Ok(Record::Sample(sample)) => {
                self.stats.records += 1;
                self.collected.samples.push(sample);
            }
            Ok(Record::Event(event)) => {
                self.stats.records += 1;
                self.collected.events.push(event);
            }
            Err(reason) => {
                self.stats.bad_lines += 1;
                if self.reported < MAX_REPORTED {
                    self.reported += 1;
                    let message = format!("{}:{number}: skipped: {reason}", path.display());
                    self.collected.errors.push(message);
                } else {
                    self.unreported += 1;
                }
            }
        }
    }
}

impl Collector for FileCollector {
    /// Each line becomes its records in the batch that reads it, so a file's position
    /// after a tick is accounted for once that batch is stored.
    fn resume(&mut self, offsets: Vec<lookout_model::ReadOffset>) {
        self.saved = self.follower.resume_from_offsets(offsets);
    }

    fn collect(&mut self) -> Collected {
        let mut errors = Vec::new();
        let mut lines = Lines {
            labels: &self.labels,
            collected: Collected::default(),
            stats: &mut self.stats,
            reported: 0,
            unreported: 0,
        };
        self.follower
            .read(MAX_LINES_PER_TICK, &mut errors, |path, number, line| {
                lines.line(path, number, line)
            });
        errors.append(&mut lines.collected.errors);
        lines.collected.errors = errors;
        if lines.unreported > 0 {
            let message = format!(
                "{} more bad lines skipped ({} since the start)",
                lines.unreported, lines.stats.bad_lines
            );
            lines.collected.errors.push(message);
        }
        // The batch's source name is the key (set when the batch is stored).
        lines.collected.read_offsets = self.follower.changed_offsets("", &mut self.saved, |_| None);
        lines.collected
    }
}

#[cfg(test)]
mod tests;
