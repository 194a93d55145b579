//! Checks a syntax tree against the attribute vocabulary and the functions
//! the subset implements, producing the [`Expr`] tree the evaluator runs.
//! Everything outside the subset is rejected here with a message naming it.

use super::CelError;
use super::attributes::{self, AttrType, Value};
use super::parser::Syntax;

/// A resolved expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Lit(Value<'static>),
    /// A scalar attribute.
    Attr(Attr),
    /// `map[key]` on a map attribute.
    MapGet(Attr, Box<Expr>),
    /// `has(attr)`: the attribute is present.
    HasAttr(Attr),
    /// `has(map.key)` / `key in map`.
    HasKey(Attr, Box<Expr>),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Bin(BinOp, Box<Expr>, Box<Expr>),
    Cond(Box<Expr>, Box<Expr>, Box<Expr>),
    Call(Func, Vec<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Attr {
    pub root: &'static str,
    pub field: &'static str,
    pub ty: AttrType,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Func {
    String,
    Int,
    UInt,
    Double,
    Size,
    StartsWith,
    EndsWith,
    Contains,
    LowerAscii,
    UpperAscii,
}

/// Global functions and receiver functions with their argument counts
/// (receiver included).
const GLOBALS: &[(&str, Func, usize)] = &[
    ("string", Func::String, 1),
    ("int", Func::Int, 1),
    ("uint", Func::UInt, 1),
    ("double", Func::Double, 1),
    ("size", Func::Size, 1),
];
const METHODS: &[(&str, Func, usize)] = &[
    ("startsWith", Func::StartsWith, 2),
    ("endsWith", Func::EndsWith, 2),
    ("contains", Func::Contains, 2),
    ("size", Func::Size, 1),
    ("lowerAscii", Func::LowerAscii, 1),
    ("upperAscii", Func::UpperAscii, 1),
];
/// Standard CEL that the subset leaves out, so the error can say so.
const UNSUPPORTED: &[&str] = &[
    "all",
    "exists",
    "exists_one",
    "map",
    "filter",
    "matches",
    "timestamp",
    "duration",
    "dyn",
    "type",
    "bytes",
    "getDate",
    "getDayOfMonth",
    "getDayOfWeek",
    "getDayOfYear",
    "getFullYear",
    "getHours",
    "getMilliseconds",
    "getMinutes",
    "getMonth",
    "getSeconds",
];

pub(crate) fn resolve(s: &Syntax) -> Result<Expr, CelError> {
    Ok(match s {
        Syntax::Int(i) => Expr::Lit(Value::Int(*i)),
        Syntax::UInt(u) => Expr::Lit(Value::UInt(*u)),
        Syntax::Double(d) => Expr::Lit(Value::Double(*d)),
        Syntax::Str(v) => Expr::Lit(Value::Str(v.clone().into())),
        Syntax::Bool(b) => Expr::Lit(Value::Bool(*b)),
        Syntax::Null => Expr::Lit(Value::Null),
        Syntax::Ident(name, col) => {
            if attributes::is_root(name) {
                return Err(CelError::check(
                    *col,
                    format!(
                        "`{name}` is not a value; select one of its attributes, e.g. `{name}.{}`",
                        first_field(name)
                    ),
                ));
            }
            return Err(CelError::check(
                *col,
                format!("undeclared reference to `{name}`"),
            ));
        }
        Syntax::Select(inner, key, _) => {
            // `request.headers.foo`: a field selection on a map is a key lookup.
            if let Ok(m) = attr(inner)
                && is_map(m.ty)
            {
                return Ok(Expr::MapGet(
                    m,
                    Box::new(Expr::Lit(Value::Str(key.clone().into()))),
                ));
            }
            let a = attr(s)?;
            if is_map(a.ty) {
                return Err(CelError::check(
                    col_of(s),
                    format!(
                        "`{}.{}` is a map; index it with a key, e.g. `{}.{}['x-tenant']`",
                        a.root, a.field, a.root, a.field
                    ),
                ));
            }
            Expr::Attr(a)
        }
        Syntax::Index(target, key, col) => {
            let m = map_attr(target, *col)?;
            Expr::MapGet(m, Box::new(resolve(key)?))
        }
        Syntax::Call(name, args, col) => call(name, args, *col)?,
        Syntax::Method(recv, name, args, col) => {
            let Some((_, f, n)) = METHODS.iter().find(|(m, _, _)| m == name) else {
                return Err(unknown_function(name, *col));
            };
            if args.len() + 1 != *n {
                return Err(CelError::check(
                    *col,
                    format!("`{name}` takes {} argument(s), found {}", n - 1, args.len()),
                ));
            }
            let mut all = vec![resolve(recv)?];
            for a in args {
                all.push(resolve(a)?);
            }
            Expr::Call(*f, all)
        }
        Syntax::Unary(op, e, _) => {
            let e = Box::new(resolve(e)?);
            if *op == "!" {
                Expr::Not(e)
            } else {
                Expr::Neg(e)
            }
        }
        Syntax::Binary(op, l, r, col) => binary(op, l, r, *col)?,
        Syntax::Cond(c, a, b) => Expr::Cond(
            Box::new(resolve(c)?),
            Box::new(resolve(a)?),
            Box::new(resolve(b)?),
        ),
    })
}

fn first_field(root: &str) -> &'static str {
    attributes::fields(root).next().map_or("", |(f, _)| *f)
}

fn is_map(t: AttrType) -> bool {
    matches!(t, AttrType::Headers(_) | AttrType::StringMap)
}

fn col_of(s: &Syntax) -> usize {
    match s {
        Syntax::Ident(_, c)
        | Syntax::Select(_, _, c)
        | Syntax::Index(_, _, c)
        | Syntax::Call(_, _, c)
        | Syntax::Method(_, _, _, c)
        | Syntax::Unary(_, _, c)
        | Syntax::Binary(_, _, _, c) => *c,
        Syntax::Cond(c, _, _) => col_of(c),
        _ => 1,
    }
}

/// `root.field` as an attribute.
fn attr(s: &Syntax) -> Result<Attr, CelError> {
    match s {
        Syntax::Select(inner, field, col) => match inner.as_ref() {
            Syntax::Ident(root, rcol) => {
                if !attributes::is_root(root) {
                    return Err(CelError::check(
                        *rcol,
                        format!("undeclared reference to `{root}`"),
                    ));
                }
                let ty = attributes::lookup(root, field).ok_or_else(|| {
                    CelError::check(
                        *col,
                        format!("`{root}.{field}` is not an Envoy attribute meshpolicy can read"),
                    )
                })?;
                let (root, field) = statics(root, field);
                Ok(Attr { root, field, ty })
            }
            other => {
                let a = attr(other)?;
                Err(CelError::check(
                    *col,
                    format!("`{}.{}` has no field `{field}`", a.root, a.field),
                ))
            }
        },
        other => Err(CelError::check(
            col_of(other),
            "expected an attribute such as `request.host`",
        )),
    }
}

fn statics(root: &str, field: &str) -> (&'static str, &'static str) {
    let root = attributes::ATTRIBUTES.iter().find(|(r, _)| *r == root);
    let field = root.and_then(|(r, _)| attributes::fields(r).find(|(f, _)| *f == field));
    match (root, field) {
        (Some((r, _)), Some((f, _))) => (r, f),
        _ => ("", ""),
    }
}

fn map_attr(target: &Syntax, col: usize) -> Result<Attr, CelError> {
    let a = attr(target)?;
    if !is_map(a.ty) {
        return Err(CelError::check(
            col,
            format!(
                "`{}.{}` is not a map and cannot be indexed",
                a.root, a.field
            ),
        ));
    }
    Ok(a)
}

fn unknown_function(name: &str, col: usize) -> CelError {
    if UNSUPPORTED.contains(&name) {
        CelError::unsupported(col, &format!("the function `{name}`"))
    } else {
        CelError::check(col, format!("undeclared reference to function `{name}`"))
    }
}

fn call(name: &str, args: &[Syntax], col: usize) -> Result<Expr, CelError> {
    if name == "has" {
        // The `has` macro takes one field selection (cel-spec "Macros").
        let [arg] = args else {
            return Err(CelError::check(col, "invalid argument to has() macro"));
        };
        let Syntax::Select(inner, key, _) = arg else {
            return Err(CelError::check(col, "invalid argument to has() macro"));
        };
        if let Ok(m) = attr(inner)
            && is_map(m.ty)
        {
            return Ok(Expr::HasKey(
                m,
                Box::new(Expr::Lit(Value::Str(key.clone().into()))),
            ));
        }
        let a = attr(arg)?;
        return Ok(Expr::HasAttr(a));
    }
    let Some((_, f, n)) = GLOBALS.iter().find(|(g, _, _)| *g == name) else {
        return Err(unknown_function(name, col));
    };
    if args.len() != *n {
        return Err(CelError::check(
            col,
            format!("`{name}` takes {n} argument(s), found {}", args.len()),
        ));
    }
    let args = args.iter().map(resolve).collect::<Result<Vec<_>, _>>()?;
    Ok(Expr::Call(*f, args))
}

fn binary(op: &str, l: &Syntax, r: &Syntax, col: usize) -> Result<Expr, CelError> {
    if op == "in" {
        let m = map_attr(r, col)
            .map_err(|_| CelError::unsupported(col, "`in` on anything but a map attribute"))?;
        return Ok(Expr::HasKey(m, Box::new(resolve(l)?)));
    }
    let (l, r) = (Box::new(resolve(l)?), Box::new(resolve(r)?));
    let op = match op {
        "&&" => return Ok(Expr::And(l, r)),
        "||" => return Ok(Expr::Or(l, r)),
        "==" => BinOp::Eq,
        "!=" => BinOp::Ne,
        "<" => BinOp::Lt,
        "<=" => BinOp::Le,
        ">" => BinOp::Gt,
        ">=" => BinOp::Ge,
        "+" => BinOp::Add,
        "-" => BinOp::Sub,
        "*" => BinOp::Mul,
        "/" => BinOp::Div,
        _ => BinOp::Rem,
    };
    Ok(Expr::Bin(op, l, r))
}
