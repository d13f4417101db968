//! `lookout scan`: offline classification of files, with the same code the server and
//! the live sources run.

mod auth_log;
mod requests;

#[derive(Debug, clap::Subcommand)]
pub enum ScanCommand {
    /// Login attempts in an auth log (syslog, RFC 5424 or journald JSON lines), as JSON
    /// lines: the same parser as the `auth_log` source.
    AuthLog(auth_log::AuthLogArgs),
    /// Classify HTTP requests for content injection (SQL injection, XSS, path traversal,
    /// command and template injection): each file one raw request, or with `--lines` one
    /// URL-encoded input per line. Prints one JSON line per request or input.
    Requests(requests::RequestsArgs),
}

pub fn run(command: ScanCommand) -> anyhow::Result<()> {
    match command {
        ScanCommand::AuthLog(args) => auth_log::run(args),
        ScanCommand::Requests(args) => requests::run(args),
    }
}
