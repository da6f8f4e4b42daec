#!/usr/bin/env python3
"""Writes the scenario inputs (vendor records) and expected entity ids.

Run from this folder: `python3 make.py`. The expected ids are computed here
with Python's uuid5, independently of the Rust code: UUIDv5(UUIDv5(URL,
"urn:idlink:tenant:corp"), "<kind>:<canonical>").
"""
import json, os, uuid
from datetime import datetime, timedelta, timezone

NS = uuid.uuid5(uuid.NAMESPACE_URL, "urn:idlink:tenant:corp")
def eid(kind, key): return str(uuid.uuid5(NS, f"{kind}:{key}"))

T0 = datetime(2026, 3, 4, 9, 0, 0, tzinfo=timezone.utc)
def ts(minutes): return (T0 + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.000Z")

IDENTITIES = """id,aliases,kind,privileged,executive,department
jane.doe@corp.example,jdoe@corp.onmicrosoft.com;CORP\\jdoe;00u1jane,human,false,false,Finance
bob@corp.example,bob@corp.onmicrosoft.com;CORP\\bob,human,true,false,IT
carol@corp.example,carol@corp.onmicrosoft.com,human,false,true,Board
svc-backup@corp.example,svc-backup@corp.onmicrosoft.com;CORP\\svc-backup,service,false,false,IT
"""

def defender_email(uid, minutes, rcpt, sender, threat, action, location, subject="Password expires today"):
    return {"time": ts(minutes), "tenantId": "0f1e2d3c-0000-4000-8000-000000000001", "category": "AdvancedHunting-EmailEvents",
            "properties": {"Timestamp": ts(minutes), "NetworkMessageId": uid, "InternetMessageId": f"<{uid}@mail>",
                           "SenderMailFromAddress": sender, "SenderFromAddress": sender, "RecipientEmailAddress": rcpt,
                           "Subject": subject, "EmailDirection": "Inbound" if not sender.endswith("corp.example") else "Intra-org",
                           "DeliveryAction": action, "DeliveryLocation": location, "ThreatTypes": threat,
                           "AuthenticationDetails": json.dumps({"SPF": "pass", "DKIM": "pass", "DMARC": "pass"}),
                           "ReportId": f"{uid}-1"}}

def okta(uuid_, minutes, login, event, result, country="France", lat=48.85, lon=2.35, ip="192.0.2.10", factor=None):
    r = {"actor": {"id": "00u1x", "type": "User", "alternateId": login, "displayName": login},
         "client": {"userAgent": {"rawUserAgent": "Mozilla/5.0", "os": "Mac OS X", "browser": "CHROME"}, "device": "Computer",
                    "ipAddress": ip, "geographicalContext": {"country": country, "geolocation": {"lat": lat, "lon": lon}}},
         "authenticationContext": {"externalSessionId": "idx" + uuid_[:8]},
         "eventType": event, "outcome": {"result": result, "reason": None}, "published": ts(minutes), "severity": "INFO",
         "debugContext": {"debugData": {"requestId": "r" + uuid_[:6]}}, "transaction": {"type": "WEB", "id": "t" + uuid_[:6]},
         "uuid": uuid_, "version": "0", "displayMessage": event}
    if factor:
        r["debugContext"]["debugData"]["factor"] = factor
    return r

def entra(id_, minutes, upn, error=0, ip="198.51.100.20", interactive=True, country="FR", lat=48.85, lon=2.35):
    return {"category": "SignInLogs", "operationName": "Sign-in activity", "tenantId": "0f1e2d3c-0000-4000-8000-000000000001",
            "time": ts(minutes), "callerIpAddress": ip,
            "properties": {"id": id_, "createdDateTime": ts(minutes), "userPrincipalName": upn, "userDisplayName": upn,
                           "userId": "u-" + upn.split("@")[0], "appDisplayName": "Office 365", "appId": "4765445b-32c6-49b0-83e6-1d93765276ca",
                           "clientAppUsed": "Browser", "ipAddress": ip, "isInteractive": interactive,
                           "location": {"countryOrRegion": country, "geoCoordinates": {"latitude": lat, "longitude": lon}},
                           "status": {"errorCode": error, "failureReason": "Invalid username or password" if error else None},
                           "riskLevelAggregated": "none", "riskState": "none"}}

def m365_rule(id_, minutes, user, params, op="New-InboxRule"):
    return {"CreationTime": ts(minutes)[:19], "Id": id_, "Operation": op, "OrganizationId": "corp", "RecordType": 1,
            "ResultStatus": "True", "UserKey": user, "UserType": 0, "Version": 1, "Workload": "Exchange", "ClientIP": "192.0.2.99:50000",
            "ObjectId": "corp\\" + params.get("Name", "rule"), "UserId": user,
            "Parameters": [{"Name": k, "Value": v} for k, v in params.items()]}

def m365_consent(id_, minutes, user, scopes):
    return {"CreationTime": ts(minutes)[:19], "Id": id_, "Operation": "Consent to application.", "OrganizationId": "corp",
            "RecordType": 8, "ResultStatus": "Success", "UserKey": user, "UserType": 0, "Version": 1, "Workload": "AzureActiveDirectory",
            "ObjectId": "ServicePrincipal_11111111-1111-1111-1111-111111111111", "UserId": user, "ClientIP": "192.0.2.99",
            "ModifiedProperties": [{"Name": "ConsentContext.IsAdminConsent", "NewValue": "False", "OldValue": ""},
                                   {"Name": "ConsentAction.Permissions", "NewValue": f"[] => [[Id: x, ClientId: y, PrincipalId: z, ResourceId: r, ConsentType: Principal, Scope:  {' '.join(scopes)}, CreatedDateTime: , LastModifiedDateTime ]]; ", "OldValue": ""}],
            "Target": [{"ID": "ServicePrincipal_11111111-1111-1111-1111-111111111111", "Type": 2}, {"ID": "MailSyncPro", "Type": 1}],
            "Actor": [{"ID": user, "Type": 5}]}

def postfix(lines):
    return "".join(l + "\n" for l in lines)

def mail_lines(qid, minutes, frm, to, client="ws1.corp.example[10.0.0.5]"):
    t = (T0 + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    return [f"{t} mx1 postfix/smtpd[100]: {qid}: client={client}",
            f"{t} mx1 postfix/cleanup[101]: {qid}: message-id=<{qid}@corp.example>",
            f"{t} mx1 postfix/qmgr[102]: {qid}: from=<{frm}>, size=1234, nrcpt=1 (queue active)",
            f"{t} mx1 postfix/local[103]: {qid}: to=<{to}>, relay=local, delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (delivered to mailbox)",
            f"{t} mx1 postfix/qmgr[102]: {qid}: removed"]

def write(name, files, expected):
    os.makedirs(name, exist_ok=True)
    with open(os.path.join(name, "identities.csv"), "w") as f:
        f.write(IDENTITIES)
    for fname, content in files.items():
        with open(os.path.join(name, fname), "w") as f:
            if isinstance(content, str):
                f.write(content)
            else:
                for r in content:
                    f.write(json.dumps(r) + "\n")
    with open(os.path.join(name, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")

JANE = eid("user", "jane.doe@corp.example")
BOB = eid("user", "bob@corp.example")
CAROL = eid("user", "carol@corp.example")
SVC = eid("service", "svc-backup@corp.example")

# 1. Blocked phish → the same user signs in from a new country → external forwarding rule.
write("phish_new_country_forwarding", {
    "defender.ndjson": [defender_email("6a0e1f7c-1111-4c2b-9d3e-000000000001", 0, "Jane.Doe@corp.example", "helpdesk@c0rp.example", "Phish", "Blocked", "Quarantine")],
    "okta.ndjson": [okta("a1000000-0000-0000-0000-000000000001", -6 * 60, "jdoe@corp.onmicrosoft.com", "user.session.start", "SUCCESS"),
                    okta("a1000000-0000-0000-0000-000000000002", 60, "jdoe@corp.onmicrosoft.com", "user.session.start", "SUCCESS",
                         country="Nigeria", lat=6.45, lon=3.39, ip="203.0.113.66")],
    "m365.ndjson": [m365_rule("b1000000-0000-0000-0000-000000000001", 90, "CORP\\jdoe",
                              {"Name": "sync", "ForwardTo": "jane.backup@freemail.test", "DeleteMessage": "True"})],
}, {
    "events": {
        "6a0e1f7c-1111-4c2b-9d3e-000000000001-1": {"entities": [JANE], "tags": ["lookalike_domain", "external_sender", "impersonation_lure", "blocked_phish", "phish_target"]},
        "a1000000-0000-0000-0000-000000000001": {"entities": [JANE], "tags": []},
        "a1000000-0000-0000-0000-000000000002": {"entities": [JANE], "tags": ["new_country"]},
        "b1000000-0000-0000-0000-000000000001": {"entities": [JANE], "tags": ["inbox_rule_external_forward", "inbox_rule_delete"]},
    },
    "correlations": [
        {"tag": "recent_phish_target", "entity": JANE, "on_one_of": ["6a0e1f7c-1111-4c2b-9d3e-000000000001-1", "a1000000-0000-0000-0000-000000000002"]},
        {"tag": "recent_phish_target", "entity": JANE, "on_one_of": ["6a0e1f7c-1111-4c2b-9d3e-000000000001-1", "b1000000-0000-0000-0000-000000000001"]},
        {"tag": "forwarding_after_risky_signin", "entity": JANE, "on_one_of": ["a1000000-0000-0000-0000-000000000002", "b1000000-0000-0000-0000-000000000001"]},
    ],
})

# 2. MFA fatigue: three push denials, then an approval (Okta), mail alongside.
write("mfa_fatigue", {
    "okta.ndjson": [okta(f"c1000000-0000-0000-0000-00000000000{i}", i, "alice@corp.example", "user.mfa.okta_verify.deny_push", "FAILURE") for i in range(1, 4)]
                   + [okta("c1000000-0000-0000-0000-000000000009", 5, "alice@corp.example", "user.authentication.auth_via_mfa", "SUCCESS", factor="OKTA_VERIFY_PUSH")],
    "postfix.log": postfix(mail_lines("4F1A2B3C4D", 0, "bob@corp.example", "alice@corp.example")),
}, {
    "events": {
        **{f"c1000000-0000-0000-0000-00000000000{i}": {"entities": [eid("user", "alice@corp.example")], "tags": ["mfa_push_denied"]} for i in range(1, 4)},
        "c1000000-0000-0000-0000-000000000009": {"entities": [eid("user", "alice@corp.example")], "tags": []},
    },
    "correlations": [{"tag": "mfa_fatigue", "entity": eid("user", "alice@corp.example"),
                      "on_one_of": ["c1000000-0000-0000-0000-000000000003", "c1000000-0000-0000-0000-000000000009"]}],
})

# 3. Password spray: one IP fails for five accounts across Entra ID and Okta.
spray_ip = "203.0.113.77"
users = ["u1@corp.example", "u2@corp.example", "u3@corp.example", "u4@corp.example", "u5@corp.example"]
write("password_spray", {
    "entra.ndjson": [entra(f"d1000000-0000-0000-0000-00000000000{i}", i, u, error=50126, ip=spray_ip) for i, u in enumerate(users[:3])],
    "okta.ndjson": [okta(f"d2000000-0000-0000-0000-00000000000{i}", 3 + i, u, "user.session.start", "FAILURE", ip=spray_ip) for i, u in enumerate(users[3:])],
}, {
    "events": {
        **{f"d1000000-0000-0000-0000-00000000000{i}": {"entities": [eid("user", u)], "tags": []} for i, u in enumerate(users[:3])},
        **{f"d2000000-0000-0000-0000-00000000000{i}": {"entities": [eid("user", u)], "tags": []} for i, u in enumerate(users[3:])},
    },
    "correlations": [{"tag": "password_spray", "on_one_of": [f"d1000000-0000-0000-0000-00000000000{i}" for i in range(3)] + [f"d2000000-0000-0000-0000-00000000000{i}" for i in range(2)]}],
})

# 4. OAuth consent after a phish (Defender + M365 audit).
write("oauth_consent_after_phish", {
    "defender.ndjson": [defender_email("6a0e1f7c-2222-4c2b-9d3e-000000000002", 0, "bob@corp.example", "noreply@docs-share.test", "Phish", "Blocked", "Quarantine", subject="DocuSign: contract to review")],
    "m365.ndjson": [m365_consent("e1000000-0000-0000-0000-000000000001", 120, "bob@corp.onmicrosoft.com", ["Mail.Read", "Mail.Send", "offline_access"])],
}, {
    "events": {
        "6a0e1f7c-2222-4c2b-9d3e-000000000002-1": {"entities": [BOB], "tags": ["external_sender", "impersonation_lure", "blocked_phish", "phish_target"]},
        "e1000000-0000-0000-0000-000000000001": {"entities": [BOB], "tags": ["risky_oauth_consent"]},
    },
    "correlations": [{"tag": "recent_phish_target", "entity": BOB, "on_one_of": ["6a0e1f7c-2222-4c2b-9d3e-000000000002-1", "e1000000-0000-0000-0000-000000000001"]}],
})

# 5. A service account signs in interactively (Entra), and sends its usual mail (Postfix).
write("service_account_interactive", {
    "entra.ndjson": [entra("f1000000-0000-0000-0000-000000000001", 0, "svc-backup@corp.onmicrosoft.com", interactive=False),
                     entra("f1000000-0000-0000-0000-000000000002", 30, "svc-backup@corp.onmicrosoft.com", interactive=True)],
    "postfix.log": postfix(mail_lines("5A6B7C8D9E", 10, "svc-backup@corp.example", "bob@corp.example")),
}, {
    "events": {
        "f1000000-0000-0000-0000-000000000001": {"entities": [SVC], "tags": []},
        "f1000000-0000-0000-0000-000000000002": {"entities": [SVC], "tags": ["service_interactive"]},
        "5A6B7C8D9E": {"entities": [SVC, BOB], "tags": []},
    },
    "correlations": [],
})

# 6. A benign day: internal mail, ordinary sign-ins, a tidy inbox rule. No tags.
write("benign_day", {
    "defender.ndjson": [defender_email("6a0e1f7c-3333-4c2b-9d3e-000000000003", 0, "bob@corp.example", "carol@corp.example", None, "Delivered", "Inbox/folder", subject="Board pack")],
    "okta.ndjson": [okta("a3000000-0000-0000-0000-000000000001", 5, "jdoe@corp.onmicrosoft.com", "user.session.start", "SUCCESS"),
                    okta("a3000000-0000-0000-0000-000000000002", 300, "jdoe@corp.onmicrosoft.com", "user.session.start", "SUCCESS", lat=45.76, lon=4.84)],
    "entra.ndjson": [entra("f3000000-0000-0000-0000-000000000001", 10, "carol@corp.onmicrosoft.com")],
    "m365.ndjson": [m365_rule("b3000000-0000-0000-0000-000000000001", 20, "carol@corp.example", {"Name": "board", "From": "bob@corp.example", "MoveToFolder": "Board"})],
    "postfix.log": postfix(mail_lines("6B7C8D9E0F", 30, "jane.doe@corp.example", "bob@corp.example")),
}, {
    "events": {
        "6a0e1f7c-3333-4c2b-9d3e-000000000003-1": {"entities": [CAROL, BOB], "tags": []},
        "a3000000-0000-0000-0000-000000000001": {"entities": [JANE], "tags": []},
        "a3000000-0000-0000-0000-000000000002": {"entities": [JANE], "tags": []},
        "f3000000-0000-0000-0000-000000000001": {"entities": [CAROL], "tags": []},
        "b3000000-0000-0000-0000-000000000001": {"entities": [CAROL], "tags": []},
        "6B7C8D9E0F": {"entities": [JANE, BOB], "tags": []},
    },
    "correlations": [],
    "no_tags_at_all": True,
})
