//! Risk tags: the table, and the stateless rules (one function per tag).
//!
//! A tag is a `&'static str`; on an event it appears as the label
//! `risk:<tag>` in `metadata.labels`, and on the entity it concerns in that
//! entity's enrichment (`data.risk`). The stateful tags (correlations) are
//! decided in [`super::correlate`]; their rows are in the same table so the
//! documentation has one list. `docs/enrichment.md` mirrors [`TAGS`] (a test
//! checks that every tag is documented).

use std::cell::RefCell;
use std::collections::HashMap;

use idlink_parsers::ocsf::Event;
use serde_json::Value;

use super::canon::{self, Canon};
use super::identity_map::IdentityMap;

/// Every tag idlink sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
#[allow(missing_docs)]
pub enum Tag {
    SpfFail,
    DkimFail,
    DmarcFail,
    LookalikeDomain,
    ExecImpersonation,
    ExternalSender,
    MaliciousUrl,
    MaliciousAttachment,
    BlockedPhish,
    PhishTarget,
    MaliciousClick,
    ImpersonationLure,
    MfaPushDenied,
    MfaMethodChange,
    PasswordReset,
    PrivilegedRoleAssignment,
    RiskyOauthConsent,
    SpNewCredential,
    LegacyAuth,
    ServiceInteractive,
    VendorRiskHigh,
    NewCountry,
    InboxRuleExternalForward,
    InboxRuleDelete,
    InboxRuleObscureFolder,
    MailboxExternalForwarding,
    FailedSigninBurst,
    RecentPhishTarget,
    MfaFatigue,
    PasswordSpray,
    BruteForceSuccess,
    ImpossibleTravel,
    ForwardingAfterRiskySignin,
}

/// One row of the tag table.
#[derive(Debug)]
pub struct TagInfo {
    /// The tag.
    pub tag: Tag,
    /// Its name (`risk:<name>`).
    pub name: &'static str,
    /// The label on events.
    pub label: &'static str,
    /// Decided per event (false) or by correlation (true).
    pub stateful: bool,
}

macro_rules! table {
    ($($t:ident $name:literal $stateful:literal),* $(,)?) => {
        /// The tag table, in [`Tag`] order.
        pub const TAGS: &[TagInfo] = &[
            $(TagInfo { tag: Tag::$t, name: $name, label: concat!("risk:", $name), stateful: $stateful }),*
        ];
    };
}

table! {
    SpfFail "spf_fail" false,
    DkimFail "dkim_fail" false,
    DmarcFail "dmarc_fail" false,
    LookalikeDomain "lookalike_domain" false,
    ExecImpersonation "exec_impersonation" false,
    ExternalSender "external_sender" false,
    MaliciousUrl "malicious_url" false,
    MaliciousAttachment "malicious_attachment" false,
    BlockedPhish "blocked_phish" false,
    PhishTarget "phish_target" false,
    MaliciousClick "malicious_click" false,
    ImpersonationLure "impersonation_lure" false,
    MfaPushDenied "mfa_push_denied" false,
    MfaMethodChange "mfa_method_change" false,
    PasswordReset "password_reset" false,
    PrivilegedRoleAssignment "privileged_role_assignment" false,
    RiskyOauthConsent "risky_oauth_consent" false,
    SpNewCredential "sp_new_credential" false,
    LegacyAuth "legacy_auth" false,
    ServiceInteractive "service_interactive" false,
    VendorRiskHigh "vendor_risk_high" false,
    NewCountry "new_country" true,
    InboxRuleExternalForward "inbox_rule_external_forward" false,
    InboxRuleDelete "inbox_rule_delete" false,
    InboxRuleObscureFolder "inbox_rule_obscure_folder" false,
    MailboxExternalForwarding "mailbox_external_forwarding" false,
    FailedSigninBurst "failed_signin_burst" true,
    RecentPhishTarget "recent_phish_target" true,
    MfaFatigue "mfa_fatigue" true,
    PasswordSpray "password_spray" true,
    BruteForceSuccess "brute_force_success" true,
    ImpossibleTravel "impossible_travel" true,
    ForwardingAfterRiskySignin "forwarding_after_risky_signin" true,
}

