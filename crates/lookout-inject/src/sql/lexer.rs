//! A SQL tokenizer in the spirit of libinjection's: it reads any text as if it were SQL
//! and folds it into a short sequence of token types (string, number, keyword, function,
//! operator, logic operator, comment, …). Unterminated strings and comments end at the
//! end of input, so every input tokenizes; the cost is linear in the input.

/// The type of one token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tok {
    /// Quoted string; `closed` says whether its closing quote was seen.
    Str {
        closed: bool,
    },
    Number,
    /// A statement or clause keyword (`select`, `from`, `where`, `drop`, …).
    Keyword(Kw),
    /// `union`, `intersect`, `except`.
    Union,
    /// A known SQL function name followed by `(`.
    Function(Func),
    /// `and`, `or`, `xor`, `not`, `&&`, `||`.
    Logic,
    /// Comparison or arithmetic (`=`, `<>`, `like`, `between`, `+`, …).
    Op {
        comparison: bool,
    },
    /// `--`, `#` or `/* … */`; `mysql_exec` for `/*!`.
    Comment {
        mysql_exec: bool,
    },
    /// `@name`, `@@name`.
    Variable {
        system: bool,
    },
    LParen,
    RParen,
    Comma,
    Semicolon,
    /// A word that is none of the above.
    Bareword,
    /// Any other character.
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kw {
    Select,
    /// Statement starters other than select: insert, update, delete, drop, exec, …
    Statement,
    From,
    Where,
    Into,
    /// order by / group by
    OrderBy,
    Having,
    Limit,
    Case,
    When,
    Then,
    Waitfor,
    Null,
    /// Other SQL words (table, values, as, distinct, all, top, …).
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    /// Time delays and out-of-band or file access: sleep, benchmark, pg_sleep, load_file, …
    Dangerous,
    /// Functions attackers use to build or probe values: char, concat, substring, …
    Common,
}

/// One token: its type and its byte range in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub tok: Tok,
    pub start: usize,
    pub end: usize,
}

fn keyword(word: &str) -> Option<Tok> {
    use Kw::*;
    let t = match word {
        "select" => Tok::Keyword(Select),
        "insert" | "update" | "delete" | "drop" | "exec" | "execute" | "declare" | "truncate"
        | "alter" | "create" | "shutdown" | "replace" | "grant" | "revoke" | "merge" | "call"
        | "rename" | "load" | "handler" | "prepare" | "set" | "use" | "show" | "begin" => {
            Tok::Keyword(Statement)
        }
        "from" => Tok::Keyword(From),
        "where" => Tok::Keyword(Where),
        "into" | "outfile" | "dumpfile" => Tok::Keyword(Into),
        "having" => Tok::Keyword(Having),
        "limit" | "offset" | "procedure" => Tok::Keyword(Limit),
        "case" => Tok::Keyword(Case),
        "when" => Tok::Keyword(When),
        "then" | "else" | "end" => Tok::Keyword(Then),
        "waitfor" | "delay" => Tok::Keyword(Waitfor),
        "null" => Tok::Keyword(Null),
        "table" | "values" | "as" | "distinct" | "all" | "top" | "join" | "on" | "by" | "asc"
        | "desc" | "collate" | "escape" | "exists" | "elt" | "cast" | "convert" => {
            Tok::Keyword(Other)
        }
        "union" | "intersect" | "except" | "minus" => Tok::Union,
        "and" | "or" | "xor" | "not" => Tok::Logic,
        "like" | "rlike" | "regexp" | "between" | "in" | "is" | "div" | "mod" | "sounds"
        | "glob" | "match" => Tok::Op { comparison: true },
        _ => return None,
    };
    Some(t)
}

const DANGEROUS: &[&str] = &[
    "sleep",
    "benchmark",
    "pg_sleep",
    "load_file",
    "extractvalue",
    "updatexml",
    "xp_cmdshell",
    "xp_dirtree",
    "sys_eval",
    "sys_exec",
    "randomblob",
    "name_const",
    "dbms_pipe",
    "receive_message",
    "utl_inaddr",
    "utl_http",
    "get_host_address",
    "dbms_lock",
    "pg_read_file",
    "lo_import",
    "geometrycollection",
    "multipoint",
    "multilinestring",
    "multipolygon",
    "gtid_subset",
    "xmltype",
    "ctxsys",
    "openrowset",
    "opendatasource",
    "sp_executesql",
    "sp_oacreate",
    "sp_makewebtask",
    "sp_password",
    "lo_export",
    "pg_ls_dir",
    "sqlite_compileoption_get",
];

