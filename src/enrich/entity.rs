//! Entities: kinds, deterministic ids, and which attributes of an event
//! name one.
//!
//! **Entity id** = UUIDv5(tenant namespace, `"<kind>:<canonical key>"`),
//! where the tenant namespace is UUIDv5(`NAMESPACE_URL`,
//! `"urn:idlink:tenant:<tenant>"`). Two collectors with the same `tenant`
//! and the same canonicalisation facts (domain aliases, identity map) give
//! the same id without talking to each other; another tenant gives another
//! id for the same key.
//!
//! **Principals** read from an event, in this order (the first attribute
//! naming an entity keeps it when two name the same one):
//!
//! | attribute | role | kind hint |
//! |---|---|---|
//! | `user` | target | user (service when `type_id` = 4 Service or 3 System) |
//! | `actor.user` | actor | as above |
//! | `actor.app_uid`, else `actor.app_name` | app | service |
//! | `email.from` | sender | user |
//! | `email.to[]` (first 32) | recipient | user |
//! | `device` (`uid`, else `hostname`) | device | device |
//! | `evidences[].user`, `evidences[].email.from`/`.to[]` (findings) | actor / sender / recipient | user |
//!
//! Endpoint host names (`src_endpoint.hostname`) are left out: on mail
//! logs they are relays and MTAs, not the organisation's devices.

use std::fmt;

use idlink_parsers::ocsf::{Event, Str, User};
use uuid::Uuid;

/// What an entity is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A person.
    User,
    /// A service principal, service account, API client or OAuth app.
    Service,
    /// A device.
    Device,
    /// A shared mailbox.
    Mailbox,
}

impl Kind {
    /// The word used in ids and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::Service => "service",
            Kind::Device => "device",
            Kind::Mailbox => "mailbox",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The namespace of `tenant`'s entity ids.
pub fn tenant_namespace(tenant: &str) -> Uuid {
    Uuid::new_v5(
        &Uuid::NAMESPACE_URL,
        format!("urn:idlink:tenant:{tenant}").as_bytes(),
    )
}

/// The id of entity `kind`:`canonical` in namespace `ns`.
pub fn entity_id(ns: &Uuid, kind: Kind, canonical: &str) -> Uuid {
    let mut name = Vec::with_capacity(kind.as_str().len() + 1 + canonical.len());
    name.extend_from_slice(kind.as_str().as_bytes());
    name.push(b':');
    name.extend_from_slice(canonical.as_bytes());
    Uuid::new_v5(ns, &name)
}

/// How a principal takes part in the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The account acted on, or that signed in.
    Target,
    /// Who did it.
    Actor,
    /// The client application.
    App,
    /// Mail sender.
    Sender,
    /// Mail recipient.
    Recipient,
    /// The device.
    Device,
}

impl Role {
    /// The word used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Target => "target",
            Role::Actor => "actor",
            Role::App => "app",
            Role::Sender => "sender",
            Role::Recipient => "recipient",
            Role::Device => "device",
        }
    }
}

/// One principal named by an event, before resolution.
#[derive(Debug, Clone)]
pub struct Principal<'a> {
    /// The OCSF attribute path (`enrichments[].name`).
    pub path: &'static str,
    /// Its role.
    pub role: Role,
    /// Kind the event suggests (the identity map may say otherwise).
    pub hint: Kind,
    /// The value as written (`enrichments[].value`).
    pub raw: Str<'a>,
    /// Spellings to try against the identity map, best first.
    pub keys: [Option<Str<'a>>; 4],
}

/// Most recipients of one message that get an entity each.
pub const MAX_RECIPIENTS: usize = 32;

