//! nom parsers for Keycloak's text forms: the server log line
//! (`[YYYY-MM-DD ]HH:MM:SS,mmm LEVEL [logger] (thread) message`) and the
//! `key=value, key="value"` list the event logger writes as its message.

use std::borrow::Cow;

use nom::branch::alt;
use nom::bytes::complete::{tag, take_until, take_while1, take_while_m_n};
use nom::character::complete::{char, space0, space1};
use nom::combinator::{opt, recognize, rest};
use nom::sequence::{delimited, terminated};
use nom::{IResult, Parser};

/// One server log line, borrowed from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LogLine<'a> {
    /// `YYYY-MM-DD`, when the line has a date.
    pub date: Option<&'a str>,
    /// `HH:MM:SS,mmm` (or with a `.`).
    pub time: &'a str,
    pub level: &'a str,
    pub logger: &'a str,
    pub thread: &'a str,
    pub message: &'a str,
}

fn digits(n: usize) -> impl Fn(&str) -> IResult<&str, &str> {
    move |i| take_while_m_n(n, n, |c: char| c.is_ascii_digit())(i)
}

fn date(i: &str) -> IResult<&str, &str> {
    recognize((digits(4), char('-'), digits(2), char('-'), digits(2))).parse(i)
}

fn clock(i: &str) -> IResult<&str, &str> {
    recognize((
        digits(2),
        char(':'),
        digits(2),
        char(':'),
        digits(2),
        opt((
            alt((char(','), char('.'))),
            take_while1(|c: char| c.is_ascii_digit()),
        )),
    ))
    .parse(i)
}

/// A server log line; `None` if the line does not have that shape.
pub(crate) fn log_line(i: &str) -> Option<LogLine<'_>> {
    let parsed: IResult<&str, LogLine<'_>> = (
        opt(terminated(date, alt((char(' '), char('T'))))),
        terminated(clock, space1),
        terminated(take_while1(|c: char| c.is_ascii_uppercase()), space1),
        terminated(delimited(char('['), take_until("]"), char(']')), space1),
        terminated(delimited(char('('), take_until(") "), char(')')), space0),
        rest,
    )
        .map(|(date, time, level, logger, thread, message)| LogLine {
            date,
            time,
            level,
            logger,
            thread,
            message: message.trim_end(),
        })
        .parse(i);
    parsed.ok().map(|(_, l)| l)
}

fn key(i: &str) -> IResult<&str, &str> {
    take_while1(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-')(i)
}

/// A `"..."` value with `\"` and `\\` escapes.
fn quoted(i: &str) -> IResult<&str, Cow<'_, str>> {
    let (body, _) = char('"')(i)?;
    let mut owned: Option<String> = None;
    let mut chars = body.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => {
                let v = match owned {
                    Some(s) => Cow::Owned(s),
                    None => Cow::Borrowed(&body[..at]),
                };
                return Ok((&body[at + 1..], v));
            }
            '\\' => {
                let s = owned.get_or_insert_with(|| body[..at].to_string());
                if let Some((_, n)) = chars.next() {
                    s.push(n);
                }
            }
            _ => {
                if let Some(s) = owned.as_mut() {
                    s.push(c);
                }
            }
        }
    }
    Err(nom::Err::Error(nom::error::Error::new(
        i,
        nom::error::ErrorKind::Char,
    )))
}

/// An unquoted value: up to the next `, key=` or the end.
fn bare(i: &str) -> IResult<&str, Cow<'_, str>> {
    let mut at = 0;
    while let Some(off) = i[at..].find(", ") {
        let next = &i[at + off + 2..];
        if let Ok((after, _)) = key(next) {
            if after.starts_with('=') {
                return Ok((&i[at + off..], Cow::Borrowed(&i[..at + off])));
            }
        }
        at += off + 2;
    }
    Ok(("", Cow::Borrowed(i)))
}

/// `key=value` pairs separated by `, `; `None` if the text does not start
/// with one.
pub(crate) fn pairs(mut i: &str) -> Option<Vec<(&str, Cow<'_, str>)>> {
    let mut out = Vec::new();
    loop {
        let r: IResult<&str, (&str, Cow<'_, str>)> =
            (terminated(key, char('=')), alt((quoted, bare))).parse(i);
        match r {
            Ok((after, kv)) => {
                out.push(kv);
                match tag::<_, _, nom::error::Error<&str>>(",").parse(after) {
                    Ok((after, _)) => i = after.trim_start(),
                    Err(_) => break,
                }
            }
            Err(_) => break,
        }
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildfly_line() {
        let l = log_line("21:01:45,403 WARN  [org.keycloak.events] (default task-1) type=LOGIN_ERROR, realmId=test").unwrap();
        assert_eq!(l.time, "21:01:45,403");
        assert_eq!(l.level, "WARN");
        assert_eq!(l.logger, "org.keycloak.events");
        assert_eq!(l.thread, "default task-1");
        assert_eq!(l.message, "type=LOGIN_ERROR, realmId=test");
        let l = log_line("2024-01-18 14:55:06,457 INFO  [org.jboss.as] (Controller Boot Thread) WFLYSRV0025: up   ").unwrap();
        assert_eq!(l.date, Some("2024-01-18"));
        assert_eq!(l.message, "WFLYSRV0025: up");
        assert!(log_line("not a log line").is_none());
        assert!(log_line("").is_none());
    }

    #[test]
    fn key_values() {
        let p = pairs(r#"type="LOGIN", realmId="a\"b", redirect_uri=http://x/?a=1, b, error=e"#)
            .unwrap();
        assert_eq!(p[0], ("type", Cow::Borrowed("LOGIN")));
        assert_eq!(p[1].1, "a\"b");
        assert_eq!(p[2], ("redirect_uri", Cow::Borrowed("http://x/?a=1, b")));
        assert_eq!(p[3], ("error", Cow::Borrowed("e")));
        assert!(pairs("KC-SERVICES0009: Added user").is_none());
        assert!(pairs(r#"type="unterminated"#).is_some_and(|p| p[0].1 == "\"unterminated"));
    }
}
