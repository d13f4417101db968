//! Validation of `[usage]`.

use super::{is_label_name, Checker};
use crate::defaults;
use crate::error::ErrorKind;
use crate::raw::RawUsage;
use crate::types::UsageConfig;

impl Checker<'_, '_, '_> {
    pub(super) fn usage(&mut self, raw: &RawUsage) -> UsageConfig {
        let context = "[usage]";
        let idle_max_percent = self.number_in(
            context,
            "idle_max_percent",
            &raw.idle_max_percent,
            defaults::USAGE_IDLE_MAX_PERCENT,
            0.0,
            100.0,
        );
        let underused_max_percent = self.number_in(
            context,
            "underused_max_percent",
            &raw.underused_max_percent,
            defaults::USAGE_UNDERUSED_MAX_PERCENT,
            0.0,
            100.0,
        );
        if underused_max_percent < idle_max_percent {
            if let Some(field) = raw
                .underused_max_percent
                .as_ref()
                .or(raw.idle_max_percent.as_ref())
            {
                self.report_at(
                    ErrorKind::InvalidValue,
                    context,
                    if raw.underused_max_percent.is_some() {
                        "underused_max_percent"
                    } else {
                        "idle_max_percent"
                    },
                    field,
                    format!(
                        "underused_max_percent ({underused_max_percent}) must not be below idle_max_percent ({idle_max_percent})"
                    ),
                );
            }
        }
        let samples = |checker: &mut Self, key: &str, field, default: u32| {
            checker.integer_in(context, key, field, u64::from(default), 1, 1_000_000) as u32
        };
        let idle_samples = samples(
            self,
            "idle_samples",
            &raw.idle_samples,
            defaults::USAGE_IDLE_SAMPLES,
        );
        let underused_samples = samples(
            self,
            "underused_samples",
            &raw.underused_samples,
            defaults::USAGE_UNDERUSED_SAMPLES,
        );
        let machine_labels = self.string_list(
            context,
            "machine_labels",
            &raw.machine_labels,
            defaults::USAGE_MACHINE_LABELS,
        );
        if let Some(bad) = machine_labels.iter().find(|name| !is_label_name(name)) {
            let field = raw
                .machine_labels
                .as_ref()
                .expect("only a written list can be invalid");
            self.report_at(
                ErrorKind::InvalidValue,
                context,
                "machine_labels",
                field,
                format!("{bad:?} is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)"),
            );
        }
        UsageConfig {
            idle_max_percent,
            idle_samples,
            underused_max_percent,
            underused_samples,
            jump_factor: self.number_in(
                context,
                "jump_factor",
                &raw.jump_factor,
                defaults::USAGE_JUMP_FACTOR,
                0.0,
                1e6,
            ),
            min_jump_points: self.number_in(
                context,
                "min_jump_points",
                &raw.min_jump_points,
                defaults::USAGE_MIN_JUMP_POINTS,
                0.0,
                100.0,
            ),
            rightsize_after: self.positive_duration(
                context,
                "rightsize_after",
                &raw.rightsize_after,
                defaults::USAGE_RIGHTSIZE_AFTER,
            ),
            cpu_metrics: self.string_list(
                context,
                "cpu_metrics",
                &raw.cpu_metrics,
                defaults::USAGE_CPU_METRICS,
            ),
            machine_labels,
        }
    }
}