/// The principals `ev` names (see the module table).
pub fn principals<'a>(ev: &Event<'a>, out: &mut Vec<Principal<'a>>) {
    if let Some(u) = ev.user.as_deref() {
        push_user(out, "user", Role::Target, u);
    }
    if let Some(a) = ev.actor.as_deref() {
        if let Some(u) = a.user.as_deref() {
            push_user(out, "actor.user", Role::Actor, u);
        }
        let app = a
            .app_uid
            .as_ref()
            .filter(|s| !s.is_empty())
            .map(|v| ("actor.app_uid", v))
            .or_else(|| {
                a.app_name
                    .as_ref()
                    .filter(|s| !s.is_empty())
                    .map(|v| ("actor.app_name", v))
            });
        if let Some((path, v)) = app {
            out.push(Principal {
                path,
                role: Role::App,
                hint: Kind::Service,
                raw: v.clone(),
                keys: [Some(v.clone()), a.app_name.clone(), None, None],
            });
        }
    }
    if let Some(e) = ev.email.as_deref() {
        mail(out, "email.from", "email.to", &e.from, &e.to);
    }
    if let Some(d) = ev.device.as_deref() {
        let v = d
            .uid
            .clone()
            .filter(|s| !s.is_empty())
            .or_else(|| d.hostname.clone());
        if let Some(v) = v.filter(|s| !s.is_empty()) {
            out.push(Principal {
                path: "device",
                role: Role::Device,
                hint: Kind::Device,
                raw: v.clone(),
                keys: [Some(v), d.hostname.clone(), None, None],
            });
        }
    }
    for ev in &ev.evidences {
        if let Some(u) = ev.user.as_deref() {
            push_user(out, "evidences.user", Role::Actor, u);
        }
        if let Some(e) = ev.email.as_deref() {
            mail(
                out,
                "evidences.email.from",
                "evidences.email.to",
                &e.from,
                &e.to,
            );
        }
    }
}

fn mail<'a>(
    out: &mut Vec<Principal<'a>>,
    from_path: &'static str,
    to_path: &'static str,
    from: &Option<Str<'a>>,
    to: &[Str<'a>],
) {
    if let Some(f) = from.as_ref().filter(|s| !s.is_empty()) {
        out.push(Principal {
            path: from_path,
            role: Role::Sender,
            hint: Kind::User,
            raw: f.clone(),
            keys: [Some(f.clone()), None, None, None],
        });
    }
    for t in to.iter().filter(|s| !s.is_empty()).take(MAX_RECIPIENTS) {
        out.push(Principal {
            path: to_path,
            role: Role::Recipient,
            hint: Kind::User,
            raw: t.clone(),
            keys: [Some(t.clone()), None, None, None],
        });
    }
}

fn push_user<'a>(out: &mut Vec<Principal<'a>>, path: &'static str, role: Role, u: &User<'a>) {
    let nonempty = |s: &Option<Str<'a>>| s.clone().filter(|s| !s.is_empty());
    let keys = [
        nonempty(&u.email_addr),
        nonempty(&u.name),
        nonempty(&u.uid_alt),
        nonempty(&u.uid),
    ];
    let Some(raw) = keys.iter().flatten().next().cloned() else {
        return;
    };
    let hint = match u.type_id {
        Some(3) | Some(4) => Kind::Service,
        _ => Kind::User,
    };
    out.push(Principal {
        path,
        role,
        hint,
        raw,
        keys,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_deterministic_and_tenant_scoped() {
        let a = tenant_namespace("corp");
        let b = tenant_namespace("other");
        let x = entity_id(&a, Kind::User, "jane@corp.example");
        assert_eq!(x, entity_id(&a, Kind::User, "jane@corp.example"));
        assert_ne!(x, entity_id(&b, Kind::User, "jane@corp.example"));
        assert_ne!(x, entity_id(&a, Kind::Mailbox, "jane@corp.example"));
        assert_eq!(x.get_version_num(), 5);
        // Pinned: changing the derivation would split every stored timeline.
        assert_eq!(
            x.to_string(),
            Uuid::new_v5(
                &Uuid::new_v5(&Uuid::NAMESPACE_URL, b"urn:idlink:tenant:corp"),
                b"user:jane@corp.example"
            )
            .to_string()
        );
    }
}
