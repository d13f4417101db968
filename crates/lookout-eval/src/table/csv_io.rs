//! CSV reading settings shared by the table reader and the NAB results reader, with exact line
//! numbers for LF and CRLF files.

use std::io::Read;

/// Builds a CSV reader with the settings shared by every reader in this crate.
///
/// The `csv` crate dates a record by where its parser resumed, so any empty line it skips
/// shifts the next record's line number, and the `\n` of every CRLF pair counts as such a
/// line. Hence records end at `\n` only (the `\r` is trimmed with the field), and
/// [`FillBlankLines`] turns empty lines into one-space lines, which arrive as blank records
/// that the readers skip themselves ([`is_blank`]). Line numbers are then exact.
pub(crate) fn csv_reader<R: Read>(has_headers: bool, reader: R) -> csv::Reader<FillBlankLines<R>> {
    csv::ReaderBuilder::new()
        .has_headers(has_headers)
        .flexible(true)
        .trim(csv::Trim::All)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_reader(FillBlankLines::new(reader))
}

/// A reader that writes a space into every empty line (see [`csv_reader`]). A quoted field
/// spanning an empty line gains that space, which no numeric or timestamp cell can contain.
pub(crate) struct FillBlankLines<R> {
    inner: R,
    at_line_start: bool,
    buffer: Box<[u8]>,
    start: usize,
    end: usize,
}

impl<R: Read> FillBlankLines<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            at_line_start: true,
            buffer: vec![0; 64 * 1024].into_boxed_slice(),
            start: 0,
            end: 0,
        }
    }
}

impl<R: Read> Read for FillBlankLines<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.start == self.end {
            self.end = self.inner.read(&mut self.buffer)?;
            self.start = 0;
        }
        let mut written = 0;
        while written < out.len() && self.start < self.end {
            let byte = self.buffer[self.start];
            if byte == b'\n' && self.at_line_start {
                out[written] = b' ';
                self.at_line_start = false;
            } else {
                out[written] = byte;
                self.start += 1;
                self.at_line_start = byte == b'\n';
            }
            written += 1;
        }
        Ok(written)
    }
}

/// Whether a record is a blank (or whitespace-only) line.
pub(crate) fn is_blank(record: &csv::StringRecord) -> bool {
    record.len() == 1 && record[0].is_empty()
}
