//! `${VAR}` and `${VAR:-default}` in config text, resolved from the
//! environment before the TOML is parsed. `$$` stands for a literal `$`.
//! Secrets belong here (`token = "${HEC_TOKEN}"`), not in the file.

/// Replace every `${...}` in `text`. Returns the new text, or one message per
/// variable that is unset and has no default.
pub fn interpolate(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, Vec<String>> {
    let mut out = String::with_capacity(text.len());
    let mut errors = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body) = after.strip_prefix('{') {
            let Some(end) = body.find('}') else {
                errors.push("unterminated `${` (missing `}`)".to_string());
                out.push('$');
                rest = after;
                continue;
            };
            let inner = &body[..end];
            let (name, default) = match inner.split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (inner, None),
            };
            let valid = !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !name.starts_with(|c: char| c.is_ascii_digit());
            if !valid {
                errors.push(format!("`${{{inner}}}` is not a valid variable reference"));
            } else {
                match (env(name).filter(|v| !v.is_empty()), default) {
                    (Some(v), _) => out.push_str(&v),
                    (None, Some(d)) => out.push_str(d),
                    (None, None) => errors.push(format!(
                        "environment variable `{name}` is not set and has no default"
                    )),
                }
            }
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOME_DIR" => Some("/srv".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn table() {
        let cases = [
            ("a ${HOME_DIR}/x", Ok("a /srv/x".to_string())),
            ("${NOPE:-/tmp}", Ok("/tmp".to_string())),
            ("${EMPTY:-d}", Ok("d".to_string())),
            ("$$HOME_DIR $5", Ok("$HOME_DIR $5".to_string())),
            ("${HOME_DIR:-x}", Ok("/srv".to_string())),
        ];
        for (input, want) in cases {
            assert_eq!(interpolate(input, &env), want, "{input}");
        }
    }

    #[test]
    fn unset_without_default_is_an_error() {
        let err = interpolate("token = \"${HEC_TOKEN}\" ${9X}", &env).unwrap_err();
        assert_eq!(err.len(), 2);
        assert!(err[0].contains("HEC_TOKEN"));
        assert!(err[1].contains("9X"));
    }
}
