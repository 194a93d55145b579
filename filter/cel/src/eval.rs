//! Evaluation with CEL's runtime semantics: no implicit conversions between
//! types, errors for missing attributes and keys, overflow and division by
//! zero; `&&` / `||` absorb an error when the other side decides the result
//! (cel-spec `doc/langdef.md`, "Logical operators").

use std::borrow::Cow;
use std::cmp::Ordering;

use super::attributes::{self, AttrType, Attributes, Value};
use super::resolve::{Attr, BinOp, Expr, Func};

/// Why an evaluation failed; a label whose expression fails is `unknown`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalError(pub String);

type R<'a> = Result<Value<'a>, EvalError>;

fn err<T>(msg: impl Into<String>) -> Result<T, EvalError> {
    Err(EvalError(msg.into()))
}

pub(crate) fn eval<'a>(e: &Expr, attrs: &'a dyn Attributes) -> R<'a> {
    match e {
        Expr::Lit(v) => Ok(v.clone()),
        Expr::Attr(a) => read(a, attrs),
        Expr::MapGet(m, key) => {
            let key = string_arg(eval(key, attrs)?)?;
            map_get(m, &key, attrs)?.map_or_else(|| err(format!("no such key: `{key}`")), Ok)
        }
        Expr::HasAttr(a) => Ok(Value::Bool(attrs.property(&[a.root, a.field]).is_some())),
        Expr::HasKey(m, key) => {
            let key = string_arg(eval(key, attrs)?)?;
            Ok(Value::Bool(map_get(m, &key, attrs)?.is_some()))
        }
        Expr::Not(x) => match eval(x, attrs)? {
            Value::Bool(b) => Ok(Value::Bool(!b)),
            v => no_overload("!_", &[&v]),
        },
        Expr::Neg(x) => match eval(x, attrs)? {
            Value::Int(i) => i
                .checked_neg()
                .map(Value::Int)
                .map_or_else(|| err("integer overflow"), Ok),
            Value::Double(d) => Ok(Value::Double(-d)),
            v => no_overload("-_", &[&v]),
        },
        Expr::And(l, r) => logic(l, r, attrs, false),
        Expr::Or(l, r) => logic(l, r, attrs, true),
        Expr::Cond(c, a, b) => match eval(c, attrs)? {
            Value::Bool(true) => eval(a, attrs),
            Value::Bool(false) => eval(b, attrs),
            v => no_overload("_?_:_", &[&v]),
        },
        Expr::Bin(op, l, r) => binary(*op, eval(l, attrs)?, eval(r, attrs)?),
        Expr::Call(f, args) => {
            let vals = args
                .iter()
                .map(|a| eval(a, attrs))
                .collect::<Result<Vec<_>, _>>()?;
            call(*f, vals)
        }
    }
}

fn read<'a>(a: &Attr, attrs: &'a dyn Attributes) -> R<'a> {
    let Some(bytes) = attrs.property(&[a.root, a.field]) else {
        return err(format!("no such attribute: `{}.{}`", a.root, a.field));
    };
    attributes::decode(a.ty, &bytes).map_or_else(
        || err(format!("malformed value of `{}.{}`", a.root, a.field)),
        Ok,
    )
}

fn map_get<'a>(
    m: &Attr,
    key: &str,
    attrs: &'a dyn Attributes,
) -> Result<Option<Value<'a>>, EvalError> {
    Ok(match m.ty {
        // Envoy looks header keys up lower-cased (envoy
        // `source/extensions/filters/common/expr/context.h`, HeadersWrapper).
        AttrType::Headers(map) => attrs.header(map, &key.to_ascii_lowercase()).map(Value::Str),
        _ => attrs
            .property(&[m.root, m.field, key])
            .map(|b| Value::Str(Cow::Owned(String::from_utf8_lossy(&b).into_owned()))),
    })
}

fn string_arg(v: Value<'_>) -> Result<String, EvalError> {
    match v {
        Value::Str(s) => Ok(s.into_owned()),
        v => err(format!(
            "no such key: map keys are strings, found {}",
            v.type_name()
        )),
    }
}

