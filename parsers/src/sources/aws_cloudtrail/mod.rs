//! AWS CloudTrail records (one record of `{"Records":[...]}`, as the agent
//! unwraps them; EventBridge/Lake exports with `@timestamp` instead of
//! `eventTime` are read too). Every event gets the `cloud` profile (`cloud`
//! and `api` filled from the record); sign-in, STS, IAM and IAM Identity
//! Center operations get the IAM classes, everything else is API Activity.
//! The mapping table is in `docs/sources/aws-cloudtrail.md`.

use std::borrow::Cow;

use serde_json::Value;

use crate::common::fallback;
use crate::common::json::{
    self, add_profile, auth_factor, endpoint, other_activity, set_outcome, set_user_type,
    user_type, verb_activity, Obj,
};
use crate::ocsf::{
    severity, Account, Actor, Api, ClassInfo, Cloud, Event, Group, HttpRequest, Idp, Policy,
    Request, ResourceDetails, Service, Session, User, ACCOUNT_CHANGE, API_ACTIVITY, AUTHENTICATION,
    AUTHORIZE_SESSION, GROUP_MANAGEMENT, USER_ACCESS,
};
use crate::{Decoder, ErrorKind, Options, Outcome, ParseError};

const LOG_NAME: &str = "CloudTrail";

/// Decoder for AWS CloudTrail records.
pub struct AwsCloudtrailDecoder {
    opts: Options,
}

impl AwsCloudtrailDecoder {
    /// A decoder with `opts`.
    pub fn new(opts: Options) -> Self {
        AwsCloudtrailDecoder { opts }
    }
}

/// A boxed [`AwsCloudtrailDecoder`] (the registry's constructor).
pub fn decoder(opts: &Options) -> Box<dyn Decoder> {
    Box::new(AwsCloudtrailDecoder::new(opts.clone()))
}

