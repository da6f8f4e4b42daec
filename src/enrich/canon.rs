//! Canonical keys for principals, without a directory.
//!
//! The same mailbox is spelled many ways across logs: `"Jane Doe"
//! <Jane.Doe@Corp.Example>`, `jane.doe+news@corp.example`,
//! `jane.doe@corp.onmicrosoft.com` (an alias domain), `CORP\jane.doe`,
//! `smtp:jane.doe@corp.example`, `jane.doe@bücher.example` vs its punycode.
//! [`Canon::address`] folds them all to one key: lower case, display name and
//! quotes stripped, `+tag` sub-address removed, domain aliases applied, IDN
//! domains in their ASCII (punycode) form, `DOMAIN\user` turned into
//! `user@<domain>` through the NetBIOS aliases.
//!
//! Fast path: a value that is already canonical comes back borrowed, so the
//! common case allocates nothing.

use std::borrow::Cow;
use std::collections::HashMap;

/// Domain facts used to fold spellings together.
#[derive(Debug, Clone, Default)]
pub struct Canon {
    /// Alias domain (lower case, ASCII) → canonical domain.
    aliases: HashMap<String, String, foldhash::fast::RandomState>,
    /// Organisation domains (lower case, after aliasing).
    local: Vec<String>,
}

impl Canon {
    /// `aliases` maps alias domains (DNS names or NetBIOS names such as
    /// `CORP`) to canonical DNS domains; `local` are the organisation's
    /// domains. The first label of each local domain is a NetBIOS alias
    /// of it unless `aliases` says otherwise (`CORP\x` → `x@corp.example`).
    pub fn new(aliases: &[(String, String)], local: &[String]) -> Self {
        let mut map = HashMap::default();
        for d in local {
            let d = d.trim().trim_end_matches('.').to_ascii_lowercase();
            if let Some((first, rest)) = d.split_once('.') {
                if !rest.is_empty() && !local.iter().any(|l| l.eq_ignore_ascii_case(first)) {
                    map.entry(first.to_string()).or_insert_with(|| d.clone());
                }
            }
        }
        for (from, to) in aliases {
            let from = ascii_domain(from.trim().trim_end_matches('.')).into_owned();
            let to = ascii_domain(to.trim().trim_end_matches('.')).into_owned();
            map.insert(from, to);
        }
        let local = local
            .iter()
            .map(|d| {
                let d = ascii_domain(d.trim().trim_end_matches('.')).into_owned();
                map.get(&d).cloned().unwrap_or(d)
            })
            .collect();
        Canon {
            aliases: map,
            local,
        }
    }

    /// The organisation's domains (canonical).
    pub fn local_domains(&self) -> &[String] {
        &self.local
    }

    /// Is `domain` (canonical) one of the organisation's, or a subdomain
    /// of one?
    pub fn is_local(&self, domain: &str) -> bool {
        self.local.iter().any(|l| {
            domain == l
                || (domain.len() > l.len()
                    && domain.ends_with(l.as_str())
                    && domain.as_bytes()[domain.len() - l.len() - 1] == b'.')
        })
    }