impl Tag {
    /// Its table row.
    pub fn info(self) -> &'static TagInfo {
        &TAGS[self as usize]
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// The tag called `name`.
    pub fn from_name(name: &str) -> Option<Tag> {
        TAGS.iter().find(|t| t.name == name).map(|t| t.tag)
    }
}

/// A small set of tags (a bit set: no allocation).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TagSet(u64);

impl TagSet {
    /// Add `t`.
    pub fn insert(&mut self, t: Tag) {
        self.0 |= 1 << (t as u8);
    }

    /// Holds `t`.
    pub fn contains(self, t: Tag) -> bool {
        self.0 & (1 << (t as u8)) != 0
    }

    /// Holds nothing.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Add every tag of `o`.
    pub fn extend(&mut self, o: TagSet) {
        self.0 |= o.0;
    }

    /// The tags, in table order: the table is in the order of the tags'
    /// numbers, so this walks the set bits from the lowest up.
    pub fn iter(self) -> impl Iterator<Item = Tag> {
        let mut bits = self.0;
        std::iter::from_fn(move || {
            if bits == 0 {
                return None;
            }
            let i = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            Some(TAGS[i].tag)
        })
    }
}

/// Facts the rules need besides the event.
pub struct TagCtx<'c> {
    /// Domain folding and local domains.
    pub canon: &'c Canon,
    /// Protected domains (canonical) with their confusable skeletons.
    pub protected: &'c [(String, String)],
    /// The identity map (executives).
    pub map: &'c IdentityMap,
    /// Per-stage memo of verdicts that depend only on the sender: domain →
    /// lookalike, address → lure. Senders repeat, and the skeleton and
    /// edit-distance work is the costly part of mail tagging.
    pub memo: &'c RefCell<SenderMemo>,
}

/// Cached sender verdicts (cleared when large).
#[derive(Debug, Default)]
pub struct SenderMemo {
    lookalike: HashMap<String, bool, foldhash::fast::RandomState>,
    lure: HashMap<String, bool, foldhash::fast::RandomState>,
}

/// Entries each memo holds before it is cleared.
const MEMO_CAP: usize = 8_192;

fn memo(
    m: &mut HashMap<String, bool, foldhash::fast::RandomState>,
    key: &str,
    f: impl FnOnce() -> bool,
) -> bool {
    if let Some(v) = m.get(key) {
        return *v;
    }
    let v = f();
    if m.len() >= MEMO_CAP {
        m.clear();
    }
    m.insert(key.to_string(), v);
    v
}

// OCSF classes.
const AUTHENTICATION: i32 = 3002;
const ACCOUNT_CHANGE: i32 = 3001;
const USER_ACCESS: i32 = 3005;
const GROUP_MGMT: i32 = 3006;
const ENTITY_MGMT: i32 = 3004;
const API_ACTIVITY: i32 = 6003;
const EMAIL_ACTIVITY: i32 = 4009;
const HTTP_ACTIVITY: i32 = 4002;
const DETECTION_FINDING: i32 = 2004;

