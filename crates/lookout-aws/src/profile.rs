//! The shared-files link: profile `AWS_PROFILE` (else `default`) of
//! `AWS_SHARED_CREDENTIALS_FILE` (else `~/.aws/credentials`), then `[profile NAME]` of
//! `AWS_CONFIG_FILE` (else `~/.aws/config`), static keys only. Costs two small file reads.

use std::collections::BTreeMap;

use crate::credentials::Credentials;
use crate::env::Env;

pub(crate) fn from_profile_files(env: &Env) -> Result<Credentials, String> {
    let profile = env.var("AWS_PROFILE").unwrap_or_else(|| "default".into());
    let mut reasons = Vec::new();
    let sources = [
        (
            env.aws_file("AWS_SHARED_CREDENTIALS_FILE", "credentials"),
            profile.clone(),
        ),
        (
            env.aws_file("AWS_CONFIG_FILE", "config"),
            config_section(&profile),
        ),
    ];
    for (path, section) in sources {
        let Some(path) = path else { continue };
        let Ok(text) = std::fs::read_to_string(&path) else {
            reasons.push(format!("{} not readable", path.display()));
            continue;
        };
        match profile_credentials(&text, &section) {
            Ok(found) => return Ok(found),
            Err(reason) => reasons.push(format!("{}: {reason}", path.display())),
        }
    }
    if reasons.is_empty() {
        return Err("neither HOME nor AWS_SHARED_CREDENTIALS_FILE/AWS_CONFIG_FILE set".into());
    }
    Err(reasons.join(", "))
}

/// The section name of a profile in `~/.aws/config`: `default` or `profile NAME`.
fn config_section(profile: &str) -> String {
    if profile == "default" {
        profile.to_string()
    } else {
        format!("profile {profile}")
    }
}

/// Static keys of `[section]` in an AWS shared credentials/config INI text.
pub fn profile_credentials(text: &str, section: &str) -> Result<Credentials, String> {
    let mut current = None;
    let mut seen = false;
    let mut keys = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = Some(name.trim().to_string());
            seen |= current.as_deref() == Some(section);
            continue;
        }
        if current.as_deref() != Some(section) {
            continue;
        }
        if let Some((key, value)) = line.split_once('=') {
            keys.insert(key.trim().to_ascii_lowercase(), value.trim().to_string());
        }
    }
    let get = |key: &str| keys.get(key).filter(|value| !value.is_empty()).cloned();
    match (get("aws_access_key_id"), get("aws_secret_access_key")) {
        (Some(id), Some(secret)) => Ok(Credentials::new(id, secret, get("aws_session_token"))),
        _ if !seen => Err(format!("no [{section}] section")),
        _ => Err(format!(
            "[{section}] has no aws_access_key_id/aws_secret_access_key (role and SSO profiles are not supported: export credentials to the environment)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_are_read_by_section() {
        let text = "# comment\n[default]\naws_access_key_id = A1\naws_secret_access_key = S1\n\n\
                    [prod]\naws_access_key_id=A2\naws_secret_access_key=S2\naws_session_token=T2\n\
                    [profile sso]\nsso_start_url = https://example\n";
        assert_eq!(
            profile_credentials(text, "default").unwrap().access_key_id,
            "A1"
        );
        let prod = profile_credentials(text, "prod").unwrap();
        assert_eq!(
            (prod.access_key_id.as_str(), prod.session_token.as_deref()),
            ("A2", Some("T2"))
        );
        assert!(profile_credentials(text, "profile sso")
            .unwrap_err()
            .contains("not supported"));
        assert_eq!(config_section("sso"), "profile sso");
    }

    #[test]
    fn the_config_file_is_read_when_the_credentials_file_lacks_the_profile() {
        let dir = tempfile::tempdir().unwrap();
        let credentials = dir.path().join("credentials");
        let config = dir.path().join("config");
        std::fs::write(
            &credentials,
            "[default]\naws_access_key_id=D\naws_secret_access_key=DS\n",
        )
        .unwrap();
        std::fs::write(
            &config,
            "[profile ops]\naws_access_key_id=O\naws_secret_access_key=OS\n",
        )
        .unwrap();
        let env = |profile: &'static str| {
            Env::from_pairs([
                ("AWS_PROFILE", profile),
                ("AWS_SHARED_CREDENTIALS_FILE", credentials.to_str().unwrap()),
                ("AWS_CONFIG_FILE", config.to_str().unwrap()),
            ])
        };
        assert_eq!(
            from_profile_files(&env("default")).unwrap().access_key_id,
            "D"
        );
        assert_eq!(from_profile_files(&env("ops")).unwrap().access_key_id, "O");
        let missing = from_profile_files(&env("nope")).unwrap_err();
        assert!(
            missing.contains("no [nope] section") && missing.contains("no [profile nope] section"),
            "{missing}"
        );
        assert!(from_profile_files(&Env::from_pairs([]))
            .unwrap_err()
            .contains("HOME"));
    }
}
