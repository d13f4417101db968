//! `lookout scan requests PATH...`: each file is one raw HTTP request (request line,
//! headers, blank line, body), or with `--lines` each line of each file is one
//! URL-encoded input. Directories are walked (sorted). Prints one JSON line per request
//! or input, in input order: `{"input", "attack", "kind", "score", "evidence",
//! "location", "rule"}`; a summary (counts by kind, unreadable or malformed inputs by
//! reason) goes to stderr. Work is spread over `--threads` threads in blocks, each with
//! its own classifier; memory is bounded by the block size.

use anyhow::Context;
use lookout_inject::{Classifier, Kind, Verdict};
use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct RequestsArgs {
    /// Files or directories (walked recursively) to read.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Each line of each file is one URL-encoded input (a query string value, a form
    /// field); empty lines are skipped.
    #[arg(long)]
    lines: bool,
    /// Worker threads (default: the machine's cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Print only the inputs classified as attacks.
    #[arg(long)]
    attacks_only: bool,
}

/// Inputs classified per block (per thread hand-off).
const BLOCK: usize = 16 * 1024;

#[derive(serde::Serialize)]
struct Line<'a> {
    input: &'a str,
    attack: bool,
    kind: Option<Kind>,
    score: f64,
    evidence: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule: Option<&'a str>,
}

#[derive(Default)]
struct Summary {
    inputs: u64,
    attacks: u64,
    by_kind: BTreeMap<&'static str, u64>,
    errors: BTreeMap<&'static str, u64>,
    truncated: u64,
}

impl Summary {
    fn add(&mut self, other: Summary) {
        self.inputs += other.inputs;
        self.attacks += other.attacks;
        self.truncated += other.truncated;
        for (k, v) in other.by_kind {
            *self.by_kind.entry(k).or_default() += v;
        }
        for (k, v) in other.errors {
            *self.errors.entry(k).or_default() += v;
        }
    }
}

/// One unit of work: a label (path or line) and its bytes.
struct Item {
    label: String,
    bytes: Result<Vec<u8>, String>,
}

fn round(score: f64) -> f64 {
    (score * 1000.0).round() / 1000.0
}

fn write_verdict(out: &mut Vec<u8>, label: &str, v: &Verdict, attacks_only: bool) {
    if attacks_only && !v.attack {
        return;
    }
    let f = v.finding.as_ref().filter(|_| v.attack);
    let line = Line {
        input: label,
        attack: v.attack,
        kind: f.map(|f| f.kind),
        score: round(v.score),
        evidence: f.map(|f| f.evidence.as_str()),
        location: f.map(|f| f.location.as_str()),
        rule: f.map(|f| f.rule),
    };
    serde_json::to_writer(&mut *out, &line).expect("JSON to memory");
    out.push(b'\n');
}

fn classify_block(items: &[Item], lines: bool, attacks_only: bool) -> (Vec<u8>, Summary) {
    let mut c = Classifier::default();
    let mut out = Vec::with_capacity(items.len() * 96);
    let mut s = Summary::default();
    for item in items {
        let bytes = match &item.bytes {
            Ok(b) => b,
            Err(e) => {
                eprintln!("{}: {e}", item.label);
                *s.errors.entry("unreadable").or_default() += 1;
                continue;
            }
        };
        let v = if lines {
            c.classify_input(bytes)
        } else {
            match c.classify_request(bytes) {
                Ok(v) => v,
                Err(e) => {
                    eprintln!("{}: {e}", item.label);
                    *s.errors.entry(e.reason()).or_default() += 1;
                    continue;
                }
            }
        };
        s.inputs += 1;
        s.truncated += u64::from(v.truncated > 0);
        if let Some(k) = v.kind() {
            s.attacks += 1;
            *s.by_kind.entry(k.as_str()).or_default() += 1;
        }
        write_verdict(&mut out, &item.label, &v, attacks_only);
    }
    (out, s)
}

/// Classifies `items` on `threads` threads, writing their lines in order.
fn run_block(
    items: &[Item],
    args: &RequestsArgs,
    threads: usize,
    out: &mut impl Write,
    total: &mut Summary,
) -> anyhow::Result<()> {
    let per = items.len().div_ceil(threads.max(1)).max(1);
    let results: Vec<(Vec<u8>, Summary)> = std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(per)
            .map(|chunk| scope.spawn(move || classify_block(chunk, args.lines, args.attacks_only)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("classifier thread"))
            .collect()
    });
    for (bytes, s) in results {
        out.write_all(&bytes).context("writing to stdout")?;
        total.add(s);
    }
    Ok(())
}

fn files_of(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).with_context(|| format!("{}: cannot read", p.display()))?;
        if meta.is_dir() {
            files.extend(
                lookout_inject::corpus::walk(p)
                    .with_context(|| format!("walking {}", p.display()))?,
            );
        } else {
            files.push(p.clone());
        }
    }
    Ok(files)
}

fn scan_lines(
    path: &Path,
    args: &RequestsArgs,
    threads: usize,
    out: &mut impl Write,
    total: &mut Summary,
) -> anyhow::Result<()> {
    let file =
        std::fs::File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
    let mut block = Vec::with_capacity(BLOCK);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .with_context(|| format!("{}: read failed", path.display()))?;
        if n == 0 {
            break;
        }
        while matches!(buf.last(), Some(b'\n' | b'\r')) {
            buf.pop();
        }
        if buf.is_empty() {
            continue;
        }
        block.push(Item {
            label: String::from_utf8_lossy(&buf).into_owned(),
            bytes: Ok(buf.clone()),
        });
        if block.len() == BLOCK * threads {
            run_block(&block, args, threads, out, total)?;
            block.clear();
        }
    }
    run_block(&block, args, threads, out, total)
}

pub fn run(args: RequestsArgs) -> anyhow::Result<()> {
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, 256);
    let files = files_of(&args.paths)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
    let mut total = Summary::default();
    if args.lines {
        for f in &files {
            scan_lines(f, &args, threads, &mut out, &mut total)?;
        }
    } else {
        for chunk in files.chunks(BLOCK) {
            let items: Vec<Item> = chunk
                .iter()
                .map(|p| Item {
                    label: p.display().to_string(),
                    bytes: std::fs::read(p).map_err(|e| e.to_string()),
                })
                .collect();
            run_block(&items, &args, threads, &mut out, &mut total)?;
        }
    }
    out.flush().context("writing to stdout")?;
    let kinds: Vec<String> = total
        .by_kind
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    let errors: Vec<String> = total
        .errors
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    eprintln!(
        "scanned {} inputs: {} attacks{}{}{}",
        total.inputs,
        total.attacks,
        if kinds.is_empty() {
            String::new()
        } else {
            format!(" ({})", kinds.join(", "))
        },
        if total.truncated > 0 {
            format!(", {} cut at the inspection limit", total.truncated)
        } else {
            String::new()
        },
        if errors.is_empty() {
            String::new()
        } else {
            format!(", not read: {}", errors.join(", "))
        },
    );
    if total.errors.contains_key("unreadable") {
        anyhow::bail!("{} files could not be read", total.errors["unreadable"]);
    }
    Ok(())
}
