//! SQL injection: the input is tokenized as SQL three ways, as it stands, as if it broke
//! out of a single-quoted string, and as if it broke out of a double-quoted one (the
//! latter two only when it holds that quote), and the token sequences are matched
//! against structural rules: `union select`, stacked statements, tautologies after a
//! logic operator, time-delay and out-of-band functions, sub-selects, MySQL executable
//! comments, system variables and catalog tables, a string break-out followed by SQL.
//!
//! Catches: the classic forms in their many spellings (case, comments as spaces, nested
//! encodings, quotes or numbers as the starting context). Misses: injections that are
//! valid SQL fragments indistinguishable from text (`1 or x`), payloads past the first
//! [`MAX_TOKENS`] tokens of a field, second-order injection. Cost: one linear pass per
//! context, at most [`MAX_TOKENS`] tokens each, no allocation beyond a reused buffer.

mod breakout;
mod ctx;
pub mod lexer;

use breakout::breakout;
use ctx::{is_atom, sqlish, Ctx};
use lexer::{tokenize, Func, Kw, Tok, Token};

/// Tokens read per context.
pub const MAX_TOKENS: usize = 512;

/// One SQL finding: the rule, its score and the byte range of the evidence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SqlHit {
    pub rule: &'static str,
    pub score: f64,
    pub start: usize,
    pub end: usize,
}

/// English determiners that, after FROM and before a word, make the phrase prose.
const PROSE_DETERMINERS: &[&str] = &["the", "your", "our", "this", "that", "these", "those", "my"];

const CATALOG: &[&str] = &[
    "information_schema",
    "sysobjects",
    "syscolumns",
    "sysdatabases",
    "sqlite_master",
    "sqlite_schema",
    "pg_catalog",
    "pg_shadow",
    "pg_user",
    "pg_database",
    "mysql.user",
    "all_tables",
    "user_tables",
    "all_tab_columns",
    "msysobjects",
    "sys.tables",
    "sys.objects",
    "sys.databases",
    "dba_users",
    "v$version",
    "sysibm",
];

const SYSTEM_VARIABLES: &[&str] = &[
    "version",
    "datadir",
    "basedir",
    "hostname",
    "servername",
    "spid",
    "identity",
    "language",
    "tmpdir",
    "global",
    "session",
    "port",
    "innodb",
    "plugin_dir",
    "log",
    "secure_file_priv",
    "sql_mode",
    "character_set",
    "collation",
    "max_",
    "rowcount",
    "error",
    "trancount",
    "microsoftversion",
    "connections",
    "cpu_busy",
    "servicename",
    "user",
    "system_user",
    "warning_count",
    "autocommit",
    "time_zone",
    "have_",
    "local",
    "lc_",
];

