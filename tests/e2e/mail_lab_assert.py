#!/usr/bin/env python3
"""Scenario assertions of the mail-lab end-to-end test.

Reads the traffic driver's transcript of the run (ground truth: one line per
SMTP/IMAP session with the scenario, client, sender, recipients, result and
the server's reply) and the OCSF events idlink wrote (one NDJSON file per
agent source), and checks that each session left the events it should.
Expected values come from the transcript only.

Prints one line per scenario (PASS/FAIL with the number of checks), the
failed checks, and a closing `N passed, M failed` line; exits 1 on any
failure.
"""
import argparse
import collections
import json
import os
import re
import sys

KV = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)')


def parse_transcript(path):
    sessions = []
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.rstrip("\n")
        if not line.strip():
            continue
        ts, _, rest = line.partition(" ")
        d = {"time": ts}
        for k, v in KV.findall(rest):
            if v.startswith('"') and v.endswith('"'):
                v = v[1:-1]
            d[k] = v
        if d.get("scenario") and d["scenario"] != "run":
            sessions.append(d)
    return sessions


def load(dirname):
    ev = {}
    for f in sorted(os.listdir(dirname)):
        if f.endswith(".ndjson"):
            with open(os.path.join(dirname, f)) as fh:
                ev[f[: -len(".ndjson")]] = [json.loads(l) for l in fh if l.strip()]
    return ev


def addr(s):
    s = (s or "").strip()
    if s.startswith("<") and s.endswith(">"):
        s = s[1:-1]
    return s


def rcpts(s):
    return [r for r in (s or "").split(",") if r]


def refused(s):
    """`a@b=550 5.1.1 text; c@d=...` -> [(rcpt, code)]"""
    out = []
    for part in re.split(r"; (?=[^ ;=]+@[^ ;=]+=\d{3} )", s or ""):
        if "=" in part:
            r, _, reply = part.partition("=")
            out.append((r, reply[:3]))
    return out


def qid_of(reply):
    m = re.search(r"queued as ([0-9A-Za-z]+)", reply or "")
    return m.group(1) if m else None


def g(e, *path):
    for p in path:
        if isinstance(e, dict):
            e = e.get(p)
        elif isinstance(e, list) and isinstance(p, int) and p < len(e):
            e = e[p]
        else:
            return None
    return e


def src_ip(e):
    return g(e, "src_endpoint", "ip")


