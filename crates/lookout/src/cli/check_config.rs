//! `lookout check-config FILE`: validates a configuration without starting anything.
//!
//! Every mistake is reported at once, one per line as `FILE:LINE: ...`, and the exit code
//! is non-zero when there is any. Selectors (`match` keys) are parsed with the same
//! parser the server uses, and detection profiles checked against the engine's list.

use std::path::{Path, PathBuf};

use anyhow::bail;
use lookout_config::{Config, ConfigErrors, Hooks};

#[derive(Debug, clap::Args)]
pub struct CheckConfigArgs {
    /// The TOML configuration file to check.
    file: PathBuf,
}

/// Profiles and single detectors the engine accepts in `[detection] profile`.
pub(crate) fn profile_names() -> Vec<&'static str> {
    let pipeline = &lookout_detect::pipeline::PROFILE_NAMES;
    let detectors = &lookout_detect::pipeline::DETECTOR_NAMES;
    pipeline.iter().chain(detectors.iter()).copied().collect()
}

/// Loads a configuration file with the server's selector parser and profile list.
pub(crate) fn load_checked(path: &Path) -> Result<Config, ConfigErrors> {
    let check_selector = |text: &str| {
        lookout_protocol::selector::parse_selector(text)
            .map(|_| ())
            .map_err(|error| error.to_string())
    };
    let profiles = profile_names();
    let hooks = Hooks {
        selector: Some(&check_selector),
        profiles: &profiles,
    };
    Config::load_validate_with(path, &hooks)
}

pub fn run(args: CheckConfigArgs) -> anyhow::Result<()> {
    match load_checked(&args.file) {
        Ok(config) => {
            // Detector parameters are checked against the detectors themselves.
            if let Err(error) = super::detection::DetectionPipelines::from_config(&config.detection)
            {
                bail!("{}: {error:#}", args.file.display());
            }
            println!(
                "{}: OK ({} source{}, {} alert rule{}, listen {}, data in {})",
                args.file.display(),
                config.sources.len(),
                if config.sources.len() == 1 { "" } else { "s" },
                config.alert.rules.len(),
                if config.alert.rules.len() == 1 {
                    ""
                } else {
                    "s"
                },
                config.server.listen,
                config.server.data_dir.display()
            );
            Ok(())
        }
        Err(errors) => {
            eprintln!("{errors}");
            let count = errors.to_string().lines().count();
            bail!(
                "{}: {count} error{} in the configuration",
                args.file.display(),
                if count == 1 { "" } else { "s" }
            )
        }
    }
}