/// Rules that hold anywhere in the token stream.
fn anywhere(c: &Ctx<'_>, best: &mut Option<SqlHit>) {
    let n = c.t.len();
    let has_sql_punct = c.t.iter().any(|t| {
        matches!(
            t.tok,
            Tok::Str { .. }
                | Tok::LParen
                | Tok::Comment { .. }
                | Tok::Semicolon
                | Tok::Op { .. }
                | Tok::Comma
                | Tok::Variable { .. }
        )
    });
    for i in 0..n {
        let t = c.t[i].tok;
        let hit = match t {
            Tok::Union => {
                let mut j = i + 1;
                while matches!(
                    c.tok(j),
                    Some(Tok::Keyword(Kw::Other) | Tok::LParen | Tok::Comment { .. })
                ) {
                    j += 1;
                }
                let mut p = i;
                while p > 0 && matches!(c.tok(p - 1), Some(Tok::Comment { .. })) {
                    p -= 1;
                }
                let after_value = p > 0
                    && matches!(
                        c.tok(p - 1),
                        Some(Tok::Number | Tok::Str { .. } | Tok::RParen)
                    );
                if c.tok(j) == Some(Tok::Keyword(Kw::Select)) && c.select_list(j + 1) {
                    Some(c.hit("union_select", 0.95, i, j + 1))
                } else if after_value
                    && matches!(
                        c.tok(j),
                        None | Some(
                            Tok::Number | Tok::LParen | Tok::Op { .. } | Tok::Keyword(Kw::Null)
                        )
                    )
                {
                    Some(c.hit("value_union", 0.85, p - 1, j))
                } else {
                    None
                }
            }
            Tok::Function(Func::Dangerous) => Some(c.hit("dangerous_function", 0.9, i, i + 3)),
            Tok::Semicolon => {
                let j = c.skip_noise(i + 1);
                let stacked = match (c.tok(j), c.tok(j + 1)) {
                    (Some(Tok::Keyword(Kw::Select | Kw::Waitfor)), Some(next)) => {
                        !matches!(next, Tok::Op { comparison: true } | Tok::Semicolon)
                    }
                    (Some(Tok::Keyword(Kw::Statement)), Some(next)) => {
                        let arg = c.text(j + 1);
                        matches!(
                            c.text(j),
                            "drop"
                                | "insert"
                                | "update"
                                | "delete"
                                | "exec"
                                | "execute"
                                | "declare"
                                | "truncate"
                                | "alter"
                                | "create"
                                | "shutdown"
                                | "set"
                        ) && match next {
                            _ if matches!(c.text(j), "exec" | "execute") => {
                                arg.starts_with("xp_")
                                    || arg.starts_with("sp_")
                                    || arg.starts_with("master")
                                    || matches!(
                                        next,
                                        Tok::LParen | Tok::Str { .. } | Tok::Variable { .. }
                                    )
                            }
                            Tok::Bareword => {
                                arg.starts_with("xp_")
                                    || arg.starts_with("sp_")
                                    || c.tok(j + 2).is_some_and(|t| sqlish(t) && t != Tok::Comma)
                            }
                            Tok::Op { comparison: true } | Tok::Semicolon => false,
                            _ => true,
                        }
                    }
                    (Some(Tok::Keyword(Kw::Statement)), None) => c.text(j) == "shutdown",
                    _ => false,
                };
                stacked.then(|| c.hit("stacked_query", 0.9, i, j + 1))
            }
            Tok::Logic => {
                let j = c.skip_noise(i + 1);
                match c.tok(j) {
                    Some(Tok::Function(_))
                        if c.tok(i + 1) != Some(Tok::Function(Func::Common)) || has_sql_punct =>
                    {
                        Some(c.hit("logic_function", 0.8, i, j + 1))
                    }
                    Some(Tok::Keyword(Kw::Select)) => {
                        Some(c.hit("logic_subselect", 0.85, i, j + 1))
                    }
                    _ => c.tautology(i),
                }
            }
            Tok::Comment { mysql_exec: true } => Some(c.hit("mysql_exec_comment", 0.85, i, i + 1)),
            Tok::Variable { system: true }
                if SYSTEM_VARIABLES
                    .iter()
                    .any(|v| c.text(i)[2..].starts_with(v)) =>
            {
                Some(c.hit("system_variable", 0.8, i, i))
            }
            Tok::Bareword if CATALOG.iter().any(|w| c.text(i).starts_with(w)) && has_sql_punct => {
                Some(c.hit("catalog_table", 0.85, i, i))
            }
            Tok::Keyword(Kw::Select) => {
                let next = c.tok(i + 1);
                let direct = matches!(
                    next,
                    Some(
                        Tok::Function(_)
                            | Tok::Variable { system: true }
                            | Tok::Number
                            | Tok::Str { .. }
                            | Tok::Keyword(Kw::Null | Kw::Case)
                            | Tok::LParen
                    )
                ) || (next == Some(Tok::Op { comparison: false })
                    && c.text(i + 1) == "*");
                let from =
                    (i + 1..n.min(i + 24)).find(|&j| c.tok(j) == Some(Tok::Keyword(Kw::From)));
                let plain = !c.t.iter().any(|t| {
                    matches!(
                        t.tok,
                        Tok::Str { .. }
                            | Tok::Comment { .. }
                            | Tok::Function(_)
                            | Tok::Semicolon
                            | Tok::Variable { .. }
                            | Tok::Union
                            | Tok::LParen
                            | Tok::Logic
                            | Tok::Number
                    )
                });
                // "Select Print from the File menu": FROM, a determiner and a word is
                // prose, not a table (no schema names a table `the`).
                let prose = from.is_some_and(|f| {
                    c.tok(f + 1) == Some(Tok::Bareword)
                        && PROSE_DETERMINERS.contains(&c.text(f + 1).to_ascii_lowercase().as_str())
                        && c.tok(f + 2) == Some(Tok::Bareword)
                });
                match from {
                    Some(_) if prose => None,
                    Some(f) if plain && i == 0 => Some(c.hit("select_from_plain", 0.55, i, f + 1)),
                    Some(f) if direct || (i + 1..f).any(|j| sqlish(c.t[j].tok)) => {
                        Some(c.hit("select_from", if direct { 0.85 } else { 0.75 }, i, f + 1))
                    }
                    Some(f) if has_sql_punct && f > i + 1 => {
                        Some(c.hit("select_from", 0.6, i, f + 1))
                    }
                    None if direct && next != Some(Tok::LParen) && i + 2 < n => {
                        Some(c.hit("select_expression", 0.7, i, i + 2))
                    }
                    _ => None,
                }
            }
            Tok::Keyword(Kw::Into)
                if c.tok(i + 1) == Some(Tok::Keyword(Kw::Into)) && c.text(i + 1) != "into" =>
            {
                Some(c.hit("into_outfile", 0.9, i, i + 2))
            }
            Tok::Keyword(Kw::Case) if c.tok(i + 1).is_some() => {
                let when = (i + 1..n.min(i + 4)).any(|j| c.tok(j) == Some(Tok::Keyword(Kw::When)));
                let then = (i + 1..n.min(i + 24)).any(|j| c.tok(j) == Some(Tok::Keyword(Kw::Then)));
                (when && then && has_sql_punct).then(|| c.hit("case_when", 0.75, i, i + 2))
            }
            Tok::Keyword(Kw::Statement) => {
                let w = c.text(i);
                let next = c.text(i + 1);
                let exec = (w == "exec" || w == "execute")
                    && (next.starts_with("xp_")
                        || next.starts_with("sp_")
                        || next.starts_with("master.")
                        || c.tok(i + 1) == Some(Tok::LParen));
                let declare = w == "declare" && matches!(c.tok(i + 1), Some(Tok::Variable { .. }));
                let ddl = matches!(w, "drop" | "truncate" | "alter" | "create")
                    && matches!(
                        c.text(i + 1),
                        "table" | "database" | "schema" | "user" | "procedure" | "function"
                    )
                    && has_sql_punct;
                let dml =
                    matches!(w, "insert" | "replace") && c.text(i + 1) == "into" && has_sql_punct
                        || w == "delete"
                            && c.tok(i + 1) == Some(Tok::Keyword(Kw::From))
                            && has_sql_punct
                        || w == "update"
                            && c.tok(i + 2) == Some(Tok::Keyword(Kw::Statement))
                            && c.text(i + 2) == "set"
                            && has_sql_punct;
                (exec || declare || ddl || dml).then(|| c.hit("statement", 0.85, i, i + 2))
            }
            Tok::Keyword(Kw::Waitfor)
                if c.text(i) == "waitfor" && c.tok(i + 1) == Some(Tok::Keyword(Kw::Waitfor)) =>
            {
                Some(c.hit("waitfor_delay", 0.95, i, i + 2))
            }
            Tok::Keyword(Kw::OrderBy | Kw::Having) => {
                let j = i + 1;
                let numeric = c.tok(j) == Some(Tok::Number)
                    && matches!(
                        c.tok(j + 1),
                        Some(Tok::Comment { .. }) | Some(Tok::Op { comparison: true })
                    );
                let comment_end = matches!(c.tok(j + 1), Some(Tok::Comment { .. }))
                    || matches!(c.tok(j + 2), Some(Tok::Comment { .. }));
                (numeric || (comment_end && has_sql_punct && c.tok(j).is_some_and(is_atom)))
                    .then(|| c.hit("order_by_probe", 0.75, i, j + 1))
            }
            _ => None,
        };
        if let Some(h) = hit {
            if best.is_none_or(|b| h.score > b.score) {
                *best = Some(h);
            }
        }
    }
}