    /// The canonical domain for `domain` (aliases applied, IDN folded).
    pub fn domain<'a>(&self, domain: &'a str) -> Cow<'a, str> {
        let d = ascii_domain(domain.trim_end_matches('.'));
        match self.aliases.get(d.as_ref()) {
            Some(to) => Cow::Owned(to.clone()),
            None => d,
        }
    }

    /// The canonical key of a user or mailbox spelling, or `None` for an
    /// empty value.
    pub fn address<'a>(&self, raw: &'a str) -> Option<Cow<'a, str>> {
        // Most keys are plain ASCII (an address, an application name): one
        // pass over the bytes tells, and only lower-casing and the alias
        // lookup are left.
        if let Some(p) = plain(raw) {
            let lowered = |s: &'a str| match p.upper {
                false => Cow::Borrowed(s),
                true => Cow::Owned(s.to_ascii_lowercase()),
            };
            let Some(at) = p.at else {
                return Some(lowered(raw));
            };
            let domain = &raw[at + 1..];
            let aliased = if p.upper {
                self.aliases.contains_key(&domain.to_ascii_lowercase())
            } else {
                self.aliases.contains_key(domain)
            };
            if !aliased {
                return Some(lowered(raw));
            }
        }
        self.address_general(raw)
    }

    /// [`Canon::address`] for any spelling.
    fn address_general<'a>(&self, raw: &'a str) -> Option<Cow<'a, str>> {
        let s = strip_decoration(raw);
        if s.is_empty() {
            return None;
        }
        if let Some((dom, user)) = s.split_once('\\') {
            let user = user.trim();
            if user.is_empty() {
                return None;
            }
            let dom = self.domain(dom.trim());
            let local = fold_local(user);
            return Some(Cow::Owned(format!("{local}@{dom}")));
        }
        let Some(at) = s.rfind('@') else {
            return Some(lower(s));
        };
        let (local, domain) = (&s[..at], &s[at + 1..]);
        if local.is_empty() || domain.is_empty() {
            return Some(lower(s));
        }
        let folded = fold_local(local);
        let dom = self.domain(domain);
        if let (Cow::Borrowed(l), Cow::Borrowed(d)) = (&folded, &dom) {
            // Both untouched and contiguous in `s`: hand back `s` itself.
            if l.len() == local.len() && d.len() == domain.len() {
                return Some(Cow::Borrowed(s));
            }
        }
        Some(Cow::Owned(format!("{folded}@{dom}")))
    }

    /// The domain part of an address spelling, canonical.
    pub fn address_domain<'a>(&self, raw: &'a str) -> Option<Cow<'a, str>> {
        let s = strip_decoration(raw);
        let at = s.rfind('@')?;
        let d = &s[at + 1..];
        (!d.is_empty()).then(|| self.domain(d))
    }
}

/// The display name of `"Name" <addr>` / `Name <addr>`, if any.
pub fn display_name(raw: &str) -> Option<&str> {
    let lt = raw.find('<')?;
    let name = raw[..lt].trim().trim_matches('"').trim();
    (!name.is_empty()).then_some(name)
}

/// What [`plain`] found.
struct Plain {
    /// Where the `@` is, if there is one.
    at: Option<usize>,
    /// An upper-case letter is there.
    upper: bool,
}

/// `raw` when [`Canon::address_general`] would only lower-case it (and look
/// up the domain's alias): ASCII letters, digits, `.`, `-` and `_`, and
/// either no `@` or one with text on both sides and no `.` at the end.
/// Anything else (space, quotes, `<`, `\`, `+tag`, `smtp:`, non-ASCII)
/// takes the general way.
fn plain(raw: &str) -> Option<Plain> {
    let b = raw.as_bytes();
    let mut p = Plain {
        at: None,
        upper: false,
    };
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' => {}
            b'A'..=b'Z' => p.upper = true,
            b'@' if p.at.is_none() => p.at = Some(i),
            _ => return None,
        }
    }
    match p.at {
        None if b.is_empty() => None,
        Some(at) if at == 0 || at + 1 == b.len() || b[b.len() - 1] == b'.' => None,
        _ => Some(p),
    }
}

/// Remove a display name, angle brackets, quotes and `smtp:`/`mailto:`
/// prefixes.
fn strip_decoration(raw: &str) -> &str {
    let mut s = raw.trim();
    if let (Some(lt), true) = (s.rfind('<'), s.ends_with('>')) {
        s = &s[lt + 1..s.len() - 1];
    }
    s = s.trim().trim_matches(|c| c == '"' || c == '\'').trim();
    for p in ["smtp:", "SMTP:", "mailto:", "MAILTO:", "sip:"] {
        if let Some(rest) = s.strip_prefix(p) {
            s = rest;
        }
    }
    s
}

/// Lower case, `+tag` removed (a local part that starts with `+` is kept).
fn fold_local(local: &str) -> Cow<'_, str> {
    let local = local.trim_matches('"');
    let base = match local.find('+') {
        Some(i) if i > 0 => &local[..i],
        _ => local,
    };
    lower(base)
}

