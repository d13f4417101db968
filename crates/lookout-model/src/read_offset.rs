//! How far a source has read one followed file: the checkpoint a restart resumes from.

/// One followed file's read checkpoint, kept by the store per `(source, path)`.
///
/// `dev` and `ino` name the file that was read (a path that names another file now was
/// rotated or replaced: the checkpoint does not apply to it). `offset` is the byte
/// offset of the first line not yet accounted for, `line` the number of complete lines
/// before it (so that line numbers stay the file's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOffset {
    /// The source's name, e.g. `access_log#1`.
    pub source: String,
    pub path: String,
    pub dev: u64,
    pub ino: u64,
    pub offset: u64,
    pub line: u64,
}
