//! The NDJSON fast path of the [`Splitter`](super::Splitter).
//!
//! Once a stream is known to be NDJSON, almost every line is one object.
//! Walking such a line byte by byte through the general state machine was
//! a sixth of the agent's CPU on the Okta workload; here the line end is
//! found with `memchr`, and one tight scan (strings skipped eight bytes at a
//! time) checks that the line holds exactly one object that ends on its
//! last non-blank byte. Only then is it handed out whole. Any other line
//! (blank lines aside) goes through the state machine as before, so what
//! comes out (records, errors, offsets, checkpoints) is the same either way;
//! the splitter tests compare the two on every line shape they know.

/// What the line at the start of a stretch of input is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Line {
    /// One record at `start..end`; the line (its newline included) is
    /// `next` bytes long.
    Record {
        start: usize,
        end: usize,
        next: usize,
    },
    /// Only blanks up to and including the newline at `next - 1`.
    Blank { next: usize },
    /// Anything else: let the state machine read the `next` bytes (the
    /// line and its newline).
    Slow { next: usize },
    /// No newline yet.
    Incomplete,
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Classify the line that starts at `input[0]`, for a stream in NDJSON
/// mode between records; records longer than `max` are left to the state
/// machine, which reports them.
pub(super) fn line(input: &[u8], max: usize) -> Line {
    let Some(nl) = memchr::memchr(b'\n', input) else {
        return Line::Incomplete;
    };
    let next = nl + 1;
    let text = &input[..nl];
    let Some(start) = text.iter().position(|&b| !is_ws(b)) else {
        return Line::Blank { next };
    };
    let end = text
        .iter()
        .rposition(|&b| !is_ws(b))
        .map_or(start, |e| e + 1);
    let rec = &text[start..end];
    let one_object = rec.len() <= max
        && rec.first() == Some(&b'{')
        && rec.last() == Some(&b'}')
        && !wrapper_like(rec)
        && closes_at(rec) == Some(rec.len() - 1);
    if one_object {
        Line::Record { start, end, next }
    } else {
        Line::Slow { next }
    }
}

/// True when the state machine would look further at this object's first
/// key: `records` and `value` may open a wrapper (Azure, Graph), `@...`
/// keys (Graph's `@odata.context`) come before one. Also true when the
/// first key is not a plain string, so the state machine decides.
fn wrapper_like(rec: &[u8]) -> bool {
    let mut i = 1;
    while i < rec.len() && is_ws(rec[i]) {
        i += 1;
    }
    match rec.get(i) {
        Some(b'}') => false,
        Some(b'"') => {
            let key = &rec[i + 1..];
            match memchr::memchr2(b'"', b'\\', key) {
                Some(k) if key[k] == b'"' => {
                    let key = &key[..k];
                    key == b"records" || key == b"value" || key.first() == Some(&b'@')
                }
                _ => true,
            }
        }
        _ => true,
    }
}

/// Index of the byte at which the value starting at `rec[0]` closes, as the
/// state machine counts it: brackets outside strings, any closing bracket
/// lowering the depth, a backslash escaping the next byte inside strings.
fn closes_at(rec: &[u8]) -> Option<usize> {
    let mut depth = 0u32;
    let mut i = 0;
    while i < rec.len() {
        match rec[i] {
            b'"' => {
                i += 1;
                loop {
                    let j = i + quote_or_backslash(rec.get(i..)?)?;
                    if rec[j] == b'\\' {
                        i = j + 2;
                    } else {
                        i = j + 1;
                        break;
                    }
                }
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Index of the first `"` or `\` in `s`, eight bytes at a time.
fn quote_or_backslash(s: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let mut i = 0;
    while i + 8 <= s.len() {
        let mut word = [0u8; 8];
        word.copy_from_slice(&s[i..i + 8]);
        let w = u64::from_le_bytes(word);
        // The lowest flagged byte is exact (borrows only run upwards).
        let m = zero(w ^ (ONES * b'"' as u64)) | zero(w ^ (ONES * b'\\' as u64));
        if m != 0 {
            return Some(i + (m.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    s[i..]
        .iter()
        .position(|&b| b == b'"' || b == b'\\')
        .map(|k| i + k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        let rec = |s: &str| line(s.as_bytes(), 1 << 20);
        assert_eq!(
            rec(" {\"a\":\"}\\\"{\"}\r\nx"),
            Line::Record {
                start: 1,
                end: 13,
                next: 15
            }
        );
        assert_eq!(rec(" \r\n{"), Line::Blank { next: 3 });
        assert_eq!(rec("{\"a\":1}"), Line::Incomplete);
        for slow in [
            "{\"a\":1}{\"b\":2}\n",
            "{\"a\":{\"b\":1}\n",
            "{\"a\":\"}\n",
            "{\"a\":1} x\n",
            "[{\"a\":1}]\n",
            "{\"records\":[]}\n",
            "{\"value\":[]}\n",
            "{\"@odata.context\":\"x\",\"a\":1}\n",
            "{\"k\\\"\":1}\n",
            "{1:2}\n",
            "not json\n",
            "{\"a\":\"\\\n",
        ] {
            assert_eq!(rec(slow), Line::Slow { next: slow.len() }, "{slow}");
        }
        assert_eq!(
            rec("{}\n"),
            Line::Record {
                start: 0,
                end: 2,
                next: 3
            }
        );
        assert_eq!(line(b"{\"a\":1}\n", 6), Line::Slow { next: 8 });
        assert_eq!(
            line(b"{\"a\":1}\n", 7),
            Line::Record {
                start: 0,
                end: 7,
                next: 8
            }
        );
    }

    #[test]
    fn quotes_at_every_position() {
        for n in 0..40 {
            for c in [b'"', b'\\'] {
                let mut s = vec![b'a'; n];
                s.push(c);
                s.extend_from_slice(b"\"\\aaaaaaaaaa");
                assert_eq!(quote_or_backslash(&s), Some(n));
            }
            assert_eq!(quote_or_backslash(&vec![b'a'; n]), None);
        }
    }

    #[test]
    fn escapes_and_brackets_at_every_position() {
        for n in 0..24 {
            let pad = "x".repeat(n);
            for (body, closes) in [
                (format!(r#"{{"a":"{pad}\"{pad}"}}"#), true),
                (format!(r#"{{"a":"{pad}\\"}}"#), true),
                (format!(r#"{{"a":"{pad}\"}}"#), false),
                (format!(r#"{{"{pad}":[{{}},"]}}{pad}"]}}"#), true),
                (format!(r#"{{"a":1}}{pad}}}"#), false),
            ] {
                let rec = body.as_bytes();
                let want = closes.then(|| rec.len() - 1);
                let got = closes_at(rec);
                if closes {
                    assert_eq!(got, want, "{body}");
                } else {
                    assert_ne!(got, Some(rec.len() - 1), "{body}");
                }
            }
        }
    }
}