/// Classifies `lower` (decoded, lowercased) as SQL; `buf` is reused between calls.
pub fn detect(lower: &str, buf: &mut Vec<Token>) -> Option<SqlHit> {
    let mut best: Option<SqlHit> = None;
    let keep = |h: Option<SqlHit>, best: &mut Option<SqlHit>| {
        if let Some(h) = h {
            if best.is_none_or(|b| h.score > b.score) {
                *best = Some(h);
            }
        }
    };
    tokenize(lower, 0, MAX_TOKENS, buf);
    {
        let c = Ctx { s: lower, t: buf };
        anywhere(&c, &mut best);
        // Numeric context: `1 or 1=1`, `-1 union …`, `1) and (…`.
        let mut k = 0;
        if c.tok(0) == Some(Tok::Op { comparison: false }) && c.text(0) == "-" {
            k = 1;
        }
        if c.tok(k) == Some(Tok::Number) {
            keep(breakout(&c, k + 1, true), &mut best);
        }
        // A whole input that reads as SQL and ends the query with a comment: `1--`,
        // `( 'a' or @a ) --`, `limit 0,1--`.
        let n = c.t.len();
        if n >= 2
            && c.comment_is_terminator(n - 1)
            && !matches!(
                c.tok(0),
                Some(Tok::Bareword | Tok::Other | Tok::Comment { .. })
            )
            && !matches!(c.text(0), "*" | "/")
            && c.t[..n - 1]
                .iter()
                .all(|t| !matches!(t.tok, Tok::Other | Tok::Str { closed: false }))
        {
            keep(Some(c.hit("sql_then_comment", 0.7, 0, n - 1)), &mut best);
        }
    }
    for q in ['\'', '"'] {
        if best.is_some_and(|b| b.score >= 0.9) {
            break;
        }
        if let Some(p) = lower.find(q) {
            tokenize(lower, p + 1, MAX_TOKENS, buf);
            let c = Ctx { s: lower, t: buf };
            keep(breakout(&c, 0, false), &mut best);
            if best.is_none_or(|b| b.score < 0.6) {
                anywhere(&c, &mut best);
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(s: &str) -> f64 {
        detect(&s.to_lowercase(), &mut Vec::new()).map_or(0.0, |h| h.score)
    }

    #[test]
    fn catches_classic_forms() {
        for s in [
            "' or 1=1--",
            "1' and '1'='1",
            "admin'--",
            "1 union all select null,null--",
            "1;drop table users",
            "x' and sleep(5)#",
            "1 and ascii(substring((select user()),1,1))>64",
            "')) or (('a'='a",
            "1/*!50000union*/select 1",
            "waitfor delay '0:0:5'",
            "select @@version",
            "1 order by 3--",
            "' || pg_sleep(10)--",
            "\" or \"\"=\"",
        ] {
            assert!(score(s) >= 0.6, "{s}: {}", score(s));
        }
    }

    #[test]
    fn leaves_text_alone() {
        for s in [
            "select your size from the list",
            "O'Reilly and sons",
            "3 or 4 people",
            "AS FOR ME AND MY HOUSE",
            "rock 'n' roll",
            "1 BY 1 INCH PILLOWS",
            "it's the end",
            "drop me a line; update soon",
            "{\"name\":\"bob\",\"tags\":[\"a\",\"b\"]}",
        ] {
            assert!(score(s) < 0.6, "{s}: {}", score(s));
        }
    }
}
