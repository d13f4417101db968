//! The GSM 03.38 7-bit alphabet (3GPP TS 23.038): what fits in one SMS.
//!
//! One SMS carries 160 septets of GSM-7. The basic table's characters take one septet;
//! the extension table's (`^ { } \ [ ~ ] |`, `€` and form feed) take two (an escape and
//! the character), so 160 of them do not fit. Text outside the alphabet would switch the
//! whole message to UCS-2 (70 characters), so [`to_gsm7`] replaces it: common
//! typography by its ASCII look-alike, anything else by `?`. [`fit`] cuts to a septet
//! budget without splitting an escape, marking the cut with `...`.
//!
//! Cost: one pass over the text; no allocation beyond the output.

/// The basic table, in code order (0x00..0x7F; 0x1B is the escape to the extension).
const BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\u{1b}ÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/// The extension table's characters (two septets each).
const EXTENSION: &str = "^{}\\[~]|€\u{c}";

/// Septets per SMS of GSM-7 text.
pub const SMS_SEPTETS: usize = 160;

/// Septets `c` takes: 1 (basic), 2 (extension), `None` outside the alphabet.
pub fn septets(c: char) -> Option<usize> {
    if c != '\u{1b}' && BASIC.contains(c) {
        Some(1)
    } else if EXTENSION.contains(c) {
        Some(2)
    } else {
        None
    }
}

/// Septets of a whole text, `None` if some character is outside the alphabet.
pub fn length(text: &str) -> Option<usize> {
    text.chars().map(septets).sum()
}

/// The text in the GSM-7 alphabet: look-alikes for common typography, `?` for the rest.
pub fn to_gsm7(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if septets(c).is_some() {
            out.push(c);
            continue;
        }
        let replacement = match c {
            '\t' | '\u{a0}' | '\u{2002}'..='\u{200a}' | '\u{202f}' => " ",
            '`' | '\u{2018}' | '\u{2019}' | '\u{201a}' | '\u{2032}' => "'",
            '\u{201c}' | '\u{201d}' | '\u{201e}' | '\u{2033}' => "\"",
            '\u{2010}'..='\u{2015}' | '\u{2212}' => "-",
            '\u{2026}' => "...",
            '\u{2264}' => "<=",
            '\u{2265}' => ">=",
            '\u{2192}' => "->",
            '\u{b7}' | '\u{2022}' => "-",
            'á' | 'â' | 'ã' => "a",
            'ê' | 'ë' => "e",
            'í' | 'î' | 'ï' => "i",
            'ó' | 'ô' | 'õ' => "o",
            'ú' | 'û' => "u",
            'ç' => "Ç",
            _ if c.is_control() => "",
            _ => "?",
        };
        out.push_str(replacement);
    }
    out
}

/// GSM-7 text cut to at most `budget` septets. A cut text ends in `...` within the
/// budget; an extension character is never split from its escape.
pub fn fit(text: &str, budget: usize) -> String {
    let text = to_gsm7(text);
    if length(&text).unwrap_or(usize::MAX) <= budget {
        return text;
    }
    let room = budget.saturating_sub(3);
    let mut used = 0;
    let mut out = String::new();
    for c in text.chars() {
        let cost = septets(c).unwrap_or(1);
        if used + cost > room {
            break;
        }
        used += cost;
        out.push(c);
    }
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    if budget >= 3 {
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_tables_have_their_sizes() {
        assert_eq!(BASIC.chars().count(), 128);
        assert_eq!(EXTENSION.chars().count(), 10);
        assert_eq!(septets('a'), Some(1));
        assert_eq!(septets('€'), Some(2));
        assert_eq!(septets('{'), Some(2));
        assert_eq!(septets('\u{1b}'), None);
        assert_eq!(septets('`'), None);
        assert_eq!(length("score 0.93 {host=\"web-1\"}"), Some(27));
    }

    #[test]
    fn replaces_what_gsm_7_lacks() {
        assert_eq!(
            to_gsm7("CPU – 95 % … `x` “y” ≥ 3 日"),
            "CPU - 95 % ... 'x' \"y\" >= 3 ?"
        );
        assert_eq!(to_gsm7("Äpfel € ü"), "Äpfel € ü");
    }

    #[test]
    fn a_cut_never_splits_an_escape() {
        // 159 basic characters, then an extension character: it does not fit whole.
        let text = format!("{}{}", "a".repeat(159), "{");
        assert_eq!(length(&text), Some(161));
        let cut = fit(&text, 160);
        assert_eq!(cut, format!("{}...", "a".repeat(157)));
        // Exactly 160 septets with extension characters stays whole.
        let exact = format!("{}{}", "a".repeat(158), "€");
        assert_eq!(fit(&exact, 160), exact);
        // 80 extension characters are 160 septets; 81 are not.
        assert_eq!(fit(&"|".repeat(80), 160), "|".repeat(80));
        assert_eq!(fit(&"|".repeat(81), 160), format!("{}...", "|".repeat(78)));
    }

    proptest! {
        #[test]
        fn fitted_text_is_gsm_7_within_the_budget(text in "\\PC{0,400}", budget in 3usize..200) {
            let cut = fit(&text, budget);
            let septets = length(&cut);
            prop_assert!(septets.is_some(), "{cut:?}");
            prop_assert!(septets.unwrap() <= budget, "{cut:?}");
        }
    }
}
