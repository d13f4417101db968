//! Rules for the tokens right after a break-out point: a closing quote (`admin'--`,
//! `' or 1=1`) or a number in a numeric context (`1 union …`, `1) and (…`).

use super::ctx::{is_atom, Ctx};
use super::lexer::{Kw, Tok};
use super::SqlHit;

/// Rules for the tokens right after a break-out point (a closing quote, or a number the
/// application put in a numeric context).
pub(super) fn breakout(c: &Ctx<'_>, i: usize, strict: bool) -> Option<SqlHit> {
    let mut i = i;
    let mut parens = 0;
    while c.tok(i) == Some(Tok::RParen) {
        i += 1;
        parens += 1;
    }
    let first = c.tok(i)?;
    let hit = match first {
        Tok::Logic if c.expression_at(i + 1, strict) => c.hit("breakout_logic", 0.9, i, i + 3),
        Tok::Semicolon => match c.tok(i + 1) {
            Some(Tok::Keyword(Kw::Select | Kw::Waitfor)) => {
                c.hit("breakout_stacked", 0.9, i, i + 1)
            }
            Some(Tok::Keyword(Kw::Statement))
                if !matches!(
                    c.text(i + 1),
                    "set"
                        | "use"
                        | "show"
                        | "begin"
                        | "load"
                        | "call"
                        | "handler"
                        | "rename"
                        | "replace"
                        | "merge"
                        | "grant"
                        | "revoke"
                        | "prepare"
                ) && (!matches!(c.text(i + 1), "exec" | "execute")
                    || c.text(i + 2).starts_with("xp_")
                    || c.text(i + 2).starts_with("sp_")
                    || matches!(
                        c.tok(i + 2),
                        Some(Tok::LParen | Tok::Str { .. } | Tok::Variable { .. })
                    )) =>
            {
                c.hit("breakout_stacked", 0.85, i, i + 1)
            }
            Some(Tok::Comment { .. }) if !strict => c.hit("breakout_stacked", 0.7, i, i + 1),
            _ => return None,
        },
        Tok::Comment { mysql_exec: false }
            if (!strict || parens > 0) && c.comment_is_terminator(i) && c.quote_attached() =>
        {
            c.hit("breakout_comment", 0.8, i, i)
        }
        Tok::Op { comparison: false } if !strict && c.text(i).len() == 1 => {
            let next = c.tok(i + 1)?;
            let concat = c.text(i) == "|" && c.tok(i + 1) == Some(Tok::Op { comparison: false });
            let arithmetic = matches!(c.text(i), "+" | "-" | "|" | "^" | "&");
            if concat
                || arithmetic
                    && matches!(
                        next,
                        Tok::Function(_) | Tok::LParen | Tok::Keyword(Kw::Select)
                    )
            {
                c.hit("breakout_concat", 0.8, i, i + 2)
            } else {
                return None;
            }
        }
        Tok::Logic if c.text(i) == "||" && !strict => c.hit("breakout_concat", 0.8, i, i + 2),
        Tok::Op { comparison: true }
            if !strict && !c.text(i).starts_with(|ch: char| ch.is_ascii_alphabetic()) =>
        {
            let tail = (c.tok(i + 1).is_some_and(is_atom))
                && matches!(c.tok(i + 2), None | Some(Tok::Logic | Tok::Comment { .. }));
            if tail {
                c.hit("breakout_compare", 0.75, i, i + 2)
            } else {
                return None;
            }
        }
        Tok::Logic | Tok::Op { .. }
            if !strict
                && matches!(c.tok(i + 1), Some(Tok::Str { .. }))
                && (c.tok(i + 1) == Some(Tok::Str { closed: true })
                    || c.text(i + 1).len() <= 3)
                && c.t[i + 1].start > 0
                && !c.s.as_bytes()[c.t[i + 1].start - 1].is_ascii_alphanumeric() =>
        {
            c.hit("breakout_string_operator", 0.75, i, i + 1)
        }
        Tok::Op { .. }
            if !strict
                && !c.text(i).starts_with(|ch: char| ch.is_ascii_alphabetic())
                && c.t[i + 1..c.t.len().min(i + 9)]
                    .iter()
                    .all(|t| t.tok != Tok::Other)
                && c.t[i + 1..c.t.len().min(i + 9)]
                    .iter()
                    .any(|t| matches!(t.tok, Tok::Op { comparison: true } | Tok::Logic)) =>
        {
            c.hit("breakout_arithmetic", 0.75, i, i + 4)
        }
        Tok::Keyword(Kw::OrderBy | Kw::Having | Kw::Limit | Kw::Select | Kw::Waitfor) => {
            let sql_after = c.t[i + 1..].iter().any(|t| {
                matches!(
                    t.tok,
                    Tok::Comment { .. }
                        | Tok::Semicolon
                        | Tok::Op { comparison: true }
                        | Tok::Function(_)
                        | Tok::Number
                )
            });
            if sql_after {
                c.hit("breakout_clause", 0.8, i, i + 2)
            } else {
                return None;
            }
        }
        _ => return None,
    };
    Some(hit)
}