fn no_overload<T>(op: &str, args: &[&Value<'_>]) -> Result<T, EvalError> {
    let types: Vec<&str> = args.iter().map(|v| v.type_name()).collect();
    err(format!(
        "no matching overload for `{op}` applied to ({})",
        types.join(", ")
    ))
}

fn logic<'a>(l: &Expr, r: &Expr, attrs: &'a dyn Attributes, is_or: bool) -> R<'a> {
    let decides = |v: &R<'_>| matches!(v, Ok(Value::Bool(b)) if *b == is_or);
    let lv = eval(l, attrs);
    if decides(&lv) {
        return lv;
    }
    let rv = eval(r, attrs);
    if decides(&rv) {
        return rv;
    }
    let op = if is_or { "_||_" } else { "_&&_" };
    match (lv?, rv?) {
        (Value::Bool(_), Value::Bool(b)) => Ok(Value::Bool(b)),
        (a, b) => no_overload(op, &[&a, &b]),
    }
}

fn compare(a: &Value<'_>, b: &Value<'_>) -> Option<Ordering> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::UInt(x), Value::UInt(y)) => Some(x.cmp(y)),
        (Value::Double(x), Value::Double(y)) => x.partial_cmp(y),
        // CEL compares numbers across types by value (cel-spec "Numeric values").
        (Value::Int(x), Value::UInt(y)) => Some(i128::from(*x).cmp(&i128::from(*y))),
        (Value::UInt(x), Value::Int(y)) => Some(i128::from(*x).cmp(&i128::from(*y))),
        (Value::Int(x), Value::Double(y)) => (*x as f64).partial_cmp(y),
        (Value::Double(x), Value::Int(y)) => x.partial_cmp(&(*y as f64)),
        (Value::UInt(x), Value::Double(y)) => (*x as f64).partial_cmp(y),
        (Value::Double(x), Value::UInt(y)) => x.partial_cmp(&(*y as f64)),
        (Value::Str(x), Value::Str(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (Value::Null, Value::Null) => Some(Ordering::Equal),
        _ => None,
    }
}

fn binary<'a>(op: BinOp, a: Value<'a>, b: Value<'a>) -> R<'a> {
    let name = match op {
        BinOp::Eq => "_==_",
        BinOp::Ne => "_!=_",
        BinOp::Lt => "_<_",
        BinOp::Le => "_<=_",
        BinOp::Gt => "_>_",
        BinOp::Ge => "_>=_",
        BinOp::Add => "_+_",
        BinOp::Sub => "_-_",
        BinOp::Mul => "_*_",
        BinOp::Div => "_/_",
        BinOp::Rem => "_%_",
    };
    match op {
        BinOp::Eq | BinOp::Ne => {
            // Equality between different kinds is false, not an error
            // (cel-spec "Equality"), except that numbers compare by value.
            let eq = compare(&a, &b) == Some(Ordering::Equal);
            Ok(Value::Bool(if op == BinOp::Eq { eq } else { !eq }))
        }
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
            if matches!((&a, &b), (Value::Null, _) | (_, Value::Null)) {
                return no_overload(name, &[&a, &b]);
            }
            let Some(o) = compare(&a, &b) else {
                return no_overload(name, &[&a, &b]);
            };
            Ok(Value::Bool(match op {
                BinOp::Lt => o == Ordering::Less,
                BinOp::Le => o != Ordering::Greater,
                BinOp::Gt => o == Ordering::Greater,
                _ => o != Ordering::Less,
            }))
        }
        _ => arith(op, name, a, b),
    }
}

/// `int` and `uint` arithmetic (`i64` or `u64`): `None` on overflow, and
/// CEL's errors for a zero divisor. A macro because the two types share
/// their `checked_*` methods but no trait.
macro_rules! checked {
    ($op:expr, $x:expr, $y:expr) => {
        match $op {
            BinOp::Add => $x.checked_add($y),
            BinOp::Sub => $x.checked_sub($y),
            BinOp::Mul => $x.checked_mul($y),
            BinOp::Div if $y == 0 => return err("division by zero"),
            BinOp::Div => $x.checked_div($y),
            BinOp::Rem if $y == 0 => return err("modulus by zero"),
            _ => $x.checked_rem($y),
        }
    };
}

