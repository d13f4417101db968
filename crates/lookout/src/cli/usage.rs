//! The `[usage]` table of the configuration as the server's usage options.

use lookout_detect::detectors::usage::UsageConfig as UsageRulesConfig;
use lookout_server::usage::UsageOptions;

pub(crate) fn usage_options(config: &lookout_config::UsageConfig) -> UsageOptions {
    UsageOptions {
        rules: UsageRulesConfig {
            idle_max_percent: config.idle_max_percent,
            idle_samples: config.idle_samples,
            underused_max_percent: config.underused_max_percent,
            underused_samples: config.underused_samples,
            jump_factor: config.jump_factor,
            min_jump_points: config.min_jump_points,
        },
        rightsize_after: config.rightsize_after,
        cpu_metrics: config.cpu_metrics.clone(),
        machine_labels: config.machine_labels.clone(),
    }
}
