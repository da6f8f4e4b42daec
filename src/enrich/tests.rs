//! Each risk tag fires on one event (or sequence) and stays quiet on a
//! near miss; entity ids are the same across spellings and differ across
//! tenants.

use super::*;
use serde_json::{json, Value};

const MAP: &str = "id,aliases,kind,privileged,executive,department\n\
    jane.doe@corp.example,jdoe@corp.example;CORP\\jdoe;00u1jane,human,false,true,Finance\n\
    bob@corp.example,CORP\\bob,human,true,false,IT\n\
    svc-backup@corp.example,svc-backup;CORP\\svc-backup,service,false,false,\n\
    support@corp.example,,shared_mailbox,false,false,Support\n";

struct Harness {
    shared: Arc<Shared>,
    enricher: Enricher,
    _dir: tempfile::TempDir,
}

fn config(tenant: &str) -> EnrichConfig {
    EnrichConfig {
        tenant: tenant.into(),
        local_domains: vec!["corp.example".into()],
        domain_aliases: vec![("corp.onmicrosoft.com".into(), "corp.example".into())],
        ..Default::default()
    }
}

fn harness_with(mut cfg: EnrichConfig) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("map.csv");
    std::fs::write(&p, MAP).unwrap();
    cfg.identity_map = Some(p);
    let shared = Shared::new(cfg, None).unwrap();
    let enricher = shared.enricher();
    Harness {
        shared,
        enricher,
        _dir: dir,
    }
}

fn harness() -> Harness {
    harness_with(config("corp"))
}

impl Harness {
    /// Enrich one event (JSON), return it as JSON.
    fn run(&mut self, v: Value) -> Value {
        let text = v.to_string();
        let mut ev: Event<'_> = serde_json::from_str(&text).unwrap();
        self.enricher.enrich(&mut ev);
        serde_json::to_value(&ev).unwrap()
    }

    fn tags(&mut self, v: Value) -> Vec<String> {
        risk(&self.run(v))
    }
}

fn risk(ev: &Value) -> Vec<String> {
    labels(ev)
        .into_iter()
        .filter_map(|l| l.strip_prefix("risk:").map(String::from))
        .collect()
}

