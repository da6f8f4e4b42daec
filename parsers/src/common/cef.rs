//! ArcSight Common Event Format (CEF) records:
//! `CEF:Version|Vendor|Product|Version|SignatureID|Name|Severity|Extension`.
//!
//! The seven header fields may escape `|` and `\` with a backslash; the
//! extension is `key=value` pairs separated by spaces, where a value runs
//! to the next ` key=` and may escape `=`, `\`, `\n` and `\r`. Values are
//! borrowed unless they contain an escape.

use std::borrow::Cow;

/// A parsed CEF header and the raw extension text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cef<'a> {
    /// CEF format version.
    pub version: Cow<'a, str>,
    /// Device vendor.
    pub vendor: Cow<'a, str>,
    /// Device product.
    pub product: Cow<'a, str>,
    /// Device version.
    pub device_version: Cow<'a, str>,
    /// Signature / event class id.
    pub signature_id: Cow<'a, str>,
    /// Event name.
    pub name: Cow<'a, str>,
    /// Severity as written.
    pub severity: Cow<'a, str>,
    /// The extension, still escaped; read it with [`ext_iter`].
    pub extension: &'a str,
}

/// Read a CEF record; `line` may have text (a syslog header) before `CEF:`.
/// Returns the text before `CEF:` and the record, or `None` when there is no
/// `CEF:` marker or fewer than seven header fields.
pub fn parse(line: &str) -> Option<(&str, Cef<'_>)> {
    let start = line.find("CEF:")?;
    let body = &line[start + 4..];
    let mut fields: [&str; 7] = [""; 7];
    let bytes = body.as_bytes();
    let (mut n, mut from, mut i) = (0, 0, 0);
    while i < bytes.len() && n < 7 {
        match bytes[i] {
            b'\\' => i += 2,
            b'|' => {
                fields[n] = &body[from..i];
                n += 1;
                i += 1;
                from = i;
            }
            _ => i += 1,
        }
    }
    if n < 7 {
        return None;
    }
    Some((
        &line[..start],
        Cef {
            version: unescape_header(fields[0]),
            vendor: unescape_header(fields[1]),
            product: unescape_header(fields[2]),
            device_version: unescape_header(fields[3]),
            signature_id: unescape_header(fields[4]),
            name: unescape_header(fields[5]),
            severity: unescape_header(fields[6]),
            extension: body.get(from..).unwrap_or(""),
        },
    ))
}

fn unescape_header(s: &str) -> Cow<'_, str> {
    if !s.contains('\\') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            if let Some(n) = it.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Unescape an extension value (`\=`, `\\`, `\n`, `\r`).
pub fn unescape_value(s: &str) -> Cow<'_, str> {
    if !s.contains('\\') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.next() {
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some(n) => out.push(n),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Iterator over the `key=value` pairs of a CEF extension.
#[derive(Debug, Clone)]
pub struct ExtIter<'a> {
    rest: &'a str,
}

/// Iterate the pairs of `ext`.
pub fn ext_iter(ext: &str) -> ExtIter<'_> {
    ExtIter {
        rest: ext.trim_start(),
    }
}

fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'[' | b']')
}

/// Where the key starting at `i` ends if `s[i..]` is `key=`.
fn key_at(s: &[u8], i: usize) -> Option<usize> {
    let mut j = i;
    while j < s.len() && is_key_byte(s[j]) {
        j += 1;
    }
    (j > i && s.get(j) == Some(&b'=')).then_some(j)
}

impl<'a> Iterator for ExtIter<'a> {
    type Item = (&'a str, Cow<'a, str>);

    fn next(&mut self) -> Option<Self::Item> {
        let s = self.rest.as_bytes();
        let key_end = key_at(s, 0)?;
        let key = &self.rest[..key_end];
        let vstart = key_end + 1;
        // The value ends at the last space before the next unescaped `key=`.
        let mut i = vstart;
        let mut end = s.len();
        while i < s.len() {
            match s[i] {
                b'\\' => i += 2,
                b' ' => {
                    let mut k = i;
                    while k < s.len() && s[k] == b' ' {
                        k += 1;
                    }
                    if key_at(s, k).is_some() {
                        end = i;
                        break;
                    }
                    i = k;
                }
                _ => i += 1,
            }
        }
        let end = end.min(s.len());
        let raw = self.rest.get(vstart..end).unwrap_or("");
        self.rest = self.rest.get(end..).unwrap_or("").trim_start();
        Some((key, unescape_value(raw.trim_end())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_extension() {
        let l = r"<14>Jan 1 host CEF:0|Cisco|ESA a\|b|13.0|ESA_CONSOLIDATED_LOG_EVENT|Consolidated Log Event|5|a=1 msg='x y \= z' c=some words k2={'a': {'b': 'c d'}} last=";
        let (pre, c) = parse(l).unwrap();
        assert_eq!(pre, "<14>Jan 1 host ");
        assert_eq!(c.product, "ESA a|b");
        assert_eq!(c.signature_id, "ESA_CONSOLIDATED_LOG_EVENT");
        assert_eq!(c.severity, "5");
        let kv: Vec<_> = ext_iter(c.extension).collect();
        assert_eq!(
            kv,
            vec![
                ("a", Cow::Borrowed("1")),
                ("msg", Cow::Owned("'x y = z'".to_string())),
                ("c", Cow::Borrowed("some words")),
                ("k2", Cow::Borrowed("{'a': {'b': 'c d'}}")),
                ("last", Cow::Borrowed("")),
            ]
        );
    }

    #[test]
    fn not_cef() {
        assert!(parse("hello").is_none());
        assert!(parse("CEF:0|a|b").is_none());
        assert_eq!(ext_iter("no pairs").count(), 0);
        assert_eq!(ext_iter("").count(), 0);
        // A trailing backslash does not run past the end.
        assert_eq!(
            ext_iter("a=b\\").next().map(|x| x.1.into_owned()),
            Some("b\\".into())
        );
    }
}