/// The stateless tags of `ev`.
pub fn evaluate(ev: &Event<'_>, cx: &TagCtx<'_>) -> TagSet {
    let mut s = TagSet::default();
    let class = ev.class_uid.unwrap_or(0);
    let mut add = |on: bool, t: Tag| {
        if on {
            s.insert(t)
        }
    };
    match class {
        EMAIL_ACTIVITY => {
            add(auth_fails(ev, |a| a.spf.as_deref()), Tag::SpfFail);
            add(auth_fails(ev, |a| a.dkim.as_deref()), Tag::DkimFail);
            add(auth_fails(ev, |a| a.dmarc.as_deref()), Tag::DmarcFail);
            let external = external_sender(ev, cx);
            add(external, Tag::ExternalSender);
            add(lookalike_domain(ev, cx), Tag::LookalikeDomain);
            add(
                external && exec_impersonation(ev, cx),
                Tag::ExecImpersonation,
            );
            add(
                external && impersonation_lure(ev, cx),
                Tag::ImpersonationLure,
            );
            add(malicious_url(ev), Tag::MaliciousUrl);
            add(malicious_attachment(ev), Tag::MaliciousAttachment);
            add(blocked_phish(ev), Tag::BlockedPhish);
        }
        DETECTION_FINDING => {
            add(malicious_url(ev), Tag::MaliciousUrl);
            add(malicious_attachment(ev), Tag::MaliciousAttachment);
            add(blocked_phish(ev), Tag::BlockedPhish);
        }
        HTTP_ACTIVITY => add(malicious_click(ev), Tag::MaliciousClick),
        AUTHENTICATION => {
            add(mfa_push_denied(ev), Tag::MfaPushDenied);
            add(legacy_auth(ev), Tag::LegacyAuth);
            add(vendor_new_country(ev), Tag::NewCountry);
        }
        ACCOUNT_CHANGE => {
            add(mfa_method_change(ev), Tag::MfaMethodChange);
            add(password_reset(ev), Tag::PasswordReset);
        }
        USER_ACCESS | GROUP_MGMT => {
            add(
                privileged_role_assignment(ev),
                Tag::PrivilegedRoleAssignment,
            );
            add(risky_oauth_consent(ev), Tag::RiskyOauthConsent);
        }
        ENTITY_MGMT => add(sp_new_credential(ev), Tag::SpNewCredential),
        API_ACTIVITY => {
            add(sp_new_credential(ev), Tag::SpNewCredential);
            if let Some(r) = inbox_rule(ev, cx) {
                add(r.external_forward, Tag::InboxRuleExternalForward);
                add(r.delete, Tag::InboxRuleDelete);
                add(r.obscure_folder, Tag::InboxRuleObscureFolder);
                add(r.mailbox_forward, Tag::MailboxExternalForwarding);
            }
        }
        _ => {}
    }
    add(vendor_risk_high(ev), Tag::VendorRiskHigh);
    s
}

/// Is this a (flagged) malicious message: recipients are phish targets.
pub fn malicious_message(ev: &Event<'_>) -> bool {
    match ev.class_uid {
        Some(EMAIL_ACTIVITY) => {
            ev.is_alert == Some(true) && ev.severity_id.unwrap_or(0) >= 4 || !ev.malware.is_empty()
        }
        Some(DETECTION_FINDING) => threat_types(ev),
        _ => false,
    }
}

fn ieq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn contains_ci(hay: &str, needle: &str) -> bool {
    hay.to_ascii_lowercase().contains(needle)
}

fn auth_fails<'e>(
    ev: &'e Event<'_>,
    f: impl Fn(&'e idlink_parsers::ocsf::EmailAuth<'_>) -> Option<&'e str>,
) -> bool {
    ev.email_auth.as_deref().and_then(f).is_some_and(|v| {
        let v = v.trim();
        ieq(v, "fail") || ieq(v, "softfail") || ieq(v, "permerror") || ieq(v, "hardfail")
    })
}

/// The sender address: header From, else the envelope sender.
fn sender<'e>(ev: &'e Event<'_>) -> Option<&'e str> {
    let e = ev.email.as_deref()?;
    e.from
        .as_deref()
        .or(e.return_path.as_deref())
        .filter(|s| !s.is_empty())
}

fn sender_domain<'e>(ev: &'e Event<'_>, cx: &TagCtx<'_>) -> Option<std::borrow::Cow<'e, str>> {
    sender(ev).and_then(|s| cx.canon.address_domain(s))
}

/// Mail from outside: inbound, or a sender domain that is not local.
fn external_sender(ev: &Event<'_>, cx: &TagCtx<'_>) -> bool {
    if matches!(ev.direction_id, Some(2) | Some(3)) {
        return false; // outbound, internal
    }
    if ev.direction_id == Some(1) {
        return true;
    }
    if cx.canon.local_domains().is_empty() {
        return false;
    }
    sender_domain(ev, cx).is_some_and(|d| !cx.canon.is_local(&d))
}

/// The skeleton (UTS #39 confusables) of a domain, punycode decoded.
pub fn skeleton(domain: &str) -> String {
    let unicode = if domain.contains("xn--") {
        idna::domain_to_unicode(domain).0
    } else {
        domain.to_string()
    };
    unicode_security::skeleton(&unicode)
        .collect::<String>()
        .to_lowercase()
}

/// The domain without its last label and separators: `corp-example.test`
/// → `corpexample`.
fn squash(domain: &str) -> String {
    let body = domain.rsplit_once('.').map_or(domain, |(b, _)| b);
    body.chars().filter(|c| *c != '.' && *c != '-').collect()
}