fn labels(ev: &Value) -> Vec<String> {
    ev.pointer("/metadata/labels")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn entity_ids(ev: &Value) -> Vec<String> {
    ev["enrichments"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["data"]["entity_id"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

const T0: i64 = 1_767_000_000_000;
const MIN: i64 = 60_000;

fn mail(extra: Value) -> Value {
    let mut v = json!({"class_uid": 4009, "activity_id": 2, "time": T0,
        "metadata": {"version": "1.8.0", "uid": "m1"},
        "email": {"from": "news@partner.test", "to": ["jane.doe@corp.example"]}});
    merge(&mut v, extra);
    v
}

fn signin(user: &str, status: i32, t: i64, extra: Value) -> Value {
    let mut v = json!({"class_uid": 3002, "activity_id": 1, "time": t, "status_id": status,
        "metadata": {"version": "1.8.0", "uid": format!("s-{user}-{t}")},
        "user": {"name": user}});
    merge(&mut v, extra);
    v
}

fn merge(a: &mut Value, b: Value) {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (a, b) => *a = b,
    }
}

fn fires(tag: &str, fire: Value, quiet: Value) {
    let got = harness().tags(fire.clone());
    assert!(
        got.iter().any(|t| t == tag),
        "{tag} should fire on {fire}: {got:?}"
    );
    let got = harness().tags(quiet.clone());
    assert!(
        !got.iter().any(|t| t == tag),
        "{tag} should not fire on {quiet}: {got:?}"
    );
}

#[test]
fn every_tag_has_a_test_below() {
    let src = include_str!("tests.rs");
    for t in tags::TAGS {
        assert!(
            src.contains(&format!("\"{}\"", t.name)),
            "no test names tag {}",
            t.name
        );
    }
}

#[test]
fn every_tag_is_documented() {
    let doc = include_str!("../../docs/enrichment.md");
    for t in tags::TAGS {
        assert!(
            doc.contains(&format!("| `{}` |", t.name)),
            "{} missing from docs/enrichment.md",
            t.name
        );
    }
}

#[test]
fn email_authentication_failures() {
    for (tag, key) in [
        ("spf_fail", "spf"),
        ("dkim_fail", "dkim"),
        ("dmarc_fail", "dmarc"),
    ] {
        fires(
            tag,
            mail(json!({"email_auth": {key: "fail"}})),
            mail(json!({"email_auth": {key: "pass"}})),
        );
    }
    fires(
        "spf_fail",
        mail(json!({"email_auth": {"spf": "SoftFail"}})),
        mail(json!({"email_auth": {"spf": "none"}})),
    );
}

#[test]
fn external_sender() {
    fires(
        "external_sender",
        mail(json!({"direction_id": 1})),
        mail(json!({"direction_id": 3, "email": {"from": "bob@corp.example"}})),
    );
    // Without a direction, the sender's domain decides.
    fires(
        "external_sender",
        mail(json!({})),
        mail(json!({"email": {"from": "Bob@Corp.onmicrosoft.com"}})),
    );
}

#[test]
fn lookalike_sender_domain() {
    fires(
        "lookalike_domain",
        mail(json!({"email": {"from": "ceo@c0rp.example"}})),
        mail(json!({"email": {"from": "ceo@partner.test"}})),
    );
    let cyrillic = idna::domain_to_ascii("cоrp.example").unwrap();
    fires(
        "lookalike_domain",
        mail(json!({"email": {"from": format!("ceo@{cyrillic}")}})),
        mail(json!({"email": {"from": "ceo@eu.corp.example"}})),
    );
    fires(
        "lookalike_domain",
        mail(json!({"email": {"from": "billing@corp-example.test"}})),
        mail(json!({"email": {"from": "billing@example.test"}})),
    );
}

#[test]
fn executive_display_name_from_outside() {
    fires(
        "exec_impersonation",
        mail(
            json!({"direction_id": 1, "email": {"from": "\"Jane Doe\" <jane.doe.office@freemail.test>"}}),
        ),
        mail(json!({"direction_id": 1, "email": {"from": "\"John Roe\" <john@freemail.test>"}})),
    );
    // The real executive, from inside, is not impersonation.
    fires(
        "exec_impersonation",
        mail(json!({"direction_id": 1, "unmapped": {"SenderDisplayName": "Doe, Jane"}})),
        mail(json!({"direction_id": 3, "email": {"from": "\"Jane Doe\" <jane.doe@corp.example>"}})),
    );
}

#[test]
fn lures_in_sender_or_subject() {
    fires(
        "impersonation_lure",
        mail(json!({"direction_id": 1, "email": {"from": "it-helpdesk@support-team.test"}})),
        mail(json!({"direction_id": 3, "email": {"from": "helpdesk@corp.example"}})),
    );
    fires(
        "impersonation_lure",
        mail(
            json!({"direction_id": 1, "email": {"subject": "Your Microsoft 365 password expires today"}}),
        ),
        mail(json!({"direction_id": 1, "email": {"subject": "Lunch on Friday?"}})),
    );
}

#[test]
fn malicious_url_and_attachment() {
    fires(
        "malicious_url",
        mail(
            json!({"is_alert": true, "email": {"urls": [{"url_string": "https://login.phish.test/"}]}}),
        ),
        mail(json!({"email": {"urls": [{"url_string": "https://intranet.corp.example/"}]}})),
    );
    fires(
        "malicious_url",
        json!({"class_uid": 2004, "time": T0, "evidences": [{"url": {"url_string": "https://x.test/"}}]}),
        json!({"class_uid": 2004, "time": T0, "evidences": [{"email": {"to": ["jane.doe@corp.example"]}}]}),
    );
    fires(
        "malicious_attachment",
        mail(json!({"malware": [{"name": "Emotet"}], "email": {"files": [{"name": "inv.js"}]}})),
        mail(json!({"email": {"files": [{"name": "report.pdf"}]}})),
    );
}

#[test]
fn blocked_phish_and_its_targets() {
    let phish = json!({"is_alert": true, "severity_id": 4, "disposition_id": 3});
    fires(
        "blocked_phish",
        mail(phish.clone()),
        mail(json!({"is_alert": true, "severity_id": 4, "disposition_id": 1})),
    );
    // Blocked spam is not phish.
    fires(
        "phish_target",
        mail(phish.clone()),
        mail(json!({"is_alert": true, "severity_id": 2, "disposition_id": 3})),
    );
    let ev = harness().run(mail(phish));
    let rcpt = ev["enrichments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "email.to")
        .unwrap();
    assert_eq!(rcpt["data"]["risk"], json!(["phish_target"]));
    assert_eq!(rcpt["data"]["canonical"], "jane.doe@corp.example");
}

#[test]
fn malicious_click() {
    let click = |alert: bool| {
        json!({"class_uid": 4002, "activity_id": 99, "time": T0, "is_alert": alert,
               "actor": {"user": {"email_addr": "jane.doe@corp.example"}}})
    };
    fires("malicious_click", click(true), click(false));
}

#[test]
fn mfa_push_denied() {
    let push = json!({"auth_factors": [{"factor_type_id": 5}]});
    fires(
        "mfa_push_denied",
        signin("jane.doe@corp.example", 2, T0, push.clone()),
        signin("jane.doe@corp.example", 1, T0, push),
    );
}

#[test]
fn account_changes() {
    let change = |a: i32| {
        json!({"class_uid": 3001, "activity_id": a, "time": T0,
               "user": {"name": "jane.doe@corp.example"}})
    };
    fires("mfa_method_change", change(10), change(3));
    fires("mfa_method_change", change(11), change(9));
    fires("password_reset", change(4), change(3));
}

#[test]
fn privileged_roles_and_consents() {
    let access = |code: &str, privs: Value| {
        json!({"class_uid": 3005, "activity_id": 1, "time": T0,
               "metadata": {"version": "1.8.0", "event_code": code},
               "user": {"name": "bob@corp.example"}, "privileges": privs})
    };
    fires(
        "privileged_role_assignment",
        access("Add member to role.", json!(["Global Administrator"])),
        access("Add member to role.", json!(["Reports Reader"])),
    );
    fires(
        "risky_oauth_consent",
        access(
            "Consent to application.",
            json!(["https://graph.microsoft.com/Mail.Read", "offline_access"]),
        ),
        access(
            "Consent to application.",
            json!(["openid", "profile", "User.Read"]),
        ),
    );
    // A consent is not a role assignment even with admin-sounding scopes.
    let got = harness().tags(access(
        "Consent to application.",
        json!(["Directory.ReadWrite.All"]),
    ));
    assert!(
        !got.contains(&"privileged_role_assignment".to_string()),
        "{got:?}"
    );
}

#[test]
fn new_service_principal_credentials() {
    let em = |code: &str| {
        json!({"class_uid": 3004, "activity_id": 3, "time": T0,
               "metadata": {"version": "1.8.0", "event_code": code}})
    };
    fires(
        "sp_new_credential",
        em("Add service principal credentials."),
        em("Update service principal."),
    );
    fires(
        "sp_new_credential",
        em("Update application – Certificates and secrets management"),
        em("Update application"),
    );
}

#[test]
fn legacy_authentication() {
    let s = |app: &str| {
        signin(
            "jane.doe@corp.example",
            1,
            T0,
            json!({"unmapped": {"entra": {"clientAppUsed": app}}}),
        )
    };
    fires("legacy_auth", s("IMAP4"), s("Browser"));
    fires(
        "legacy_auth",
        signin("x", 1, T0, json!({"auth_protocol_id": 11})),
        signin("x", 1, T0, json!({"auth_protocol_id": 6})),
    );
}

#[test]
fn service_identity_signing_in_interactively() {
    fires(
        "service_interactive",
        signin("CORP\\svc-backup", 1, T0, json!({"logon_type_id": 2})),
        signin("CORP\\svc-backup", 1, T0, json!({"logon_type_id": 99})),
    );
    // A person signing in interactively is normal.
    let got = harness().tags(signin(
        "jane.doe@corp.example",
        1,
        T0,
        json!({"logon_type_id": 2}),
    ));
    assert!(!got.contains(&"service_interactive".to_string()));
    // So is an event that says the user is a service, non-interactively.
    fires(
        "service_interactive",
        signin(
            "sp-app",
            1,
            T0,
            json!({"logon_type_id": 2, "user": {"type_id": 4}}),
        ),
        signin("sp-app", 1, T0, json!({"user": {"type_id": 4}})),
    );
}

#[test]
fn vendor_risk() {
    fires(
        "vendor_risk_high",
        signin("jane.doe@corp.example", 1, T0, json!({"risk_level_id": 3})),
        signin("jane.doe@corp.example", 1, T0, json!({"risk_level_id": 1})),
    );
}

fn rule(code: &str, m365: Value) -> Value {
    json!({"class_uid": 6003, "activity_id": 1, "time": T0,
           "metadata": {"version": "1.8.0", "event_code": code, "uid": "r1"},
           "actor": {"user": {"name": "jane.doe@corp.example"}},
           "unmapped": {"m365": m365}})
}

#[test]
fn inbox_rules() {
    fires(
        "inbox_rule_external_forward",
        rule(
            "New-InboxRule",
            json!({"forwarding": [{"type": "ForwardTo", "address": "drop@evil.test"}]}),
        ),
        rule(
            "New-InboxRule",
            json!({"forwarding": [{"type": "ForwardTo", "address": "bob@corp.example"}]}),
        ),
    );
    fires(
        "inbox_rule_external_forward",
        rule(
            "UpdateInboxRules",
            json!({"rule": {"operation_properties": {"RuleActions":
                "[{\"ActionType\":\"Forward\",\"Recipients\":[\"x@evil.test\"]}]"}}}),
        ),
        rule(
            "UpdateInboxRules",
            json!({"rule": {"operation_properties": {"RuleActions":
                "[{\"ActionType\":\"Forward\",\"Recipients\":[\"bob@corp.example\"]}]"}}}),
        ),
    );
    fires(
        "inbox_rule_delete",
        rule(
            "New-InboxRule",
            json!({"rule": {"parameters": {"DeleteMessage": "True"}}}),
        ),
        rule(
            "New-InboxRule",
            json!({"rule": {"parameters": {"MarkAsRead": "True"}}}),
        ),
    );
    fires(
        "inbox_rule_obscure_folder",
        rule(
            "Set-InboxRule",
            json!({"rule": {"parameters": {"MoveToFolder": "RSS Feeds"}}}),
        ),
        rule(
            "Set-InboxRule",
            json!({"rule": {"parameters": {"MoveToFolder": "Projects"}}}),
        ),
    );
    fires(
        "mailbox_external_forwarding",
        rule(
            "Set-Mailbox",
            json!({"forwarding": [{"address": "smtp:me@freemail.test"}]}),
        ),
        rule(
            "Set-Mailbox",
            json!({"forwarding": [{"address": "support@corp.example"}]}),
        ),
    );
}

/// Run a sequence through one enricher; tags of each event.
fn seq(events: Vec<Value>) -> Vec<Vec<String>> {
    let mut h = harness();
    events.into_iter().map(|e| h.tags(e)).collect()
}

fn any_has(out: &[Vec<String>], tag: &str) -> bool {
    out.iter().any(|t| t.iter().any(|x| x == tag))
}

#[test]
fn failed_signin_burst_by_profile() {
    let fails = |user: &str, n: i64| {
        (0..n)
            .map(|i| signin(user, 2, T0 + i * 1000, json!({})))
            .collect::<Vec<_>>()
    };
    let out = seq(fails("alice@corp.example", 10));
    assert!(
        out[9].contains(&"failed_signin_burst".to_string()),
        "{out:?}"
    );
    assert!(!any_has(&out[..9], "failed_signin_burst"));
    assert!(!any_has(
        &seq(fails("alice@corp.example", 9)),
        "failed_signin_burst"
    ));
    // Privileged and executive: 5 are enough.
    for u in ["bob@corp.example", "CORP\\jdoe"] {
        let out = seq(fails(u, 5));
        assert!(
            out[4].contains(&"failed_signin_burst".to_string()),
            "{u}: {out:?}"
        );
        assert!(!any_has(&out[..4], "failed_signin_burst"));
    }
}

#[test]
fn brute_force_success_both_orders() {
    let mut evs: Vec<Value> = (0..5)
        .map(|i| signin("alice@corp.example", 2, T0 + i * 1000, json!({})))
        .collect();
    evs.push(signin("alice@corp.example", 1, T0 + 10_000, json!({})));
    let out = seq(evs.clone());
    assert!(
        out[5].contains(&"brute_force_success".to_string()),
        "{out:?}"
    );
    // Success processed first: the last failure completes the pattern.
    let mut rev = vec![evs[5].clone()];
    rev.extend(evs[..5].iter().cloned());
    let out = seq(rev);
    assert!(
        out[5].contains(&"brute_force_success".to_string()),
        "{out:?}"
    );
    assert!(!any_has(&out[..5], "brute_force_success"));
    // Four failures are not enough for a standard user.
    assert!(!any_has(&seq(evs[1..].to_vec()), "brute_force_success"));
    // A privileged account: three failures are enough.
    let mut bob: Vec<Value> = (0..3)
        .map(|i| signin("bob@corp.example", 2, T0 + i * 1000, json!({})))
        .collect();
    bob.push(signin("bob@corp.example", 1, T0 + 10_000, json!({})));
    assert!(seq(bob)[3].contains(&"brute_force_success".to_string()));
}

#[test]
fn password_spray_from_one_ip() {
    let users = ["a", "b", "c", "d", "e"].map(|u| format!("{u}@corp.example"));
    let ev = |u: &str, i: i64, ip: &str| {
        signin(u, 2, T0 + i * 1000, json!({"src_endpoint": {"ip": ip}}))
    };
    let out = seq(users
        .iter()
        .enumerate()
        .map(|(i, u)| ev(u, i as i64, "203.0.113.9"))
        .collect());
    assert!(out[4].contains(&"password_spray".to_string()), "{out:?}");
    let out = seq(users[..4]
        .iter()
        .enumerate()
        .map(|(i, u)| ev(u, i as i64, "203.0.113.9"))
        .collect());
    assert!(!any_has(&out, "password_spray"));
    // Five users from five addresses is not a spray.
    let out = seq(users
        .iter()
        .enumerate()
        .map(|(i, u)| ev(u, i as i64, &format!("203.0.113.{i}")))
        .collect());
    assert!(!any_has(&out, "password_spray"));
}

#[test]
fn mfa_fatigue_both_orders() {
    let push = json!({"auth_factors": [{"factor_type_id": 5}]});
    let deny = |i: i64| signin("alice@corp.example", 2, T0 + i * MIN, push.clone());
    let ok = signin("alice@corp.example", 1, T0 + 5 * MIN, push.clone());
    let out = seq(vec![deny(0), deny(1), deny(2), ok.clone()]);
    assert!(out[3].contains(&"mfa_fatigue".to_string()), "{out:?}");
    let out = seq(vec![ok.clone(), deny(0), deny(1), deny(2)]);
    assert!(out[3].contains(&"mfa_fatigue".to_string()), "{out:?}");
    assert!(!any_has(&out[..3], "mfa_fatigue"));
    let out = seq(vec![deny(0), deny(1), ok]);
    assert!(!any_has(&out, "mfa_fatigue"));
    // An executive: two denials are enough.
    let push2 = push.clone();
    let d = |i: i64| signin("CORP\\jdoe", 2, T0 + i * MIN, push2.clone());
    let out = seq(vec![
        d(0),
        d(1),
        signin("CORP\\jdoe", 1, T0 + 5 * MIN, push),
    ]);
    assert!(out[2].contains(&"mfa_fatigue".to_string()), "{out:?}");
}

fn geo(country: &str, lat: f64, long: f64) -> Value {
    json!({"src_endpoint": {"ip": "198.51.100.7", "location": {"country": country, "lat": lat, "long": long}}})
}

#[test]
fn new_country_and_impossible_travel() {
    let paris = geo("FR", 48.85, 2.35);
    let lyon = geo("FR", 45.76, 4.84);
    let nyc = geo("US", 40.71, -74.0);
    let u = "jane.doe@corp.example";
    let out = seq(vec![
        signin(u, 1, T0, paris.clone()),
        signin(u, 1, T0 + 60 * MIN, nyc.clone()),
    ]);
    assert!(out[1].contains(&"new_country".to_string()), "{out:?}");
    assert!(out[1].contains(&"impossible_travel".to_string()), "{out:?}");
    // Home country again, ten hours later: neither.
    let out = seq(vec![
        signin(u, 1, T0, paris.clone()),
        signin(u, 1, T0 + 600 * MIN, lyon),
    ]);
    assert!(
        !any_has(&out, "new_country") && !any_has(&out, "impossible_travel"),
        "{out:?}"
    );
    // New York ten hours after Paris is possible (580 km/h).
    let out = seq(vec![
        signin(u, 1, T0, paris),
        signin(u, 1, T0 + 600 * MIN, nyc),
    ]);
    assert!(out[1].contains(&"new_country".to_string()));
    assert!(!any_has(&out, "impossible_travel"), "{out:?}");
    // The first sign-in of an entity is its baseline; Okta's own flag
    // still counts.
    let okta = json!({"unmapped": {"okta": {"behaviors": {"New Country": "POSITIVE"}}}});
    fires(
        "new_country",
        signin(u, 1, T0, okta),
        signin(
            u,
            1,
            T0,
            json!({"unmapped": {"okta": {"behaviors": {"New Country": "NEGATIVE"}}}}),
        ),
    );
}

fn phish_to(rcpt: &str, t: i64) -> Value {
    json!({"class_uid": 4009, "activity_id": 2, "time": t, "is_alert": true, "severity_id": 4,
           "disposition_id": 3, "direction_id": 1,
           "metadata": {"version": "1.8.0", "uid": "phish-1"},
           "email": {"from": "helpdesk@phish.test", "to": [rcpt]}})
}

#[test]
fn recent_phish_target_both_orders() {
    let s = signin("JDoe@corp.onmicrosoft.com", 1, T0 + 60 * MIN, json!({}));
    let out = seq(vec![phish_to("jane.doe@corp.example", T0), s.clone()]);
    assert!(
        out[1].contains(&"recent_phish_target".to_string()),
        "{out:?}"
    );
    // Sign-in processed first: the phish completes the pattern.
    let mut h = harness();
    h.tags(s.clone());
    let ev = h.run(phish_to("jane.doe@corp.example", T0));
    assert!(risk(&ev).contains(&"recent_phish_target".to_string()));
    let rcpt = ev["enrichments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "email.to")
        .unwrap();
    assert_eq!(
        rcpt["data"]["correlations"][0]["related_uid"],
        s["metadata"]["uid"]
    );
    // Outside the 24 h window: nothing.
    let late = signin("jane.doe@corp.example", 1, T0 + 25 * 60 * MIN, json!({}));
    assert!(!any_has(
        &seq(vec![phish_to("jane.doe@corp.example", T0), late]),
        "recent_phish_target"
    ));
    // Another person's sign-in: nothing.
    let other = signin("bob@corp.example", 1, T0 + MIN, json!({}));
    assert!(!any_has(
        &seq(vec![phish_to("jane.doe@corp.example", T0), other]),
        "recent_phish_target"
    ));
}

#[test]
fn forwarding_after_risky_signin_both_orders() {
    let u = "jane.doe@corp.example";
    let fwd = |t: i64| {
        let mut r = rule(
            "New-InboxRule",
            json!({"forwarding": [{"address": "drop@evil.test"}]}),
        );
        r["time"] = json!(t);
        r
    };
    let risky = signin(u, 1, T0, json!({"risk_level_id": 3}));
    let out = seq(vec![risky.clone(), fwd(T0 + 30 * MIN)]);
    assert!(
        out[1].contains(&"forwarding_after_risky_signin".to_string()),
        "{out:?}"
    );
    let out = seq(vec![fwd(T0 + 30 * MIN), risky]);
    assert!(
        out[1].contains(&"forwarding_after_risky_signin".to_string()),
        "{out:?}"
    );
    let calm = signin(u, 1, T0, json!({"risk_level_id": 1}));
    assert!(!any_has(
        &seq(vec![calm, fwd(T0 + 30 * MIN)]),
        "forwarding_after_risky_signin"
    ));
}

#[test]
fn five_spellings_one_entity() {
    let mut h = harness();
    let spellings = [
        "Jane.Doe@Corp.Example",
        "jane.doe+invoices@corp.example",
        "jane.doe@corp.onmicrosoft.com",
        "JDoe@corp.example",
        "CORP\\jdoe",
    ];
    let ids: Vec<String> = spellings
        .iter()
        .map(|s| entity_ids(&h.run(signin(s, 1, T0, json!({}))))[0].clone())
        .collect();
    assert!(ids.iter().all(|i| i == &ids[0]), "{ids:?}");
    let expected = entity::entity_id(
        &entity::tenant_namespace("corp"),
        Kind::User,
        "jane.doe@corp.example",
    );
    assert_eq!(ids[0], expected.to_string());
    // Okta user id, through the map.
    let okta = h.run(
        json!({"class_uid": 3002, "time": T0, "user": {"uid": "00u1jane", "name": "Jane Doe"}}),
    );
    assert_eq!(entity_ids(&okta)[0], ids[0]);
    // Without a map, the first three still agree (no directory needed).
    let shared = Shared::new(config("corp"), None).unwrap();
    let mut bare = shared.enricher();
    let mut ids2 = Vec::new();
    for s in &spellings[..3] {
        let text = signin(s, 1, T0, json!({})).to_string();
        let mut ev: Event<'_> = serde_json::from_str(&text).unwrap();
        bare.enrich(&mut ev);
        ids2.push(entity_ids(&serde_json::to_value(&ev).unwrap())[0].clone());
    }
    assert!(ids2.iter().all(|i| i == &ids[0]), "{ids2:?}");
    // Another tenant: another id.
    let mut other = harness_with(config("other-tenant"));
    let oid = entity_ids(&other.run(signin(spellings[0], 1, T0, json!({}))))[0].clone();
    assert_ne!(oid, ids[0]);
}

#[test]
fn remembered_spellings_resolve_as_the_keys_do() {
    // Users named by several keys at once, in mixed spellings, some known
    // to the directory by a later key only; devices and applications by
    // lower-cased ids. An enricher that remembers spellings must name the
    // same entities as one that works every key out each time.
    let users = [
        json!({"name": "Jane.Doe@Corp.Example", "uid": "00u1jane"}),
        json!({"email_addr": "nobody@elsewhere.test", "name": "CORP\\jdoe"}),
        json!({"name": "JDoe@corp.example"}),
        json!({"email_addr": "x@partner.test", "uid": "00u1jane"}),
        json!({"name": "x@Partner.test", "uid_alt": "bob@corp.example"}),
        json!({"name": "svc-backup", "type_id": 3}),
        json!({"name": "CORP\\svc-backup", "type_id": 3}),
        json!({"uid": "00uNOBODY"}),
    ];
    let mut events = Vec::new();
    for round in 0..3 {
        for (i, u) in users.iter().enumerate() {
            let actor = &users[(i + round + 1) % users.len()];
            events.push(
                json!({"class_uid": 3002, "activity_id": 1, "time": T0 + i as i64,
                "user": u, "actor": {"user": actor, "app_uid": "App-ID-7", "app_name": "Mail"},
                "device": {"uid": "LAPTOP-7", "hostname": "laptop-7"}}),
            );
        }
    }
    let mut remembering = harness();
    let mut forgetting = harness();
    for ev in events {
        let a = remembering.run(ev.clone());
        for m in &mut forgetting.enricher.cache.by_spelling {
            m.clear();
        }
        let b = forgetting.run(ev);
        assert_eq!(entity_ids(&a), entity_ids(&b), "{a}");
        assert_eq!(a, b);
    }
    assert!(remembering
        .enricher
        .cache
        .by_spelling
        .iter()
        .any(|m| !m.is_empty()));
}

#[test]
fn output_contract() {
    let mut h = harness();
    let ev = h.run(mail(
        json!({"direction_id": 1, "email_auth": {"dmarc": "fail"}}),
    ));
    let e = &ev["enrichments"][0];
    assert_eq!(e["name"], "email.from");
    assert_eq!(e["value"], "news@partner.test");
    assert_eq!(e["type"], "entity");
    assert_eq!(e["provider"], "idlink");
    for k in [
        "entity_id",
        "kind",
        "canonical",
        "privileged",
        "executive",
        "known",
        "role",
    ] {
        assert!(e["data"].get(k).is_some(), "data.{k} missing: {e}");
    }
    assert_eq!(e["data"]["risk"], json!(["dmarc_fail", "external_sender"]));
    let l = labels(&ev);
    assert!(l.contains(&format!(
        "entity:{}",
        e["data"]["entity_id"].as_str().unwrap()
    )));
    assert!(l.contains(&"risk:dmarc_fail".to_string()));
    let rcpt = &ev["enrichments"][1];
    assert_eq!(rcpt["data"]["department"], "Finance");
    assert_eq!(rcpt["data"]["executive"], true);
    // Shared mailboxes are their own kind.
    let ev = h.run(mail(json!({"email": {"to": ["Support@corp.example"]}})));
    assert_eq!(ev["enrichments"][1]["data"]["kind"], "mailbox");
    // Disabled: nothing added.
    let shared = Shared::new(
        EnrichConfig {
            enabled: false,
            ..config("corp")
        },
        None,
    )
    .unwrap();
    let mut off = shared.enricher();
    let text = mail(json!({})).to_string();
    let mut ev: Event<'_> = serde_json::from_str(&text).unwrap();
    off.enrich(&mut ev);
    assert!(ev.enrichments.is_empty());
}

#[test]
fn map_reload_reaches_running_enrichers() {
    let mut h = harness();
    let before = h.run(signin("newhire@corp.example", 1, T0, json!({})));
    assert_eq!(before["enrichments"][0]["data"]["known"], false);
    let path = h.shared.config().identity_map.clone().unwrap();
    std::fs::write(
        &path,
        format!("{MAP}newhire@corp.example,CORP\\newhire,service,true,false,Ops\n"),
    )
    .unwrap();
    h.shared.reload_map();
    let after = h.run(signin("CORP\\newhire", 1, T0, json!({})));
    assert_eq!(after["enrichments"][0]["data"]["known"], true);
    assert_eq!(after["enrichments"][0]["data"]["kind"], "service");
}

#[test]
fn correlation_state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let state = state_path(dir.path());
    let shared = Shared::new(config("corp"), Some(state.clone())).unwrap();
    let mut e = shared.enricher();
    let text = phish_to("jane.doe@corp.example", T0).to_string();
    let mut ev: Event<'_> = serde_json::from_str(&text).unwrap();
    e.enrich(&mut ev);
    shared.save_state().unwrap();
    drop(e);
    drop(shared);
    let shared = Shared::new(config("corp"), Some(state)).unwrap();
    assert_eq!(shared.correlated_entities(), 1);
    let mut e = shared.enricher();
    let text = signin("jane.doe@corp.example", 1, T0 + MIN, json!({})).to_string();
    let mut ev: Event<'_> = serde_json::from_str(&text).unwrap();
    e.enrich(&mut ev);
    let v = serde_json::to_value(&ev).unwrap();
    assert!(risk(&v).contains(&"recent_phish_target".to_string()), "{v}");
}

#[test]
fn entity_data_text_is_what_a_serde_json_map_of_it_writes() {
    let boss = identity_map::Identity {
        id: "ann \"the\" admin@example.com".into(),
        kind: Kind::User,
        privileged: true,
        executive: true,
        department: Some("Finance\\Ops".into()),
        display_name: "Ann".into(),
    };
    let mut cache = EntityCache::default();
    let dept = cache.add(
        Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef),
        Kind::User,
        &boss.id,
        Some(&boss),
    );
    let plain = cache.add(Uuid::from_u128(7), Kind::Device, "laptop-7", None);
    let hit = |tag, uid: Option<&str>| Hit {
        tag,
        entity: 1,
        related: correlate::Ref {
            uid: uid.map(|u| serde_json::from_value(json!(u)).unwrap()),
            time: 1_740_787_271_175,
            used: false,
        },
    };
    let hits = [
        hit(
            Tag::NewCountry,
            Some("24dea54f-9bb9-417d-968d-fcef4c7e2193"),
        ),
        hit(Tag::ImpossibleTravel, Some("not a uuid")),
        hit(Tag::ImpossibleTravel, None),
    ];
    let mut tags = TagSet::default();
    tags.insert(Tag::ImpossibleTravel);
    tags.insert(Tag::NewCountry);
    let mut scratch = Vec::new();
    for (r, role, hits) in [
        (&dept, Role::Actor, &hits[..]),
        (&plain, Role::Target, &hits[..0]),
    ] {
        for tags in [tags, TagSet::default()] {
            let Json::Text(text) = r.data(
                &cache.text,
                role,
                &tags,
                &hits.iter().collect::<Vec<_>>(),
                &mut scratch,
            ) else {
                panic!("entity data is written as text");
            };
            let tree: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(serde_json::to_string(&tree).unwrap(), *text);
            assert_eq!(
                tree["entity_id"],
                Uuid::from_u128(r.id).to_string(),
                "{text}"
            );
            assert_eq!(tree["role"], role.as_str());
            assert_eq!(
                r.label(&cache.text),
                format!("entity:{}", tree["entity_id"].as_str().unwrap())
            );
            let known = r.id == dept.id;
            assert_eq!(tree["known"], known);
            assert_eq!(tree["privileged"], known);
            assert_eq!(tree["executive"], known);
            assert_eq!(tree["kind"], if known { "user" } else { "device" });
            assert_eq!(
                tree["canonical"],
                if known { boss.id.as_str() } else { "laptop-7" }
            );
            assert_eq!(
                tree.get("department"),
                known.then(|| json!("Finance\\Ops")).as_ref()
            );
            assert_eq!(tree.get("risk").is_some(), !tags.is_empty());
            assert_eq!(
                tree.get("correlations")
                    .map(|c| c.as_array().unwrap().len()),
                (!hits.is_empty()).then_some(hits.len())
            );
        }
    }
}

#[test]
fn a_full_entity_cache_is_emptied_between_events_not_within_one() {
    // Mail events naming many recipients fill the cache past its cap; the
    // entities of each event must keep their own text through it.
    let mut h = harness();
    let ns = entity::tenant_namespace("corp");
    let mut n = 0;
    while n < CACHE_CAP + 100 {
        let to: Vec<String> = (n..n + 32)
            .map(|i| format!("user{i}@corp.example"))
            .collect();
        let v = h.run(json!({"class_uid": 4009, "activity_id": 1, "time": T0,
            "email": {"from": "sender@corp.example", "to": to}}));
        let want: Vec<String> = std::iter::once("sender@corp.example".to_string())
            .chain(to)
            .map(|a| entity::entity_id(&ns, Kind::User, &a).to_string())
            .collect();
        assert_eq!(entity_ids(&v), want, "at {n}");
        for (e, id) in v["enrichments"].as_array().unwrap().iter().zip(&want) {
            assert_eq!(e["data"]["canonical"], e["value"]);
            assert!(labels(&v).contains(&format!("entity:{id}")));
        }
        n += 32;
        assert!(h
            .enricher
            .cache
            .by_key
            .iter()
            .all(|m| m.len() <= CACHE_CAP + 33));
    }
    // It was emptied at least once on the way.
    assert!(h.enricher.cache.by_key[Kind::User.index()].len() < n);
}

#[test]
fn a_recycled_list_keeps_its_memory() {
    let mut v: Vec<(&str, u64)> = Vec::with_capacity(8);
    v.push(("a", 1));
    let at = v.as_ptr() as usize;
    let w: Vec<(&str, i64)> = super::recycle(v);
    assert!(w.is_empty());
    assert_eq!(w.capacity(), 8);
    assert_eq!(w.as_ptr() as usize, at);
}

#[test]
fn spellings_are_found_by_their_bytes_at_every_length() {
    use super::Spelling;
    assert_eq!(std::mem::size_of::<Spelling>(), 40);
    let mut m: super::FastMap<Spelling, usize> = Default::default();
    let words: Vec<String> = (0..=60).map(|n| "ab".repeat(30)[..n].to_string()).collect();
    for (i, w) in words.iter().enumerate() {
        m.insert(Spelling::new(w), i);
    }
    assert_eq!(m.len(), words.len());
    for (i, w) in words.iter().enumerate() {
        assert_eq!(m.get(w.as_bytes()), Some(&i), "{w}");
        assert_eq!(Spelling::new(w).as_bytes(), w.as_bytes());
    }
    assert_eq!(m.get(&b"abc\0"[..]), None);
    assert_eq!(m.get(&b"x"[..]), None);
}
