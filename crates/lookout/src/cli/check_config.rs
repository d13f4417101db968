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
    lookout_detect::registry::profile_names()
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
        params: Some(&super::detection::params_mistakes),
    };
    Config::load_validate_with(path, &hooks)
}

/// `auth off`, or `auth on, N tokens (admin: a, b; ...)`.
fn auth_summary(auth: &lookout_config::AuthConfig) -> String {
    if !auth.enabled {
        return "auth off".to_string();
    }
    let mut by_role: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for token in &auth.tokens {
        by_role
            .entry(token.role.as_str())
            .or_default()
            .push(&token.name);
    }
    let roles: Vec<String> = by_role
        .iter()
        .map(|(role, names)| format!("{role}: {}", names.join(", ")))
        .collect();
    format!(
        "auth on, {} token{} ({})",
        auth.tokens.len(),
        if auth.tokens.len() == 1 { "" } else { "s" },
        roles.join("; ")
    )
}

pub fn run(args: CheckConfigArgs) -> anyhow::Result<()> {
    match load_checked(&args.file) {
        Ok(config) => {
            // Detector parameters are checked against the detectors themselves.
            if let Err(error) = super::detection::DetectionPipelines::from_config(&config.detection)
            {
                bail!("{}: {error:#}", args.file.display());
            }
            // The TLS files are read as `serve` reads them.
            if let Err(error) = super::listen::listen_options(&config) {
                bail!("{}: {error:#}", args.file.display());
            }
            println!(
                "{}: OK ({} source{}, {} alert rule{}, listen {}, data in {}, {})",
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
                config.server.data_dir.display(),
                auth_summary(&config.auth)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `knn` was missing from the profile list, so `check-config` and `serve` refused
    /// `profile = "knn"` although the engine builds it.
    #[test]
    fn knn_is_a_valid_profile_everywhere() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lookout.toml");
        std::fs::write(
            &path,
            "[detection]\nprofile = \"knn\"\nparams = { knn = { k = 3 } }\n\
             [[detection.override]]\nmatch = '{domain=\"cpu\"}'\nprofile = \"knn\"\n",
        )
        .unwrap();
        let config = load_checked(&path).unwrap_or_else(|errors| panic!("{errors}"));
        assert_eq!(config.detection.profile, "knn");
        let pipelines = super::super::detection::DetectionPipelines::from_config(&config.detection)
            .expect("a knn pipeline builds");
        assert_eq!(pipelines.default.detector_names(), ["knn"]);
        assert_eq!(pipelines.overrides[0].1.detector_names(), ["knn"]);
        run(CheckConfigArgs { file: path }).expect("check-config accepts it");
        for name in lookout_detect::registry::PIPELINE_NAMES {
            assert!(profile_names().contains(&name), "{name}");
        }
    }
}