class Checks:
    def __init__(self):
        self.by_scn = collections.OrderedDict()

    def add(self, scn, ok, what):
        self.by_scn.setdefault(scn, []).append((bool(ok), what))
        return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--transcript", required=True)
    ap.add_argument("--events", required=True)
    a = ap.parse_args()
    sessions = parse_transcript(a.transcript)
    ev = load(a.events)
    pf = ev.get("postfix", [])
    dv = ev.get("dovecot", [])
    rs = ev.get("rspamd", [])
    cl = ev.get("clamd", []) + ev.get("clamav_milter", [])
    dk = ev.get("opendkim", [])
    dm = ev.get("opendmarc", [])
    C = Checks()

    # Global: every source produced events, none of them unparsed.
    for name in ("postfix", "dovecot", "rspamd", "clamd", "clamav_milter", "opendkim", "opendmarc"):
        evs = ev.get(name, [])
        C.add("(all)", evs, f"{name}: events were written ({len(evs)})")
        bad = [e for e in evs if g(e, "unmapped", "idlink", "parse_error")]
        C.add("(all)", not bad, f"{name}: no unparsed lines ({len(bad)} unparsed)"
              + (f", first: {bad[0].get('raw_data', '')[:160]}" if bad else ""))

    pf_msg = {}
    for e in pf:
        if e.get("class_uid") == 4009 and e.get("message_trace_uid"):
            pf_msg.setdefault(e["message_trace_uid"], e)
    rs_by_qid = {}
    for e in rs:
        if e.get("class_uid") == 4009 and e.get("message_trace_uid"):
            rs_by_qid.setdefault(e["message_trace_uid"], e)

    def findings(evs, mid):
        return [e for e in evs if e.get("class_uid") == 2004
                and g(e, "evidences", 0, "email", "message_uid") == mid]

    # NOQUEUE rejects are consumed as they are matched, so two refusals of
    # the same recipient need two events.
    noqueue = [e for e in pf if e.get("class_uid") == 4009 and not e.get("message_trace_uid")
               and e.get("status_id") == 2]
    used = set()

    def take(pred):
        for i, e in enumerate(noqueue):
            if i not in used and pred(e):
                used.add(i)
                return e
        return None

    auth_fail_expect = collections.Counter()   # (source, user, ip) -> n
    auth_ok_expect = collections.Counter()
    bruteforce = []

    for s in sessions:
        scn = s["scenario"]
        client = s.get("client")
        sender = addr(s.get("from"))
        result = s.get("result", "")
        reply = s.get("reply", "")
        refs = refused(s.get("refused"))
        ref_rcpts = {r for r, _ in refs}
        imap = s.get("proto") == "imap"

        # Refused recipients: one blocked Email Activity each, with the
        # recipient (the target) in email.to and the client's address.
        qid = qid_of(reply)
        for r, code in refs:
            want_disp = "Delayed" if code.startswith("4") else "Blocked"
            if qid:
                # Refused in a session that queued the message: Postfix logs
                # the reject with the queue ID, so it is in that message's
                # event, recipient status `rejected`.
                e = pf_msg.get(qid)
                st = [x.get("status") for x in g(e, "unmapped", "postfix", "recipients") or []
                      if x.get("to") == r]
                C.add(scn, e is not None and r in (g(e, "email", "to") or []) and "rejected" in st,
                      f"refused {r} ({code}) in message {qid}: in email.to, recipient status rejected")
                continue
            e = take(lambda e: r in (g(e, "email", "to") or []) and src_ip(e) == client)
            C.add(scn, e is not None,
                  f"refused {r} ({code}) from {client}: blocked Email Activity with to={r}")
            if e is not None:
                C.add(scn, e.get("disposition") == want_disp,
                      f"refused {r}: disposition {want_disp} (got {e.get('disposition')})")

        if imap:
            user = s.get("user")
            if result == "auth_failed":
                auth_fail_expect[("dovecot", user, client)] += 1
            elif result == "login_ok":
                auth_ok_expect[("dovecot", user, client)] += 1
            if scn == "imap_bruteforce":
                bruteforce.append(s)
            continue

        if result == "auth_failed":
            if reply.startswith("535"):
                auth_fail_expect[("postfix", s.get("auth"), client)] += 1
                auth_fail_expect[("dovecot", s.get("auth"), client)] += 1
            continue
        if result == "auth_ok":
            continue  # SMTP AUTH success without mail: neither daemon logs it

        if result in ("accepted", "partially_accepted") and qid:
            e = pf_msg.get(qid)
            if not C.add(scn, e is not None, f"accepted {qid}: Postfix Email Activity with message_trace_uid"):
                continue
            mid = g(e, "email", "message_uid")
            C.add(scn, bool(mid), f"{qid}: Message-ID in email.message_uid")
            if sender:
                C.add(scn, g(e, "email", "from") == sender,
                      f"{qid}: email.from {sender} (got {g(e, 'email', 'from')})")
            to = set(g(e, "email", "to") or [])
            orig = {r.get("orig_to") for r in g(e, "unmapped", "postfix", "recipients") or []}
            for r in rcpts(s.get("rcpt")):
                if r in ref_rcpts:
                    continue
                C.add(scn, r in to or r in orig, f"{qid}: recipient {r} in email.to")
            C.add(scn, src_ip(e) == client, f"{qid}: src_endpoint.ip {client} (got {src_ip(e)})")
            if s.get("auth"):
                ok = [x for x in pf if x.get("class_uid") == 3002 and x.get("status_id") == 1
                      and g(x, "user", "name") == s["auth"] and src_ip(x) == client
                      and g(x, "unmapped", "postfix", "queue_id") == qid]
                C.add(scn, ok, f"{qid}: Authentication Success of {s['auth']} from {client}")
            held = any(x.get("action") == "milter-hold"
                       for x in g(e, "unmapped", "postfix", "actions") or [])
            if held:
                # A milter (OpenDMARC, p=quarantine) put it on hold: the
                # milters after it never see it.
                C.add(scn, e.get("disposition") == "Quarantined" and e.get("status") == "held",
                      f"{qid}: held by a milter: status held, disposition Quarantined")
                continue
            # Every other accepted message went through rspamd (milter).
            r = rs_by_qid.get(qid)
            if C.add(scn, r is not None, f"{qid}: rspamd scan (Email Activity, same queue ID)"):
                C.add(scn, g(r, "email", "message_uid") == mid, f"{qid}: rspamd message_uid = Postfix's")
            # Local deliveries: Dovecot LMTP saved it, same Message-ID.
            for rc in g(e, "unmapped", "postfix", "recipients") or []:
                if rc.get("agent") != "lmtp":
                    continue
                st = rc.get("status")
                want = {"sent": 1, "bounced": 2}.get(st)
                if want is None:
                    continue
                d = [x for x in dv if x.get("class_uid") == 4009 and x.get("activity_id") == 2
                     and g(x, "email", "message_uid") == mid and rc["to"] in (g(x, "email", "to") or [])
                     and x.get("status_id") == want]
                C.add(scn, d, f"{qid}: Dovecot LMTP {'saved' if want == 1 else 'failed'} "
                              f"for {rc['to']} with Message-ID {mid}")
            continue

        if result == "rejected" and s.get("stage") == "CONNECT":
            n = [x for x in pf if x.get("class_uid") == 4001 and x.get("activity_id") == 5
                 and src_ip(x) == client]
            C.add(scn, n, f"connection refused ({reply[:40]}...): Network Activity Refuse from {client}")
            continue
        if result == "rejected" and s.get("stage") == "MAIL":
            x = take(lambda e: g(e, "email", "from") == sender and src_ip(e) == client
                     and not g(e, "email", "to"))
            C.add(scn, x is not None, f"MAIL FROM {sender} rejected: blocked Email Activity from {client}")
            continue
        if result == "rejected" and s.get("stage") == "DATA":
            if "too big" in reply:
                x = [e for e in pf if "queue file size limit exceeded" in (e.get("message") or "")]
                C.add(scn, x, "message over the size limit: Postfix 'queue file size limit exceeded' event")
                continue
            rc = rcpts(s.get("rcpt"))
            cand = [e for e in pf if e.get("class_uid") == 4009 and e.get("message_trace_uid")
                    and e.get("status_id") == 2 and e.get("disposition") == "Blocked"
                    and g(e, "email", "from") == sender and src_ip(e) == client
                    and set(rc) <= set(g(e, "email", "to") or [])
                    and not e.get("_used")]
            if not C.add(scn, cand, f"DATA reject ({reply[:50]}): blocked Postfix message "
                                    f"{sender} -> {','.join(rc)}"):
                continue
            e = cand[0]
            e["_used"] = True
            mid = g(e, "email", "message_uid")
            qid = e.get("message_trace_uid")
            C.add(scn, bool(mid), f"blocked {qid}: Message-ID in email.message_uid")
            m = re.search(r"infected by (\S+)", reply)
            if m:
                sig = m.group(1)
                c = [x for x in cl if x.get("class_uid") == 4009 and g(x, "email", "message_uid") == mid
                     and any(w.get("name") == sig for w in x.get("malware") or [])]
                if C.add(scn, c, f"blocked {qid}: clamav-milter Scan with malware {sig}, same Message-ID"):
                    C.add(scn, set(rc) <= set(g(c[0], "email", "to") or []),
                          f"blocked {qid}: clamav email.to has the recipients (targets)")
                C.add(scn, findings(cl, mid), f"blocked {qid}: ClamAV Detection Finding linked by message_uid")
                files = [x for x in cl if x.get("class_uid") == 2004
                         and g(x, "evidences", 0, "file", "hashes", 0, "algorithm") == "MD5"
                         and any(w.get("name") == sig for w in x.get("malware") or [])]
                C.add(scn, files, f"clamd file verdict: Detection Finding with the file's MD5 and {sig}")
            if "Spam message rejected" in reply or "Gtube" in reply:
                r = rs_by_qid.get(qid)
                if C.add(scn, r is not None and g(r, "email", "message_uid") == mid,
                         f"blocked {qid}: rspamd scan with the same Message-ID"):
                    C.add(scn, r.get("disposition") == "Blocked" and g(r, "unmapped", "rspamd", "action") == "reject",
                          f"blocked {qid}: rspamd action reject, disposition Blocked")
                f = findings(rs, mid)
                C.add(scn, f, f"blocked {qid}: rspamd Detection Finding linked by message_uid")
                if scn == "phishing_urls" and f:
                    C.add(scn, "Phishing" in (g(f[0], "finding_info", "types") or []),
                          f"blocked {qid}: finding type Phishing")
            if "DMARC policy" in reply:
                dom = reply.rsplit(" ", 1)[-1]
                d = [x for x in dm if g(x, "unmapped", "opendmarc", "queue_id") == qid
                     and g(x, "unmapped", "opendmarc", "result") == "fail"]
                C.add(scn, d, f"blocked {qid}: OpenDMARC fail for {dom}, same queue ID")
            continue

    # Logins: failures and successes per (user, client), counted.
    def auth_events(evs, status):
        c = collections.Counter()
        for x in evs:
            if x.get("class_uid") == 3002 and x.get("activity_id") == 1 and x.get("status_id") == status:
                c[(g(x, "user", "name"), src_ip(x))] += 1
        return c

    got = {("postfix", 2): auth_events(pf, 2), ("dovecot", 2): auth_events(dv, 2),
           ("dovecot", 1): auth_events(dv, 1)}
    scn_of = {}
    for s in sessions:
        scn_of.setdefault((s.get("auth") or s.get("user"), s.get("client")), s["scenario"])
    for (src, user, ip), n in sorted(auth_fail_expect.items()):
        have = got[(src, 2)].get((user, ip), 0)
        C.add(scn_of.get((user, ip), "?"), have == n,
              f"{src}: {n} failed logins of {user} from {ip} as Authentication Failure (got {have})")
    for (src, user, ip), n in sorted(auth_ok_expect.items()):
        have = got[(src, 1)].get((user, ip), 0)
        C.add(scn_of.get((user, ip), "?"), have == n,
              f"{src}: {n} successful logins of {user} from {ip} as Authentication Success (got {have})")

    # Brute force: the successful login follows failures, same user.name.
    if bruteforce:
        ok = [s for s in bruteforce if s.get("result") == "login_ok"]
        for s in ok:
            user, ip = s["user"], s["client"]
            fails = [x for x in dv if x.get("class_uid") == 3002 and x.get("activity_id") == 1
                     and x.get("status_id") == 2 and g(x, "user", "name") == user and src_ip(x) == ip]
            succ = [x for x in dv if x.get("class_uid") == 3002 and x.get("activity_id") == 1
                    and x.get("status_id") == 1 and g(x, "user", "name") == user and src_ip(x) == ip]
            C.add("imap_bruteforce", fails and succ and max(x["time"] for x in fails) <= min(x["time"] for x in succ),
                  f"brute force: {len(fails)} failures then a success for user.name={user} from {ip}")

    # Scenario stories beyond single sessions.
    by_scn = collections.defaultdict(list)
    for s in sessions:
        by_scn[s["scenario"]].append(s)
    qids = lambda scn: [q for q in (qid_of(s.get("reply")) for s in by_scn.get(scn, [])) if q]

    for q in qids("lookalike_bec"):
        e = pf_msg.get(q)
        r = rs_by_qid.get(q)
        C.add("lookalike_bec", r is not None and any(
            x.get("name", "").startswith("LAB_LOOKALIKE") for x in g(r, "unmapped", "rspamd", "symbols") or []),
            f"{q}: rspamd flags the lookalike sender (LAB_LOOKALIKE_*)")
        if e is not None:
            C.add("lookalike_bec", findings(rs, g(e, "email", "message_uid")),
                  f"{q}: rspamd Detection Finding linked by message_uid")
    for q in qids("inbound_partner"):
        r = rs_by_qid.get(q)
        C.add("inbound_partner", r is not None and g(r, "email_auth", "spf") == "pass"
              and g(r, "email_auth", "dkim") == "pass" and g(r, "email_auth", "dmarc") == "pass",
              f"{q}: rspamd email_auth spf/dkim/dmarc pass")
        d = [x for x in dm if g(x, "unmapped", "opendmarc", "queue_id") == q]
        C.add("inbound_partner", d and g(d[0], "unmapped", "opendmarc", "result") == "pass",
              f"{q}: OpenDMARC pass, same queue ID")
    for q in qids("internal_submission"):
        k = [x for x in dk if g(x, "unmapped", "opendkim", "queue_id") == q
             and g(x, "unmapped", "opendkim", "result") == "signed"]
        C.add("internal_submission", k, f"{q}: OpenDKIM signed it (DKIM Sign), same queue ID")
    if qids("dkim_broken"):
        k = [x for x in dk if g(x, "unmapped", "opendkim", "queue_id") in qids("dkim_broken")
             and x.get("status_id") == 2]
        C.add("dkim_broken", k, "OpenDKIM verification failure for the altered message")
        r = [rs_by_qid.get(q) for q in qids("dkim_broken")]
        C.add("dkim_broken", any(x is not None and g(x, "email_auth", "dkim") == "fail" for x in r),
              "rspamd email_auth.dkim fail for the altered message")
    for q in qids("spoof_dmarc"):
        d = [x for x in dm if g(x, "unmapped", "opendmarc", "queue_id") == q]
        C.add("spoof_dmarc", d and g(d[0], "unmapped", "opendmarc", "result") == "fail",
              f"{q}: OpenDMARC fail (p=none, delivered), same queue ID")
    for q in qids("dmarc_quarantine"):
        d = [x for x in dm if g(x, "unmapped", "opendmarc", "queue_id") == q]
        C.add("dmarc_quarantine", d and g(d[0], "unmapped", "opendmarc", "result") == "fail",
              f"{q}: OpenDMARC fail (p=quarantine), same queue ID")
    for q in qids("bounce"):
        e = pf_msg.get(q)
        C.add("bounce", e is not None and e.get("status_id") == 2, f"{q}: bounced message has status Failure")
    for q in qids("deferred"):
        e = pf_msg.get(q)
        st = {x.get("status") for x in g(e, "unmapped", "postfix", "recipients") or []}
        C.add("deferred", e is not None and st & {"deferred", "expired", "bounced"},
              f"{q}: deferred message is reported with its delivery status (got {st})")

    # Report.
    passed = failed = 0
    print(f"{'scenario':<22} {'result':<6} checks")
    for scn, cs in C.by_scn.items():
        bad = [w for ok, w in cs if not ok]
        passed += len(cs) - len(bad)
        failed += len(bad)
        print(f"{scn:<22} {'PASS' if not bad else 'FAIL':<6} {len(cs) - len(bad)}/{len(cs)}")
        for w in bad:
            print(f"    FAILED: {w}")
    missing = [s for s in by_scn if s not in C.by_scn]
    for s in missing:
        print(f"{s:<22} {'-':<6} (no check applies to its sessions)")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
