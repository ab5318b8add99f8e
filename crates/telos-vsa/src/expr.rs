//! The query language: symbols by name, `*` bind, `/` unbind, `+` bundle, parentheses.
//! `*` and `/` bind tighter than `+`; all three group to the left. A name is any run of
//! characters other than white space, `*`, `/`, `+`, `(`, `)` and `"`; a name with any of
//! those is written in double quotes (`"source file"`, with `\"` and `\\` inside).
//!
//! `(topic * rust + source * doc7) / topic` is "what fills the topic role of that record".

use std::fmt;

use crate::{Bundle, BundleRule, Hv};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    Symbol(String),
    Bind(Box<Expr>, Box<Expr>),
    Unbind(Box<Expr>, Box<Expr>),
    Bundle(Vec<Expr>),
}

/// Where and why an expression does not parse; `at` counts characters from 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{source_text:?}, column {at}: {message}")]
pub struct ParseError {
    pub source_text: String,
    pub at: usize,
    pub message: String,
}

/// Why an expression could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError<E> {
    #[error("{0}")]
    Symbol(E),
    #[error("symbol {name:?} has dimension {dim}, the expression's others {expected}")]
    Dimension {
        name: String,
        dim: usize,
        expected: usize,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Name(String),
    Op(char),
}

fn lex(src: &str) -> Result<Vec<(usize, Tok)>, ParseError> {
    let err = |at: usize, message: String| ParseError {
        source_text: src.to_owned(),
        at: at + 1,
        message,
    };
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut k = 0;
    while k < chars.len() {
        let c = chars[k];
        match c {
            c if c.is_whitespace() => k += 1,
            '*' | '/' | '+' | '(' | ')' => {
                out.push((k, Tok::Op(c)));
                k += 1;
            }
            '"' => {
                let start = k;
                let mut name = String::new();
                k += 1;
                loop {
                    match chars.get(k) {
                        None => return Err(err(start, "a quoted name is not closed".into())),
                        Some('"') => break,
                        Some('\\') => match chars.get(k + 1) {
                            Some(&e @ ('"' | '\\')) => {
                                name.push(e);
                                k += 1;
                            }
                            _ => return Err(err(k, r#"only \" and \\ are escapes"#.into())),
                        },
                        Some(&ch) => name.push(ch),
                    }
                    k += 1;
                }
                if name.is_empty() {
                    return Err(err(start, "an empty name".into()));
                }
                out.push((start, Tok::Name(name)));
                k += 1;
            }
            _ => {
                let start = k;
                while k < chars.len()
                    && !chars[k].is_whitespace()
                    && !matches!(chars[k], '*' | '/' | '+' | '(' | ')' | '"')
                {
                    k += 1;
                }
                out.push((start, Tok::Name(chars[start..k].iter().collect())));
            }
        }
    }
    Ok(out)
}

struct Parser<'a> {
    src: &'a str,
    toks: Vec<(usize, Tok)>,
    pos: usize,
}

impl Parser<'_> {
    fn err(&self, message: impl Into<String>) -> ParseError {
        let at = match self.toks.get(self.pos) {
            Some((at, _)) => *at,
            None => self.src.chars().count(),
        };
        ParseError {
            source_text: self.src.to_owned(),
            at: at + 1,
            message: message.into(),
        }
    }

    fn peek_op(&self) -> Option<char> {
        match self.toks.get(self.pos) {
            Some((_, Tok::Op(c))) => Some(*c),
            _ => None,
        }
    }

    fn sum(&mut self) -> Result<Expr, ParseError> {
        let mut terms = vec![self.product()?];
        while self.peek_op() == Some('+') {
            self.pos += 1;
            terms.push(self.product()?);
        }
        Ok(if terms.len() == 1 {
            terms.pop().expect("one term")
        } else {
            Expr::Bundle(terms)
        })
    }

    fn product(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.operand()?;
        while let Some(op @ ('*' | '/')) = self.peek_op() {
            self.pos += 1;
            let right = Box::new(self.operand()?);
            left = match op {
                '*' => Expr::Bind(Box::new(left), right),
                _ => Expr::Unbind(Box::new(left), right),
            };
        }
        Ok(left)
    }

    fn operand(&mut self) -> Result<Expr, ParseError> {
        match self.toks.get(self.pos).cloned() {
            Some((_, Tok::Name(n))) => {
                self.pos += 1;
                Ok(Expr::Symbol(n))
            }
            Some((_, Tok::Op('('))) => {
                self.pos += 1;
                let inner = self.sum()?;
                if self.peek_op() != Some(')') {
                    return Err(self.err("expected `)`"));
                }
                self.pos += 1;
                Ok(inner)
            }
            Some((_, Tok::Op(c))) => Err(self.err(format!("expected a name or `(`, found `{c}`"))),
            None => Err(self.err("expected a name or `(`, found the end")),
        }
    }
}