/// Is `d` made to look like protected domain `p` (skeleton = the
/// protected domain's skeleton)?
pub fn looks_like(d: &str, p: &str, p_skeleton: &str) -> bool {
    if d == p || d.ends_with(&format!(".{p}")) {
        return false;
    }
    if skeleton(d) == p_skeleton {
        return true;
    }
    let max = if p.len() <= 8 { 1 } else { 2 };
    if strsim::damerau_levenshtein(d, p) <= max {
        return true;
    }
    let (sd, sp) = (squash(d), squash(p));
    if sp.len() >= 4 && sd.len() >= 4 {
        // Separators moved or TLD swapped (`corp-example.test` for
        // `corp.example`, `corpexample.com`), or one typo in the name.
        let pfull: String = p.chars().filter(|c| *c != '.' && *c != '-').collect();
        if sd == pfull || sd == sp || strsim::damerau_levenshtein(&sd, &sp) <= max.min(1) {
            return true;
        }
    }
    false
}

fn lookalike_domain(ev: &Event<'_>, cx: &TagCtx<'_>) -> bool {
    let Some(d) = sender_domain(ev, cx) else {
        return false;
    };
    if cx.canon.is_local(&d) {
        return false;
    }
    let mut m = cx.memo.borrow_mut();
    memo(&mut m.lookalike, &d, || {
        cx.protected.iter().any(|(p, sk)| looks_like(&d, p, sk))
    })
}

fn exec_impersonation(ev: &Event<'_>, cx: &TagCtx<'_>) -> bool {
    if cx.map.is_empty() {
        return false;
    }
    let from_name = sender(ev).and_then(canon::display_name);
    let vendor_name = unmapped_str(ev, &["SenderDisplayName"])
        .or_else(|| unmapped_str(ev, &["postfix", "from_display_name"]));
    from_name
        .into_iter()
        .chain(vendor_name)
        .any(|n| cx.map.executive_named(n).is_some())
}

/// Sender or subject words of help-desk, payroll, cloud-admin and SaaS
/// lures.
const LURES: &[&str] = &[
    // help desk
    "helpdesk",
    "help desk",
    "service desk",
    "servicedesk",
    "it support",
    "itsupport",
    "it department",
    "tech support",
    // payroll / HR
    "payroll",
    "salary",
    "direct deposit",
    "paycheck",
    "hr department",
    "human resources",
    // cloud admin
    "microsoft 365",
    "office 365",
    "office365",
    "microsoft account team",
    "mailbox administrator",
    "email administrator",
    "admin team",
    "password expir",
    "mailbox quota",
    "account suspended",
    // SaaS providers
    "docusign",
    "sharepoint",
    "onedrive",
    "dropbox",
    "adobe sign",
    "okta",
    "google workspace",
    "salesforce",
    "zoom",
];

fn lure_text(t: &str) -> bool {
    let norm: String = t
        .chars()
        .map(|c| match c {
            '.' | '-' | '_' | '"' => ' ',
            c => c.to_ascii_lowercase(),
        })
        .collect();
    LURES.iter().any(|l| norm.contains(l))
}

fn impersonation_lure(ev: &Event<'_>, cx: &TagCtx<'_>) -> bool {
    if let Some(s) = sender(ev) {
        let mut m = cx.memo.borrow_mut();
        if memo(&mut m.lure, s, || lure_text(s)) {
            return true;
        }
    }
    let subject = ev.email.as_deref().and_then(|e| e.subject.as_deref());
    let display = unmapped_str(ev, &["SenderDisplayName"]);
    subject.into_iter().chain(display).any(lure_text)
}

fn malicious_url(ev: &Event<'_>) -> bool {
    match ev.class_uid {
        Some(EMAIL_ACTIVITY) => {
            ev.is_alert == Some(true) && ev.email.as_deref().is_some_and(|e| !e.urls.is_empty())
        }
        Some(DETECTION_FINDING) => {
            ev.evidences.iter().any(|e| e.url.is_some()) || ev.src_url.is_some()
        }
        _ => false,
    }
}

fn malicious_attachment(ev: &Event<'_>) -> bool {
    match ev.class_uid {
        Some(EMAIL_ACTIVITY) => !ev.malware.is_empty(),
        Some(DETECTION_FINDING) => ev.evidences.iter().any(|e| e.file.is_some()),
        _ => false,
    }
}

