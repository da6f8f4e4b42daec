//! `key=value` lists as mail software writes them, without copying.
//!
//! Three separators occur: `, ` (Postfix delivery lines, postgrey), a space
//! (Postfix reject lines, smtpd command counters) and `; ` (SPF results).
//! The caller picks one with [`Sep`]; it only decides where a bare value
//! ends, so `reason=triplet found` survives in a comma list. A value in
//! angle brackets (`from=<a@b>`, `helo=<x y>`) runs to its `>` whatever the
//! separator, and is returned without the brackets (`from=<>` gives `""`).
//!
//! Iteration stops at the first item that is not `key=value`; [`KvIter::rest`]
//! then returns the unread text, so callers can read a trailing free-text part
//! (`status=sent (250 ok)`).

/// Where a bare (unbracketed) value ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sep {
    /// At `, ` (a lone `,` is part of the value).
    Comma,
    /// At a space or a comma.
    Space,
    /// At `; `.
    Semicolon,
}

/// One `key=value` item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kv<'a> {
    /// The key.
    pub key: &'a str,
    /// The value, without angle brackets.
    pub value: &'a str,
    /// The value was written in angle brackets.
    pub bracketed: bool,
}

/// Iterator over the `key=value` items at the start of a text.
#[derive(Debug, Clone)]
pub struct KvIter<'a> {
    rest: &'a str,
    sep: Sep,
}

/// Iterate the `key=value` items of `s` separated by `sep`.
pub fn kv_iter(s: &str, sep: Sep) -> KvIter<'_> {
    KvIter { rest: s, sep }
}

impl<'a> KvIter<'a> {
    /// The text not consumed yet (after the last item and its separator).
    pub fn rest(&self) -> &'a str {
        self.rest
    }
}

fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')
}

impl<'a> Iterator for KvIter<'a> {
    type Item = Kv<'a>;

    fn next(&mut self) -> Option<Kv<'a>> {
        let s = self.rest;
        let klen = s.bytes().take_while(|&b| is_key_byte(b)).count();
        if klen == 0 || s.as_bytes().get(klen) != Some(&b'=') {
            return None;
        }
        let key = &s[..klen];
        let v = &s[klen + 1..];
        let (value, bracketed, after) = if let Some(inner) = v.strip_prefix('<') {
            // Prefer a `>` followed by a separator or the end.
            let b = inner.as_bytes();
            let mut close = None;
            for (k, &c) in b.iter().enumerate() {
                if c == b'>' {
                    let next = b.get(k + 1).copied();
                    if matches!(next, None | Some(b' ' | b',' | b';')) {
                        close = Some(k);
                        break;
                    }
                    if close.is_none() {
                        close = Some(k);
                    }
                }
            }
            match close {
                Some(k) => (&inner[..k], true, &inner[k + 1..]),
                None => (inner, true, ""),
            }
        } else {
            let end = match self.sep {
                Sep::Comma => v.find(", ").unwrap_or(v.len()),
                Sep::Semicolon => v
                    .find("; ")
                    .or_else(|| v.strip_suffix(';').map(str::len))
                    .unwrap_or(v.len()),
                Sep::Space => v.find([' ', ',']).unwrap_or(v.len()),
            };
            (&v[..end], false, &v[end..])
        };
        self.rest = after.trim_start_matches([',', ';', ' ']);
        Some(Kv {
            key,
            value,
            bracketed,
        })
    }
}

/// The value of `key` in a `sep` list, if present (first occurrence).
pub fn kv_get<'a>(s: &'a str, sep: Sep, key: &str) -> Option<&'a str> {
    kv_iter(s, sep).find(|kv| kv.key == key).map(|kv| kv.value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(s: &str, sep: Sep) -> (Vec<(&str, &str)>, &str) {
        let mut it = kv_iter(s, sep);
        let v: Vec<_> = it.by_ref().map(|kv| (kv.key, kv.value)).collect();
        (v, it.rest())
    }

    #[test]
    fn table() {
        type Case<'a> = (&'a str, Sep, &'a [(&'a str, &'a str)], &'a str);
        let cases: &[Case] = &[
            (
                "to=<a@b.c>, relay=x[1.2.3.4]:25, delay=0.18, status=sent (250 ok)",
                Sep::Comma,
                &[
                    ("to", "a@b.c"),
                    ("relay", "x[1.2.3.4]:25"),
                    ("delay", "0.18"),
                    ("status", "sent (250 ok)"),
                ],
                "",
            ),
            (
                "from=<> to=<x@y.z> proto=ESMTP helo=<a b>",
                Sep::Space,
                &[
                    ("from", ""),
                    ("to", "x@y.z"),
                    ("proto", "ESMTP"),
                    ("helo", "a b"),
                ],
                "",
            ),
            (
                "from=<a@b>, to=<c@d>, proto=SMTP, helo=<h>",
                Sep::Space,
                &[
                    ("from", "a@b"),
                    ("to", "c@d"),
                    ("proto", "SMTP"),
                    ("helo", "h"),
                ],
                "",
            ),
            (
                "action=pass, reason=triplet found, delay=2400",
                Sep::Comma,
                &[
                    ("action", "pass"),
                    ("reason", "triplet found"),
                    ("delay", "2400"),
                ],
                "",
            ),
            (
                "identity=mailfrom; client-ip=1.2.3.4; receiver=<UNKNOWN>",
                Sep::Semicolon,
                &[
                    ("identity", "mailfrom"),
                    ("client-ip", "1.2.3.4"),
                    ("receiver", "UNKNOWN"),
                ],
                "",
            ),
            (
                "ehlo=2 rcpt=0/1 commands=4/6 137",
                Sep::Space,
                &[("ehlo", "2"), ("rcpt", "0/1"), ("commands", "4/6")],
                "137",
            ),
            ("no pairs here", Sep::Space, &[], "no pairs here"),
            ("k=<unterminated", Sep::Space, &[("k", "unterminated")], ""),
            ("=x", Sep::Space, &[], "=x"),
        ];
        for (input, sep, want, rest) in cases {
            let (got, r) = all(input, *sep);
            assert_eq!(&got[..], *want, "{input}");
            assert_eq!(r, *rest, "{input}");
        }
        assert_eq!(kv_get("a=1, b=2", Sep::Comma, "b"), Some("2"));
    }
}