impl Decoder for AwsCloudtrailDecoder {
    fn decode(&mut self, record: &[u8], _pos: u64, out: &mut dyn FnMut(&mut Event<'_>)) -> Outcome {
        let product = *json::product("CloudTrail", "AWS");
        let (text, mut o) = match json::parse_record(record) {
            Ok(x) => x,
            Err(e) => {
                out(&mut fallback::unparsed(
                    record, e, product, LOG_NAME, None, &self.opts,
                ));
                return Outcome::Unparsed(e);
            }
        };
        if !(o.has("eventName") && o.has("eventSource")) {
            let e = ParseError {
                kind: ErrorKind::NotThisSource,
                at: 0,
            };
            out(&mut fallback::unparsed(
                record, e, product, LOG_NAME, None, &self.opts,
            ));
            return Outcome::Unparsed(e);
        }
        let mut ev = map(&mut o, self.opts.raw_data.then_some(text), &self.opts);
        o.keep(&mut ev, "");
        out(&mut ev);
        Outcome::Parsed
    }
}

/// Class, activity and Other label for an operation.
fn classify(source: &str, name: &str) -> (&'static ClassInfo, i32, &'static str) {
    let auth = &AUTHENTICATION;
    let acct = &ACCOUNT_CHANGE;
    let group = &GROUP_MANAGEMENT;
    match (source, name) {
        ("signin.amazonaws.com", "ConsoleLogin") => (auth, 1, ""),
        ("signin.amazonaws.com", "SwitchRole" | "ExitRole") => (auth, 7, ""),
        ("signin.amazonaws.com", "GetSigninToken") => (auth, 3, ""),
        ("signin.amazonaws.com", _) | ("sso.amazonaws.com", "Authenticate" | "Federate") => {
            (auth, 99, "")
        }
        ("sso.amazonaws.com", "Logout") => (auth, 2, ""),
        (
            "sts.amazonaws.com",
            "AssumeRole" | "AssumeRoleWithSAML" | "AssumeRoleWithWebIdentity",
        ) => (&AUTHORIZE_SESSION, 1, ""),
        ("sts.amazonaws.com", "GetSessionToken" | "GetFederationToken") => (auth, 3, ""),
        ("iam.amazonaws.com", n) => match n {
            "CreateUser" => (acct, 1, ""),
            "DeleteUser" => (acct, 6, ""),
            "ChangePassword" => (acct, 3, ""),
            "UpdateLoginProfile" => (acct, 4, ""),
            "CreateLoginProfile" => (acct, 99, "Create Login Profile"),
            "DeleteLoginProfile" => (acct, 99, "Delete Login Profile"),
            "EnableMFADevice" | "CreateVirtualMFADevice" | "ResyncMFADevice" => (acct, 10, ""),
            "DeactivateMFADevice" | "DeleteVirtualMFADevice" => (acct, 11, ""),
            "AttachUserPolicy" | "PutUserPolicy" => (acct, 7, ""),
            "DetachUserPolicy" | "DeleteUserPolicy" => (acct, 8, ""),
            "CreateAccessKey" => (acct, 99, "Create Access Key"),
            "UpdateAccessKey" => (acct, 99, "Update Access Key"),
            "DeleteAccessKey" => (acct, 99, "Delete Access Key"),
            "AddUserToGroup" => (group, 3, ""),
            "RemoveUserFromGroup" => (group, 4, ""),
            "CreateGroup" => (group, 6, ""),
            "DeleteGroup" => (group, 5, ""),
            "AttachGroupPolicy" | "PutGroupPolicy" => (group, 1, ""),
            "DetachGroupPolicy" | "DeleteGroupPolicy" => (group, 2, ""),
            _ => (&API_ACTIVITY, verb_activity(n), ""),
        },
        ("sso.amazonaws.com", "CreateAccountAssignment") => (&USER_ACCESS, 1, ""),
        ("sso.amazonaws.com", "DeleteAccountAssignment") => (&USER_ACCESS, 2, ""),
        (_, n) => (&API_ACTIVITY, verb_activity(n), ""),
    }
}

/// The acting identity (`userIdentity`), its session and identity provider.
fn identity<'a>(ev: &mut Event<'a>, ui: Option<Obj<'a>>) -> (User<'a>, Actor<'a>) {
    let mut user = User::default();
    let mut actor = Actor::default();
    let Some(mut ui) = ui else {
        user.name = Some(Cow::Borrowed("unknown"));
        return (user, actor);
    };
    let ty = ui.str("type");
    user.uid = ui.str("principalId");
    user.uid_alt = ui.str("arn");
    user.name = ui.str("userName");
    if let Some(acct) = ui.str("accountId") {
        user.account = Some(Box::new(Account {
            uid: Some(acct),
            type_id: Some(10),
            type_: Some(Cow::Borrowed("AWS Account")),
            ..Default::default()
        }));
    }
    let mut session = Session {
        credential_uid: ui.str("accessKeyId"),
        ..Default::default()
    };
    if let Some(mut ctx) = ui.obj("sessionContext") {
        if let Some(mut attrs) = ctx.obj("attributes") {
            session.is_mfa = attrs.bool("mfaAuthenticated");
            let created = attrs.str("creationDate");
            session.created_time = created.as_deref().and_then(json::time_ms);
            attrs.keep(ev, "sessionContext.attributes");
        }
        if let Some(mut issuer) = ctx.obj("sessionIssuer") {
            session.issuer = issuer.str("arn");
            if user.name.is_none() {
                user.name = issuer.str("userName");
            }
            issuer.keep(ev, "sessionContext.sessionIssuer");
        }
        ctx.keep(ev, "sessionContext");
    }
    if let Some(mut obo) = ui.obj("onBehalfOf") {
        if user.uid_alt.is_none() {
            user.uid_alt = obo.str("userId");
        } else if let Some(u) = obo.str("userId") {
            ev.unmapped()
                .insert("onBehalfOf.userId".into(), Value::String(u.into_owned()));
        }
        actor.idp = obo.str("identityStoreArn").map(|uid| {
            Box::new(Idp {
                uid: Some(uid),
                name: Some(Cow::Borrowed("IAM Identity Center")),
                ..Default::default()
            })
        });
        obo.keep(ev, "onBehalfOf");
    }
    if let Some(idp) = ui.str("identityProvider") {
        actor.idp = Some(Box::new(Idp {
            name: Some(idp),
            ..Default::default()
        }));
    }
    if let Some(c) = ui.str("credentialId") {
        if session.credential_uid.is_none() {
            session.credential_uid = Some(c);
        } else {
            session.uid = Some(c);
        }
    }
    actor.app_name = ui.str("invokedBy");
    if user.name.is_none() {
        // The last part of the ARN names the principal (`user/bob`, `root`).
        user.name = user
            .uid_alt
            .as_deref()
            .and_then(|a| a.rsplit([':', '/']).next())
            .filter(|s| !s.is_empty())
            .map(|s| Cow::Owned(s.to_string()))
            .or_else(|| actor.app_name.clone());
    }
    match ty.as_deref() {
        Some("Root") => set_user_type(&mut user, user_type::ADMIN),
        Some("IAMUser" | "IdentityCenterUser" | "SAMLUser" | "WebIdentityUser") => {
            set_user_type(&mut user, user_type::USER)
        }
        Some("AWSService") => set_user_type(&mut user, user_type::SERVICE),
        _ => {}
    }
    if let Some(t) = ty {
        ev.unmapped()
            .insert("userIdentity.type".into(), Value::String(t.into_owned()));
    }
    if user.uid.is_none() && user.name.is_none() && user.account.is_none() {
        user.name = Some(Cow::Borrowed("unknown"));
    }
    if session != Session::default() {
        actor.session = Some(Box::new(session));
    }
    ui.keep(ev, "userIdentity");
    (user, actor)
}