const COMMON: &[&str] = &[
    "char",
    "chr",
    "concat",
    "concat_ws",
    "group_concat",
    "string_agg",
    "substring",
    "substr",
    "mid",
    "ascii",
    "ord",
    "hex",
    "unhex",
    "version",
    "user",
    "current_user",
    "system_user",
    "session_user",
    "database",
    "schema",
    "db_name",
    "count",
    "length",
    "len",
    "if",
    "iif",
    "ifnull",
    "isnull",
    "nullif",
    "coalesce",
    "cast",
    "convert",
    "lower",
    "upper",
    "left",
    "right",
    "reverse",
    "instr",
    "locate",
    "position",
    "md5",
    "sha1",
    "cha",
    "nchar",
    "unicode",
    "char_length",
    "to_char",
    "to_number",
    "bin",
    "conv",
    "elt",
    "field",
    "trim",
    "ltrim",
    "rtrim",
    "table_name",
    "column_name",
    "exists",
    "max",
    "min",
    "sum",
    "avg",
    "strcmp",
    "regexp_like",
    "regexp_substr",
    "sqlite_version",
    "pg_typeof",
    "current_database",
    "decode",
    "encode",
    "from_base64",
    "to_base64",
    "uuid",
    "connection_id",
    "last_insert_id",
    "row_count",
    "schema_name",
    "object_id",
    "host_name",
    "suser_name",
    "is_srvrolemember",
    "quotename",
    "space",
    "repeat",
    "lpad",
    "rpad",
    "least",
    "greatest",
    "abs",
    "ceil",
    "round",
    "sign",
    "now",
    "sysdate",
    "current_timestamp",
    "make_set",
    "exp",
    "polygon",
    "linestring",
    "json_keys",
    "floor",
    "rand",
    "row",
    "json_extract",
    "xmlagg",
    "xmlelement",
    "to_date",
    "utl_raw",
];

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b == b'.' || b >= 0x80
}

