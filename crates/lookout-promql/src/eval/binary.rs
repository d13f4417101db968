//! Binary operators: arithmetic, comparison (filtering, or 0/1 with `bool`) and set
//! operators between scalars and instant vectors, with `on`/`ignoring` matching and
//! `group_left`/`group_right`, exactly as Prometheus' `VectorBinop`, `VectorAnd`,
//! `VectorOr`, `VectorUnless` and `VectorscalarBinop`.
//!
//! Matching signatures are computed once per series; each step then pairs the series
//! present at that step (duplicates on the "one" side at a step are errors, as in
//! Prometheus). Cost: O(series) per step after O(series) hashing.

use std::collections::HashMap;

use promql_parser::parser::token::{self, TokenId};
use promql_parser::parser::{BinaryExpr, LabelModifier, VectorMatchCardinality};

use super::Evaluator;
use crate::error::EvalError;
use crate::labels::Labels;
use crate::value::{Series, Steps, Value, VectorBuilder};

fn is_comparison(op: TokenId) -> bool {
    matches!(
        op,
        token::T_EQLC | token::T_NEQ | token::T_GTR | token::T_LSS | token::T_GTE | token::T_LTE
    )
}

fn is_set(op: TokenId) -> bool {
    matches!(op, token::T_LAND | token::T_LOR | token::T_LUNLESS)
}

/// Whether the operator removes `__name__` from its result (arithmetic does).
fn drops_name(op: TokenId) -> bool {
    matches!(
        op,
        token::T_ADD
            | token::T_SUB
            | token::T_MUL
            | token::T_DIV
            | token::T_MOD
            | token::T_POW
            | token::T_ATAN2
    )
}

/// `lhs op rhs`: the value and whether a comparison holds (always true for arithmetic).
pub(crate) fn apply(op: TokenId, lhs: f64, rhs: f64) -> (f64, bool) {
    match op {
        token::T_ADD => (lhs + rhs, true),
        token::T_SUB => (lhs - rhs, true),
        token::T_MUL => (lhs * rhs, true),
        token::T_DIV => (lhs / rhs, true),
        token::T_MOD => (lhs % rhs, true),
        token::T_POW => (lhs.powf(rhs), true),
        token::T_ATAN2 => (lhs.atan2(rhs), true),
        token::T_EQLC => (lhs, lhs == rhs),
        token::T_NEQ => (lhs, lhs != rhs),
        token::T_GTR => (lhs, lhs > rhs),
        token::T_LSS => (lhs, lhs < rhs),
        token::T_GTE => (lhs, lhs >= rhs),
        token::T_LTE => (lhs, lhs <= rhs),
        _ => (f64::NAN, false),
    }
}

/// How two vectors are matched.
struct Matching {
    on: bool,
    labels: Vec<String>,
    card: VectorMatchCardinality,
}

impl Matching {
    fn signature(&self, labels: &Labels) -> Labels {
        if self.on {
            labels.keep(&self.labels)
        } else {
            labels.drop_labels(&self.labels, true)
        }
    }
}

