//! Checks a configuration file and prints every error, or the parsed configuration.
//!
//! `cargo run -p lookout-config --example check -- lookout.toml`

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: check <lookout.toml>");
        std::process::exit(2);
    };
    match lookout_config::Config::load(&path) {
        Ok(config) => println!("{config:#?}"),
        Err(errors) => {
            eprintln!("{errors}");
            std::process::exit(1);
        }
    }
}