/// Quarantined, blocked, deleted, dropped or rejected.
fn blocking(ev: &Event<'_>) -> bool {
    matches!(ev.disposition_id, Some(2 | 3 | 5 | 6 | 25))
}

fn threat_types(ev: &Event<'_>) -> bool {
    ev.finding_info.as_deref().is_some_and(|f| {
        f.types.iter().any(|t| {
            let t = t.to_ascii_lowercase();
            t.contains("phish") || t.contains("malware") || t.contains("imperson")
        })
    })
}

fn blocked_phish(ev: &Event<'_>) -> bool {
    blocking(ev) && malicious_message(ev)
}

fn malicious_click(ev: &Event<'_>) -> bool {
    ev.is_alert == Some(true) || !ev.malware.is_empty()
}

fn mfa_push_denied(ev: &Event<'_>) -> bool {
    if ev.status_id != Some(2) {
        return false;
    }
    let push = ev.auth_factors.iter().any(|f| f.factor_type_id == Some(5));
    let code = ev
        .metadata
        .as_deref()
        .and_then(|m| m.event_code.as_deref())
        .is_some_and(|c| contains_ci(c, "deny_push"));
    let detail = ev.status_detail.as_deref().is_some_and(|d| {
        let d = d.to_ascii_lowercase();
        d.contains("mfa denied") || d.contains("declined the authentication")
    });
    push || code || detail
}

/// An MFA push approved (for fatigue): a successful sign-in with a push
/// factor.
pub fn mfa_push_approved(ev: &Event<'_>) -> bool {
    ev.class_uid == Some(AUTHENTICATION)
        && ev.status_id == Some(1)
        && ev.auth_factors.iter().any(|f| f.factor_type_id == Some(5))
}

/// Client apps Entra ID reports for legacy (basic) authentication.
const LEGACY_CLIENTS: &[&str] = &[
    "exchange activesync",
    "exchange web services",
    "imap4",
    "imap",
    "pop3",
    "pop",
    "mapi over http",
    "offline address book",
    "other clients",
    "outlook anywhere (rpc over http)",
    "authenticated smtp",
    "smtp",
    "autodiscover",
    "exchange online powershell",
    "reporting web services",
    "universal outlook",
];

fn legacy_auth(ev: &Event<'_>) -> bool {
    // NTLM, PAP, CHAP, Basic.
    if matches!(ev.auth_protocol_id, Some(1 | 7 | 8 | 11)) {
        return true;
    }
    let client = unmapped_str(ev, &["entra", "clientAppUsed"])
        .or_else(|| unmapped_str(ev, &["m365", "extended_properties", "ClientAppUsed"]));
    client.is_some_and(|c| LEGACY_CLIENTS.iter().any(|l| ieq(c.trim(), l)))
}

fn vendor_new_country(ev: &Event<'_>) -> bool {
    unmapped_str(ev, &["okta", "behaviors", "New Country"]).is_some_and(|v| ieq(v, "POSITIVE"))
}

fn vendor_risk_high(ev: &Event<'_>) -> bool {
    ev.risk_level_id.is_some_and(|r| (3..=4).contains(&r))
        || ev
            .user
            .as_deref()
            .and_then(|u| u.risk_level_id)
            .is_some_and(|r| (3..=4).contains(&r))
}

fn mfa_method_change(ev: &Event<'_>) -> bool {
    matches!(ev.activity_id, Some(10 | 11))
}

fn password_reset(ev: &Event<'_>) -> bool {
    ev.activity_id == Some(4)
}

/// An OAuth consent (or delegated permission grant), not a role.
pub fn is_consent(ev: &Event<'_>) -> bool {
    ev.class_uid == Some(USER_ACCESS)
        && ev
            .metadata
            .as_deref()
            .and_then(|m| m.event_code.as_deref())
            .is_some_and(|c| {
                let c = c.to_ascii_lowercase();
                c.contains("consent") || c.contains("permission grant") || c.contains("oauth2")
            })
}

/// Words of privileged roles and groups.
const PRIVILEGED: &[&str] = &[
    "admin",
    "owner",
    "privileged",
    "global",
    "superuser",
    "super user",
    "root",
    "security operator",
];

