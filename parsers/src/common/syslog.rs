//! Syslog headers: RFC 3164, RFC 5424, ISO 8601 (rsyslog high precision),
//! log files without a priority (Postfix `maillog_file`, `/var/log/maillog`)
//! and a bare `program[pid]: ` tag that a receiver handed over without a
//! header.
//!
//! [`parse_header`] never fails: a line without any header comes back with
//! [`HeaderFormat::None`] and the whole line as the message, so the caller
//! decides whether the message alone is recognisable. Every field borrows
//! from the line.
//!
//! Forms read (the `<PRI>` prefix is optional on all of them):
//!
//! ```text
//! <34>Nov 22 12:31:52 mx postfix/smtpd[123]: msg          RFC 3164 / log file
//! Nov 22 12:31:52 postfix/smtpd[123]: msg                 no hostname
//! <34>1 2026-11-22T12:31:52.123Z mx postfix 123 - - msg   RFC 5424
//! 2026-11-22T12:31:52.123456+01:00 mx postfix/smtpd[123]: msg   ISO 8601
//! postfix/smtpd[123]: msg                                 bare tag
//! ```

use nom::bytes::complete::{tag, take_till, take_till1, take_while1, take_while_m_n};
use nom::character::complete::char;
use nom::combinator::{map_res, opt};
use nom::sequence::delimited;
use nom::{IResult, Parser};

use super::time::{parse_bsd_time, parse_iso_time, TimeContext};

/// Which header form a line had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderFormat {
    /// BSD `Mmm dd hh:mm:ss host tag:` with or without `<PRI>`.
    Rfc3164,
    /// `<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG`.
    Rfc5424,
    /// `yyyy-mm-ddThh:mm:ss.ffffff±hh:mm host tag:` (rsyslog high precision).
    Iso8601,
    /// Only a `program[pid]:` tag, no time or host.
    BareTag,
    /// No header at all: the line is the message.
    None,
}

impl HeaderFormat {
    /// Lower-case name, for `unmapped` and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            HeaderFormat::Rfc3164 => "rfc3164",
            HeaderFormat::Rfc5424 => "rfc5424",
            HeaderFormat::Iso8601 => "iso8601",
            HeaderFormat::BareTag => "bare_tag",
            HeaderFormat::None => "none",
        }
    }
}

/// A parsed syslog header. Text fields borrow from the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header<'a> {
    /// The form.
    pub format: HeaderFormat,
    /// `<PRI>` value (facility * 8 + severity), if written.
    pub pri: Option<u8>,
    /// The timestamp exactly as written.
    pub timestamp: Option<&'a str>,
    /// The timestamp in epoch ms (`None` if there was none, or it was
    /// written but impossible, e.g. Feb 30; see [`Header::bad_timestamp`]).
    pub time_ms: Option<i64>,
    /// A timestamp was written but could not be turned into a time.
    pub bad_timestamp: bool,
    /// HOSTNAME.
    pub hostname: Option<&'a str>,
    /// APP-NAME / the tag's program (`postfix/submission/smtpd`).
    pub app_name: Option<&'a str>,
    /// PROCID / the tag's `[pid]`.
    pub proc_id: Option<&'a str>,
    /// RFC 5424 MSGID.
    pub msg_id: Option<&'a str>,
    /// RFC 5424 STRUCTURED-DATA as written (without the nil `-`).
    pub structured_data: Option<&'a str>,
}

impl<'a> Header<'a> {
    fn empty(format: HeaderFormat) -> Self {
        Header {
            format,
            pri: None,
            timestamp: None,
            time_ms: None,
            bad_timestamp: false,
            hostname: None,
            app_name: None,
            proc_id: None,
            msg_id: None,
            structured_data: None,
        }
    }
}

