//! Microsoft 365 audit records → OCSF 1.8.0.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::product;
use crate::common::jtree::{ip_of, set_other_activity, J};
use crate::ocsf::{
    enum_caption, status, Actor, Api, ClassInfo, Event, FindingInfo, Group, HttpRequest,
    ManagedEntity, NetworkEndpoint, ResourceDetails, Service, Str, User, WebResource,
    ACCOUNT_CHANGE, API_ACTIVITY, AUTHENTICATION, DETECTION_FINDING, ENTITY_MANAGEMENT,
    GROUP_MANAGEMENT, USER_ACCESS, WEB_RESOURCES_ACTIVITY,
};
use crate::sources::entra_signin::ms;
use crate::Options;

/// What an operation becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Auth(bool),
    Account(i32),
    Group(i32),
    Access(i32),
    Entity(i32),
    /// Mailbox and admin operations (inbox rules, Set-Mailbox, item
    /// access): API Activity.
    Api(i32),
    Web(i32),
    Finding,
    /// Not mapped yet: API Activity Other, flagged fallback.
    Unknown,
}

pub(super) fn classify(workload: &str, op: &str) -> Kind {
    use Kind::*;
    let o = op.trim_end_matches('.').to_ascii_lowercase();
    match o.as_str() {
        "userloggedin" => return Auth(true),
        "userloginfailed" => return Auth(false),
        "new-inboxrule" | "new-transportrule" => return Api(1),
        "set-inboxrule"
        | "enable-inboxrule"
        | "disable-inboxrule"
        | "updateinboxrules"
        | "set-mailbox"
        | "set-transportrule"
        | "add-mailboxpermission"
        | "add-recipientpermission"
        | "set-ownerauthentication" => return Api(3),
        "remove-inboxrule" | "remove-mailboxpermission" | "remove-transportrule" => return Api(4),
        "mailitemsaccessed" | "searchqueryinitiatedexchange" => return Api(2),
        "create" | "send" | "sendas" | "sendonbehalf" => return Api(1),
        "update" | "move" | "movetodeleteditems" => return Api(3),
        "harddelete" | "softdelete" => return Api(4),
        "consent to application"
        | "add delegated permission grant"
        | "add app role assignment grant to user"
        | "add app role assignment to service principal" => return Access(1),
        "add member to role" | "add eligible member to role" => return Access(1),
        "remove member from role" | "remove delegated permission grant" => return Access(2),
        "add member to group" => return Group(3),
        "remove member from group" => return Group(4),
        "add group" => return Group(6),
        "delete group" => return Group(5),
        "change user password" => return Account(3),
        "reset user password" | "set force change user password" => return Account(4),
        "add user" => return Account(1),
        "delete user" => return Account(6),
        "update user" => return Account(99),
        "alerttriggered"
        | "alertupdated"
        | "alertentitygenerated"
        | "atpdetection"
        | "timaildata"
        | "airinvestigationdata"
        | "filemalwaredetected" => return Finding,
        _ => {}
    }
    match workload {
        "AzureActiveDirectory" => match verb(&o) {
            Some(a) => Entity(a),
            None => Unknown,
        },
        "SharePoint" | "OneDrive" => Web(match o.as_str() {
            "fileaccessed" | "filepreviewed" | "listviewed" | "pageviewed" | "filevisited" => 2,
            "filedownloaded" | "filesyncdownloadedfull" => 7,
            "fileuploaded" | "filesyncuploadedfull" => 6,
            _ if o.starts_with("filemodified") || o.starts_with("filerenamed") => 3,
            "filedeleted" | "filerecycled" => 4,
            _ if o.contains("sharing")
                || o.contains("securelink")
                || o.contains("accessrequest") =>
            {
                8
            }
            _ => 99,
        }),
        _ => Unknown,
    }
}

fn verb(o: &str) -> Option<i32> {
    let v = o.split_whitespace().next().unwrap_or("");
    Some(match v {
        "add" | "create" => 1,
        "get" | "list" => 2,
        "update" | "set" | "change" | "verify" => 3,
        "delete" | "remove" | "hard" => 4,
        "enable" | "restore" => 8,
        "disable" => 9,
        _ => return None,
    })
}

