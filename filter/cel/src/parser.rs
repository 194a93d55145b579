//! A recursive-descent parser for CEL's expression grammar (google/cel-spec
//! `doc/langdef.md`, "Syntax"), with CEL's operator precedence. It builds a
//! syntax tree that [`super::resolve`] then checks against the attribute
//! vocabulary. Nesting is limited so that no input can exhaust the stack.

use super::CelError;
use super::lexer::{Tok, Token};

/// The syntax tree, before names are resolved.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Syntax {
    Int(i64),
    UInt(u64),
    Double(f64),
    Str(String),
    Bool(bool),
    Null,
    Ident(String, usize),
    Select(Box<Syntax>, String, usize),
    Index(Box<Syntax>, Box<Syntax>, usize),
    /// A global call `f(args)`.
    Call(String, Vec<Syntax>, usize),
    /// A receiver call `x.f(args)`.
    Method(Box<Syntax>, String, Vec<Syntax>, usize),
    Unary(&'static str, Box<Syntax>, usize),
    Binary(&'static str, Box<Syntax>, Box<Syntax>, usize),
    Cond(Box<Syntax>, Box<Syntax>, Box<Syntax>),
}

/// The deepest nesting accepted (CEL implementations use similar limits;
/// cel-go's default parser recursion limit is 250).
const MAX_DEPTH: usize = 48;

pub(crate) fn parse(tokens: &[Token], src_len: usize) -> Result<Syntax, CelError> {
    let mut p = Parser {
        tokens,
        pos: 0,
        depth: 0,
        end_col: src_len + 1,
    };
    let e = p.expr()?;
    match p.peek() {
        None => Ok(e),
        Some(t) => Err(CelError::syntax(
            t.col,
            format!("unexpected {}", describe(&t.tok)),
        )),
    }
}

struct Parser<'t> {
    tokens: &'t [Token],
    pos: usize,
    depth: usize,
    end_col: usize,
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Ident(s) => format!("`{s}`"),
        Tok::Int(i) => format!("`{i}`"),
        Tok::UInt(u) => format!("`{u}u`"),
        Tok::Double(d) => format!("`{d}`"),
        Tok::Str(s) => format!("string '{s}'"),
        Tok::Punct(p) => format!("`{p}`"),
    }
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn col(&self) -> usize {
        self.peek().map_or(self.end_col, |t| t.col)
    }

    fn is_punct(&self, p: &str) -> bool {
        matches!(self.peek(), Some(Token { tok: Tok::Punct(q), .. }) if *q == p)
    }

    fn eat(&mut self, p: &str) -> bool {
        if self.is_punct(p) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, p: &str) -> Result<(), CelError> {
        if self.eat(p) {
            return Ok(());
        }
        Err(match self.peek() {
            Some(t) => {
                CelError::syntax(t.col, format!("expected `{p}`, found {}", describe(&t.tok)))
            }
            None => CelError::syntax(
                self.end_col,
                format!("expected `{p}`, found end of expression"),
            ),
        })
    }

    fn enter(&mut self) -> Result<(), CelError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(CelError::syntax(
                self.col(),
                format!("expression nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        Ok(())
    }

    fn expr(&mut self) -> Result<Syntax, CelError> {
        self.enter()?;
        let cond = self.or()?;
        let out = if self.eat("?") {
            let a = self.or()?;
            self.expect(":")?;
            let b = self.expr()?;
            Syntax::Cond(Box::new(cond), Box::new(a), Box::new(b))
        } else {
            cond
        };
        self.depth -= 1;
        Ok(out)
    }

    /// One left-associative level: `next (op next)*` for the operators `ops`,
    /// each binary node at its operator's column.
    fn left_assoc(
        &mut self,
        ops: &[&'static str],
        next: fn(&mut Self) -> Result<Syntax, CelError>,
    ) -> Result<Syntax, CelError> {
        let mut l = next(self)?;
        loop {
            let col = self.col();
            let Some(op) = ops.iter().copied().find(|op| self.eat(op)) else {
                return Ok(l);
            };
            let r = next(self)?;
            l = Syntax::Binary(op, Box::new(l), Box::new(r), col);
        }
    }

    fn or(&mut self) -> Result<Syntax, CelError> {
        self.left_assoc(&["||"], Self::and)
    }

    fn and(&mut self) -> Result<Syntax, CelError> {
        self.left_assoc(&["&&"], Self::rel)
    }

    fn rel(&mut self) -> Result<Syntax, CelError> {
        let mut l = self.add()?;
        loop {
            let col = self.col();
            let op = match self.peek().map(|t| &t.tok) {
                Some(Tok::Punct(p)) if ["==", "!=", "<", "<=", ">", ">="].contains(p) => *p,
                Some(Tok::Ident(w)) if w == "in" => "in",
                _ => return Ok(l),
            };
            self.pos += 1;
            let r = self.add()?;
            l = Syntax::Binary(op, Box::new(l), Box::new(r), col);
        }
    }

    fn add(&mut self) -> Result<Syntax, CelError> {
        self.left_assoc(&["+", "-"], Self::mul)
    }

    fn mul(&mut self) -> Result<Syntax, CelError> {
        self.left_assoc(&["*", "/", "%"], Self::unary)
    }

    fn unary(&mut self) -> Result<Syntax, CelError> {
        let col = self.col();
        if self.eat("!") {
            self.enter()?;
            let e = self.unary()?;
            self.depth -= 1;
            return Ok(Syntax::Unary("!", Box::new(e), col));
        }
        if self.eat("-") {
            self.enter()?;
            let e = self.unary()?;
            self.depth -= 1;
            // Fold negative literals so that `-9223372036854775808` is valid.
            return Ok(match e {
                Syntax::Int(i) if i == i64::MIN => Syntax::Int(i64::MIN),
                Syntax::Int(i) => Syntax::Int(-i),
                Syntax::Double(d) => Syntax::Double(-d),
                other => Syntax::Unary("-", Box::new(other), col),
            });
        }
        self.member()
    }

    fn member(&mut self) -> Result<Syntax, CelError> {
        let mut e = self.primary()?;
        loop {
            let col = self.col();
            if self.eat(".") {
                let (name, ncol) = match self.peek() {
                    Some(Token {
                        tok: Tok::Ident(n),
                        col,
                    }) => (n.clone(), *col),
                    Some(t) => {
                        return Err(CelError::syntax(
                            t.col,
                            format!(
                                "expected a field name after `.`, found {}",
                                describe(&t.tok)
                            ),
                        ));
                    }
                    None => {
                        return Err(CelError::syntax(
                            self.end_col,
                            "expected a field name after `.`",
                        ));
                    }
                };
                self.pos += 1;
                if self.eat("(") {
                    let args = self.args()?;
                    e = Syntax::Method(Box::new(e), name, args, ncol);
                } else {
                    e = Syntax::Select(Box::new(e), name, ncol);
                }
            } else if self.eat("[") {
                self.enter()?;
                let idx = self.expr()?;
                self.depth -= 1;
                self.expect("]")?;
                e = Syntax::Index(Box::new(e), Box::new(idx), col);
            } else if self.is_punct("{") {
                return Err(CelError::unsupported(col, "message construction"));
            } else {
                return Ok(e);
            }
        }
    }

    fn args(&mut self) -> Result<Vec<Syntax>, CelError> {
        let mut args = Vec::new();
        if self.eat(")") {
            return Ok(args);
        }
        loop {
            args.push(self.expr()?);
            if self.eat(")") {
                return Ok(args);
            }
            self.expect(",")?;
        }
    }

    fn primary(&mut self) -> Result<Syntax, CelError> {
        let Some(t) = self.peek().cloned() else {
            return Err(CelError::syntax(
                self.end_col,
                "unexpected end of expression",
            ));
        };
        self.pos += 1;
        Ok(match t.tok {
            Tok::Int(i) => Syntax::Int(i),
            Tok::UInt(u) => Syntax::UInt(u),
            Tok::Double(d) => Syntax::Double(d),
            Tok::Str(s) => Syntax::Str(s),
            Tok::Ident(w) => match w.as_str() {
                "true" => Syntax::Bool(true),
                "false" => Syntax::Bool(false),
                "null" => Syntax::Null,
                "in" => return Err(CelError::syntax(t.col, "unexpected `in`")),
                _ => {
                    if self.eat("(") {
                        let args = self.args()?;
                        Syntax::Call(w, args, t.col)
                    } else {
                        Syntax::Ident(w, t.col)
                    }
                }
            },
            Tok::Punct("(") => {
                self.enter()?;
                let e = self.expr()?;
                self.depth -= 1;
                self.expect(")")?;
                e
            }
            Tok::Punct("[") => return Err(CelError::unsupported(t.col, "list literals")),
            Tok::Punct("{") => return Err(CelError::unsupported(t.col, "map literals")),
            Tok::Punct(".") => {
                return Err(CelError::unsupported(
                    t.col,
                    "leading-dot (root-scoped) identifiers",
                ));
            }
            other => {
                return Err(CelError::syntax(
                    t.col,
                    format!("unexpected {}", describe(&other)),
                ));
            }
        })
    }
}
