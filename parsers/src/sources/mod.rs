//! The log sources idlink knows: one module each, and the [`Source`] registry.
//!
//! Adding a source: a module folder here (`mod.rs` parser, `ocsf.rs`
//! mapping), one variant in [`Source`] with its name (the folder name in the
//! shared samples), and one arm in [`decoder`].

pub mod auth0;
pub mod aws_cloudtrail;
pub mod clamav;
pub mod dovecot;
pub mod duo;
pub mod google_workspace;
pub mod keycloak;
pub mod opendkim;
pub mod opendmarc;
pub mod postfix;
pub mod rspamd;

use crate::{Decoder, Options};

/// A log source idlink can parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Source {
    /// Postfix MTA syslog lines (and the filters that log beside it).
    Postfix,
    /// Google Workspace Admin SDK Reports API activities.
    GoogleWorkspace,
    /// Duo Admin API logs (authentication, administrator, telephony, offline).
    Duo,
    /// Keycloak events (JSON event records and server log lines).
    Keycloak,
    /// Auth0 tenant logs.
    Auth0,
    /// AWS CloudTrail records.
    AwsCloudtrail,
    /// Dovecot log lines (IMAP/POP3/LMTP, SASL backend).
    Dovecot,
    /// rspamd log lines (scan results).
    Rspamd,
    /// ClamAV clamd and clamav-milter log lines.
    Clamav,
    /// OpenDKIM syslog lines.
    Opendkim,
    /// OpenDMARC syslog lines.
    Opendmarc,
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
        Source::GoogleWorkspace,
        Source::Duo,
        Source::Keycloak,
        Source::Auth0,
        Source::AwsCloudtrail,
        Source::Dovecot,
        Source::Rspamd,
        Source::Clamav,
        Source::Opendkim,
        Source::Opendmarc,
    ];

    /// The source's name (the folder name in the shared samples).
    pub fn name(self) -> &'static str {
        match self {
            Source::Postfix => "postfix",
            Source::GoogleWorkspace => "google-workspace",
            Source::Duo => "duo",
            Source::Keycloak => "keycloak",
            Source::Auth0 => "auth0",
            Source::AwsCloudtrail => "aws-cloudtrail",
            Source::Dovecot => "dovecot",
            Source::Rspamd => "rspamd",
            Source::Clamav => "clamav",
            Source::Opendkim => "opendkim",
            Source::Opendmarc => "opendmarc",
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
            Source::GoogleWorkspace => Framing::Json,
            Source::Duo => Framing::Json,
            Source::Keycloak => Framing::Lines,
            Source::Auth0 => Framing::Json,
            Source::AwsCloudtrail => Framing::Json,
            Source::Dovecot
            | Source::Rspamd
            | Source::Clamav
            | Source::Opendkim
            | Source::Opendmarc => Framing::Lines,
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
        Source::GoogleWorkspace => google_workspace::decoder(opts),
        Source::Duo => duo::decoder(opts),
        Source::Keycloak => keycloak::decoder(opts),
        Source::Auth0 => auth0::decoder(opts),
        Source::AwsCloudtrail => aws_cloudtrail::decoder(opts),
        Source::Dovecot => dovecot::decoder(opts),
        Source::Rspamd => rspamd::decoder(opts),
        Source::Clamav => clamav::decoder(opts),
        Source::Opendkim => opendkim::decoder(opts),
        Source::Opendmarc => opendmarc::decoder(opts),
    }
}
