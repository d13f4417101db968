//! Validation of `[detection]` and `[[detection.override]]`.

use serde_spanned::Spanned;

use super::Checker;
use crate::defaults;
use crate::error::ErrorKind;
use crate::raw::*;
use crate::types::*;

impl Checker<'_, '_, '_> {
    pub(super) fn detection(
        &mut self,
        raw: &RawDetection,
        overrides: &[Located<RawOverride>],
    ) -> DetectionConfig {
        let context = "[detection]";
        let profile = self
            .profile(context, &raw.profile)
            .unwrap_or_else(|| defaults::PROFILE.to_string());
        let min_deviation =
            self.optional_number_in(context, "min_deviation", &raw.min_deviation, 0.0, f64::MAX);
        let enter =
            self.optional_number_in(context, "hysteresis_enter", &raw.hysteresis_enter, 0.0, 1.0);
        let exit =
            self.optional_number_in(context, "hysteresis_exit", &raw.hysteresis_exit, 0.0, 1.0);
        self.check_hysteresis(
            context,
            enter,
            exit,
            hysteresis_blame(&raw.hysteresis_enter, &raw.hysteresis_exit),
        );
        self.check_params(context, &profile, &raw.params);
        let overrides = overrides
            .iter()
            .map(|entry| self.detection_override(entry, &profile, enter, exit))
            .collect();
        let warm_start = self.duration(
            context,
            "warm_start",
            &raw.warm_start,
            defaults::WARM_START,
            std::time::Duration::ZERO,
        );
        let warm_start_points = self.integer_in(
            context,
            "warm_start_points",
            &raw.warm_start_points,
            defaults::WARM_START_POINTS,
            1,
            1_000_000,
        );
        let warm_start_budget = self.integer_in(
            context,
            "warm_start_budget",
            &raw.warm_start_budget,
            defaults::WARM_START_BUDGET,
            1,
            10_000_000_000,
        );
        DetectionConfig {
            profile,
            min_deviation,
            hysteresis_enter: enter,
            hysteresis_exit: exit,
            params: raw
                .params
                .as_ref()
                .map(|p| p.get_ref().clone())
                .unwrap_or_default(),
            overrides,
            warm_start,
            warm_start_points,
            warm_start_budget,
        }
    }

    /// Reports `exit > enter` at the key the user wrote (`exit` first). With either
    /// left to the profile, the binary checks the pair once it knows the profile's.
    fn check_hysteresis(
        &mut self,
        context: &str,
        enter: Option<f64>,
        exit: Option<f64>,
        blame: Option<(&str, &Spanned<f64>)>,
    ) {
        let (Some(enter), Some(exit)) = (enter, exit) else {
            return;
        };
        if exit <= enter {
            return;
        }
        let Some((key, field)) = blame else {
            return;
        };
        let message =
            format!("hysteresis_exit ({exit}) must not exceed hysteresis_enter ({enter})");
        self.report_at(ErrorKind::InvalidValue, context, key, field, message);
    }

    /// Every mistake in a `params` table, at the line of its `params` key.
    fn check_params(&mut self, context: &str, profile: &str, params: &Field<toml::Table>) {
        let (Some(check), Some(params)) = (self.hooks.params, params) else {
            return;
        };
        for message in check(profile, params.get_ref()) {
            self.report_at(ErrorKind::InvalidValue, context, "params", params, message);
        }
    }

    fn detection_override(
        &mut self,
        entry: &Located<RawOverride>,
        base_profile: &str,
        enter: Option<f64>,
        exit: Option<f64>,
    ) -> DetectionOverride {
        let context = format!("[[detection.override]] #{}", entry.index);
        let raw = &entry.value;
        let selector = self.selector(&context, entry.line, &raw.selector);
        let profile = self.profile(&context, &raw.profile);
        let applies_to = profile.as_deref().unwrap_or(base_profile).to_owned();
        self.check_params(&context, &applies_to, &raw.params);
        let min_deviation =
            self.optional_number_in(&context, "min_deviation", &raw.min_deviation, 0.0, f64::MAX);
        let hysteresis_enter = self.optional_number_in(
            &context,
            "hysteresis_enter",
            &raw.hysteresis_enter,
            0.0,
            1.0,
        );
        let hysteresis_exit =
            self.optional_number_in(&context, "hysteresis_exit", &raw.hysteresis_exit, 0.0, 1.0);
        let blame = hysteresis_blame(&raw.hysteresis_enter, &raw.hysteresis_exit);
        self.check_hysteresis(
            &context,
            hysteresis_enter.or(enter),
            hysteresis_exit.or(exit),
            blame,
        );
        DetectionOverride {
            selector,
            profile,
            min_deviation,
            hysteresis_enter,
            hysteresis_exit,
            params: raw
                .params
                .as_ref()
                .map(|p| p.get_ref().clone())
                .unwrap_or_default(),
        }
    }
}

fn hysteresis_blame<'f>(
    enter: &'f Field<f64>,
    exit: &'f Field<f64>,
) -> Option<(&'static str, &'f Spanned<f64>)> {
    match (exit, enter) {
        (Some(exit), _) => Some(("hysteresis_exit", exit)),
        (None, Some(enter)) => Some(("hysteresis_enter", enter)),
        (None, None) => None,
    }
}