/// `[{Name, Value}]` lists (Parameters, ExtendedProperties,
/// OperationProperties) as a map.
fn name_values(v: &J<'_>) -> Map<String, Value> {
    let mut m = Map::new();
    for p in v.arr() {
        if let Some(k) = p.get("Name").str() {
            m.insert(k.to_string(), p.get("Value").to_value());
        }
    }
    m
}

fn nv<'a>(v: &J<'a>, name: &str) -> Option<Str<'a>> {
    v.arr()
        .iter()
        .find(|p| {
            p.get("Name")
                .str()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
        .and_then(|p| p.get("Value").text())
}

fn modified<'a>(r: &J<'a>, name: &str) -> Option<Str<'a>> {
    r.get("ModifiedProperties")
        .arr()
        .iter()
        .find(|p| p.get("Name").str() == Some(name))
        .and_then(|p| p.get("NewValue").text())
}

fn user_type(t: &J<'_>) -> Option<(i32, Option<Str<'static>>)> {
    let id = match t {
        J::Num(_) => t.i64()?,
        J::Str(s) => match s.as_ref() {
            "Regular" => 0,
            "Admin" => 2,
            "DcAdmin" => 3,
            "System" => 4,
            "Application" => 5,
            "ServicePrincipal" => 6,
            _ => return None,
        },
        _ => return None,
    };
    Some(match id {
        0 | 1 => (1, None),
        2 | 3 => (2, None),
        4 => (3, None),
        5 | 6 => (4, None),
        _ => (99, Some(Cow::Owned(format!("UserType {id}")))),
    })
}

fn subject_user<'a>(j: &J<'a>) -> Option<User<'a>> {
    let (tid, label) = user_type(j.get("UserType")).unzip();
    ms::user(None, j.get("UserId").text(), None, tid, label.flatten())
}

/// Fields Log Analytics (`OfficeActivity`) writes as strings holding JSON.
const NESTED: &[&str] = &[
    "Parameters",
    "OperationProperties",
    "ExtendedProperties",
    "ModifiedProperties",
    "Folders",
    "Item",
    "AffectedItems",
    "Actor",
    "Target",
    "DeviceProperties",
];

/// Parse the string-encoded lists of a Log Analytics row in place, so both
/// shapes map alike.
pub(super) fn unnest<'r, 'a>(j: &'r mut J<'a>) -> &'r J<'a> {
    if let J::Obj(members) = j {
        for (k, v) in members.iter_mut() {
            if NESTED.contains(&k.as_ref()) && matches!(v, J::Str(_)) {
                if let Cow::Owned(parsed) = v.nested() {
                    *v = parsed;
                }
            }
        }
    }
    j
}

/// Parameter values that send mail elsewhere (inbox rules, Set-Mailbox).
const FORWARD_KEYS: &[&str] = &[
    "ForwardTo",
    "RedirectTo",
    "ForwardAsAttachmentTo",
    "ForwardingSmtpAddress",
    "ForwardingAddress",
];

