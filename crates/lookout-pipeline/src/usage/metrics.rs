//! The usage families of `/metrics`: each machine's state, one-hot, and the machines
//! with a right-sizing hint. Cost: one pass over the machines per scrape.

use std::fmt::Write as _;

use super::{UsageTracker, ALL_STATES, CANDIDATE_METRIC, STATE_METRIC};
use crate::metrics::escape_label_value;

/// Appends `lookout_usage_state{machine,state}` (1 for the current state, 0 for the
/// others) and `lookout_rightsizing_candidate{machine,action}` to a `/metrics` text.
pub fn render_metrics(usage: &UsageTracker, out: &mut String) {
    let machines = usage.machines();
    let _ = writeln!(
        out,
        "# HELP {STATE_METRIC} Usage state of each machine: 1 for its current state, 0 for the others.\n\
         # TYPE {STATE_METRIC} gauge"
    );
    for machine in &machines {
        let name = escape_label_value(&machine.machine);
        for state in ALL_STATES {
            let value = u8::from(state.as_str() == machine.state);
            let _ = writeln!(
                out,
                "{STATE_METRIC}{{machine=\"{name}\",state=\"{}\"}} {value}",
                state.as_str()
            );
        }
    }
    let _ = writeln!(
        out,
        "# HELP {CANDIDATE_METRIC} Machines idle or underused long enough to stop or downsize.\n\
         # TYPE {CANDIDATE_METRIC} gauge"
    );
    for machine in &machines {
        if let Some(hint) = &machine.hint {
            let _ = writeln!(
                out,
                "{CANDIDATE_METRIC}{{machine=\"{}\",action=\"{}\"}} 1",
                escape_label_value(&machine.machine),
                hint.action
            );
        }
    }
}