fn privileged_name(s: &str) -> bool {
    let s = s.to_ascii_lowercase();
    PRIVILEGED.iter().any(|w| s.contains(w))
}

fn privileged_role_assignment(ev: &Event<'_>) -> bool {
    match ev.class_uid {
        Some(USER_ACCESS) => {
            ev.activity_id == Some(1)
                && !is_consent(ev)
                && (ev.privileges.iter().any(|p| privileged_name(p))
                    || ev
                        .privileges
                        .join(" ")
                        .to_ascii_lowercase()
                        .contains("global administrator"))
        }
        Some(GROUP_MGMT) => {
            // Adding a member to an admin group, or granting a group a
            // privileged role.
            matches!(ev.activity_id, Some(1) | Some(3))
                && (ev.privileges.iter().any(|p| privileged_name(p))
                    || ev
                        .group
                        .as_deref()
                        .and_then(|g| g.name.as_deref())
                        .is_some_and(privileged_name))
        }
        _ => false,
    }
}

/// Scopes that read or send mail, keep access offline, or administer the
/// directory (compared without the resource URL, any case).
const HIGH_SCOPES: &[&str] = &[
    "mail.read",
    "mail.readwrite",
    "mail.send",
    "mail.read.shared",
    "mail.readwrite.shared",
    "mail.send.shared",
    "mailboxsettings.readwrite",
    "offline_access",
    "full_access_as_app",
    "full_access_as_user",
    "ews.accessasuser.all",
    "imap.accessasuser.all",
    "pop.accessasuser.all",
    "smtp.send",
    "files.read.all",
    "files.readwrite.all",
    "sites.readwrite.all",
    "sites.fullcontrol.all",
    "directory.readwrite.all",
    "directory.accessasuser.all",
    "user.readwrite.all",
    "application.readwrite.all",
    "approleassignment.readwrite.all",
    "rolemanagement.readwrite.directory",
    "https://mail.google.com/",
    "okta.users.manage",
    "okta.apps.manage",
    "okta.groups.manage",
];

/// Is `scope` a high-privilege OAuth scope?
pub fn high_scope(scope: &str) -> bool {
    let s = scope.trim();
    if HIGH_SCOPES.iter().any(|h| ieq(s, h)) {
        return true;
    }
    let last = s.rsplit('/').next().unwrap_or(s);
    !last.is_empty() && HIGH_SCOPES.iter().any(|h| ieq(last, h))
}

fn risky_oauth_consent(ev: &Event<'_>) -> bool {
    is_consent(ev)
        && ev.activity_id == Some(1)
        && ev
            .privileges
            .iter()
            .flat_map(|p| p.split([' ', ',']))
            .any(high_scope)
}

fn sp_new_credential(ev: &Event<'_>) -> bool {
    let Some(code) = ev.metadata.as_deref().and_then(|m| m.event_code.as_deref()) else {
        return false;
    };
    let c = code.to_ascii_lowercase();
    (c.contains("service principal credentials") && !c.starts_with("remove"))
        || c.contains("certificates and secrets")
        || c == "system.api_token.create"
        || c.contains("add service principal credential")
}

/// What an inbox-rule or mailbox-forwarding event does.
#[derive(Debug, Default, Clone, Copy)]
pub struct RuleEffects {
    /// Forwards or redirects outside the organisation.
    pub external_forward: bool,
    /// Deletes messages.
    pub delete: bool,
    /// Moves messages to a folder users rarely open.
    pub obscure_folder: bool,
    /// Mailbox-level forwarding outside.
    pub mailbox_forward: bool,
}

impl RuleEffects {
    /// Any persistence at all.
    pub fn any(self) -> bool {
        self.external_forward || self.delete || self.obscure_folder || self.mailbox_forward
    }
}

/// Folders attackers hide mail in (English and French client names).
const OBSCURE_FOLDERS: &[&str] = &[
    "rss feeds",
    "rss subscriptions",
    "conversation history",
    "archive",
    "junk email",
    "notes",
    "sync issues",
    "scheduled",
    "historique des conversations",
    "flux rss",
    "courrier indésirable",
];

const DELETED_FOLDERS: &[&str] = &["deleted items", "éléments supprimés", "recoverable items"];

