//! Object names: `/`-separated segments of `A-Z a-z 0-9 _ - .`, none empty or starting
//! with a dot (so no `..`, no hidden files, nothing outside the store's root), at most
//! 200 characters: safe as a relative path and as an S3 key without escaping surprises.

use crate::ObjectError;

pub fn check_name(name: &str) -> Result<(), ObjectError> {
    let valid = !name.is_empty()
        && name.len() <= 200
        && name.split('/').all(|segment| {
            !segment.is_empty()
                && !segment.starts_with('.')
                && segment
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        });
    if valid {
        Ok(())
    } else {
        Err(ObjectError::BadName(name.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        for good in ["models/traffic/default", "snapshots/detectors", "a.b-c_d"] {
            check_name(good).unwrap();
        }
        for bad in [
            "",
            "/a",
            "a/",
            "a//b",
            "../x",
            "a/.hidden",
            "a b",
            &"n".repeat(201),
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }
}
