//! Where the credential chain reads its settings: the process environment, or a fixed
//! set of variables (tests, embedding), so the chain's order can be checked without
//! touching the process.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// The variables the credential chain reads. Empty values count as unset.
#[derive(Debug, Clone, Default)]
pub struct Env {
    /// `None`: the process environment.
    fixed: Option<BTreeMap<String, String>>,
}

impl Env {
    /// The process environment.
    pub fn process() -> Self {
        Env { fixed: None }
    }

    /// Exactly these variables and no others.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Env {
            fixed: Some(
                pairs
                    .into_iter()
                    .map(|(name, value)| (name.to_string(), value.to_string()))
                    .collect(),
            ),
        }
    }

    /// The non-empty value of `name`.
    pub fn var(&self, name: &str) -> Option<String> {
        let value = match &self.fixed {
            Some(fixed) => fixed.get(name).cloned(),
            None => std::env::var(name).ok(),
        };
        value.filter(|value| !value.is_empty())
    }

    /// `name` as a path, else `~/.aws/<file>`.
    pub(crate) fn aws_file(&self, name: &str, file: &str) -> Option<PathBuf> {
        self.var(name).map(PathBuf::from).or_else(|| {
            self.var("HOME")
                .map(|home| PathBuf::from(home).join(".aws").join(file))
        })
    }

    /// The region of the environment (`AWS_REGION`, else `AWS_DEFAULT_REGION`).
    pub(crate) fn region(&self) -> Option<String> {
        self.var("AWS_REGION")
            .or_else(|| self.var("AWS_DEFAULT_REGION"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_variables_hide_the_process_and_empty_means_unset() {
        let env = Env::from_pairs([("HOME", "/home/ops"), ("AWS_REGION", "")]);
        assert_eq!(env.var("PATH"), None);
        assert_eq!(env.region(), None);
        assert_eq!(
            env.aws_file("AWS_CONFIG_FILE", "config"),
            Some(PathBuf::from("/home/ops/.aws/config"))
        );
        let env = Env::from_pairs([
            ("AWS_CONFIG_FILE", "/etc/aws"),
            ("AWS_DEFAULT_REGION", "eu-west-1"),
        ]);
        assert_eq!(
            env.aws_file("AWS_CONFIG_FILE", "config"),
            Some(PathBuf::from("/etc/aws"))
        );
        assert_eq!(env.region().as_deref(), Some("eu-west-1"));
    }
}
