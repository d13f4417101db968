//! Where trained traffic models live: `<data dir>/models/traffic/<NAME>.model`.
//!
//! Writes are atomic (a temporary file in the same directory, synced, then renamed over
//! the old model), so a reader sees the old model or the new one, never half of one.
//! Names are 1-64 characters of `A-Z a-z 0-9 _ - .`, not starting with a dot.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use lookout_traffic_model::TrafficModel;

/// The models directory of a data directory.
pub(crate) fn traffic_models_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("models").join("traffic")
}

pub(crate) fn check_name(name: &str) -> anyhow::Result<()> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !valid {
        bail!("invalid model name {name:?}: use 1-64 characters of A-Z a-z 0-9 _ - . (not starting with a dot)");
    }
    Ok(())
}

pub(crate) fn model_path(data_dir: &Path, name: &str) -> anyhow::Result<PathBuf> {
    check_name(name)?;
    Ok(traffic_models_dir(data_dir).join(format!("{name}.model")))
}

/// Writes `model` as `name`, atomically; returns its path.
pub(crate) fn save(data_dir: &Path, name: &str, model: &TrafficModel) -> anyhow::Result<PathBuf> {
    let path = model_path(data_dir, name)?;
    let dir = traffic_models_dir(data_dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let temporary = dir.join(format!(".{name}.model.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(&model.to_bytes())?;
        file.sync_all()?;
        std::fs::rename(&temporary, &path)?;
        if let Ok(dir) = std::fs::File::open(&dir) {
            let _ = dir.sync_all();
        }
        Ok::<_, std::io::Error>(())
    })();
    if let Err(error) = result {
        let _ = std::fs::remove_file(&temporary);
        return Err(error).with_context(|| format!("writing {}", path.display()));
    }
    Ok(path)
}

/// Reads the model `name`.
pub(crate) fn load(data_dir: &Path, name: &str) -> anyhow::Result<TrafficModel> {
    let path = model_path(data_dir, name)?;
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            bail!(
                "no traffic model {name:?} in {} (train one with `lookout train traffic --data FILE --name {name}`)",
                traffic_models_dir(data_dir).display()
            )
        }
        Err(error) => return Err(error).with_context(|| format!("reading {}", path.display())),
    };
    TrafficModel::from_bytes(&bytes).with_context(|| format!("loading {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        for good in ["default", "kdd-2026.v1", "A_b"] {
            check_name(good).unwrap();
        }
        for bad in ["", ".hidden", "../etc", "a/b", "x y", &"n".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }
}