fn external_addr(addr: &str, cx: &TagCtx<'_>) -> bool {
    match cx.canon.address_domain(addr) {
        Some(d) => !cx.canon.is_local(&d),
        // `ForwardingAddress` may name a mail contact, not an address;
        // only an address says outside.
        None => false,
    }
}

/// Effects of an M365 inbox-rule / mailbox event (`None` for other
/// events).
pub fn inbox_rule(ev: &Event<'_>, cx: &TagCtx<'_>) -> Option<RuleEffects> {
    let code = ev.metadata.as_deref()?.event_code.as_deref()?;
    let is_rule = [
        "New-InboxRule",
        "Set-InboxRule",
        "UpdateInboxRules",
        "Enable-InboxRule",
    ]
    .iter()
    .any(|c| ieq(code, c));
    let is_mailbox = ieq(code, "Set-Mailbox");
    if !is_rule && !is_mailbox {
        return None;
    }
    let m365 = unmapped_value(ev, &["m365"]);
    let mut fx = RuleEffects::default();
    let forwards = m365
        .and_then(|m| m.get("forwarding"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|f| f.get("address").and_then(Value::as_str))
                .any(|a| external_addr(a, cx))
        })
        .unwrap_or(false);
    if is_mailbox {
        fx.mailbox_forward = forwards;
        return Some(fx);
    }
    fx.external_forward = forwards;
    let params = m365.and_then(|m| m.pointer("/rule/parameters"));
    if let Some(p) = params {
        let truthy = |k: &str| {
            p.get(k)
                .and_then(Value::as_str)
                .is_some_and(|v| ieq(v, "true"))
        };
        fx.delete |=
            truthy("DeleteMessage") || truthy("SoftDeleteMessage") || truthy("PermanentDelete");
        if let Some(f) = p.get("MoveToFolder").and_then(Value::as_str) {
            let f = f.trim().trim_start_matches('\\').to_lowercase();
            fx.delete |= DELETED_FOLDERS.contains(&f.as_str());
            fx.obscure_folder |= OBSCURE_FOLDERS.contains(&f.as_str());
        }
    }
    // UpdateInboxRules (Outlook clients): actions are a JSON string.
    let actions = m365
        .and_then(|m| m.pointer("/rule/operation_properties/RuleActions"))
        .and_then(Value::as_str)
        .and_then(|s| serde_json::from_str::<Value>(s).ok());
    if let Some(Value::Array(acts)) = actions {
        for a in &acts {
            let kind = a.get("ActionType").and_then(Value::as_str).unwrap_or("");
            let k = kind.to_ascii_lowercase();
            if k.contains("forward") || k.contains("redirect") {
                let rcpts = a.get("Recipients").and_then(Value::as_array);
                fx.external_forward |= rcpts.is_some_and(|r| {
                    r.iter()
                        .filter_map(Value::as_str)
                        .any(|x| external_addr(x, cx))
                });
            }
            if k == "delete" || k == "permanentdelete" {
                fx.delete = true;
            }
        }
    }
    Some(fx)
}

/// A part of `unmapped` built as a JSON value.
fn unmapped_value<'e>(ev: &'e Event<'_>, path: &[&str]) -> Option<&'e Value> {
    let (first, rest) = path.split_first()?;
    let mut v = ev.unmapped.as_ref()?.get(first)?;
    for k in rest {
        v = v.get(*k)?;
    }
    Some(v)
}

/// A string in `unmapped`, whether that part was built as a value or kept
/// borrowed from the record (Okta).
fn unmapped_str<'e>(ev: &'e Event<'_>, path: &[&str]) -> Option<&'e str> {
    ev.unmapped.as_ref()?.str_at(path)
}

/// Country of the sign-in source, as written (ISO code or name).
pub fn country<'e>(ev: &'e Event<'_>) -> Option<&'e str> {
    ev.src_endpoint
        .as_deref()?
        .location
        .as_deref()?
        .country
        .as_deref()
        .filter(|c| !c.is_empty())
}

/// Latitude and longitude of the sign-in source.
pub fn geo(ev: &Event<'_>) -> Option<(f64, f64)> {
    let l = ev.src_endpoint.as_deref()?.location.as_deref()?;
    Some((l.lat?, l.long?))
}

#[cfg(test)]
mod tests;
