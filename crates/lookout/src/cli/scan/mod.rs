//! `lookout scan`: offline classification of files, with the same code the server runs.

mod requests;

#[derive(Debug, clap::Subcommand)]
pub enum ScanCommand {
    /// Classify HTTP requests for content injection (SQL injection, XSS, path traversal,
    /// command and template injection): each file one raw request, or with `--lines` one
    /// URL-encoded input per line. Prints one JSON line per request or input.
    Requests(requests::RequestsArgs),
}

pub fn run(command: ScanCommand) -> anyhow::Result<()> {
    match command {
        ScanCommand::Requests(args) => requests::run(args),
    }
}