impl Expr {
    pub fn parse(src: &str) -> Result<Expr, ParseError> {
        let mut p = Parser {
            src,
            toks: lex(src)?,
            pos: 0,
        };
        let e = p.sum()?;
        if p.pos < p.toks.len() {
            return Err(p.err("expected an operator (`*`, `/` or `+`) or the end"));
        }
        Ok(e)
    }

    /// The distinct symbol names, in order of first appearance.
    pub fn symbols(&self) -> Vec<&str> {
        fn walk<'a>(e: &'a Expr, out: &mut Vec<&'a str>) {
            match e {
                Expr::Symbol(n) => {
                    if !out.contains(&n.as_str()) {
                        out.push(n);
                    }
                }
                Expr::Bind(a, b) | Expr::Unbind(a, b) => {
                    walk(a, out);
                    walk(b, out);
                }
                Expr::Bundle(items) => items.iter().for_each(|i| walk(i, out)),
            }
        }
        let mut out = Vec::new();
        walk(self, &mut out);
        out
    }

    /// The vector the expression denotes, each symbol's vector from `resolve`. Bundles are
    /// plain sums ([`BundleRule::Sum`]): the result is noisy and meant for cleanup.
    pub fn eval<E>(
        &self,
        resolve: &mut dyn FnMut(&str) -> Result<Hv, E>,
    ) -> Result<Hv, EvalError<E>> {
        let mut dim = None;
        self.eval_in(resolve, &mut dim)
    }

    fn eval_in<E>(
        &self,
        resolve: &mut dyn FnMut(&str) -> Result<Hv, E>,
        dim: &mut Option<usize>,
    ) -> Result<Hv, EvalError<E>> {
        Ok(match self {
            Expr::Symbol(name) => {
                let hv = resolve(name).map_err(EvalError::Symbol)?;
                match *dim {
                    Some(expected) if expected != hv.dim() => {
                        return Err(EvalError::Dimension {
                            name: name.clone(),
                            dim: hv.dim(),
                            expected,
                        });
                    }
                    _ => *dim = Some(hv.dim()),
                }
                hv
            }
            Expr::Bind(a, b) => a.eval_in(resolve, dim)?.bind(&b.eval_in(resolve, dim)?),
            Expr::Unbind(a, b) => a.eval_in(resolve, dim)?.unbind(&b.eval_in(resolve, dim)?),
            Expr::Bundle(items) => {
                let vs = items
                    .iter()
                    .map(|i| i.eval_in(resolve, dim))
                    .collect::<Result<Vec<_>, _>>()?;
                let mut b = Bundle::new(vs[0].dim());
                b.add_all(&vs);
                b.finish(BundleRule::Sum)
            }
        })
    }
}

/// The canonical text: the fewest parentheses, names quoted only where they must be.
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn operand(e: &Expr, f: &mut fmt::Formatter<'_>, right: bool) -> fmt::Result {
            // a bundle inside a product, or a product on the right of another, needs brackets
            let wrap = matches!(e, Expr::Bundle(_))
                || (right && matches!(e, Expr::Bind(..) | Expr::Unbind(..)));
            if wrap {
                write!(f, "({e})")
            } else {
                write!(f, "{e}")
            }
        }
        match self {
            Expr::Symbol(n) => {
                let plain = !n.is_empty()
                    && !n.chars().any(|c| {
                        c.is_whitespace() || matches!(c, '*' | '/' | '+' | '(' | ')' | '"')
                    });
                if plain {
                    write!(f, "{n}")
                } else {
                    write!(f, "\"{}\"", n.replace('\\', "\\\\").replace('"', "\\\""))
                }
            }
            Expr::Bind(a, b) | Expr::Unbind(a, b) => {
                operand(a, f, false)?;
                f.write_str(if matches!(self, Expr::Bind(..)) {
                    " * "
                } else {
                    " / "
                })?;
                operand(b, f, true)
            }
            Expr::Bundle(items) => {
                for (k, i) in items.iter().enumerate() {
                    if k > 0 {
                        f.write_str(" + ")?;
                    }
                    match i {
                        Expr::Bundle(_) => write!(f, "({i})")?,
                        _ => write!(f, "{i}")?,
                    }
                }
                Ok(())
            }
        }
    }
}
