//! Names that depend on the event: `{class}` (the OCSF class name in snake
//! case, e.g. `email_activity`), `{class_uid}` (`4009`) and `{source}` (the
//! idlink source id). Used for Splunk `sourcetype`/`source`/`index`,
//! Elasticsearch data streams and indices, and Sentinel streams.

use std::sync::Arc;

use idlink_parsers::ocsf;

/// The OCSF classes idlink emits.
pub const CLASSES: &[ocsf::ClassInfo] = &[
    ocsf::BASE_EVENT,
    ocsf::ACCOUNT_CHANGE,
    ocsf::AUTHENTICATION,
    ocsf::AUTHORIZE_SESSION,
    ocsf::ENTITY_MANAGEMENT,
    ocsf::USER_ACCESS,
    ocsf::GROUP_MANAGEMENT,
    ocsf::EMAIL_ACTIVITY,
    ocsf::DETECTION_FINDING,
    ocsf::API_ACTIVITY,
    ocsf::NETWORK_ACTIVITY,
    ocsf::HTTP_ACTIVITY,
    ocsf::WEB_RESOURCES_ACTIVITY,
];

/// `Email Activity` → `email_activity`; unknown classes → `class_<uid>`.
pub fn class_slug(uid: u32) -> String {
    match CLASSES.iter().find(|c| c.uid as u32 == uid) {
        Some(c) => c
            .name
            .chars()
            .filter_map(|ch| match ch {
                ' ' | '-' => Some('_'),
                c if c.is_ascii_alphanumeric() => Some(c.to_ascii_lowercase()),
                _ => None,
            })
            .collect(),
        None => format!("class_{uid}"),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Class,
    ClassUid,
    Source,
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

impl Template {
    /// Parse `s`; `{{`/`}}` are literal braces.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut rest = s;
        while let Some(i) = rest.find(['{', '}']) {
            text.push_str(&rest[..i]);
            let tail = &rest[i..];
            if tail.starts_with("{{") || tail.starts_with("}}") {
                text.push_str(&tail[..1]);
                rest = &tail[2..];
                continue;
            }
            if tail.starts_with('}') {
                return Err(format!("`{s}`: unmatched `}}`"));
            }
            let end = tail
                .find('}')
                .ok_or_else(|| format!("`{s}`: unterminated `{{`"))?;
            let part = match &tail[1..end] {
                "class" => Part::Class,
                "class_uid" => Part::ClassUid,
                "source" => Part::Source,
                other => {
                    return Err(format!(
                        "`{s}`: unknown placeholder `{{{other}}}` (known: {{class}}, {{class_uid}}, {{source}})"
                    ))
                }
            };
            if !text.is_empty() {
                parts.push(Part::Text(std::mem::take(&mut text)));
            }
            parts.push(part);
            rest = &tail[end + 1..];
        }
        text.push_str(rest);
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok(Template { parts })
    }

    /// A template that is `s` verbatim.
    pub fn literal(s: &str) -> Self {
        Template {
            parts: vec![Part::Text(s.to_string())],
        }
    }

    /// True if the result is the same for every event.
    pub fn is_static(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Text(_)))
    }

    /// The name for an event of class `class_uid` from `source`.
    pub fn render(&self, class_uid: u32, source: &str) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Class => out.push_str(&class_slug(class_uid)),
                Part::ClassUid => out.push_str(&class_uid.to_string()),
                Part::Source => out.push_str(source),
            }
        }
        out
    }

    /// [`Template::render`] as a shared string.
    pub fn render_arc(&self, class_uid: u32, source: &str) -> Arc<str> {
        Arc::from(self.render(class_uid, source))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders() {
        let t = Template::parse("logs-ocsf.{class}-{{x}}-{source}").unwrap();
        assert_eq!(t.render(4009, "mail"), "logs-ocsf.email_activity-{x}-mail");
        assert_eq!(t.render(7, "m"), "logs-ocsf.class_7-{x}-m");
        assert!(Template::parse("{klass}").is_err());
        assert!(Template::parse("a{class").is_err());
        assert!(Template::parse("plain").unwrap().is_static());
    }
}