/// Read the header at the start of `line`; returns it and the message.
/// Times are resolved with `tc` (year inference, zone).
pub fn parse_header<'a>(line: &'a str, tc: &mut TimeContext) -> (Header<'a>, &'a str) {
    let (rest, pri) = match pri(line) {
        Ok((r, p)) => (r, Some(p)),
        Err(_) => (line, None),
    };
    if pri.is_some() {
        if let Some(r) = rest.strip_prefix("1 ") {
            if let Some(h) = rfc5424(r, pri, tc) {
                return h;
            }
        }
    }
    let first = rest.as_bytes().first().copied().unwrap_or(0);
    if first.is_ascii_digit() {
        if let Ok((r, t)) = parse_iso_time(rest) {
            let ts = &rest[..rest.len() - r.len()];
            let mut h = Header::empty(HeaderFormat::Iso8601);
            h.pri = pri;
            h.timestamp = Some(ts);
            h.time_ms = Some(tc.resolve_iso(&t));
            return host_and_tag(h, r);
        }
    } else if first.is_ascii_alphabetic() {
        if let Ok((r, t)) = parse_bsd_time(rest) {
            let ts = &rest[..rest.len() - r.len()];
            let mut h = Header::empty(HeaderFormat::Rfc3164);
            h.pri = pri;
            h.timestamp = Some(ts);
            h.time_ms = tc.resolve_bsd(&t);
            h.bad_timestamp = h.time_ms.is_none();
            return host_and_tag(h, r);
        }
    }
    // No timestamp: a bare `program[pid]: ` tag, or no header at all.
    if let Ok((msg, (app, pid))) = strict_tag(rest) {
        let mut h = Header::empty(HeaderFormat::BareTag);
        h.pri = pri;
        h.app_name = Some(app);
        h.proc_id = pid;
        return (h, msg);
    }
    let mut h = Header::empty(HeaderFormat::None);
    h.pri = pri;
    (h, rest)
}

/// `<PRI>`: 1-3 digits, at most 191.
fn pri(i: &str) -> IResult<&str, u8> {
    delimited(
        char('<'),
        map_res(
            take_while_m_n(1, 3, |c: char| c.is_ascii_digit()),
            |d: &str| match d.parse::<u8>() {
                Ok(v) if v <= 191 => Ok(v),
                _ => Err(()),
            },
        ),
        char('>'),
    )
    .parse(i)
}

/// After the timestamp: `␠host␠tag: msg`, `␠tag: msg` or `␠host msg`.
fn host_and_tag<'a>(mut h: Header<'a>, rest: &'a str) -> (Header<'a>, &'a str) {
    let rest = rest.trim_start_matches(' ');
    // A first token that is itself a tag means there is no hostname.
    if let Ok((msg, (app, pid))) = strict_tag(rest) {
        h.app_name = Some(app);
        h.proc_id = pid;
        return (h, msg);
    }
    let (host, after) = match rest.split_once(' ') {
        Some((host, after)) => (host, after),
        None => (rest, ""),
    };
    if !host.is_empty() {
        h.hostname = Some(host);
    }
    match loose_tag(after) {
        Ok((msg, (app, pid))) => {
            h.app_name = Some(app);
            h.proc_id = pid;
            (h, msg)
        }
        Err(_) => (h, after),
    }
}

/// `name[pid]: ` or `name: ` after a hostname: the name is anything up to
/// `[`, `:` or a space.
fn loose_tag(i: &str) -> IResult<&str, (&str, Option<&str>)> {
    let (i, app) = take_till1(|c| c == '[' || c == ':' || c == ' ').parse(i)?;
    let (i, pid) = opt(delimited(
        char('['),
        take_till(|c| c == ']' || c == ' '),
        char(']'),
    ))
    .parse(i)?;
    let (i, _) = char(':').parse(i)?;
    let (i, _) = opt(char(' ')).parse(i)?;
    Ok((i, (app, pid)))
}

/// A tag where no hostname can tell it apart from message text: it must
/// carry a `[pid]` or a `/` (`postfix/smtpd: `), so `warning: ...` or
/// `NOQUEUE: ...` at the start of a message are not taken for tags.
pub fn strict_tag(i: &str) -> IResult<&str, (&str, Option<&str>)> {
    let (r, (app, pid)) = loose_tag(i)?;
    let plausible = app
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.'))
        && (pid.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            || app.contains('/'));
    if plausible {
        Ok((r, (app, pid)))
    } else {
        Err(nom::Err::Error(nom::error::Error::new(
            i,
            nom::error::ErrorKind::Verify,
        )))
    }
}

