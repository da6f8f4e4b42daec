//! Addresses as mail logs write them: e-mail addresses, `host[ip]:port`
//! endpoints, and the checks that keep OCSF typed fields honest (an
//! `email_t` must be a real address, an `ip_t` a real IP).

use std::net::IpAddr;

/// True when `s` matches OCSF `email_t`:
/// `^[a-zA-Z0-9!#$%&'*+-/=?^_`{|}~.]+@[a-zA-Z0-9-]+\.[a-zA-Z0-9-.]+$`.
/// (`+-/` in that class is a range: `+ , - . /`.)
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+,-./=?^_`{|}~".contains(&b));
    let Some((first, tail)) = domain.split_once('.') else {
        return false;
    };
    local_ok
        && !first.is_empty()
        && first
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !tail.is_empty()
        && tail
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// The domain of an address (after the last `@`), if any.
pub fn email_domain(s: &str) -> Option<&str> {
    s.rsplit_once('@').map(|(_, d)| d).filter(|d| !d.is_empty())
}

/// True when `domain` equals one of `locals` or is a subdomain of one
/// (ASCII case-insensitive; `locals` are lower case).
pub fn domain_is_local(domain: &str, locals: &[String]) -> bool {
    locals.iter().any(|l| {
        let (d, l) = (domain.as_bytes(), l.as_bytes());
        if d.len() == l.len() {
            d.eq_ignore_ascii_case(l)
        } else if d.len() > l.len() {
            let cut = d.len() - l.len();
            d[cut - 1] == b'.' && d[cut..].eq_ignore_ascii_case(l)
        } else {
            false
        }
    })
}

/// A peer as Postfix writes it: `host[ip]`, `host[ip]:port`, `[ip]:port`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Endpoint<'a> {
    /// The name before `[`, unless it is empty or `unknown`.
    pub hostname: Option<&'a str>,
    /// The text in brackets when it is a real IP address.
    pub ip: Option<&'a str>,
    /// The text in brackets when it is not an IP (`private/dovecot-lmtp`,
    /// a socket path, `unknown`).
    pub other: Option<&'a str>,
    /// `:port` after the brackets.
    pub port: Option<u16>,
}

impl Endpoint<'_> {
    /// True if nothing usable was read.
    pub fn is_empty(&self) -> bool {
        self.hostname.is_none() && self.ip.is_none() && self.port.is_none()
    }
}

/// True when `s` is an IPv4 or IPv6 address (a `/32`-style prefix length is
/// not allowed; strip it first).
pub fn is_ip(s: &str) -> bool {
    !s.is_empty() && s.len() <= 40 && s.parse::<IpAddr>().is_ok()
}

/// Parse `host[ip]`, `host[ip]:port` or `[ip]:port` (the whole of `s`), or a
/// bare IP / host name. Returns `None` if brackets do not close.
pub fn parse_endpoint(s: &str) -> Option<Endpoint<'_>> {
    let Some(open) = s.find('[') else {
        // Bare host or IP, maybe `ip:port` for IPv4.
        if is_ip(s) {
            return Some(Endpoint {
                ip: Some(s),
                ..Default::default()
            });
        }
        if let Some((h, p)) = s.rsplit_once(':') {
            if let (true, Ok(port)) = (is_ip(h), p.parse::<u16>()) {
                return Some(Endpoint {
                    ip: Some(h),
                    port: Some(port),
                    ..Default::default()
                });
            }
        }
        let hostname = (!s.is_empty() && s != "unknown" && !s.contains(' ')).then_some(s);
        return Some(Endpoint {
            hostname,
            ..Default::default()
        });
    };
    let close = s.rfind(']').filter(|&c| c > open)?;
    let name = &s[..open];
    let inner = &s[open + 1..close];
    let tail = &s[close + 1..];
    let port = tail.strip_prefix(':').and_then(|p| p.parse::<u16>().ok());
    let inner_ip = inner.strip_prefix("IPv6:").unwrap_or(inner);
    let (ip, other) = if is_ip(inner_ip) {
        (Some(inner_ip), None)
    } else {
        (None, (!inner.is_empty()).then_some(inner))
    };
    let hostname = (!name.is_empty() && name != "unknown" && !name.contains(' ')).then_some(name);
    Some(Endpoint {
        hostname,
        ip,
        other,
        port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_table() {
        let cases = [
            ("bob@example.test", true),
            (
                "bounce+41deb4.277afa-Heather.STEWART=corp.com@hrd.corp.com",
                true,
            ),
            ("root", false),
            ("root@localhost", false),
            ("", false),
            ("@example.com", false),
            ("a@b.", false),
            ("a b@c.d", false),
            ("SRS0=1sN3=5P=example.org=noreply@srs.example.org", true),
            ("4ECEA00F.9040306@example.com", true),
        ];
        for (s, want) in cases {
            assert_eq!(is_email(s), want, "{s}");
        }
    }

    #[test]
    fn local_domains() {
        let locals = vec!["example.test".to_string(), "corp.example".to_string()];
        assert!(domain_is_local("example.test", &locals));
        assert!(domain_is_local("Mail.Example.TEST", &locals));
        assert!(!domain_is_local("badexample.test", &locals));
        assert!(!domain_is_local("test", &locals));
    }

    #[test]
    fn endpoint_table() {
        type W<'a> = Option<(
            Option<&'a str>,
            Option<&'a str>,
            Option<&'a str>,
            Option<u16>,
        )>;
        let cases: &[(&str, W)] = &[
            (
                "mail.partner.test[127.0.0.20]",
                Some((Some("mail.partner.test"), Some("127.0.0.20"), None, None)),
            ),
            (
                "unknown[62.51.194.72]",
                Some((None, Some("62.51.194.72"), None, None)),
            ),
            (
                "unknown[unknown]",
                Some((None, None, Some("unknown"), None)),
            ),
            (
                "[182.98.255.184]:2413",
                Some((None, Some("182.98.255.184"), None, Some(2413))),
            ),
            (
                "mx[2001:db8::1]:25",
                Some((Some("mx"), Some("2001:db8::1"), None, Some(25))),
            ),
            (
                "mx.example.test[/var/run/lmtp]",
                Some((Some("mx.example.test"), None, Some("/var/run/lmtp"), None)),
            ),
            (
                "127.0.0.1:10030",
                Some((None, Some("127.0.0.1"), None, Some(10030))),
            ),
            ("local", Some((Some("local"), None, None, None))),
            ("x[1.2.3.4", None),
        ];
        for (s, want) in cases {
            let got = parse_endpoint(s).map(|e| (e.hostname, e.ip, e.other, e.port));
            assert_eq!(&got, want, "{s}");
        }
    }
}
