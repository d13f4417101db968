//! Reading the systemd journal through `journalctl -f -o json`.
//!
//! [`Journal`] runs `journalctl --follow --output=json` with the filters its source gives
//! (the `auth_log` source: the `sshd` and `sshd-session` identifiers; the `log` source:
//! the units and identifiers configured) as a child process and reads its output on a thread of its own (never on
//! the async runtime) into a bounded channel: when the collector falls behind, the
//! thread waits, the pipe fills and `journalctl` waits, so nothing is lost and memory
//! stays bounded. Lines longer than the limit are cut. When `journalctl` exits, it is
//! started again after a delay that doubles up to [`MAX_RESTART_DELAY`] while it keeps
//! exiting, from the cursor of the last entry read (`--after-cursor`), so no entry is
//! read twice or skipped. Cost: one thread and one child process per source, one small
//! allocation per line.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{sync_channel, Receiver, TryRecvError};
use std::time::{Duration, Instant};

use lookout_config::ReadFrom;

/// Lines waiting between the reading thread and the collector.
pub const CHANNEL_LINES: usize = 4096;
/// The longest wait before starting `journalctl` again.
pub const MAX_RESTART_DELAY: Duration = Duration::from_secs(30);
const FIRST_RESTART_DELAY: Duration = Duration::from_secs(1);

enum Message {
    Line(Vec<u8>),
    Ended(String),
}

/// A followed journal.
pub struct Journal {
    program: String,
    /// `journalctl` match arguments (`--identifier=sshd`, `--unit=nginx.service`).
    filters: Vec<String>,
    read_from: ReadFrom,
    max_line_bytes: usize,
    child: Option<Child>,
    lines: Option<Receiver<Message>>,
    cursor: Option<String>,
    next_start: Instant,
    delay: Duration,
    started_at: Instant,
    /// Times `journalctl` was started.
    pub starts: u64,
    number: u64,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field("program", &self.program)
            .field("starts", &self.starts)
            .finish()
    }
}

impl Journal {
    pub fn new(
        program: String,
        filters: Vec<String>,
        read_from: ReadFrom,
        max_line_bytes: usize,
    ) -> Journal {
        let now = Instant::now();
        Journal {
            program,
            filters,
            read_from,
            max_line_bytes,
            child: None,
            lines: None,
            cursor: None,
            next_start: now,
            delay: FIRST_RESTART_DELAY,
            started_at: now,
            starts: 0,
            number: 0,
        }
    }

