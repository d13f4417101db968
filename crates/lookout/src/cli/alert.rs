//! `lookout alert test RULE`: sends a sample alert of a rule through each of its
//! notifiers, so that the wiring (URLs, credentials, TLS, recipients) can be checked
//! without waiting for an incident. The message says it is a test.

use std::path::PathBuf;

use anyhow::{bail, Context};
use lookout_alert::compile_rules;
use lookout_alert::notify::{http_client, Notifier};
use lookout_alert::sample::{sample_notification, send_to_all};

#[derive(Debug, clap::Subcommand)]
pub enum AlertCommand {
    /// Send a sample alert of RULE through each of its notifiers and report each result.
    Test(TestArgs),
}

#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// The rule's name (`[[alert.rule]] name`, or `rule-N` for the N-th unnamed rule).
    rule: String,
    /// TOML configuration file; without it the embedded default (which has no rules).
    #[arg(long)]
    config: Option<PathBuf>,
}

pub fn run(command: AlertCommand) -> anyhow::Result<()> {
    match command {
        AlertCommand::Test(args) => test(args),
    }
}

fn test(args: TestArgs) -> anyhow::Result<()> {
    super::assembly::init_logging();
    let config = super::assembly::load_config(args.config.as_deref())?;
    let rules = compile_rules(&config.alert.rules)?;
    let Some(rule) = rules.iter().find(|rule| rule.name == args.rule) else {
        let known: Vec<&str> = rules.iter().map(|rule| rule.name.as_str()).collect();
        bail!(
            "no alert rule is named {:?} ({})",
            args.rule,
            if known.is_empty() {
                "the configuration has no [[alert.rule]]".to_string()
            } else {
                format!("known: {}", known.join(", "))
            }
        );
    };
    if rule.notify.is_empty() {
        bail!(
            "rule {:?} has no notifiers (`notify = [...]`): its alerts only show in the dashboard and API",
            rule.name
        );
    }
    let http = http_client();
    let notifiers: Vec<Notifier> = config
        .alert
        .notifiers
        .iter()
        .filter(|notifier| rule.notify.contains(&notifier.name))
        .map(|notifier| Notifier::from_config(notifier, &http))
        .collect();
    let dashboard = config.server.dashboard_url();
    let notification = sample_notification(rule, &dashboard, lookout_model::clock::now_ms());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let results = runtime.block_on(send_to_all(&notification, &notifiers));
    let mut failures = 0;
    for (name, result) in &results {
        let kind = notifiers
            .iter()
            .find(|notifier| &notifier.name == name)
            .map_or("?", |notifier| notifier.type_name());
        match result {
            Ok(()) => println!(
                "{name} ({kind}): delivered (message id {})",
                notification.id
            ),
            Err(error) => {
                failures += 1;
                println!("{name} ({kind}): FAILED: {error}");
            }
        }
    }
    if failures > 0 {
        bail!(
            "{failures} of {} notifier{} of rule {:?} failed",
            results.len(),
            if results.len() == 1 { "" } else { "s" },
            rule.name
        );
    }
    Ok(())
}
