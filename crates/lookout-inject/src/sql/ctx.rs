//! The token-stream view the SQL rules read: token types and texts by index, and the
//! shared sub-patterns (expressions, comparisons, tautologies, statement-ending comments).

use super::lexer::{Kw, Tok, Token};
use super::SqlHit;

pub(super) fn is_atom(t: Tok) -> bool {
    matches!(
        t,
        Tok::Number
            | Tok::Str { .. }
            | Tok::Bareword
            | Tok::Variable { .. }
            | Tok::Keyword(Kw::Null)
    )
}

pub(super) fn sqlish(t: Tok) -> bool {
    !matches!(t, Tok::Bareword | Tok::Other)
}

pub(super) struct Ctx<'a> {
    pub(super) s: &'a str,
    pub(super) t: &'a [Token],
}

impl Ctx<'_> {
    pub(super) fn tok(&self, i: usize) -> Option<Tok> {
        self.t.get(i).map(|t| t.tok)
    }
    pub(super) fn text(&self, i: usize) -> &str {
        self.t.get(i).map_or("", |t| &self.s[t.start..t.end])
    }
    pub(super) fn hit(&self, rule: &'static str, score: f64, from: usize, to: usize) -> SqlHit {
        let last = to.min(self.t.len().saturating_sub(1));
        SqlHit {
            rule,
            score,
            start: self.t[from].start,
            end: self.t[last.max(from)].end,
        }
    }
    /// The index of the next token at or after `i` that is not a comment or `(`.
    pub(super) fn skip_noise(&self, mut i: usize) -> usize {
        while matches!(
            self.tok(i),
            Some(Tok::Comment { mysql_exec: false } | Tok::LParen)
        ) {
            i += 1;
        }
        i
    }
    /// Whether the tokens from `i` form a comparison or a call: `X op Y`, `f(`, `(select`,
    /// and, unless `strict`, a number or closed string then a comment or the end.
    pub(super) fn expression_at(&self, i: usize, strict: bool) -> bool {
        let mut i = self.skip_noise(i);
        while matches!(self.tok(i), Some(Tok::Op { .. } | Tok::Logic))
            && matches!(self.text(i), "!" | "-" | "+" | "~" | "not")
        {
            i = self.skip_noise(i + 1);
        }
        match self.tok(i) {
            Some(Tok::Function(_)) | Some(Tok::Keyword(Kw::Select)) => true,
            _ if self.comparison_at(i).is_some() => true,
            Some(t) if is_atom(t) => match self.tok(i + 1) {
                Some(Tok::Keyword(
                    Kw::OrderBy | Kw::Having | Kw::Limit | Kw::From | Kw::Where | Kw::Into,
                )) => true,
                None | Some(Tok::Comment { .. } | Tok::Semicolon | Tok::RParen) if !strict => {
                    t == Tok::Number
                        || t == Tok::Str { closed: true }
                        || matches!(self.text(i), "true" | "false" | "null")
                }
                _ => false,
            },
            _ => false,
        }
    }
    /// Whether the tokens from `j` can start the column list of a `select`.
    pub(super) fn select_list(&self, j: usize) -> bool {
        match self.tok(j) {
            None | Some(Tok::Comment { .. }) => true,
            Some(Tok::Bareword) => {
                let ascii = self.text(j).is_ascii();
                match self.tok(j + 1) {
                    None => ascii,
                    Some(t) => matches!(
                        t,
                        Tok::Comma
                            | Tok::Keyword(Kw::From | Kw::Into)
                            | Tok::Comment { .. }
                            | Tok::Op { .. }
                            | Tok::Semicolon
                            | Tok::RParen
                            | Tok::LParen
                    ),
                }
            }
            Some(Tok::Op { comparison: false }) => self.text(j) == "*" || self.text(j) == "-",
            Some(t) => !matches!(t, Tok::Other | Tok::Op { comparison: true } | Tok::Logic),
        }
    }
    /// Whether the comment at `i` reads as ending the query (`'--`, `'#`, `' -- x`), not as
    /// text (`#2`, `--word`).
    /// Whether the break-out quote (the byte before the first token) follows a word, a
    /// closing parenthesis or the start of the input (`admin'--`), not a space (`soap '#`).
    pub(super) fn quote_attached(&self) -> bool {
        let Some(first) = self.t.first() else {
            return false;
        };
        let q = first.start.saturating_sub(1);
        let mut k = q;
        while k > 0 && matches!(self.s.as_bytes()[k - 1], b'\'' | b'"' | b')') {
            k -= 1;
        }
        k == 0 || !self.s.as_bytes()[k - 1].is_ascii_whitespace()
    }
    pub(super) fn comment_is_terminator(&self, i: usize) -> bool {
        let text = self.text(i);
        let body = text
            .strip_prefix("--")
            .or_else(|| text.strip_prefix('#'))
            .or_else(|| text.strip_prefix("/*"))
            .unwrap_or("");
        let last = self.t.len() == i + 1
            && matches!(self.tok(i), Some(Tok::Comment { mysql_exec: false }));
        let hash = text.starts_with('#');
        last && body.len() < 40
            && !body.starts_with(|ch: char| ch.is_ascii_alphanumeric())
            && (!hash || body.trim().is_empty())
            && self.t.get(i).is_some_and(|t| {
                t.start == 0
                    || !self.s.as_bytes()[t.start - 1].is_ascii_whitespace()
                    || body.trim().is_empty()
            })
    }
    /// An arithmetic comparison starting at `a`: operands (numbers, strings, words,
    /// variables, calls, parenthesised, with unary and binary arithmetic) on both sides
    /// of a symbolic comparison or `like`. Returns the index of its last token and
    /// whether its operands are all literals or calls (no words).
    pub(super) fn comparison_at(&self, a: usize) -> Option<(usize, bool)> {
        let mut j = a;
        let mut literal = true;
        let mut seen_cmp = false;
        let mut operands = [0usize; 2];
        let limit = (a + 16).min(self.t.len());
        while j < limit {
            let t = self.t[j].tok;
            match t {
                Tok::Number | Tok::Str { .. } | Tok::Keyword(Kw::Null) | Tok::Function(_) => {
                    operands[usize::from(seen_cmp)] += 1
                }
                Tok::Variable { .. } | Tok::Bareword => {
                    if !matches!(self.text(j), "true" | "false") {
                        literal = false;
                    }
                    operands[usize::from(seen_cmp)] += 1;
                }
                Tok::Op { comparison: false } | Tok::LParen | Tok::RParen | Tok::Comma => {}
                Tok::Op { comparison: true } if !seen_cmp => {
                    let text = self.text(j);
                    if !(text.starts_with(|ch: char| !ch.is_ascii_alphabetic()) || text == "like") {
                        return None;
                    }
                    seen_cmp = true;
                }
                _ => break,
            }
            j += 1;
        }
        (seen_cmp && operands[0] > 0 && operands[1] > 0).then_some((j - 1, literal))
    }
    pub(super) fn tautology(&self, i: usize) -> Option<SqlHit> {
        // i is a Logic token
        if self.text(i) == "not" {
            return None;
        }
        let a = self.skip_noise(i + 1);
        let (end, literal) = self.comparison_at(a)?;
        let simple = end == a + 2;
        let same = simple
            && self.text(a).trim_matches(['\'', '"']) == self.text(a + 2).trim_matches(['\'', '"']);
        let score = if same || literal { 0.85 } else { 0.55 };
        Some(self.hit("logic_tautology", score, i, end))
    }
}
