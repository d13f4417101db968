//! Environment overrides: `LOOKOUT_LISTEN` and `LOOKOUT_DATA_DIR` replace the file's
//! `[server]` values; command-line flags (applied by the binary) replace both.

use std::path::PathBuf;

use crate::error::{ConfigError, ConfigErrors, ErrorKind};
use crate::values::parse_listen;
use crate::Config;

/// Overrides `[server] listen`.
pub const ENV_LISTEN: &str = "LOOKOUT_LISTEN";
/// Overrides `[server] data_dir`.
pub const ENV_DATA_DIR: &str = "LOOKOUT_DATA_DIR";

impl Config {
    /// Applies `LOOKOUT_LISTEN` and `LOOKOUT_DATA_DIR` as read by `env` (a lookup such as
    /// `|name| std::env::var(name).ok()`). Unset or empty variables change nothing. On
    /// error the configuration is left unchanged.
    pub fn apply_env_overrides(
        &mut self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigErrors> {
        let read = |name: &str| env(name).filter(|value| !value.trim().is_empty());
        let mut errors = Vec::new();
        let listen = read(ENV_LISTEN).and_then(|text| match parse_listen(&text) {
            Ok(address) => Some(address),
            Err(message) => {
                errors.push(env_error(ENV_LISTEN, message));
                None
            }
        });
        let data_dir = read(ENV_DATA_DIR).map(PathBuf::from);
        if let Some(errors) = ConfigErrors::from_vec(errors) {
            return Err(errors);
        }
        if let Some(listen) = listen {
            self.server.listen = listen;
        }
        if let Some(data_dir) = data_dir {
            self.server.data_dir = data_dir;
        }
        Ok(())
    }

    /// [`Config::apply_env_overrides`] with this process's environment.
    pub fn apply_process_env(&mut self) -> Result<(), ConfigErrors> {
        self.apply_env_overrides(|name| std::env::var(name).ok())
    }
}

fn env_error(variable: &str, message: String) -> ConfigError {
    ConfigError {
        kind: ErrorKind::InvalidValue,
        file: "<environment>".to_string(),
        line: None,
        context: String::new(),
        key: Some(variable.to_string()),
        message,
    }
}