fn arith<'a>(op: BinOp, name: &str, a: Value<'a>, b: Value<'a>) -> R<'a> {
    let overflow = || EvalError("integer overflow".into());
    match (a, b) {
        (Value::Str(x), Value::Str(y)) if op == BinOp::Add => {
            Ok(Value::Str(Cow::Owned(format!("{x}{y}"))))
        }
        (Value::Int(x), Value::Int(y)) => checked!(op, x, y).map(Value::Int).ok_or_else(overflow),
        (Value::UInt(x), Value::UInt(y)) => {
            checked!(op, x, y).map(Value::UInt).ok_or_else(overflow)
        }
        (Value::Double(x), Value::Double(y)) if op != BinOp::Rem => Ok(Value::Double(match op {
            BinOp::Add => x + y,
            BinOp::Sub => x - y,
            BinOp::Mul => x * y,
            _ => x / y,
        })),
        (a, b) => no_overload(name, &[&a, &b]),
    }
}

fn call<'a>(f: Func, args: Vec<Value<'a>>) -> R<'a> {
    let mut it = args.into_iter();
    let a = it.next().unwrap_or(Value::Null);
    let b = it.next();
    match (f, a, b) {
        (Func::String, Value::Str(s), None) => Ok(Value::Str(s)),
        (
            Func::String,
            v @ (Value::Int(_) | Value::UInt(_) | Value::Double(_) | Value::Bool(_)),
            None,
        ) => Ok(Value::Str(Cow::Owned(v.to_label()))),
        (Func::Int, Value::Int(i), None) => Ok(Value::Int(i)),
        (Func::Int, Value::UInt(u), None) => i64::try_from(u)
            .map(Value::Int)
            .map_err(|_| EvalError("integer overflow".into())),
        (Func::Int, Value::Double(d), None) => {
            if d.is_finite() && d > -9.223_372_036_854_776e18 && d < 9.223_372_036_854_776e18 {
                Ok(Value::Int(d.trunc() as i64))
            } else {
                err("integer overflow")
            }
        }
        (Func::Int, Value::Str(s), None) => s
            .parse()
            .map(Value::Int)
            .map_err(|_| EvalError(format!("cannot convert `{s}` to int"))),
        (Func::UInt, Value::UInt(u), None) => Ok(Value::UInt(u)),
        (Func::UInt, Value::Int(i), None) => u64::try_from(i)
            .map(Value::UInt)
            .map_err(|_| EvalError("unsigned integer overflow".into())),
        (Func::UInt, Value::Str(s), None) => s
            .parse()
            .map(Value::UInt)
            .map_err(|_| EvalError(format!("cannot convert `{s}` to uint"))),
        (Func::Double, Value::Double(d), None) => Ok(Value::Double(d)),
        (Func::Double, Value::Int(i), None) => Ok(Value::Double(i as f64)),
        (Func::Double, Value::UInt(u), None) => Ok(Value::Double(u as f64)),
        (Func::Double, Value::Str(s), None) => s
            .parse()
            .map(Value::Double)
            .map_err(|_| EvalError(format!("cannot convert `{s}` to double"))),
        (Func::Size, Value::Str(s), None) => Ok(Value::Int(
            i64::try_from(s.chars().count()).unwrap_or(i64::MAX),
        )),
        (Func::StartsWith, Value::Str(s), Some(Value::Str(p))) => {
            Ok(Value::Bool(s.starts_with(p.as_ref())))
        }
        (Func::EndsWith, Value::Str(s), Some(Value::Str(p))) => {
            Ok(Value::Bool(s.ends_with(p.as_ref())))
        }
        (Func::Contains, Value::Str(s), Some(Value::Str(p))) => {
            Ok(Value::Bool(s.contains(p.as_ref())))
        }
        (Func::LowerAscii, Value::Str(s), None) => {
            Ok(Value::Str(Cow::Owned(s.to_ascii_lowercase())))
        }
        (Func::UpperAscii, Value::Str(s), None) => {
            Ok(Value::Str(Cow::Owned(s.to_ascii_uppercase())))
        }
        (f, a, b) => {
            let name = format!("{f:?}");
            match b {
                Some(b) => no_overload(&name, &[&a, &b]),
                None => no_overload(&name, &[&a]),
            }
        }
    }
}
