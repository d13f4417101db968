//! The keys each section accepts, read from the raw structs' own `Deserialize` impls.

use serde::de::DeserializeOwned;

use crate::raw::*;
use crate::reader::{ALERT_KEYS, TOP_LEVEL_SECTIONS};

/// Every section of the file and the keys it accepts, from the raw structs themselves.
pub fn known_keys() -> Vec<(&'static str, Vec<&'static str>)> {
    let with = |fields: &'static [&'static str], extra: &[&'static str]| {
        let mut keys: Vec<&'static str> = fields.iter().chain(extra).copied().collect();
        keys.sort_unstable();
        keys
    };
    let mut sections = vec![
        ("", with(&[], TOP_LEVEL_SECTIONS)),
        (
            "[server]",
            // `tls` is the `[server.tls]` table, listed as its own section.
            with(&[], &server_keys()),
        ),
        ("[server.tls]", with(struct_fields::<RawTls>(), &[])),
        ("[storage]", with(struct_fields::<RawStorage>(), &[])),
    ];
    for (section, fields) in crate::sources::keys() {
        sections.push((section, with(fields, &[])));
    }
    sections.extend([
        (
            "[detection]",
            with(struct_fields::<RawDetection>(), &["override"]),
        ),
        (
            "[[detection.override]]",
            with(struct_fields::<RawOverride>(), &[]),
        ),
        ("[usage]", with(struct_fields::<RawUsage>(), &[])),
        (
            "[object_store]",
            with(struct_fields::<RawObjectStore>(), &[]),
        ),
        ("[cluster]", with(struct_fields::<RawCluster>(), &[])),
        ("[auth]", with(struct_fields::<RawAuth>(), &["token"])),
        ("[[auth.token]]", with(struct_fields::<RawToken>(), &[])),
        ("[alert]", with(&[], ALERT_KEYS)),
        (
            "[[alert.notifier]]",
            with(crate::notifiers::COMMON_KEYS, &[]),
        ),
        ("[[alert.rule]]", with(struct_fields::<RawRule>(), &[])),
        (
            "[[alert.inhibit]]",
            with(struct_fields::<RawInhibit>(), &[]),
        ),
    ]);
    for (section, fields) in crate::notifiers::keys() {
        sections.push((section, with(fields, &[])));
    }
    sections
}

fn server_keys() -> Vec<&'static str> {
    let fields = struct_fields::<RawServer>().iter().copied();
    fields.filter(|key| *key != "tls").collect()
}

/// The field names of a struct, from its own `Deserialize` implementation.
pub(crate) fn struct_fields<T: DeserializeOwned>() -> &'static [&'static str] {
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(probe::FieldProbe {
        fields: &mut fields,
    });
    fields
}

mod probe {
    //! A deserializer that only records the field list passed to `deserialize_struct`.

    use std::fmt;

    use serde::de::{self, Visitor};

    #[derive(Debug)]
    pub struct Stop;

    impl fmt::Display for Stop {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("field probe stops here")
        }
    }

    impl std::error::Error for Stop {}

    impl de::Error for Stop {
        fn custom<T: fmt::Display>(_message: T) -> Self {
            Stop
        }
    }

    pub struct FieldProbe<'a> {
        pub fields: &'a mut &'static [&'static str],
    }

    impl<'de> de::Deserializer<'de> for FieldProbe<'_> {
        type Error = Stop;

        fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Stop> {
            Err(Stop)
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _visitor: V,
        ) -> Result<V::Value, Stop> {
            *self.fields = fields;
            Err(Stop)
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map enum identifier ignored_any
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_struct_fields_with_renames() {
        let fields = struct_fields::<RawRule>();
        assert!(fields.contains(&"match"));
        assert!(fields.contains(&"for"));
        assert!(fields.contains(&"group_by"));
        assert!(!fields.contains(&"selector"));
    }
}
