//! The log sources idlink knows: one module each, and the [`Source`] registry.
//!
//! Adding a source: a module folder here (`mod.rs` parser, `ocsf.rs`
//! mapping), one variant in [`Source`] with its name (the folder name in the
//! shared samples), and one arm in [`decoder`].

pub mod entra_audit;
pub mod entra_signin;
pub mod m365_audit;
pub mod okta;
pub mod postfix;

use crate::{Decoder, Options};

/// A log source idlink can parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Source {
    /// Postfix MTA syslog lines (and the filters that log beside it).
    Postfix,
    /// Okta System Log events (JSON LogEvent objects).
    Okta,
    /// Microsoft Entra ID sign-in logs and risk detections (Azure
    /// diagnostic records, Graph `signIn` resources, Log Analytics rows).
    EntraSignin,
    /// Microsoft Entra ID audit logs (directory audits) and Microsoft Graph
    /// activity logs.
    EntraAudit,
    /// Microsoft 365 unified audit log records.
    M365Audit,
}

/// How records of a source are delimited in a file or stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// One record per line.
    Lines,
    /// JSON objects: NDJSON, a JSON array, `{"records":[...]}`,
    /// `{"value":[...]}` or pretty-printed objects.
    Json,
}

impl Source {
    /// Every source, in the order `idlink sources` lists them.
    pub const ALL: &'static [Source] = &[
        Source::Postfix,
        Source::Okta,
        Source::EntraSignin,
        Source::EntraAudit,
        Source::M365Audit,
    ];

    /// The source's name (the folder name in the shared samples).
    pub fn name(self) -> &'static str {
        match self {
            Source::Postfix => "postfix",
            Source::Okta => "okta",
            Source::EntraSignin => "entra-signin",
            Source::EntraAudit => "entra-audit",
            Source::M365Audit => "m365-audit",
        }
    }

    /// The source called `name`.
    pub fn from_name(name: &str) -> Option<Source> {
        Source::ALL.iter().copied().find(|s| s.name() == name)
    }

    /// How its records are delimited.
    pub fn framing(self) -> Framing {
        match self {
            Source::Postfix => Framing::Lines,
            Source::Okta | Source::EntraSignin | Source::EntraAudit | Source::M365Audit => {
                Framing::Json
            }
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A fresh decoder for `source`.
pub fn decoder(source: Source, opts: &Options) -> Box<dyn Decoder> {
    match source {
        Source::Postfix => Box::new(postfix::PostfixDecoder::new(opts.clone())),
        Source::Okta => Box::new(okta::OktaDecoder::new(opts.clone())),
        Source::EntraSignin => Box::new(entra_signin::EntraSigninDecoder::new(opts.clone())),
        Source::EntraAudit => Box::new(entra_audit::EntraAuditDecoder::new(opts.clone())),
        Source::M365Audit => Box::new(m365_audit::M365AuditDecoder::new(opts.clone())),
    }
}
