//! Python literals (`{'a': {'b': [1, 'x']}, 'c': None}`) as AsyncOS writes
//! them in CEF values (`ESAAttachmentDetails`, `ESAURLDetails`,
//! `ESASPFVerdict`), read into JSON values. Depth and length are bounded;
//! anything malformed gives `None`.

use serde_json::{Map, Number, Value};

const MAX_DEPTH: usize = 16;

/// Parse a whole literal.
pub fn parse(s: &str) -> Option<Value> {
    let mut p = P {
        s: s.as_bytes(),
        i: 0,
        src: s,
    };
    let v = p.value(0)?;
    p.ws();
    (p.i == p.s.len()).then_some(v)
}

struct P<'a> {
    s: &'a [u8],
    i: usize,
    src: &'a str,
}

impl P<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Option<Value> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.ws();
        match *self.s.get(self.i)? {
            b'{' => {
                self.i += 1;
                let mut m = Map::new();
                loop {
                    self.ws();
                    if self.s.get(self.i) == Some(&b'}') {
                        self.i += 1;
                        return Some(Value::Object(m));
                    }
                    let k = match self.value(depth + 1)? {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    self.ws();
                    if self.s.get(self.i) != Some(&b':') {
                        return None;
                    }
                    self.i += 1;
                    let v = self.value(depth + 1)?;
                    m.insert(k, v);
                    self.ws();
                    match self.s.get(self.i)? {
                        b',' => self.i += 1,
                        b'}' => {}
                        _ => return None,
                    }
                }
            }
            b'[' | b'(' => {
                let close = if self.s[self.i] == b'[' { b']' } else { b')' };
                self.i += 1;
                let mut a = Vec::new();
                loop {
                    self.ws();
                    if self.s.get(self.i) == Some(&close) {
                        self.i += 1;
                        return Some(Value::Array(a));
                    }
                    a.push(self.value(depth + 1)?);
                    self.ws();
                    match self.s.get(self.i)? {
                        b',' => self.i += 1,
                        c if *c == close => {}
                        _ => return None,
                    }
                }
            }
            q @ (b'\'' | b'"') => {
                self.i += 1;
                let start = self.i;
                let mut out = String::new();
                let mut from = start;
                while self.i < self.s.len() && self.s[self.i] != q {
                    if self.s[self.i] == b'\\' && self.i + 1 < self.s.len() {
                        out.push_str(self.src.get(from..self.i)?);
                        self.i += 1;
                        let c = self.src.get(self.i..)?.chars().next()?;
                        out.push(match c {
                            'n' => '\n',
                            't' => '\t',
                            other => other,
                        });
                        self.i += c.len_utf8();
                        from = self.i;
                    } else {
                        self.i += 1;
                    }
                }
                out.push_str(self.src.get(from..self.i)?);
                if self.i >= self.s.len() {
                    return None;
                }
                self.i += 1;
                Some(Value::String(out))
            }
            _ => {
                let start = self.i;
                while self.i < self.s.len()
                    && !matches!(self.s[self.i], b',' | b'}' | b']' | b')' | b':')
                    && !self.s[self.i].is_ascii_whitespace()
                {
                    self.i += 1;
                }
                let w = self.src.get(start..self.i)?;
                match w {
                    "None" => Some(Value::Null),
                    "True" => Some(Value::Bool(true)),
                    "False" => Some(Value::Bool(false)),
                    _ => {
                        if let Ok(n) = w.parse::<i64>() {
                            Some(Value::Number(n.into()))
                        } else {
                            let f = w.parse::<f64>().ok()?;
                            Number::from_f64(f).map(Value::Number)
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn literals() {
        assert_eq!(
            parse("{'a.docx': {'AMP': {'Verdict': 'MALICIOUS', 'fileHash': 'ab'}, 'BodyScanner': {}}}"),
            Some(json!({"a.docx": {"AMP": {"Verdict": "MALICIOUS", "fileHash": "ab"}, "BodyScanner": {}}}))
        );
        assert_eq!(
            parse("{'u': {'WbrsScore': 9.1999999999999993, 'x': ['A', None, True]}}"),
            Some(json!({"u": {"WbrsScore": 9.2, "x": ["A", null, true]}}))
        );
        assert_eq!(parse("{'a': 'it\\'s'}"), Some(json!({"a": "it's"})));
        assert_eq!(parse("{}"), Some(json!({})));
        assert_eq!(parse("{'a': "), None);
        assert_eq!(parse("{'a' 1}"), None);
        assert_eq!(parse(&"[".repeat(100)), None);
        assert_eq!(parse("'unterminated"), None);
    }
}
