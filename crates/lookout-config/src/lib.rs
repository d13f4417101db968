//! The lookout configuration: one TOML file, read in two stages.
//!
//! 1. The [raw form](raw): the file deserialised into structs whose every field is an
//!    optional [`serde_spanned::Spanned`] value, so each key knows its line. Unknown keys
//!    are refused (`deny_unknown_fields`); the [reader] checks keys one at a time so that
//!    every unknown key and wrongly typed value is reported, not only the first.
//! 2. The validated [`Config`]: typed values (durations, addresses, enums), defaults
//!    filled in, cross-references checked (an alert rule's `notify` names an existing
//!    notifier). Every mistake is collected into [`ConfigErrors`], one line each:
//!    `lookout.toml:12: [[source]] #2 key "interval": "5x" is not a duration (e.g. "1s", "15s", "1m")`.
//!
//! Every key has a default; [`Config::default`] is the embedded default configuration
//! (this host's metrics every second, data under `./lookout-data`, listening on
//! `127.0.0.1:8080`). `CONFIG.md` in this crate documents every key; `lookout.example.toml`
//! is a commented example. Precedence is file < environment ([`Config::apply_env_overrides`])
//! < command-line flags (applied by the binary).
//!
//! Checks that need other crates (parsing `match` selectors, the list of detection
//! profiles) plug in through [`Hooks`] and the `*_validate_with` constructors.

pub mod auth;
pub mod defaults;
mod env;
mod error;
mod keys;
mod notifiers;
pub mod raw;
mod reader;
mod sources;
mod types;
mod validate;
pub mod values;

use std::path::Path;

pub use env::{ENV_DATA_DIR, ENV_LISTEN};
pub use error::{ConfigError, ConfigErrors, ErrorKind};
pub use keys::known_keys;
pub use sources::SOURCE_TYPES;
pub use types::*;
pub use validate::{Hooks, ParamsCheck, SelectorCheck};

impl Config {
    /// Reads and validates a configuration file with the default [`Hooks`].
    pub fn load(path: impl AsRef<Path>) -> Result<Config, ConfigErrors> {
        Config::load_validate_with(path, &Hooks::default())
    }

    /// Reads and validates a configuration file, with the binary's selector parser and
    /// profile list.
    pub fn load_validate_with(
        path: impl AsRef<Path>,
        hooks: &Hooks<'_>,
    ) -> Result<Config, ConfigErrors> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|error| {
            ConfigErrors::single(ConfigError {
                kind: ErrorKind::Io,
                file: name.clone(),
                line: None,
                context: String::new(),
                key: None,
                message: format!("cannot read the configuration file: {error}"),
            })
        })?;
        Config::from_str_validate_with(&text, &name, hooks)
    }

    /// Parses and validates configuration text; `name` is the file name used in errors.
    pub fn from_str_named(text: &str, name: &str) -> Result<Config, ConfigErrors> {
        Config::from_str_validate_with(text, name, &Hooks::default())
    }

    /// Like [`Config::from_str_named`], with the binary's checks.
    pub fn from_str_validate_with(
        text: &str,
        name: &str,
        hooks: &Hooks<'_>,
    ) -> Result<Config, ConfigErrors> {
        let mut reporter = reader::Reporter::new(text, name);
        let raw = reader::read_raw(&mut reporter);
        if !reporter.errors.is_empty()
            && reporter.errors.iter().all(|e| e.kind == ErrorKind::Syntax)
        {
            return Err(ConfigErrors::from_vec(reporter.errors).expect("non-empty"));
        }
        let mut config = validate::validate(&raw, &mut reporter, hooks);
        auth::finish(&mut config.auth, name, &mut reporter.errors);
        match ConfigErrors::from_vec(reporter.errors) {
            Some(errors) => Err(errors),
            None => Ok(config),
        }
    }
}

impl Default for Config {
    /// The embedded default configuration ([`defaults::EMBEDDED_DEFAULT_TOML`]).
    fn default() -> Self {
        Config::from_str_named(defaults::EMBEDDED_DEFAULT_TOML, "<embedded default>")
            .expect("the embedded default configuration is valid")
    }
}