impl Evaluator<'_> {
    pub fn eval_binary(&mut self, b: &BinaryExpr, steps: &Steps) -> Result<Value, EvalError> {
        let op = b.op.id();
        let return_bool = b.return_bool();
        let lhs = self.eval(&b.lhs, steps)?;
        let rhs = self.eval(&b.rhs, steps)?;
        match (lhs, rhs) {
            (Value::Scalar(l), Value::Scalar(r)) => Ok(Value::Scalar(
                l.iter()
                    .zip(&r)
                    .map(|(&l, &r)| {
                        let (value, keep) = apply(op, l, r);
                        if is_comparison(op) {
                            f64::from(u8::from(keep))
                        } else {
                            value
                        }
                    })
                    .collect(),
            )),
            (Value::Vector(l), Value::Scalar(r)) => {
                self.vector_scalar(op, l, &r, false, return_bool, steps)
            }
            (Value::Scalar(l), Value::Vector(r)) => {
                self.vector_scalar(op, r, &l, true, return_bool, steps)
            }
            (Value::Vector(l), Value::Vector(r)) => {
                let (on, labels) = match b.modifier.as_ref().and_then(|m| m.matching.as_ref()) {
                    Some(LabelModifier::Include(l)) => (true, l.labels.clone()),
                    Some(LabelModifier::Exclude(l)) => (false, l.labels.clone()),
                    None => (false, Vec::new()),
                };
                let card = if is_set(op) {
                    VectorMatchCardinality::ManyToMany
                } else {
                    b.modifier
                        .as_ref()
                        .map(|m| m.card.clone())
                        .unwrap_or(VectorMatchCardinality::OneToOne)
                };
                let matching = Matching { on, labels, card };
                let series = match op {
                    token::T_LAND => self.and_unless(l, r, &matching, true, steps),
                    token::T_LUNLESS => self.and_unless(l, r, &matching, false, steps),
                    token::T_LOR => self.or(l, r, &matching, steps),
                    _ => self.vector_vector(op, l, r, &matching, return_bool, steps),
                }?;
                Ok(Value::Vector(series))
            }
            (l, r) => Err(EvalError::exec(format!(
                "binary operator between a {} and a {} is not defined",
                l.type_name(),
                r.type_name()
            ))),
        }
    }

    fn vector_scalar(
        &mut self,
        op: TokenId,
        vector: Vec<Series>,
        scalar: &[f64],
        scalar_left: bool,
        return_bool: bool,
        steps: &Steps,
    ) -> Result<Value, EvalError> {
        let drop = drops_name(op) || return_bool;
        let mut out = VectorBuilder::new(steps.count);
        for s in vector {
            self.check_deadline()?;
            let labels = if drop {
                s.labels.without_name()
            } else {
                s.labels
            };
            let slot = out.slot(labels);
            for (i, v) in s.values.iter().enumerate() {
                let Some(v) = *v else { continue };
                let (l, r) = if scalar_left {
                    (scalar[i], v)
                } else {
                    (v, scalar[i])
                };
                let (mut value, keep) = apply(op, l, r);
                if is_comparison(op) && scalar_left {
                    value = v;
                }
                if return_bool {
                    out.set(slot, i, f64::from(u8::from(keep)))?;
                } else if keep {
                    out.set(slot, i, value)?;
                }
            }
        }
        Ok(Value::Vector(out.finish()))
    }

    fn and_unless(
        &mut self,
        lhs: Vec<Series>,
        rhs: Vec<Series>,
        matching: &Matching,
        and: bool,
        steps: &Steps,
    ) -> Result<Vec<Series>, EvalError> {
        // Per signature, whether some right-hand series is present at each step.
        let mut present: HashMap<Labels, Vec<bool>> = HashMap::new();
        for s in &rhs {
            let row = present
                .entry(matching.signature(&s.labels))
                .or_insert_with(|| vec![false; steps.count]);
            for (i, v) in s.values.iter().enumerate() {
                row[i] |= v.is_some();
            }
        }
        let mut out = Vec::new();
        for mut s in lhs {
            let row = present.get(&matching.signature(&s.labels));
            for (i, v) in s.values.iter_mut().enumerate() {
                let matched = row.is_some_and(|row| row[i]);
                if matched != and {
                    *v = None;
                }
            }
            if s.values.iter().any(Option::is_some) {
                out.push(s);
            }
        }
        Ok(out)
    }

    fn or(
        &mut self,
        lhs: Vec<Series>,
        rhs: Vec<Series>,
        matching: &Matching,
        steps: &Steps,
    ) -> Result<Vec<Series>, EvalError> {
        let mut present: HashMap<Labels, Vec<bool>> = HashMap::new();
        for s in &lhs {
            let row = present
                .entry(matching.signature(&s.labels))
                .or_insert_with(|| vec![false; steps.count]);
            for (i, v) in s.values.iter().enumerate() {
                row[i] |= v.is_some();
            }
        }
        let mut out = VectorBuilder::new(steps.count);
        for s in lhs {
            let slot = out.slot(s.labels);
            for (i, v) in s.values.iter().enumerate() {
                if let Some(v) = v {
                    out.set(slot, i, *v)?;
                }
            }
        }
        for s in rhs {
            let row = present.get(&matching.signature(&s.labels));
            let slot = out.slot(s.labels);
            for (i, v) in s.values.iter().enumerate() {
                if let Some(v) = v {
                    if !row.is_some_and(|row| row[i]) {
                        out.set(slot, i, *v)?;
                    }
                }
            }
        }
        Ok(out.finish())
    }

    fn vector_vector(
        &mut self,
        op: TokenId,
        lhs: Vec<Series>,
        rhs: Vec<Series>,
        matching: &Matching,
        return_bool: bool,
        steps: &Steps,
    ) -> Result<Vec<Series>, EvalError> {
        let one_to_many = matches!(matching.card, VectorMatchCardinality::OneToMany(_));
        let include: Vec<String> = matching
            .card
            .labels()
            .map(|l| l.labels.clone())
            .unwrap_or_default();
        // The "many" side is iterated; the "one" side is looked up by signature.
        let (many, one) = if one_to_many { (rhs, lhs) } else { (lhs, rhs) };
        let mut groups: HashMap<Labels, usize> = HashMap::new();
        let mut one_group = Vec::with_capacity(one.len());
        for s in &one {
            let next = groups.len();
            one_group.push(*groups.entry(matching.signature(&s.labels)).or_insert(next));
        }
        let many_group: Vec<Option<usize>> = many
            .iter()
            .map(|s| groups.get(&matching.signature(&s.labels)).copied())
            .collect();
        let mut result_slot: HashMap<(usize, usize), usize> = HashMap::new();
        let mut out = VectorBuilder::new(steps.count);
        let mut member: Vec<Option<usize>> = vec![None; groups.len()];
        let mut matched_at: Vec<usize> = vec![usize::MAX; groups.len()];
        let one_to_one = matches!(matching.card, VectorMatchCardinality::OneToOne);
        for i in 0..steps.count {
            self.check_deadline()?;
            member.iter_mut().for_each(|m| *m = None);
            for (index, s) in one.iter().enumerate() {
                if s.values[i].is_none() {
                    continue;
                }
                let group = one_group[index];
                if let Some(other) = member[group] {
                    return Err(EvalError::exec(format!(
                        "found duplicate series for the match group {} on the {} hand-side of the operation: [{}, {}];many-to-many matching not allowed: matching labels must be unique on one side",
                        matching.signature(&s.labels),
                        if one_to_many { "left" } else { "right" },
                        one[other].labels,
                        s.labels
                    )));
                }
                member[group] = Some(index);
            }
            for (index, s) in many.iter().enumerate() {
                let (Some(v), Some(group)) = (s.values[i], many_group[index]) else {
                    continue;
                };
                let Some(partner) = member[group] else {
                    continue;
                };
                let w = one[partner].values[i].unwrap_or(f64::NAN);
                let (l, r) = if one_to_many { (w, v) } else { (v, w) };
                let (value, keep) = apply(op, l, r);
                if one_to_one {
                    if matched_at[group] == i {
                        return Err(EvalError::exec(format!(
                            "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right) (match group {})",
                            matching.signature(&s.labels)
                        )));
                    }
                    matched_at[group] = i;
                }
                let value = if return_bool {
                    f64::from(u8::from(keep))
                } else if keep {
                    value
                } else {
                    continue;
                };
                let slot = match result_slot.get(&(index, partner)) {
                    Some(slot) => *slot,
                    None => {
                        let labels = self.result_labels(
                            &s.labels,
                            &one[partner].labels,
                            op,
                            matching,
                            &include,
                            return_bool,
                        );
                        let slot = out.slot(labels);
                        result_slot.insert((index, partner), slot);
                        slot
                    }
                };
                if out.is_set(slot, i) {
                    return Err(EvalError::exec(if one_to_one {
                        "vector cannot contain metrics with the same labelset".to_string()
                    } else {
                        "multiple matches for labels: grouping labels must ensure unique results"
                            .to_string()
                    }));
                }
                out.set(slot, i, value)?;
            }
        }
        Ok(out.finish())
    }

    /// Prometheus' `resultMetric`: the labels of one output element.
    fn result_labels(
        &self,
        many: &Labels,
        one: &Labels,
        op: TokenId,
        matching: &Matching,
        include: &[String],
        return_bool: bool,
    ) -> Labels {
        let mut labels = if drops_name(op) || return_bool {
            many.without_name()
        } else {
            many.clone()
        };
        match &matching.card {
            VectorMatchCardinality::OneToOne => {
                labels = if matching.on {
                    labels.keep(&matching.labels)
                } else {
                    labels.drop_labels(&matching.labels, false)
                };
            }
            VectorMatchCardinality::ManyToOne(_) | VectorMatchCardinality::OneToMany(_) => {
                for name in include {
                    labels.set(name, one.get(name).unwrap_or(""));
                }
            }
            VectorMatchCardinality::ManyToMany => {}
        }
        labels
    }
}