pub(super) fn map<'a>(j: &J<'a>, record: &'a [u8], opts: &Options) -> Option<Event<'a>> {
    let op = j.get("Operation").text()?;
    let workload = j
        .get("Workload")
        .text()
        .or_else(|| j.get("OfficeWorkload").text())
        .unwrap_or(Cow::Borrowed("Unknown"));
    let kind = classify(&workload, &op);
    let (class, activity): (&ClassInfo, i32) = match kind {
        Kind::Auth(_) => (&AUTHENTICATION, 1),
        Kind::Account(a) => (&ACCOUNT_CHANGE, a),
        Kind::Group(a) => (&GROUP_MANAGEMENT, a),
        Kind::Access(a) => (&USER_ACCESS, a),
        Kind::Entity(a) => (&ENTITY_MANAGEMENT, a),
        Kind::Api(a) => (&API_ACTIVITY, a),
        Kind::Web(a) => (&WEB_RESOURCES_ACTIVITY, a),
        Kind::Finding => (&DETECTION_FINDING, 1),
        Kind::Unknown => (&API_ACTIVITY, 99),
    };
    let r = ms::Rec::new(j);
    let (time, original) = ms::time(&r, &["CreationTime", "TimeGenerated"], opts);
    let mut ev = Event::new(class, activity, time);
    if activity == 99 {
        set_other_activity(&mut ev, op.clone());
    }
    ms::metadata(
        &mut ev,
        product(),
        Cow::Owned(format!("Audit.{workload}")),
        original,
        j.get("Id").text().or_else(|| j.get("OfficeId").text()),
        Some(op.clone()),
        j.get("OrganizationId")
            .text()
            .or_else(|| j.get("TenantId").text()),
        None,
    );
    match j
        .get("ResultStatus")
        .str()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("succeeded") | Some("success") | Some("true") | Some("partiallysucceeded") => {
            ev.set_status(status::SUCCESS, None)
        }
        Some("failed") | Some("failure") | Some("false") => ev.set_status(status::FAILURE, None),
        _ => {}
    }
    let ext = j.get("ExtendedProperties");
    let ip = [
        "ClientIP",
        "ClientIPAddress",
        "ActorIpAddress",
        "ClientIp",
        "Client_IPAddress",
    ]
    .iter()
    .find_map(|k| {
        j.get(k)
            .str()
            .and_then(ip_of)
            .map(|s| Cow::Owned(s.to_string()))
    });
    let ua = nv(ext, "UserAgent")
        .or_else(|| j.get("UserAgent").text())
        .or_else(|| j.get("ClientInfoString").text());
    let actor_user = subject_user(j);
    let mut actor = Actor {
        user: actor_user.clone().map(Box::new),
        app_uid: j
            .get("AppId")
            .text()
            .or_else(|| j.get("ClientAppId").text()),
        ..Default::default()
    };
    if actor.user.is_none() && actor.app_uid.is_none() {
        actor.app_name = Some(workload.clone());
    }
    let mut m365 = Map::new();
    let fallback = kind == Kind::Unknown;

    match kind {
        Kind::Auth(ok) => {
            if !ok {
                ev.set_status(status::FAILURE, None);
                ev.status_detail = j.get("LogonError").text();
                ev.status_code = j.get("ErrorNumber").text();
            }
            ev.user = Some(Box::new(actor_user.clone().unwrap_or(User {
                name: Some(Cow::Borrowed("unknown")),
                ..Default::default()
            })));
            ev.service = Some(Box::new(Service {
                name: Some(workload.clone()),
                uid: j.get("ObjectId").text(),
                ..Default::default()
            }));
            if let Some(rt) = nv(ext, "RequestType") {
                if rt.starts_with("OAuth2") {
                    ev.auth_protocol_id = Some(6);
                    ev.auth_protocol = enum_caption("authentication", "auth_protocol_id", 6, None);
                }
            }
            let mut a = actor.clone();
            a.idp = Some(Box::new(crate::ocsf::Idp {
                name: Some(Cow::Borrowed("Microsoft Entra ID")),
                ..Default::default()
            }));
            ev.actor = Some(Box::new(a));
        }
        Kind::Account(_) => {
            ev.user = Some(Box::new(target_user(j).unwrap_or_else(unknown)));
            ev.actor = Some(Box::new(actor.clone()));
        }
        Kind::Group(_) => {
            ev.group = Some(Box::new(Group {
                name: modified(j, "Group.DisplayName")
                    .or_else(|| target_named(j, 2))
                    .or(Some(Cow::Borrowed("unknown"))),
                uid: modified(j, "Group.ObjectID"),
                ..Default::default()
            }));
            ev.user = target_user(j).map(Box::new);
            ev.actor = Some(Box::new(actor.clone()));
        }
        Kind::Access(_) => {
            let mut privs: Vec<Str<'a>> = Vec::new();
            // Role and app-role names are one privilege each ("Global
            // Administrator"); a grant's scope is a space-separated list.
            for key in ["Role.DisplayName", "AppRole.Value"] {
                if let Some(v) = modified(j, key).filter(|v| !v.trim().is_empty()) {
                    privs.push(Cow::Owned(v.trim().to_string()));
                }
            }
            if let Some(v) = modified(j, "DelegatedPermissionGrant.Scope") {
                privs.extend(
                    v.split(' ')
                        .filter(|s| !s.is_empty())
                        .map(|s| Cow::Owned(s.to_string())),
                );
            }
            if let Some(p) = modified(j, "ConsentAction.Permissions") {
                for part in p.split("Scope: ").skip(1) {
                    let scopes = part.split([',', ']']).next().unwrap_or("");
                    privs.extend(
                        scopes
                            .split(' ')
                            .filter(|s| !s.is_empty())
                            .map(|s| Cow::Owned(s.to_string())),
                    );
                }
            }
            if privs.is_empty() {
                privs.push(op.clone());
            }
            ev.privileges = privs;
            let consent = op.to_ascii_lowercase().starts_with("consent");
            let user = if consent {
                actor_user.clone()
            } else {
                target_user(j)
            };
            ev.user = Some(Box::new(
                user.or(actor_user.clone()).unwrap_or_else(unknown),
            ));
            if consent {
                if let Some(app) = target_named(j, 1).or_else(|| j.get("ObjectId").text()) {
                    ev.resources.push(ResourceDetails {
                        name: Some(app),
                        uid: j.get("ObjectId").text(),
                        type_: Some(Cow::Borrowed("ServicePrincipal")),
                        ..Default::default()
                    });
                }
                for k in [
                    "ConsentContext.IsAdminConsent",
                    "ConsentContext.OnBehalfOfAll",
                    "ConsentContext.IsAppOnly",
                ] {
                    if let Some(v) = modified(j, k) {
                        m365.insert(k.into(), Value::String(v.into_owned()));
                    }
                }
            }
            ev.actor = Some(Box::new(actor.clone()));
        }
        Kind::Entity(_) => {
            let mut data = Map::new();
            for p in j.get("ModifiedProperties").arr() {
                if let Some(k) = p.get("Name").str() {
                    data.insert(
                        k.to_string(),
                        serde_json::json!({
                            "old": p.get("OldValue").to_value(), "new": p.get("NewValue").to_value()
                        }),
                    );
                }
            }
            ev.entity = Some(Box::new(ManagedEntity {
                name: target_named(j, 1)
                    .or_else(|| j.get("ObjectId").text())
                    .or(Some(op.clone())),
                uid: j.get("ObjectId").text(),
                type_: nv(ext, "extendedAuditEventCategory"),
                data: (!data.is_empty()).then(|| Value::Object(data).into()),
                ..Default::default()
            }));
            ev.actor = Some(Box::new(actor.clone()));
        }
        Kind::Api(_) | Kind::Unknown => {
            ev.api = Some(Box::new(Api {
                operation: Some(op.clone()),
                service: Some(Box::new(Service {
                    name: Some(workload.clone()),
                    ..Default::default()
                })),
                ..Default::default()
            }));
            ev.actor = Some(Box::new(actor.clone()));
            let params = j.get("Parameters");
            let props = j.get("OperationProperties");
            let pm = name_values(params);
            let om = name_values(props);
            // Inbox rules and forwarding: the rule, its actions and targets.
            let lower = op.to_ascii_lowercase();
            if lower.contains("inboxrule")
                || lower == "set-mailbox"
                || lower.contains("transportrule")
            {
                let rule_name = nv(params, "Name")
                    .or_else(|| nv(props, "RuleName"))
                    .or_else(|| {
                        j.get("ObjectId")
                            .str()
                            .and_then(|o| o.rsplit('\\').next())
                            .map(|s| Cow::Owned(s.to_string()))
                    });
                let mut fwd: Vec<Value> = Vec::new();
                for k in FORWARD_KEYS {
                    for v in [nv(params, k), nv(props, k)].into_iter().flatten() {
                        for t in v.split([';', ',']).map(str::trim).filter(|t| !t.is_empty()) {
                            let t = t.trim_start_matches("smtp:").trim_start_matches("SMTP:");
                            let mut f = serde_json::json!({ "type": k, "address": t });
                            // With the organisation's domains known, say
                            // which addresses leave it.
                            if let Some(d) = crate::common::addr::email_domain(t)
                                .filter(|_| !opts.local_domains.is_empty())
                            {
                                f["external"] = Value::Bool(!crate::common::addr::domain_is_local(
                                    d,
                                    &opts.local_domains,
                                ));
                            }
                            fwd.push(f);
                        }
                    }
                }
                if let Some(first) = fwd.first().and_then(|f| f["address"].as_str()) {
                    if crate::common::jtree::is_email(first) {
                        if let Some(u) = ev.actor.as_mut().and_then(|a| a.user.as_mut()) {
                            // Only the actor's own mailbox: an admin setting
                            // forwarding on someone else's is not forwarding
                            // the admin's mail.
                            let own = nv(params, "Identity")
                                .is_none_or(|id| same_mailbox(&id, u.name.as_deref()));
                            if lower == "set-mailbox" && own {
                                u.forward_addr = Some(Cow::Owned(first.to_string()));
                            }
                        }
                    }
                }
                if !fwd.is_empty() {
                    m365.insert("forwarding".into(), Value::Array(fwd));
                }
                if let Some(d) = nv(params, "DeliverToMailboxAndForward") {
                    m365.insert(
                        "deliver_to_mailbox_and_forward".into(),
                        Value::Bool(d.eq_ignore_ascii_case("true")),
                    );
                }
                let mut rule = Map::new();
                if let Some(n) = &rule_name {
                    rule.insert("name".into(), Value::String(n.to_string()));
                }
                if !pm.is_empty() {
                    rule.insert("parameters".into(), Value::Object(pm.clone()));
                }
                if !om.is_empty() {
                    rule.insert("operation_properties".into(), Value::Object(om.clone()));
                }
                if lower.contains("inboxrule") || lower.contains("transportrule") {
                    m365.insert("rule".into(), Value::Object(rule));
                } else if !pm.is_empty() {
                    m365.insert("parameters".into(), Value::Object(pm));
                }
                ev.resources.push(ResourceDetails {
                    name: rule_name
                        .or_else(|| nv(params, "Identity"))
                        .or(Some(op.clone())),
                    uid: j.get("ObjectId").text(),
                    type_: Some(Cow::Borrowed(if lower == "set-mailbox" {
                        "Mailbox"
                    } else {
                        "InboxRule"
                    })),
                    ..Default::default()
                });
            } else {
                if !pm.is_empty() {
                    m365.insert("parameters".into(), Value::Object(pm));
                }
                if !om.is_empty() {
                    m365.insert("operation_properties".into(), Value::Object(om));
                }
                // Mailbox items: folders and items touched.
                for f in j.get("Folders").arr() {
                    ev.resources.push(ResourceDetails {
                        name: f.get("Path").text(),
                        uid: f.get("Id").text(),
                        type_: Some(Cow::Borrowed("MailFolder")),
                        ..Default::default()
                    });
                }
                let item = j.get("Item");
                if item.is_obj() {
                    ev.resources.push(ResourceDetails {
                        name: item
                            .get("Subject")
                            .text()
                            .or_else(|| item.get("ParentFolder").get("Path").text()),
                        uid: item
                            .get("Id")
                            .text()
                            .or_else(|| item.get("InternetMessageId").text()),
                        type_: Some(Cow::Borrowed("MailItem")),
                        ..Default::default()
                    });
                }
                if ev.resources.is_empty() {
                    if let Some(o) = j.get("ObjectId").text() {
                        ev.resources.push(ResourceDetails {
                            name: Some(o),
                            ..Default::default()
                        });
                    }
                }
                ev.resources.retain(|r| r.name.is_some() || r.uid.is_some());
            }
            if ip.is_none() {
                // API Activity requires src_endpoint: the service itself.
                ev.src_endpoint = Some(Box::new(NetworkEndpoint {
                    svc_name: Some(workload.clone()),
                    ..Default::default()
                }));
            }
        }
        Kind::Web(_) => {
            ev.web_resources.push(WebResource {
                name: j
                    .get("SourceFileName")
                    .text()
                    .or_else(|| j.get("ObjectId").text())
                    .or(Some(op.clone())),
                url_string: j.get("ObjectId").text().filter(|o| o.starts_with("http")),
                type_: j.get("ItemType").text(),
                uid: j.get("ListItemUniqueId").text(),
                ..Default::default()
            });
        }
        Kind::Finding => {
            // Detection Finding's status_id means New/In Progress/...:
            // ResultStatus is not that.
            ev.status_id = None;
            ev.status = None;
            if let Some(st) = j.get("Status").text() {
                m365.insert("alert_status".into(), Value::String(st.into_owned()));
            }
            let data = j.get("Data").nested().into_owned();
            let title = j
                .get("Name")
                .text()
                .or_else(|| data.get("an").text().map(|s| Cow::Owned(s.into_owned())))
                .or_else(|| j.get("DetectionMethod").text())
                .or(Some(op.clone()));
            ev.finding_info = Some(Box::new(FindingInfo {
                uid: j
                    .get("AlertId")
                    .text()
                    .or_else(|| j.get("InvestigationId").text())
                    .or_else(|| j.get("Id").text())
                    .or(Some(Cow::Borrowed("unknown"))),
                title,
                desc: j.get("Comments").text(),
                ..Default::default()
            }));
            if let Some(sev) = j.get("Severity").str() {
                let id = match sev.to_ascii_lowercase().as_str() {
                    "informational" => 1,
                    "low" => 2,
                    "medium" => 3,
                    "high" => 4,
                    _ => 0,
                };
                if id > 0 {
                    ev.set_severity(id);
                }
            }
            if !data.is_empty() && j.get("Data").str().is_some() {
                m365.insert("data".into(), data.to_value());
            }
        }
    }
    if let Some(ip) = ip {
        if !matches!(kind, Kind::Finding) {
            ev.src_endpoint = Some(Box::new(NetworkEndpoint {
                ip: Some(ip),
                ..Default::default()
            }));
        }
    }
    if let Some(ua) = ua {
        if !matches!(kind, Kind::Finding) {
            ev.http_request = Some(Box::new(HttpRequest {
                user_agent: Some(ua),
                ..Default::default()
            }));
        }
    }
    if matches!(kind, Kind::Web(_)) {
        // Web Resources Activity has no actor: keep who under unmapped.
        if let Some(u) = j.get("UserId").text() {
            m365.insert("user_id".into(), Value::String(u.into_owned()));
        }
        ev.actor = None;
    }
    if !ext.is_empty() {
        m365.insert(
            "extended_properties".into(),
            Value::Object(name_values(ext)),
        );
    }
    let skip = [
        "CreationTime",
        "Id",
        "Operation",
        "OrganizationId",
        "ResultStatus",
        "UserId",
        "UserType",
        "Workload",
        "ClientIP",
        "Parameters",
        "OperationProperties",
        "ExtendedProperties",
        "TimeGenerated",
        "TenantId",
    ];
    if let Some(Value::Object(rest)) = j.rest(&skip) {
        for (k, v) in rest {
            m365.entry(k).or_insert(v);
        }
    }
    if !m365.is_empty() {
        ev.unmapped().insert("m365".into(), Value::Object(m365));
    }
    if fallback {
        ms::mark_fallback(&mut ev);
    }
    if opts.raw_data {
        ev.raw_data = Some(String::from_utf8_lossy(record));
    }
    Some(ev)
}

