//! `lookout scan auth-log FILE [--mode normal|ddos|extra|aggressive]` reads an auth log
//! (syslog text, RFC 5424 or `journalctl -o json` lines; `-` for standard input) and
//! writes one JSON line per login attempt: `{"line": N, "time": …, "result":
//! "failure"|"success", "ip": …, "user": …, "form": …}`. A summary of what was read goes
//! to standard error.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::PathBuf;

use anyhow::Context;
use chrono::Datelike;
use lookout_auth::{Mode, ParserConfig};

#[derive(Debug, clap::Args)]
pub struct AuthLogArgs {
    /// The log file (`-` for standard input).
    file: PathBuf,
    /// Which forms count, as fail2ban's sshd filter modes.
    #[arg(long, default_value = "normal", value_parser = parse_mode)]
    mode: Mode,
    /// The year of syslog times that have none (default: this year).
    #[arg(long)]
    year: Option<i32>,
    /// Print nothing on standard error.
    #[arg(long)]
    quiet: bool,
}

fn parse_mode(text: &str) -> Result<Mode, String> {
    text.parse()
}

pub fn run(args: AuthLogArgs) -> anyhow::Result<()> {
    let year = args.year.unwrap_or_else(|| chrono::Utc::now().year());
    let config = ParserConfig::new(args.mode, year);
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let name = args.file.display().to_string();
    let stats = if name == "-" {
        lookout_auth::scan::scan(io::stdin().lock(), &mut out, config)
    } else {
        let file = File::open(&args.file).with_context(|| format!("opening {name}"))?;
        lookout_auth::scan::scan(BufReader::with_capacity(1 << 16, file), &mut out, config)
    }
    .with_context(|| format!("scanning {name}"))?;
    out.flush().context("writing the results")?;
    if !args.quiet {
        eprintln!(
            "{name}: {} lines, {} failures, {} successes, {} other lines, {} bad journal lines, {} cut (longer than {} bytes)",
            stats.lines,
            stats.failures,
            stats.successes,
            stats.unrecognised + stats.empty + stats.other_program,
            stats.bad_json,
            stats.truncated,
            lookout_auth::parser::MAX_LINE_BYTES
        );
    }
    Ok(())
}
