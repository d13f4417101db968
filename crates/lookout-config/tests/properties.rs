//! Invariants of loading: any text gives a config or located errors, never a panic.

use lookout_config::*;
use proptest::prelude::*;

const EXAMPLE: &str = include_str!("../lookout.example.toml");

fn check_errors_are_located(text: &str) {
    if let Err(errors) = Config::from_str_named(text, "p.toml") {
        let lines = text.lines().count().max(1);
        assert!(!errors.is_empty());
        for error in errors.errors() {
            let line = error.line.expect("errors from text have a line");
            assert!(
                line >= 1 && line <= lines + 1,
                "line {line} of {lines}: {error}"
            );
            assert!(
                error.to_string().starts_with(&format!("p.toml:{line}: ")),
                "{error}"
            );
        }
        let sorted = errors
            .errors()
            .windows(2)
            .all(|pair| pair[0].line <= pair[1].line);
        assert!(sorted, "{errors}");
    }
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        check_errors_are_located(&text);
    }

    /// Replacing one value of the example with a random scalar yields either a valid
    /// configuration or errors that all point at lines of the file.
    #[test]
    fn corrupting_one_value_of_the_example_is_reported_in_place(
        line_index in 0usize..140,
        value in prop_oneof![
            Just("\"5x\"".to_string()),
            Just("-1".to_string()),
            Just("true".to_string()),
            Just("[1, 2]".to_string()),
            Just("{ a = 1 }".to_string()),
            "\"[a-z0-9:/.]{0,12}\"",
            (-5.0f64..5.0).prop_map(|f| format!("{f}")),
        ],
    ) {
        let mut lines: Vec<String> = EXAMPLE.lines().map(String::from).collect();
        let index = line_index % lines.len();
        let original = lines[index].clone();
        if let Some((key, _)) = original.split_once(" = ").filter(|_| !original.trim_start().starts_with('#')) {
            lines[index] = format!("{key} = {value}");
        }
        check_errors_are_located(&lines.join("\n"));
    }

    #[test]
    fn wildcard_star_matches_everything(name in "\\PC{0,20}") {
        prop_assert!(wildcard_match("*", &name));
        prop_assert!(wildcard_match(&name.replace('*', ""), &name.replace('*', "")));
    }
}