fn lower(s: &str) -> Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) || !s.is_ascii() {
        Cow::Owned(s.to_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

/// A domain in lower-case ASCII: IDN labels become punycode (`xn--`),
/// punycode input stays as it is.
pub fn ascii_domain(d: &str) -> Cow<'_, str> {
    if d.is_ascii() {
        return lower(d);
    }
    match idna::domain_to_ascii(d) {
        Ok(a) => Cow::Owned(a),
        Err(_) => Cow::Owned(d.to_lowercase()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon() -> Canon {
        Canon::new(
            &[("corp.onmicrosoft.com".into(), "corp.example".into())],
            &["corp.example".into()],
        )
    }

    #[test]
    fn spellings_fold_to_one_key() {
        let c = canon();
        for s in [
            "jane.doe@corp.example",
            "Jane.Doe@CORP.example",
            "jane.doe+newsletters@corp.example",
            "jane.doe@corp.onmicrosoft.com",
            "\"Jane Doe\" <Jane.Doe@Corp.Example>",
            "CORP\\jane.doe",
            "smtp:jane.doe@corp.example",
            "jane.doe@corp.example.",
        ] {
            assert_eq!(
                c.address(s).as_deref(),
                Some("jane.doe@corp.example"),
                "{s}"
            );
        }
    }

    #[test]
    fn canonical_input_is_borrowed() {
        assert!(matches!(
            canon().address("jane.doe@corp.example"),
            Some(Cow::Borrowed(_))
        ));
    }

    #[test]
    fn idn_and_punycode_agree() {
        let c = canon();
        assert_eq!(
            c.address("Anna@Bücher.example").as_deref(),
            Some("anna@xn--bcher-kva.example")
        );
        assert_eq!(
            c.address("anna@xn--bcher-kva.example").as_deref(),
            Some("anna@xn--bcher-kva.example")
        );
    }

    #[test]
    fn the_quick_way_agrees_with_the_general_one() {
        // Every string up to five characters over an alphabet of the
        // characters either way looks at, with aliases in reach ("a" from
        // the local domain a.b, "b.c" configured).
        let c = Canon::new(&[("b.c".into(), "corp.example".into())], &["a.b".into()]);
        let alphabet = [
            'a', 'A', 'b', 'B', '.', '@', '-', '_', '+', ' ', '\\', '"', '<', '>', ':', '1',
        ];
        let mut s = String::new();
        let mut checked = 0;
        fn all(c: &Canon, alphabet: &[char], s: &mut String, left: usize, checked: &mut u32) {
            assert_eq!(c.address(s), c.address_general(s), "{s:?}");
            *checked += 1;
            if left == 0 {
                return;
            }
            for &ch in alphabet {
                s.push(ch);
                all(c, alphabet, s, left - 1, checked);
                s.pop();
            }
        }
        all(&c, &alphabet, &mut s, 5, &mut checked);
        assert!(checked > 1_100_000);
        for s in [
            "a@b.c", "a@a", "x@corp", "x@a.b", "x.y@b.c", "x@B.C", "X@A", "X@a.B",
        ] {
            assert_eq!(c.address(s), c.address_general(s), "{s:?}");
        }
        assert_eq!(c.address("x@b.c").as_deref(), Some("x@corp.example"));
    }

    #[test]
    fn local_domains_and_subdomains() {
        let c = canon();
        assert!(c.is_local("corp.example"));
        assert!(c.is_local("eu.corp.example"));
        assert!(!c.is_local("evilcorp.example"));
        assert!(!c.is_local("corp.example.evil"));
    }

    #[test]
    fn display_names() {
        assert_eq!(display_name("\"IT Helpdesk\" <x@y>"), Some("IT Helpdesk"));
        assert_eq!(display_name("x@y"), None);
        assert_eq!(canon().address("").as_deref(), None);
        assert_eq!(
            canon().address("+x@corp.example").as_deref(),
            Some("+x@corp.example")
        );
    }
}