fn map<'a>(o: &mut Obj<'a>, raw: Option<&'a str>, opts: &Options) -> Event<'a> {
    let original = o.str("eventTime").or_else(|| o.str("@timestamp"));
    let time = original
        .as_deref()
        .and_then(json::time_ms)
        .unwrap_or(opts.reference_time_ms);
    let source = o.str("eventSource").unwrap_or_default();
    let name = o.str("eventName").unwrap_or_default();
    let (class, activity, label) = classify(&source, &name);
    let mut ev = Event::new(class, activity, time);
    if activity == 99 {
        other_activity(
            &mut ev,
            if label.is_empty() {
                name.clone()
            } else {
                Cow::Borrowed(label)
            },
        );
    }
    ev.raw_data = raw.map(Cow::Borrowed);
    add_profile(&mut ev, "cloud");
    let account = o.str("recipientAccountId");
    {
        let meta = ev.meta();
        meta.product = Some(json::product("CloudTrail", "AWS"));
        meta.log_name = Some(Cow::Borrowed(LOG_NAME));
        meta.original_time = original;
        meta.event_code = Some(name.clone());
        meta.tenant_uid = account.clone();
    }
    ev.meta().uid = o.str("eventID");
    ev.meta().log_version = o.str("eventVersion");
    ev.meta().correlation_uid = o.str("sharedEventID");
    ev.cloud = Some(Box::new(Cloud {
        provider: Some(Cow::Borrowed("AWS")),
        region: o.str("awsRegion"),
        account: account.map(|uid| {
            Box::new(Account {
                uid: Some(uid),
                type_id: Some(10),
                type_: Some(Cow::Borrowed("AWS Account")),
                ..Default::default()
            })
        }),
        ..Default::default()
    }));
    ev.api = Some(Box::new(Api {
        operation: Some(name.clone()),
        version: o.str("apiVersion"),
        service: Some(Box::new(Service {
            name: Some(source.clone()),
            ..Default::default()
        })),
        request: o.str("requestID").map(|uid| {
            Box::new(Request {
                uid: Some(uid),
                ..Default::default()
            })
        }),
        ..Default::default()
    }));
    let (user, mut actor) = identity(&mut ev, o.obj("userIdentity"));
    let src = o.str("sourceIPAddress").map(endpoint);
    let ua = o.str("userAgent");
    ev.http_request = ua.map(|u| {
        Box::new(HttpRequest {
            user_agent: Some(u),
            ..Default::default()
        })
    });
    let error_code = o.str("errorCode");
    let error_message = o.str("errorMessage");
    let mut params = o.obj("requestParameters");
    let mut response = o.obj("responseElements");
    let mut extra = o.obj("additionalEventData");
    let mut failed = error_code.is_some();

    match class.uid {
        3002 => {
            if let Some(r) = response.as_mut() {
                if let Some(res) = r.str(name.as_ref()) {
                    failed |= res != "Success";
                }
            }
            if let Some(mut d) = o.obj("serviceEventDetails") {
                if let Some(res) = d.str(name.as_ref()) {
                    failed |= res != "Success";
                }
                d.keep(&mut ev, "serviceEventDetails");
            }
            if let Some(e) = extra.as_mut() {
                match e.str("MFAUsed").as_deref() {
                    Some("Yes") => ev.is_mfa = Some(true),
                    Some("No") => ev.is_mfa = Some(false),
                    _ => {}
                }
                if let Some(ct) = e.str("CredentialType") {
                    let id = match ct.as_ref() {
                        "PASSWORD" => 11,
                        "TOTP" | "SOFTWARE_TOKEN" => 7,
                        "WEBAUTHN" | "FIDO" => 10,
                        "EMAIL_OTP" => 8,
                        _ => 99,
                    };
                    ev.auth_factors.push(auth_factor(id, ct, "AWS"));
                }
                if user.name.as_deref() == Some("unknown") || user.name.is_none() {
                    if let Some(n) = e.str("UserName") {
                        ev.unmapped()
                            .insert("UserName".into(), Value::String(n.into_owned()));
                    }
                }
            }
            let mut user = user;
            if let Some(n) = extra.as_mut().and_then(|e| e.str("UserName")) {
                if user.name.is_none() || user.name.as_deref() == user.uid_alt.as_deref() {
                    user.name = Some(n);
                }
            }
            if activity == 7 {
                ev.account_switch_type_id = Some(99);
                ev.account_switch_type = Some(Cow::Owned(name.to_string()));
            }
            ev.service = Some(Box::new(Service {
                name: Some(source.clone()),
                ..Default::default()
            }));
            ev.session = actor.session.take();
            if actor.idp.is_some() || actor.app_name.is_some() {
                // The identity provider that vouched for the user.
                actor.user = Some(Box::new(user.clone()));
                ev.actor = Some(Box::new(actor));
            }
            ev.user = Some(Box::new(user));
        }
        3003 => {
            let role = params.as_mut().and_then(|p| p.str("roleArn"));
            ev.privileges = vec![role.unwrap_or(Cow::Borrowed("unknown"))];
            let mut session = Session::default();
            if let Some(p) = params.as_mut() {
                session.uid_alt = p.str("roleSessionName");
            }
            if let Some(r) = response.as_mut() {
                if let Some(mut c) = r.obj("credentials") {
                    session.credential_uid = c.str("accessKeyId");
                    c.skip("sessionToken");
                    if let Some(exp) = c.str("expiration") {
                        ev.unmapped().insert(
                            "credentials.expiration".into(),
                            Value::String(exp.into_owned()),
                        );
                    }
                    c.keep(&mut ev, "responseElements.credentials");
                }
                if let Some(mut aru) = r.obj("assumedRoleUser") {
                    session.uid = aru.str("assumedRoleId");
                    aru.keep(&mut ev, "responseElements.assumedRoleUser");
                }
            }
            if session != Session::default() {
                ev.session = Some(Box::new(session));
            }
            ev.user = Some(Box::new(user));
            if actor != Actor::default() {
                ev.actor = Some(Box::new(actor));
            }
        }
        3001 | 3006 | 3005 => {
            let target = params.as_mut().and_then(|p| p.str("userName"));
            let mut tu = User {
                name: target,
                ..Default::default()
            };
            if let Some(r) = response.as_mut() {
                if let Some(mut u) = r.obj("user") {
                    tu.uid = u.str("userId");
                    tu.uid_alt = u.str("arn");
                    u.keep(&mut ev, "responseElements.user");
                }
            }
            if class.uid == USER_ACCESS.uid {
                if let Some(p) = params.as_mut() {
                    tu.uid = p.str("principalId");
                    tu.type_ = p.str("principalType");
                    ev.privileges = p.strs("permissionSetArn");
                }
                if ev.privileges.is_empty() {
                    ev.privileges.push(Cow::Borrowed("unknown"));
                }
                ev.set_severity(severity::MEDIUM);
            }
            let self_change = tu.name.is_none() && tu.uid.is_none();
            if let Some(p) = params.as_mut() {
                if let Some(policy) = p.str("policyArn").or_else(|| p.str("policyName")) {
                    if class.uid == ACCOUNT_CHANGE.uid {
                        ev.policies.push(Policy {
                            uid: Some(policy),
                            ..Default::default()
                        });
                    } else {
                        ev.privileges.push(policy);
                    }
                }
                if class.uid == GROUP_MANAGEMENT.uid {
                    ev.group = Some(Box::new(Group {
                        name: p.str("groupName").or(Some(Cow::Borrowed("unknown"))),
                        ..Default::default()
                    }));
                }
                if let Some(serial) = p.str("serialNumber") {
                    ev.auth_factors
                        .push(auth_factor(99, Cow::Borrowed("MFA device"), "AWS"));
                    ev.unmapped()
                        .insert("serialNumber".into(), Value::String(serial.into_owned()));
                }
            }
            if class.uid == GROUP_MANAGEMENT.uid {
                if !self_change {
                    ev.user = Some(Box::new(tu));
                }
            } else {
                ev.user = Some(Box::new(if self_change { user.clone() } else { tu }));
            }
            actor.user = Some(Box::new(user));
            ev.actor = Some(Box::new(actor));
            if matches!(activity, 7 | 10 | 11 | 1 | 3) && class.uid != ACCOUNT_CHANGE.uid {
                ev.set_severity(severity::MEDIUM);
            }
        }
        _ => {
            actor.user = Some(Box::new(user));
            ev.actor = Some(Box::new(actor));
            ev.src_endpoint = Some(Box::new(
                src.clone()
                    .unwrap_or_else(|| endpoint(Cow::Borrowed("unknown"))),
            ));
            let mut resources = Vec::new();
            for r in o.array("resources") {
                if let Some(mut r) = Obj::from_raw(r) {
                    resources.push(ResourceDetails {
                        uid: r.str("ARN"),
                        type_: r.str("type"),
                        owner: r.str("accountId").map(|a| {
                            Box::new(User {
                                account: Some(Box::new(Account {
                                    uid: Some(a),
                                    type_id: Some(10),
                                    type_: Some(Cow::Borrowed("AWS Account")),
                                    ..Default::default()
                                })),
                                ..Default::default()
                            })
                        }),
                        ..Default::default()
                    });
                }
            }
            ev.resources = resources.into_iter().filter(|r| r.uid.is_some()).collect();
        }
    }
    if ev.src_endpoint.is_none() {
        ev.src_endpoint = src.map(Box::new);
    }
    set_outcome(&mut ev, Some(!failed));
    if failed {
        ev.set_severity(severity::LOW);
        ev.status_code = error_code;
        ev.status_detail = error_message;
    }
    for (key, obj) in [
        ("requestParameters", params),
        ("responseElements", response),
        ("additionalEventData", extra),
    ] {
        if let Some(obj) = obj {
            obj.keep(&mut ev, key);
        }
    }
    ev
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(rec: &str) -> Value {
        let mut d = AwsCloudtrailDecoder::new(Options::default());
        let mut evs = Vec::new();
        let o = d.decode(rec.as_bytes(), 0, &mut |e| {
            evs.push(serde_json::to_value(e).unwrap())
        });
        assert!(o.is_parsed(), "{o:?}");
        evs.remove(0)
    }

    #[test]
    fn console_login_failure() {
        let e = one(
            r#"{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDA1","arn":"arn:aws:iam::111122223333:user/bob","accountId":"111122223333","userName":"bob"},"eventTime":"2024-01-02T03:04:05Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","userAgent":"Mozilla/5.0","errorMessage":"Failed authentication","responseElements":{"ConsoleLogin":"Failure"},"additionalEventData":{"MFAUsed":"No"},"eventID":"e1","recipientAccountId":"111122223333"}"#,
        );
        assert_eq!(e["class_uid"], 3002);
        assert_eq!(e["status_id"], 2);
        assert_eq!(e["is_mfa"], false);
        assert_eq!(e["user"]["name"], "bob");
        assert_eq!(e["cloud"]["region"], "us-east-1");
        assert_eq!(e["metadata"]["profiles"][0], "cloud");
    }

    #[test]
    fn verbs() {
        assert_eq!(classify("ec2.amazonaws.com", "DescribeInstances").1, 2);
        assert_eq!(classify("ec2.amazonaws.com", "RunInstances").1, 1);
        assert_eq!(classify("sts.amazonaws.com", "AssumeRole").0.uid, 3003);
    }
}
