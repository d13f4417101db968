//! `type = "email"`: SMTP with STARTTLS and AUTH.

use serde::Deserialize;

use super::NotifierType;
use crate::defaults;
use crate::raw::Field;
use crate::types::Secret;
use crate::validate::Checker;

pub(crate) struct Email;

/// SMTP delivery settings.
#[derive(Debug, Clone, PartialEq)]
pub struct EmailNotifier {
    pub smtp_host: String,
    pub smtp_port: u16,
    pub starttls: bool,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub from: String,
    pub to: Vec<String>,
}

/// `[[alert.notifier]] type = "email"`: its own keys.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEmail {
    pub smtp_host: Field<String>,
    pub smtp_port: Field<i64>,
    pub starttls: Field<bool>,
    pub username: Field<String>,
    pub password: Field<String>,
    pub from: Field<String>,
    pub to: Field<Vec<String>>,
}

impl NotifierType for Email {
    type Raw = RawEmail;
    type Config = EmailNotifier;

    fn validate(
        raw: &RawEmail,
        checker: &mut Checker<'_, '_, '_>,
        context: &str,
        line: usize,
    ) -> Option<EmailNotifier> {
        email(checker, context, line, raw)
    }
}

fn email(
    checker: &mut Checker<'_, '_, '_>,
    context: &str,
    line: usize,
    raw: &RawEmail,
) -> Option<EmailNotifier> {
    let smtp_host = checker
        .required(context, line, "smtp_host", &raw.smtp_host)
        .cloned();
    let from = checker.required(context, line, "from", &raw.from).cloned();
    let to = checker.required(context, line, "to", &raw.to).cloned();
    let address = |text: &String| -> Result<(), String> {
        let (user, domain) = text.rsplit_once('@').unwrap_or_default();
        if user.is_empty() || domain.is_empty() || text.contains(char::is_whitespace) {
            Err(format!("{text:?} is not an email address"))
        } else {
            Ok(())
        }
    };
    let from = from.and_then(|_| {
        checker.value(context, "from", &raw.from, None, |text| {
            address(text).map(|()| Some(text.clone()))
        })
    });
    let to = to.and_then(|_| {
        checker.value(context, "to", &raw.to, None, |list| {
            if list.is_empty() {
                return Err("the list is empty; name at least one recipient".into());
            }
            list.iter().try_for_each(address)?;
            Ok(Some(list.clone()))
        })
    });
    let smtp_port = checker.integer_in(
        context,
        "smtp_port",
        &raw.smtp_port,
        u64::from(defaults::SMTP_PORT),
        1,
        65_535,
    ) as u16;
    let smtp_host =
        smtp_host.and_then(|_| checker.optional_string(context, "smtp_host", &raw.smtp_host));
    Some(EmailNotifier {
        smtp_host: smtp_host?,
        smtp_port,
        starttls: raw
            .starttls
            .as_ref()
            .map(|flag| *flag.get_ref())
            .unwrap_or(defaults::STARTTLS),
        username: checker.optional_string(context, "username", &raw.username),
        password: raw
            .password
            .as_ref()
            .map(|password| Secret::new(password.get_ref().clone())),
        from: from?,
        to: to?,
    })
}