/// Whether a mailbox `Identity` (UPN, alias or DN-like path ending in the
/// alias) names the user `upn`.
fn same_mailbox(identity: &str, upn: Option<&str>) -> bool {
    let Some(upn) = upn else { return false };
    let id = identity.trim();
    if id.eq_ignore_ascii_case(upn) {
        return true;
    }
    let alias = upn.split('@').next().unwrap_or(upn);
    let last = id.rsplit(['/', '\\']).next().unwrap_or(id);
    last.eq_ignore_ascii_case(alias)
}

fn unknown<'a>() -> User<'a> {
    User {
        name: Some(Cow::Borrowed("unknown")),
        ..Default::default()
    }
}

/// The `Target[]` entry of the given Type code with a name.
fn target_named<'a>(j: &J<'a>, ty: i64) -> Option<Str<'a>> {
    j.get("Target")
        .arr()
        .iter()
        .filter(|t| t.get("Type").i64() == Some(ty))
        .find_map(|t| t.get("ID").text())
}

/// The user an Azure AD operation is about: `ObjectId` when it looks like
/// a UPN, else a Target of type 5 (UPN).
fn target_user<'a>(j: &J<'a>) -> Option<User<'a>> {
    let upn = j
        .get("ObjectId")
        .text()
        .filter(|o| o.contains('@'))
        .or_else(|| target_named(j, 5));
    ms::user(None, upn, None, Some(1), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailbox_identity_matches_the_actor() {
        let upn = Some("ann.lee@example.com");
        assert!(same_mailbox("ann.lee@example.com", upn));
        assert!(same_mailbox("Ann.Lee", upn));
        assert!(same_mailbox("example.onmicrosoft.com/Users/ann.lee", upn));
        assert!(!same_mailbox("bo.chen@example.com", upn));
        assert!(!same_mailbox("bo.chen", None));
    }
}
