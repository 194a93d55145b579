//! Tokens of meshpolicy's CEL subset. Literal syntax follows the CEL spec
//! (google/cel-spec `doc/langdef.md`, "Syntax"): decimal and `0x` integers,
//! `u`-suffixed unsigned integers, doubles, single- or double-quoted strings
//! with backslash escapes, raw strings (`r'...'`).

use super::CelError;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Ident(String),
    Int(i64),
    UInt(u64),
    Double(f64),
    Str(String),
    Punct(&'static str),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub tok: Tok,
    /// 1-based column (in characters) where the token starts.
    pub col: usize,
}

const PUNCTS: [&str; 24] = [
    "==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "+", "-", "*", "/", "%", "?", ":", ".", ",",
    "(", ")", "[", "]", "{", "}",
];

/// Splits `src` into tokens; the error names the column of the first
/// character that cannot start a token.
pub(crate) fn lex(src: &str) -> Result<Vec<Token>, CelError> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let col = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let raw = (c == 'r' || c == 'R') && matches!(chars.get(i + 1), Some('\'') | Some('"'));
        if raw || c == '\'' || c == '"' {
            let (s, next) = string(&chars, i + usize::from(raw), col, raw)?;
            out.push(Token {
                tok: Tok::Str(s),
                col,
            });
            i = next;
            continue;
        }
        if (c == 'b' || c == 'B') && matches!(chars.get(i + 1), Some('\'') | Some('"')) {
            return Err(CelError::unsupported(col, "bytes literals"));
        }
        if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while chars
                .get(i)
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_')
            {
                i += 1;
            }
            let word: String = chars.get(start..i).unwrap_or_default().iter().collect();
            out.push(Token {
                tok: Tok::Ident(word),
                col,
            });
            continue;
        }
        if c.is_ascii_digit() {
            let (tok, next) = number(&chars, i, col)?;
            let negated = matches!(
                out.last(),
                Some(Token {
                    tok: Tok::Punct("-"),
                    ..
                })
            );
            if tok == Tok::Int(i64::MIN) && !negated {
                return Err(CelError::syntax(col, "integer literal out of range"));
            }
            out.push(Token { tok, col });
            i = next;
            continue;
        }
        let rest: String = chars
            .get(i..(i + 2).min(chars.len()))
            .unwrap_or_default()
            .iter()
            .collect();
        match PUNCTS.iter().find(|p| rest.starts_with(**p)) {
            Some(p) => {
                out.push(Token {
                    tok: Tok::Punct(p),
                    col,
                });
                i += p.len();
            }
            None => return Err(CelError::syntax(col, format!("unexpected character `{c}`"))),
        }
    }
    Ok(out)
}

fn number(chars: &[char], start: usize, col: usize) -> Result<(Tok, usize), CelError> {
    let mut i = start;
    let hex = chars.get(i) == Some(&'0') && matches!(chars.get(i + 1), Some('x') | Some('X'));
    if hex {
        i += 2;
    }
    let digits_start = i;
    let mut is_double = false;
    while let Some(&c) = chars.get(i) {
        let ok = if hex {
            c.is_ascii_hexdigit()
        } else if c == '.' && !is_double && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()) {
            is_double = true;
            true
        } else if (c == 'e' || c == 'E') && !hex {
            // exponent: e, optional sign, digits
            is_double = true;
            if matches!(chars.get(i + 1), Some('+') | Some('-')) {
                i += 1;
            }
            true
        } else {
            c.is_ascii_digit()
        };
        if !ok {
            break;
        }
        i += 1;
    }
    let text: String = chars
        .get(digits_start..i)
        .unwrap_or_default()
        .iter()
        .collect();
    let unsigned = matches!(chars.get(i), Some('u') | Some('U'));
    let bad = || CelError::syntax(col, format!("invalid number literal `{text}`"));
    if is_double {
        let v: f64 = text.parse().map_err(|_| bad())?;
        return Ok((Tok::Double(v), i));
    }
    let radix = if hex { 16 } else { 10 };
    if unsigned {
        let v = u64::from_str_radix(&text, radix).map_err(|_| bad())?;
        return Ok((Tok::UInt(v), i + 1));
    }
    // i64::MIN is written `-9223372036854775808`: parse as u64 and let the
    // parser negate it.
    let v = u64::from_str_radix(&text, radix).map_err(|_| bad())?;
    if v > i64::MAX as u64 + 1 {
        return Err(bad());
    }
    // `i64::MAX + 1` is kept as the sentinel `i64::MIN` for unary minus.
    let v = if v == i64::MAX as u64 + 1 {
        i64::MIN
    } else {
        v as i64
    };
    Ok((Tok::Int(v), i))
}

/// The string literal whose opening quote is `chars[start]`: its text and
/// the index after its closing quote. A `raw` string keeps its backslashes.
fn string(
    chars: &[char],
    start: usize,
    col: usize,
    raw: bool,
) -> Result<(String, usize), CelError> {
    let quote = chars.get(start).copied().unwrap_or('"');
    if !raw && chars.get(start + 1) == Some(&quote) && chars.get(start + 2) == Some(&quote) {
        return Err(CelError::unsupported(col, "triple-quoted strings"));
    }
    let mut out = String::new();
    let mut i = start + 1;
    loop {
        match chars.get(i) {
            None | Some('\n') => return Err(CelError::syntax(col, "unterminated string literal")),
            Some(c) if *c == quote => return Ok((out, i + 1)),
            Some('\\') if !raw => {
                let esc = chars.get(i + 1).copied();
                let c = match esc {
                    Some('\\') => '\\',
                    Some('\'') => '\'',
                    Some('"') => '"',
                    Some('`') => '`',
                    Some('?') => '?',
                    Some('n') => '\n',
                    Some('r') => '\r',
                    Some('t') => '\t',
                    Some('a') => '\u{7}',
                    Some('b') => '\u{8}',
                    Some('f') => '\u{c}',
                    Some('v') => '\u{b}',
                    _ => {
                        return Err(CelError::syntax(
                            i + 1,
                            "unsupported escape sequence (meshpolicy's CEL subset knows \\\\ \\' \\\" \\n \\r \\t)",
                        ));
                    }
                };
                out.push(c);
                i += 2;
            }
            Some(c) => {
                out.push(*c);
                i += 1;
            }
        }
    }
}