/// Tokenizes `s` (already lowercased), starting at byte `from`, into `out` (cleared
/// first), at most `max_tokens` tokens.
pub fn tokenize(s: &str, from: usize, max_tokens: usize, out: &mut Vec<Token>) {
    out.clear();
    let b = s.as_bytes();
    let mut i = from;
    while i < b.len() && out.len() < max_tokens {
        let c = b[i];
        let start = i;
        let tok = match c {
            b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c | 0xa0 => {
                i += 1;
                continue;
            }
            b'\'' | b'"' | b'`' => {
                let q = c;
                i += 1;
                let mut closed = false;
                while i < b.len() {
                    if b[i] == b'\\' {
                        i += 2;
                        continue;
                    }
                    if b[i] == q {
                        if b.get(i + 1) == Some(&q) {
                            i += 2;
                            continue;
                        }
                        i += 1;
                        closed = true;
                        break;
                    }
                    i += 1;
                }
                i = i.min(b.len());
                if q == b'`' {
                    Tok::Bareword
                } else {
                    Tok::Str { closed }
                }
            }
            b'0'..=b'9' => {
                if c == b'0' && matches!(b.get(i + 1), Some(b'x' | b'b')) {
                    i += 2;
                    while i < b.len() && b[i].is_ascii_hexdigit() {
                        i += 1;
                    }
                } else {
                    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.' || b[i] == b'e') {
                        i += 1;
                    }
                }
                // "1abc" is a word, not a number
                if i < b.len() && is_word_byte(b[i]) && b[i] != b'.' {
                    while i < b.len() && is_word_byte(b[i]) {
                        i += 1;
                    }
                    Tok::Bareword
                } else {
                    Tok::Number
                }
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                i = memchr_nl(b, i);
                Tok::Comment { mysql_exec: false }
            }
            b'#' => {
                i = memchr_nl(b, i);
                Tok::Comment { mysql_exec: false }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let exec = b.get(i + 2) == Some(&b'!');
                i = match s[i + 2..].find("*/") {
                    Some(p) => i + 2 + p + 2,
                    None => b.len(),
                };
                if exec {
                    // MySQL runs the content of /*! … */: read it as code.
                    i = start + 3;
                    while i < b.len() && b[i].is_ascii_digit() {
                        i += 1;
                    }
                }
                Tok::Comment { mysql_exec: exec }
            }
            b'@' => {
                i += 1;
                let system = b.get(i) == Some(&b'@');
                if system {
                    i += 1;
                }
                while i < b.len() && is_word_byte(b[i]) {
                    i += 1;
                }
                Tok::Variable { system }
            }
            b'(' => {
                i += 1;
                Tok::LParen
            }
            b')' => {
                i += 1;
                Tok::RParen
            }
            b',' => {
                i += 1;
                Tok::Comma
            }
            b';' => {
                i += 1;
                Tok::Semicolon
            }
            b'&' | b'|' if b.get(i + 1) == Some(&c) => {
                i += 2;
                Tok::Logic
            }
            b'=' | b'<' | b'>' | b'!' => {
                i += 1;
                while i < b.len() && matches!(b[i], b'=' | b'<' | b'>') {
                    i += 1;
                }
                Tok::Op { comparison: true }
            }
            b'+' | b'-' | b'*' | b'/' | b'%' | b'^' | b'|' | b'&' | b'~' => {
                i += 1;
                Tok::Op { comparison: false }
            }
            c if is_word_byte(c) => {
                while i < b.len() && is_word_byte(b[i]) {
                    i += 1;
                }
                let word = &s[start..i];
                let next = skip_space(b, i);
                let word_tok = keyword(word.trim_end_matches('.'));
                if b.get(next) == Some(&b'(') && !matches!(word_tok, Some(Tok::Logic | Tok::Union))
                {
                    let base = word.rsplit('.').next().unwrap_or(word);
                    if DANGEROUS.contains(&base)
                        || base.starts_with("xp_")
                        || base.starts_with("dbms_")
                    {
                        Tok::Function(Func::Dangerous)
                    } else if COMMON.contains(&base) {
                        Tok::Function(Func::Common)
                    } else {
                        word_tok.unwrap_or(Tok::Bareword)
                    }
                } else if word == "order" || word == "group" {
                    let after = skip_space(b, next);
                    if s[next.min(b.len())..].starts_with("by") && after >= next {
                        i = next + 2;
                        Tok::Keyword(Kw::OrderBy)
                    } else {
                        Tok::Bareword
                    }
                } else {
                    word_tok.unwrap_or(Tok::Bareword)
                }
            }
            _ => {
                i += char_len(c);
                Tok::Other
            }
        };
        out.push(Token {
            tok,
            start,
            end: i.min(b.len()),
        });
    }
}

fn char_len(first: u8) -> usize {
    match first {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

fn skip_space(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

fn memchr_nl(b: &[u8], i: usize) -> usize {
    b[i..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(b.len(), |p| i + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn types(s: &str) -> Vec<Tok> {
        types_from(s, 0)
    }

    fn types_from(s: &str, from: usize) -> Vec<Tok> {
        let mut out = Vec::new();
        tokenize(s, from, 64, &mut out);
        out.into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn folds_a_classic_tautology() {
        use Tok::*;
        assert_eq!(
            types("'a' or 1=1--"),
            vec![
                Str { closed: true },
                Logic,
                Number,
                Op { comparison: true },
                Number,
                Comment { mysql_exec: false }
            ]
        );
        assert_eq!(types_from("x' or 1", 2), vec![Logic, Number]);
        assert_eq!(
            types("1 union select sleep(5)")[1..3],
            [Union, Keyword(Kw::Select)]
        );
        assert_eq!(types("sleep(5)")[0], Function(Func::Dangerous));
        assert_eq!(types("order by 3")[0], Keyword(Kw::OrderBy));
        assert_eq!(types("@@version")[0], Variable { system: true });
    }

    #[test]
    fn every_input_tokenizes() {
        for s in [
            "'",
            "/*",
            "/*!",
            "\"abc",
            "--",
            "\u{fffd}é",
            "0x",
            "1e",
            "`x",
        ] {
            let _ = types(s);
        }
    }
}
