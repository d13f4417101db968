//! Label sets as PromQL sees them: sorted `(name, value)` pairs, `__name__` included, an
//! empty value meaning an absent label. Ordering is Prometheus' `labels.Compare` (pair by
//! pair, bytes, then length), which is the order range query answers are sorted in.

/// The label holding the metric name.
pub const METRIC_NAME: &str = "__name__";

/// A sorted set of labels without duplicates or empty values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Labels(Vec<(String, String)>);

impl Labels {
    /// Builds a set from pairs in any order; empty values are dropped, and of a repeated
    /// name the first pair is kept.
    pub fn new(mut pairs: Vec<(String, String)>) -> Labels {
        pairs.retain(|(_, value)| !value.is_empty());
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        pairs.dedup_by(|later, earlier| later.0 == earlier.0);
        Labels(pairs)
    }

    /// The value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|(n, _)| n.as_str().cmp(name))
            .ok()
            .map(|index| self.0[index].1.as_str())
    }

    /// Sets `name` to `value`; an empty value removes the label.
    pub fn set(&mut self, name: &str, value: &str) {
        match self.0.binary_search_by(|(n, _)| n.as_str().cmp(name)) {
            Ok(index) if value.is_empty() => {
                self.0.remove(index);
            }
            Ok(index) => self.0[index].1 = value.to_string(),
            Err(_) if value.is_empty() => {}
            Err(index) => self.0.insert(index, (name.to_string(), value.to_string())),
        }
    }

    /// Removes `name` if present.
    pub fn remove(&mut self, name: &str) {
        self.set(name, "");
    }

    /// The set without `__name__`.
    pub fn without_name(&self) -> Labels {
        Labels(
            self.0
                .iter()
                .filter(|(name, _)| name != METRIC_NAME)
                .cloned()
                .collect(),
        )
    }

    /// Only the labels listed in `names`.
    pub fn keep(&self, names: &[String]) -> Labels {
        Labels(
            self.0
                .iter()
                .filter(|(name, _)| names.iter().any(|n| n == name))
                .cloned()
                .collect(),
        )
    }

    /// Every label except those listed in `names` (and `__name__` when `drop_name`).
    pub fn drop_labels(&self, names: &[String], drop_name: bool) -> Labels {
        Labels(
            self.0
                .iter()
                .filter(|(name, _)| {
                    !(names.iter().any(|n| n == name) || drop_name && name == METRIC_NAME)
                })
                .cloned()
                .collect(),
        )
    }

    /// The pairs, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl std::fmt::Display for Labels {
    /// `{a="1", b="2"}` as Prometheus prints a label set in error messages.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("{")?;
        for (index, (name, value)) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{name}={value:?}")?;
        }
        f.write_str("}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        Labels::new(
            pairs
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn sets_are_sorted_without_empty_values() {
        let set = labels(&[("b", "2"), ("__name__", "up"), ("a", ""), ("A", "x")]);
        let names: Vec<_> = set.iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["A", "__name__", "b"]);
        assert_eq!(set.get("b"), Some("2"));
        assert_eq!(set.get("a"), None);
    }

    #[test]
    fn set_and_remove_keep_the_order() {
        let mut set = labels(&[("b", "2")]);
        set.set("a", "1");
        set.set("c", "3");
        set.set("b", "");
        assert_eq!(set, labels(&[("a", "1"), ("c", "3")]));
        set.remove("a");
        assert_eq!(set.to_string(), "{c=\"3\"}");
    }

    #[test]
    fn keep_and_drop() {
        let set = labels(&[("__name__", "up"), ("a", "1"), ("b", "2")]);
        assert_eq!(set.keep(&["a".into()]), labels(&[("a", "1")]));
        assert_eq!(set.drop_labels(&["a".into()], true), labels(&[("b", "2")]));
        assert_eq!(
            set.drop_labels(&[], false),
            labels(&[("__name__", "up"), ("a", "1"), ("b", "2")])
        );
        assert_eq!(set.without_name().len(), 2);
    }

    #[test]
    fn order_is_pair_by_pair_then_length() {
        assert!(labels(&[("a", "1")]) < labels(&[("a", "1"), ("b", "1")]));
        assert!(labels(&[("a", "1"), ("c", "1")]) > labels(&[("a", "1"), ("b", "9")]));
        assert!(labels(&[("a", "10")]) < labels(&[("a", "9")]));
    }
}
