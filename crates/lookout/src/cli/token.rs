//! `lookout token create --name NAME --role ROLE [--file PATH]`: makes an API token.
//!
//! The token is 32 random bytes from the operating system, written `lk_` and 64 hex
//! digits. It goes to standard output, alone on its line, once: lookout keeps only its
//! SHA-256 digest. The entry to add to the configuration goes to standard error, or,
//! with `--file`, is appended to that tokens file (created with mode 0600 if missing;
//! a name already in it is refused).

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context};
use lookout_config::auth::{check_token_name, parse_tokens_file, sha256_hex, Role, ROLE_NAMES};
use rand::RngCore;

#[derive(Debug, clap::Subcommand)]
pub enum TokenCommand {
    /// Make a token: prints it once, and its entry for the configuration (or appends
    /// the entry to a tokens file).
    Create(CreateArgs),
}

#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// Who uses the token (shown in the audit log and as a silence's creator).
    #[arg(long)]
    name: String,
    /// `read`, `write` (ingestion only) or `admin` (everything).
    #[arg(long)]
    role: String,
    /// Append the entry to this tokens file (`[auth] tokens_file`) instead of printing
    /// an `[[auth.token]]` table.
    #[arg(long)]
    file: Option<PathBuf>,
}

pub fn run(command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create(args) => create(args),
    }
}

/// A new secret token.
fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("lk_{hex}")
}

fn create(args: CreateArgs) -> anyhow::Result<()> {
    check_token_name(&args.name).map_err(|message| anyhow::anyhow!("--name: {message}"))?;
    let Some(role) = Role::parse(&args.role) else {
        bail!(
            "--role: unknown role {:?} (one of: {})",
            args.role,
            ROLE_NAMES.join(", ")
        );
    };
    let token = new_token();
    let digest = sha256_hex(&lookout_server::auth::hash_token(&token));
    match &args.file {
        Some(path) => append(path, &args.name, role, &digest)?,
        None => eprintln!(
            "Add to the configuration:\n\n[[auth.token]]\nname = {:?}\nrole = \"{role}\"\nsha256 = \"{digest}\"\n",
            args.name
        ),
    }
    eprintln!("The token below is shown once; lookout keeps only its SHA-256 digest.");
    println!("{token}");
    Ok(())
}

fn append(path: &std::path::Path, name: &str, role: Role, digest: &str) -> anyhow::Result<()> {
    let shown = path.display().to_string();
    let existing = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(error) => return Err(error).with_context(|| format!("reading {shown}")),
    };
    let (tokens, _) = parse_tokens_file(&existing, &shown);
    if let Some(token) = tokens.iter().find(|token| token.name == name) {
        bail!(
            "{}: a token named {name:?} is already there; remove that line first or pick another name",
            token.origin()
        );
    }
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("opening {shown}"))?;
    let separator = if existing.is_empty() || existing.ends_with('\n') {
        ""
    } else {
        "\n"
    };
    writeln!(file, "{separator}{name} {role} {digest}")
        .with_context(|| format!("writing {shown}"))?;
    eprintln!("Appended token {name:?} ({role}) to {shown}.");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_distinct() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 3 + 64);
        assert!(a.starts_with("lk_") && a != b);
    }

    #[test]
    fn appended_entries_parse_and_names_stay_unique() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens");
        std::fs::write(&path, "# tokens").unwrap();
        let digest = sha256_hex(&lookout_server::auth::hash_token("lk_x"));
        append(&path, "ci", Role::Write, &digest).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let (tokens, errors) = parse_tokens_file(&text, "tokens");
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(tokens[0].name, "ci");
        assert_eq!(tokens[0].role, Role::Write);
        let again = append(&path, "ci", Role::Admin, &digest).unwrap_err();
        assert!(again.to_string().contains("already there"), "{again}");
    }
}
