//! The usage families of `/metrics`: each machine's state, one-hot, and the machines
//! with a right-sizing hint. Cost: one pass over the machines per scrape.

use lookout_protocol::exposition::{ExpositionWriter, MetricType};

use super::{UsageTracker, ALL_STATES, CANDIDATE_METRIC, STATE_METRIC};

/// Appends `lookout_usage_state{machine,state}` (1 for the current state, 0 for the
/// others) and `lookout_rightsizing_candidate{machine,action}` to a `/metrics` text.
pub fn render_metrics(usage: &UsageTracker, out: &mut ExpositionWriter) {
    let machines = usage.machines();
    out.family(
        STATE_METRIC,
        "Usage state of each machine: 1 for its current state, 0 for the others.",
        MetricType::Gauge,
    );
    for machine in &machines {
        for state in ALL_STATES {
            let value = u8::from(state.as_str() == machine.state);
            let labels = [
                ("machine", machine.machine.as_str()),
                ("state", state.as_str()),
            ];
            out.sample(STATE_METRIC, labels, f64::from(value));
        }
    }
    out.family(
        CANDIDATE_METRIC,
        "Machines idle or underused long enough to stop or downsize.",
        MetricType::Gauge,
    );
    for machine in &machines {
        if let Some(hint) = &machine.hint {
            let labels = [
                ("machine", machine.machine.as_str()),
                ("action", hint.action),
            ];
            out.sample(CANDIDATE_METRIC, labels, 1.0);
        }
    }
}