/// A nil-able RFC 5424 field: `-` is `None`.
fn field5424(i: &str) -> IResult<&str, Option<&str>> {
    let (i, f) = take_while1(|c: char| c != ' ').parse(i)?;
    let (i, _) = opt(char(' ')).parse(i)?;
    Ok((i, if f == "-" { None } else { Some(f) }))
}

/// STRUCTURED-DATA: `-` or one or more `[id k="v" ...]` with `\]` escapes.
fn structured_data(i: &str) -> IResult<&str, Option<&str>> {
    if let Ok((r, _)) = tag::<_, _, nom::error::Error<&str>>("-").parse(i) {
        return Ok((r, None));
    }
    let b = i.as_bytes();
    let mut pos = 0;
    while b.get(pos) == Some(&b'[') {
        let mut esc = false;
        let mut end = None;
        for (k, &c) in b.iter().enumerate().skip(pos + 1) {
            match c {
                _ if esc => esc = false,
                b'\\' => esc = true,
                b']' => {
                    end = Some(k);
                    break;
                }
                _ => {}
            }
        }
        match end {
            Some(e) => pos = e + 1,
            None => {
                return Err(nom::Err::Error(nom::error::Error::new(
                    i,
                    nom::error::ErrorKind::Char,
                )))
            }
        }
    }
    if pos == 0 {
        return Err(nom::Err::Error(nom::error::Error::new(
            i,
            nom::error::ErrorKind::Char,
        )));
    }
    Ok((&i[pos..], Some(&i[..pos])))
}

fn rfc5424<'a>(i: &'a str, pri: Option<u8>, tc: &mut TimeContext) -> Option<(Header<'a>, &'a str)> {
    let mut h = Header::empty(HeaderFormat::Rfc5424);
    h.pri = pri;
    let (i, ts) = field5424(i).ok()?;
    if let Some(ts) = ts {
        let (r, t) = parse_iso_time(ts).ok()?;
        if !r.is_empty() {
            return None;
        }
        h.timestamp = Some(ts);
        h.time_ms = Some(tc.resolve_iso(&t));
    }
    let (i, host) = field5424(i).ok()?;
    let (i, app) = field5424(i).ok()?;
    let (i, procid) = field5424(i).ok()?;
    let (i, msgid) = field5424(i).ok()?;
    let (i, sd) = structured_data(i).ok()?;
    let msg = i.strip_prefix(' ').unwrap_or(i);
    let msg = msg.strip_prefix('\u{feff}').unwrap_or(msg);
    h.hostname = host;
    h.app_name = app;
    h.proc_id = procid;
    h.msg_id = msgid;
    h.structured_data = sd;
    Some((h, msg))
}

#[cfg(test)]
mod tests {
    use super::*;