    /// The arguments of the next start.
    pub fn arguments(&self) -> Vec<String> {
        let mut args: Vec<String> = ["--follow", "--output=json", "--no-pager"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.extend(self.filters.iter().cloned());
        match (&self.cursor, self.read_from) {
            (Some(cursor), _) => args.push(format!("--after-cursor={cursor}")),
            (None, ReadFrom::End) => args.push("--lines=0".into()),
            (None, ReadFrom::Beginning) => args.push("--lines=all".into()),
        }
        args
    }

    fn start(&mut self) -> std::io::Result<()> {
        let mut child = Command::new(&self.program)
            .args(self.arguments())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take().expect("piped");
        let stderr = child.stderr.take().expect("piped");
        let (sender, receiver) = sync_channel(CHANNEL_LINES);
        let max = self.max_line_bytes;
        std::thread::Builder::new()
            .name("journal".into())
            .spawn(move || {
                let mut reader = BufReader::new(stdout);
                loop {
                    match read_bounded_line(&mut reader, max) {
                        Ok(Some(line)) => {
                            if sender.send(Message::Line(line)).is_err() {
                                return;
                            }
                        }
                        Ok(None) => break,
                        Err(error) => {
                            let _ =
                                sender.send(Message::Ended(format!("reading its output: {error}")));
                            return;
                        }
                    }
                }
                let mut text = String::new();
                let _ = stderr.take(4096).read_to_string(&mut text);
                let text = text.trim();
                let reason = if text.is_empty() {
                    "its output ended".to_string()
                } else {
                    format!("its output ended: {text}")
                };
                let _ = sender.send(Message::Ended(reason));
            })?;
        self.child = Some(child);
        self.lines = Some(receiver);
        self.starts += 1;
        self.started_at = Instant::now();
        Ok(())
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.lines = None;
    }

    /// Hands up to `budget` new lines to `line` (a running number, the bytes); starts or
    /// restarts `journalctl` when due, reporting why it stopped in `errors`.
    pub fn read(
        &mut self,
        budget: usize,
        errors: &mut Vec<String>,
        mut line: impl FnMut(u64, &[u8]),
    ) {
        if self.lines.is_none() && Instant::now() >= self.next_start {
            if let Err(error) = self.start() {
                errors.push(format!("cannot start {}: {error}", self.program));
                self.schedule_restart();
                return;
            }
        }
        let mut handed = 0;
        while handed < budget {
            let Some(lines) = &self.lines else { return };
            match lines.try_recv() {
                Ok(Message::Line(bytes)) => {
                    if let Some(cursor) = cursor_of(&bytes) {
                        self.cursor = Some(cursor);
                    }
                    self.number += 1;
                    handed += 1;
                    line(self.number, &bytes);
                }
                Ok(Message::Ended(reason)) => {
                    let status = self.child.as_mut().and_then(|c| c.wait().ok());
                    let status = status.map(|s| format!(" ({s})")).unwrap_or_default();
                    errors.push(format!(
                        "{} stopped{status}: {reason}; starting it again",
                        self.program
                    ));
                    self.stop();
                    self.schedule_restart();
                    return;
                }
                Err(TryRecvError::Empty) => return,
                Err(TryRecvError::Disconnected) => {
                    self.stop();
                    self.schedule_restart();
                    return;
                }
            }
        }
    }

    fn schedule_restart(&mut self) {
        // A journalctl that ran a while before exiting restarts quickly again.
        if self.started_at.elapsed() > MAX_RESTART_DELAY {
            self.delay = FIRST_RESTART_DELAY;
        }
        self.next_start = Instant::now() + self.delay;
        self.delay = (self.delay * 2).min(MAX_RESTART_DELAY);
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The `__CURSOR` of a journald JSON line, found without parsing the whole line.
fn cursor_of(line: &[u8]) -> Option<String> {
    const KEY: &[u8] = b"\"__CURSOR\":\"";
    let at = line.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let end = line[at..].iter().position(|&b| b == b'"' || b == b'\\')?;
    (line.get(at + end) == Some(&b'"'))
        .then(|| String::from_utf8_lossy(&line[at..at + end]).into_owned())
}

/// The next line of `reader` without its newline, cut to `max` bytes (the rest of a
/// longer line is read and dropped); `None` at the end.
fn read_bounded_line(reader: &mut impl BufRead, max: usize) -> std::io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    let mut any = false;
    loop {
        let buffer = reader.fill_buf()?;
        if buffer.is_empty() {
            return Ok(any.then_some(line));
        }
        any = true;
        let (chunk, done) = match buffer.iter().position(|&b| b == b'\n') {
            Some(newline) => (&buffer[..newline], Some(newline + 1)),
            None => (buffer, None),
        };
        let room = max.saturating_sub(line.len());
        line.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let used = done.unwrap_or(buffer.len());
        reader.consume(used);
        if done.is_some() {
            return Ok(Some(line));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_cut_and_cursors_found() {
        let mut input = std::io::Cursor::new(b"0123456789\nab\nlast".to_vec());
        assert_eq!(
            read_bounded_line(&mut input, 4).unwrap(),
            Some(b"0123".to_vec())
        );
        assert_eq!(
            read_bounded_line(&mut input, 4).unwrap(),
            Some(b"ab".to_vec())
        );
        assert_eq!(
            read_bounded_line(&mut input, 4).unwrap(),
            Some(b"last".to_vec())
        );
        assert_eq!(read_bounded_line(&mut input, 4).unwrap(), None);
        let line = br#"{"__CURSOR":"s=abc;i=1f","MESSAGE":"x"}"#;
        assert_eq!(cursor_of(line).as_deref(), Some("s=abc;i=1f"));
        assert_eq!(cursor_of(b"{}"), None);
    }

    #[test]
    fn restarts_after_the_cursor_of_the_last_entry() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("journalctl");
        // A journalctl that prints its arguments' last word and two entries, then exits.
        std::fs::write(
            &script,
            "#!/bin/sh\nfor a in \"$@\"; do last=\"$a\"; done\necho \"{\\\"__CURSOR\\\":\\\"c$$\\\",\\\"MESSAGE\\\":\\\"$last\\\"}\"\n",
        )
        .unwrap();
        std::process::Command::new("chmod")
            .arg("755")
            .arg(&script)
            .status()
            .unwrap();
        let mut journal = Journal::new(
            script.display().to_string(),
            Vec::new(),
            ReadFrom::End,
            1024,
        );
        let mut seen = Vec::new();
        let mut errors = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while journal.starts < 2 && Instant::now() < deadline {
            journal.read(100, &mut errors, |_, line| {
                seen.push(String::from_utf8_lossy(line).into_owned())
            });
            std::thread::sleep(Duration::from_millis(50));
        }
        while seen.len() < 2 && Instant::now() < deadline {
            journal.read(100, &mut errors, |_, line| {
                seen.push(String::from_utf8_lossy(line).into_owned())
            });
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(seen[0].contains("--lines=0"), "{seen:?}");
        assert!(seen[1].contains("--after-cursor=c"), "{seen:?}");
        assert!(
            errors.iter().any(|e| e.contains("starting it again")),
            "{errors:?}"
        );
    }
}
