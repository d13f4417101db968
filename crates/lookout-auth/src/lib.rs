//! SSH login attacks from auth logs: pure, synchronous, deterministic.
//!
//! - [`AuthParser`] reads `/var/log/auth.log`-style lines, RFC 5424 lines and journald
//!   JSON (`journalctl -o json`, identifiers `sshd` and `sshd-session`) and answers a
//!   [`Login`] (failure or success, address, user) for every line that is an attempt. It
//!   recognises every failure form fail2ban's `sshd` filter recognises in its `normal`,
//!   `ddos`, `extra` and `aggressive` [`Mode`]s, IPv4 and IPv6, reimplemented without
//!   regular expressions (the address of a line that has none comes from the earlier
//!   lines of its connection, as fail2ban does).
//! - [`detect::LoginDetectors`] turns attempts into findings with evidence: the fail2ban
//!   rule (`maxretry` failures within `findtime`), CrowdSec-style leaky buckets (fast and
//!   slow brute force), user enumeration (distinct users per address) and a success after
//!   a burst of failures from the same address.
//! - [`series::LoginSeries`] summarises attempts per interval: failures, successes,
//!   distinct source addresses (HyperLogLog) and the top sources (Space-Saving).
//!
//! Every per-address state expires and every table has a cap, so a flood of spoofed
//! addresses costs bounded memory (`lookout_sketch::BoundedMap`).

pub mod detect;
pub mod header;
pub mod host;
pub mod line;
pub mod parser;
pub mod rules;
pub mod scan;
pub mod series;
pub mod tracker;

pub use parser::{AuthParser, Login, LoginResult, ParseStats, ParserConfig};
pub use rules::Mode;