    type Want<'a> = (
        HeaderFormat,
        Option<&'a str>,
        Option<&'a str>,
        Option<&'a str>,
        Option<&'a str>,
        &'a str,
    );

    #[test]
    fn header_table() {
        let cases: &[(&str, Want)] = &[
            (
                "Nov 22 12:31:52 mx postfix/smtpd[19576]: connect from x",
                (
                    HeaderFormat::Rfc3164,
                    Some("Nov 22 12:31:52"),
                    Some("mx"),
                    Some("postfix/smtpd"),
                    Some("19576"),
                    "connect from x",
                ),
            ),
            (
                "<22>Mar  1 00:00:00 mx1 postfix/smtps/smtpd[51663]: hi",
                (
                    HeaderFormat::Rfc3164,
                    Some("Mar  1 00:00:00"),
                    Some("mx1"),
                    Some("postfix/smtps/smtpd"),
                    Some("51663"),
                    "hi",
                ),
            ),
            (
                "Feb 26 12:16:08 server1 postfix[3281]: fatal: x",
                (
                    HeaderFormat::Rfc3164,
                    Some("Feb 26 12:16:08"),
                    Some("server1"),
                    Some("postfix"),
                    Some("3281"),
                    "fatal: x",
                ),
            ),
            (
                "Feb 26 12:16:08 postfix/qmgr[3281]: x",
                (
                    HeaderFormat::Rfc3164,
                    Some("Feb 26 12:16:08"),
                    None,
                    Some("postfix/qmgr"),
                    Some("3281"),
                    "x",
                ),
            ),
            (
                "Nov 22 12:31:53 mx policyd-spf[19596]: : prepend",
                (
                    HeaderFormat::Rfc3164,
                    Some("Nov 22 12:31:53"),
                    Some("mx"),
                    Some("policyd-spf"),
                    Some("19596"),
                    ": prepend",
                ),
            ),
            (
                "Oct 30 13:19:26 host sendmail: no pid",
                (
                    HeaderFormat::Rfc3164,
                    Some("Oct 30 13:19:26"),
                    Some("host"),
                    Some("sendmail"),
                    None,
                    "no pid",
                ),
            ),
            (
                "2026-11-22T12:31:52.123456+01:00 mx postfix/qmgr[9]: D: removed",
                (
                    HeaderFormat::Iso8601,
                    Some("2026-11-22T12:31:52.123456+01:00"),
                    Some("mx"),
                    Some("postfix/qmgr"),
                    Some("9"),
                    "D: removed",
                ),
            ),
            (
                "<22>1 2026-11-22T12:31:52.123Z mx postfix/qmgr 9 - - D: removed",
                (
                    HeaderFormat::Rfc5424,
                    Some("2026-11-22T12:31:52.123Z"),
                    Some("mx"),
                    Some("postfix/qmgr"),
                    Some("9"),
                    "D: removed",
                ),
            ),
            (
                "<22>1 - - - - - [a b=\"c\\]\"][d] m",
                (HeaderFormat::Rfc5424, None, None, None, None, "m"),
            ),
            (
                "postfix/smtpd[123]: connect",
                (
                    HeaderFormat::BareTag,
                    None,
                    None,
                    Some("postfix/smtpd"),
                    Some("123"),
                    "connect",
                ),
            ),
            (
                "postfix/smtpd: connect",
                (
                    HeaderFormat::BareTag,
                    None,
                    None,
                    Some("postfix/smtpd"),
                    None,
                    "connect",
                ),
            ),
            (
                "NOQUEUE: client=x",
                (
                    HeaderFormat::None,
                    None,
                    None,
                    None,
                    None,
                    "NOQUEUE: client=x",
                ),
            ),
            (
                "warning: x",
                (HeaderFormat::None, None, None, None, None, "warning: x"),
            ),
            ("", (HeaderFormat::None, None, None, None, None, "")),
            (
                "Foo bar",
                (HeaderFormat::None, None, None, None, None, "Foo bar"),
            ),
        ];
        let mut tc = TimeContext::new(Some(2026), 0, 0);
        for (line, want) in cases {
            let (h, msg) = parse_header(line, &mut tc);
            let got = (
                h.format,
                h.timestamp,
                h.hostname,
                h.app_name,
                h.proc_id,
                msg,
            );
            assert_eq!(&got, want, "{line}");
        }
    }

    #[test]
    fn rfc5424_sd_and_time() {
        let mut tc = TimeContext::new(None, 0, 0);
        let (h, msg) = parse_header(
            "<34>1 2026-11-22T12:31:52Z mx app 1 ID47 [x@1 a=\"1\"] hello",
            &mut tc,
        );
        assert_eq!(h.structured_data, Some("[x@1 a=\"1\"]"));
        assert_eq!(h.msg_id, Some("ID47"));
        assert_eq!(h.time_ms, Some(1_795_350_712_000));
        assert_eq!(msg, "hello");
    }

    #[test]
    fn never_panics_on_prefixes() {
        let mut tc = TimeContext::new(None, 0, 0);
        let line = "<34>1 2026-11-22T12:31:52Z mx app 1 ID47 [x@1 a=\"1\"] hello";
        for k in 0..=line.len() {
            if line.is_char_boundary(k) {
                let _ = parse_header(&line[..k], &mut tc);
            }
        }
    }
}
