//! `lookout logs patterns FILE`: online log pattern mining, offline.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use lookout_logpattern::{Config, Miner};

#[derive(Debug, Args)]
pub struct PatternsArgs {
    /// The log file (one message per line; `-` is standard input).
    pub file: PathBuf,
    /// Where the CSV goes (default standard output); `-` is standard output.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Patterns held at most (the least recently matched is evicted past it).
    #[arg(long, default_value_t = Config::default().max_clusters)]
    pub max_patterns: usize,
}

pub fn run(args: PatternsArgs) -> anyhow::Result<()> {
    let config = Config {
        max_clusters: args.max_patterns,
        ..Config::default()
    };
    let mut miner = Miner::new(config).context("--max-patterns")?;
    let input: Box<dyn std::io::Read> = if args.file.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(
            std::fs::File::open(&args.file)
                .with_context(|| format!("cannot open {}", args.file.display()))?,
        )
    };
    let mut input = BufReader::with_capacity(1 << 20, input);
    let mut output: Box<dyn Write> = match &args.output {
        Some(path) if path.as_os_str() != "-" => Box::new(BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        )),
        _ => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    writeln!(output, "line,pattern_id,template")?;
    let started = Instant::now();
    let mut raw = Vec::new();
    let mut lines = 0u64;
    let mut quoted = String::new();
    loop {
        raw.clear();
        let read = input
            .read_until(b'\n', &mut raw)
            .with_context(|| format!("cannot read {}", args.file.display()))?;
        if read == 0 {
            break;
        }
        if raw.last() == Some(&b'\n') {
            raw.pop();
            if raw.last() == Some(&b'\r') {
                raw.pop();
            }
        }
        lines += 1;
        let line = String::from_utf8_lossy(&raw);
        let found = miner.add(&line);
        quote(found.template, &mut quoted);
        writeln!(output, "{lines},{},{quoted}", found.id)?;
    }
    output.flush().context("cannot write the CSV")?;
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "lines={lines} patterns={} evicted={} seconds={seconds:.3} lines_per_second={:.0}",
        miner.len(),
        miner.evicted(),
        lines as f64 / seconds.max(1e-9)
    );
    Ok(())
}

/// A CSV field: quoted (quotes doubled) when it holds a comma, quote or line break, or
/// starts or ends with a space.
fn quote(field: &str, out: &mut String) {
    out.clear();
    let needs =
        field.contains([',', '"', '\n', '\r']) || field.starts_with(' ') || field.ends_with(' ');
    if !needs {
        out.push_str(field);
        return;
    }
    out.push('"');
    for c in field.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn templates_with_commas_and_quotes_are_quoted() {
        let mut out = String::new();
        quote("a <*> b", &mut out);
        assert_eq!(out, "a <*> b");
        quote(r#"GET "<*>", ok"#, &mut out);
        assert_eq!(out, r#""GET ""<*>"", ok""#);
    }
}
