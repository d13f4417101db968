//! `cargo run -p lookout-auth --example scan -- FILE [MODE] [YEAR]`: the scanner alone.
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let file = std::fs::File::open(&args[1]).expect("open");
    let mode = args
        .get(2)
        .map_or(Ok(lookout_auth::Mode::Normal), |m| m.parse())
        .expect("mode");
    let year = args.get(3).map_or(2005, |y| y.parse().expect("year"));
    let config = lookout_auth::ParserConfig::new(mode, year);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let stats =
        lookout_auth::scan::scan(std::io::BufReader::new(file), &mut out, config).expect("scan");
    eprintln!("{stats:?}");
}
