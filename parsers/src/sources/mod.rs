//! The log sources idlink knows: one module each, and the [`Source`] registry.
//!
//! Adding a source: a module folder here (`mod.rs` parser, `ocsf.rs`
//! mapping), one variant in [`Source`] with its name (the folder name in the
//! shared samples), and one arm in [`decoder`].

pub mod auth0;
pub mod aws_cloudtrail;
pub mod cisco_esa;
pub mod clamav;
pub mod dovecot;
pub mod duo;
pub mod entra_audit;
pub mod entra_signin;
pub mod exchange_message_trace;
pub mod exim;
pub mod fortimail;
pub mod google_workspace;
pub mod keycloak;
pub mod m365_audit;
pub mod m365_defender_email;
pub mod mimecast;
pub mod okta;
pub mod opendkim;
pub mod opendmarc;
pub mod postfix;
pub mod proofpoint_pod;
pub mod proofpoint_tap;
pub mod rspamd;
pub mod sendmail;
pub mod spamassassin;

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
    /// Microsoft Defender for Office 365 e-mail tables (streaming API).
    M365DefenderEmail,
    /// Proofpoint TAP SIEM API messages and clicks.
    ProofpointTap,
    /// Exchange Online message trace rows.
    ExchangeMessageTrace,
    /// Cisco Secure Email Gateway (IronPort ESA) text mail logs and CEF.
    CiscoEsa,
    /// Fortinet FortiMail key=value syslog.
    Fortimail,
    /// Exim mainlog lines.
    Exim,
    /// Sendmail / sm-mta syslog lines.
    Sendmail,
    /// SpamAssassin spamd syslog lines.
    Spamassassin,
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
    /// Proofpoint on Demand log API records (message, maillog, parts).
    ProofpointPod,
    /// Mimecast e-mail security logs (JSON API records and legacy SIEM lines).
    Mimecast,
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
        Source::Okta,
        Source::EntraSignin,
        Source::EntraAudit,
        Source::M365Audit,
        Source::M365DefenderEmail,
        Source::ProofpointTap,
        Source::ExchangeMessageTrace,
        Source::CiscoEsa,
        Source::Fortimail,
        Source::Exim,
        Source::Sendmail,
        Source::Spamassassin,
        Source::Dovecot,
        Source::Rspamd,
        Source::Clamav,
        Source::Opendkim,
        Source::Opendmarc,
        Source::ProofpointPod,
        Source::Mimecast,
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
            Source::Okta => "okta",
            Source::EntraSignin => "entra-signin",
            Source::EntraAudit => "entra-audit",
            Source::M365Audit => "m365-audit",
            Source::M365DefenderEmail => "m365-defender-email",
            Source::ProofpointTap => "proofpoint-tap",
            Source::ExchangeMessageTrace => "exchange-message-trace",
            Source::CiscoEsa => "cisco-esa",
            Source::Fortimail => "fortimail",
            Source::Exim => "exim",
            Source::Sendmail => "sendmail",
            Source::Spamassassin => "spamassassin",
            Source::Dovecot => "dovecot",
            Source::Rspamd => "rspamd",
            Source::Clamav => "clamav",
            Source::Opendkim => "opendkim",
            Source::Opendmarc => "opendmarc",
            Source::ProofpointPod => "proofpoint-pod",
            Source::Mimecast => "mimecast",
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
            Source::Okta | Source::EntraSignin | Source::EntraAudit | Source::M365Audit => {
                Framing::Json
            }
            Source::M365DefenderEmail => Framing::Json,
            Source::ProofpointTap => Framing::Json,
            Source::ExchangeMessageTrace => Framing::Json,
            Source::CiscoEsa => Framing::Lines,
            Source::Fortimail => Framing::Lines,
            Source::Exim => Framing::Lines,
            Source::Sendmail => Framing::Lines,
            Source::Spamassassin => Framing::Lines,
            Source::Dovecot
            | Source::Rspamd
            | Source::Clamav
            | Source::Opendkim
            | Source::Opendmarc => Framing::Lines,
            Source::ProofpointPod => Framing::Json,
            Source::Mimecast => Framing::Lines,
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
        Source::Okta => Box::new(okta::OktaDecoder::new(opts.clone())),
        Source::EntraSignin => Box::new(entra_signin::EntraSigninDecoder::new(opts.clone())),
        Source::EntraAudit => Box::new(entra_audit::EntraAuditDecoder::new(opts.clone())),
        Source::M365Audit => Box::new(m365_audit::M365AuditDecoder::new(opts.clone())),
        Source::M365DefenderEmail => Box::new(m365_defender_email::M365DefenderEmailDecoder::new(
            opts.clone(),
        )),
        Source::ProofpointTap => Box::new(proofpoint_tap::ProofpointTapDecoder::new(opts.clone())),
        Source::ExchangeMessageTrace => Box::new(
            exchange_message_trace::ExchangeMessageTraceDecoder::new(opts.clone()),
        ),
        Source::CiscoEsa => cisco_esa::decoder(opts),
        Source::Fortimail => fortimail::decoder(opts),
        Source::Exim => exim::decoder(opts),
        Source::Sendmail => sendmail::decoder(opts),
        Source::Spamassassin => spamassassin::decoder(opts),
        Source::Dovecot => dovecot::decoder(opts),
        Source::Rspamd => rspamd::decoder(opts),
        Source::Clamav => clamav::decoder(opts),
        Source::Opendkim => opendkim::decoder(opts),
        Source::Opendmarc => opendmarc::decoder(opts),
        Source::ProofpointPod => Box::new(proofpoint_pod::ProofpointPodDecoder::new(opts.clone())),
        Source::Mimecast => Box::new(mimecast::MimecastDecoder::new(opts.clone())),
    }
}
