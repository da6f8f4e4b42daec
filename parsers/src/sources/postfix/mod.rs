//! Postfix (and the filters that log beside it) to OCSF.
//!
//! A line goes through three steps: the syslog header
//! ([`crate::common::syslog`]: RFC 3164, RFC 5424, ISO 8601, `maillog_file`,
//! a bare `program[pid]:` tag or nothing), the message grammar
//! ([`parse`] for Postfix programs, [`filters`] for amavis, OpenDKIM,
//! OpenDMARC, policyd-spf, postgrey and spamd), then either an event of its
//! own ([`ocsf`]) or folding into an open message ([`assemble`]).
//!
//! A program is Postfix when the first part of its syslog name starts with
//! `postfix` (`postfix/smtpd`, `postfix/submission/smtpd`, `postfix-out/smtp`,
//! `postfix` itself). Lines of other programs (sendmail, dovecot, ...) become
//! the fallback event and [`Outcome::Unparsed`] with `not_this_source`.
//!
//! # What becomes what
//!
//! | line | event |
//! |---|---|
//! | smtpd `connect from`, postscreen `CONNECT` | Network Activity 4001 Open |
//! | smtpd `disconnect from` (command counters in `unmapped.postfix.commands`), postscreen `DISCONNECT` | 4001 Close |
//! | `lost connection after X` / `timeout after X` | 4001 Reset / Other "Timeout" |
//! | `... TLS connection established from/to` | 4001 Other "TLS Established", `tls` |
//! | `improper command pipelining`, postscreen PASS/DNSBL/PREGREET/HANGUP/... , dnsblog `addr ... listed` | 4001 Other |
//! | anvil-enforced `... rate limit exceeded`, postscreen deny | 4001 Refuse, security_control Denied |
//! | smtp `connect to X: error`, TLS handshake failures | 4001 Fail |
//! | `NOQUEUE: reject/warn/hold/discard/filter/redirect: ...` | Email Activity 4009 Receive (4001 Refuse when it has no address) with `action_id`/`disposition_id` |
//! | `warning: host[ip]: SASL X authentication failed` | Authentication 3002 Logon, Failure |
//! | smtpd `QID: client=..., sasl_username=u` | Authentication 3002 Logon, Success, **and** folded into the message |
//! | queue-ID lines: smtpd `client=`, cleanup `message-id=` and header/body/milter actions, qmgr `from=`/`removed`/`expired`, delivery agents `to=... status=`, bounce notifications, pickup `uid= from=`, `host X said`, `Used TLS for`, OpenDKIM and OpenDMARC results | folded into one Email Activity per message |
//! | anvil/scache `statistics:`, master/postfix-script life cycle, `warning:`/`fatal:`/... daemon messages, verbose `-v` debug output | Base Event, Other, with `message` |
//! | amavis verdicts, policyd-spf results, postgrey decisions | Email Activity 4009 Scan (Base Event when no address) |
//! | spamd results, other filter chatter | Base Event, Other |
//!
//! # Message assembly: one event per message
//!
//! Postfix logs one message over many lines keyed by queue ID. The decoder
//! keeps one open entry per (syslog host, queue ID) and emits **one Email
//! Activity per message**, when qmgr logs `removed` (the message left the
//! queue), or at once when cleanup/a milter rejects or discards it at
//! DATA/header/body time (it never gets queued). Every recipient is in
//! `email.to` (real addresses only) and each recipient's last outcome
//! (relay, dsn, status, response, delay, delays, agent, attempts) is in
//! `unmapped.postfix.recipients[]`. Status: Success when every recipient was
//! sent; Failure when one bounced/expired or the message was rejected;
//! Other `deferred` / `held` / `discarded` / `open` otherwise.
//! `time` is when the first line was seen; `start_time`/`end_time` span it.
//!
//! Bounds: at most `Options::max_open` messages are open (the oldest is
//! emitted when one more opens), and a message first seen more than
//! `Options::open_ttl_ms` before the current line (event time) is emitted
//! with what it has (`unmapped.postfix.emitted_on` says why: `removed`,
//! `rejected`, `ttl`, `capacity`, `flush`). A deferred message that outlives
//! the TTL therefore yields a partial event, and its later lines open a new
//! entry: nothing is lost, and [`Decoder::oldest_held`] lets the caller
//! avoid checkpointing past held lines. An entry without any real address
//! (e.g. only `removed` seen) is emitted as a Base Event.
//!
//! No per-pid smtpd connection state is kept: every smtpd line Postfix
//! writes already carries the client, so it would add memory and nothing
//! else.

pub mod assemble;
pub mod filters;
pub mod ocsf;
pub mod parse;

use std::borrow::Cow;

use crate::common::addr::Endpoint;
use crate::common::fallback;
use crate::common::syslog::{parse_header, HeaderFormat};
use crate::common::time::TimeContext;
use crate::ocsf::{Event, Product};
use crate::{Decoder, ErrorKind, Options, Outcome, ParseError};

use assemble::{Assembler, EmitReason, OpenMsg, Origin};
use filters::{parse_filter, FilterKind, FilterMsg};
use ocsf::LineCtx;
use parse::{parse_delays, parse_message, Msg};

/// Decoder of Postfix syslog lines; see the module doc.
pub struct PostfixDecoder {
    opts: Options,
    tc: TimeContext,
    asm: Assembler,
}

impl PostfixDecoder {
    /// A decoder with `opts`.
    pub fn new(opts: Options) -> Self {
        let tc = TimeContext::from_options(&opts);
        let asm = Assembler::new(opts.max_open, opts.open_ttl_ms);
        PostfixDecoder { opts, tc, asm }
    }
}

/// Which parser a syslog program goes to.
enum Prog<'a> {
    Postfix { service: &'a str },
    Filter(FilterKind),
    Other,
    Unknown,
}

fn classify(app: Option<&str>) -> Prog<'_> {
    let Some(app) = app else { return Prog::Unknown };
    let first = app.split('/').next().unwrap_or(app);
    if first.starts_with("postfix") {
        let service = app.rsplit('/').next().unwrap_or(app);
        return Prog::Postfix { service };
    }
    match FilterKind::from_program(app) {
        Some(k) => Prog::Filter(k),
        None => Prog::Other,
    }
}

fn emit_message(
    m: OpenMsg,
    reason: EmitReason,
    opts: &Options,
    out: &mut dyn FnMut(&mut Event<'_>),
) {
    out(&mut ocsf::message_event(&m, reason, opts));
}

/// The fallback event, with `type_name` "Base Event: <label>": Base Event
/// has no schema caption for activity 99, and `ocsf-validate --strict`
/// rejects "Base Event: Other" there (`enum_sibling_other`), which
/// `Event::set_other_activity` now writes for every class.
fn unparsed<'a>(
    record: &'a [u8],
    err: ParseError,
    product: Product<'a>,
    time_ms: Option<i64>,
    opts: &Options,
) -> Event<'a> {
    let mut ev = fallback::unparsed(record, err, product, "maillog", time_ms, opts);
    if ev.class_uid == Some(0) {
        if let Some(label) = ev.activity_name.as_deref() {
            ev.type_name = Some(Cow::Owned(format!("Base Event: {label}")));
        }
    }
    ev
}

fn postfix_product() -> Product<'static> {
    Product {
        name: Some(Cow::Borrowed("Postfix")),
        vendor_name: Some(Cow::Borrowed("Postfix")),
        ..Default::default()
    }
}

fn set_client(m: &mut OpenMsg, c: &Endpoint<'_>) {
    if let Some(h) = c.hostname {
        m.client_host = m.set(m.client_host, h);
    }
    if let Some(ip) = c.ip {
        m.client_ip = m.set(m.client_ip, ip);
    }
    if c.port.is_some() {
        m.client_port = c.port;
    }
}

impl Decoder for PostfixDecoder {
    fn decode(&mut self, record: &[u8], pos: u64, out: &mut dyn FnMut(&mut Event<'_>)) -> Outcome {
        // Valid UTF-8 is the norm: borrow it; repair (copy) only the rest.
        let text = match crate::common::utf8::text(record) {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => String::from_utf8_lossy(record),
        };
        let line = text.trim_end_matches(['\r', '\n']);
        let Self { opts, tc, asm } = self;
        if line.trim().is_empty() {
            let err = ParseError {
                kind: ErrorKind::Empty,
                at: 0,
            };
            out(&mut unparsed(record, err, postfix_product(), None, opts));
            return Outcome::Unparsed(err);
        }
        let (h, msg) = parse_header(line, tc);
        let time_ms = h.time_ms.unwrap_or(opts.reference_time_ms);
        if let Some(t) = h.time_ms {
            asm.expire(t, &mut |m, r| emit_message(m, r, opts, out));
        }
        let ctx = LineCtx {
            time_ms,
            original_time: h.timestamp,
            host: h.hostname,
            program: h.app_name,
            service: None,
            pid: h.proc_id,
            raw: line,
            opts,
        };
        let msg_at = line.len() - msg.len();
        let fail = |kind: ErrorKind, out: &mut dyn FnMut(&mut Event<'_>)| {
            let err = ParseError { kind, at: msg_at };
            let product = match classify(h.app_name) {
                Prog::Filter(k) => Product {
                    name: Some(Cow::Borrowed(k.product())),
                    vendor_name: Some(Cow::Borrowed(k.vendor())),
                    ..Default::default()
                },
                _ => postfix_product(),
            };
            out(&mut unparsed(record, err, product, h.time_ms, opts));
            Outcome::Unparsed(err)
        };
        if h.bad_timestamp {
            return fail(ErrorKind::Timestamp, out);
        }
        match classify(h.app_name) {
            Prog::Postfix { service } => {
                let ctx = LineCtx {
                    service: Some(service),
                    ..ctx
                };
                match parse_message(Some(service), msg) {
                    Some(m) => {
                        handle(asm, &ctx, pos, service, &m, out);
                        Outcome::Parsed
                    }
                    None => fail(ErrorKind::UnknownMessage, out),
                }
            }
            Prog::Filter(k) => match parse_filter(Some(k), msg) {
                Some((k, f)) => {
                    handle_filter(asm, &ctx, pos, k, &f, out);
                    Outcome::Parsed
                }
                None => fail(ErrorKind::UnknownMessage, out),
            },
            Prog::Other => fail(ErrorKind::NotThisSource, out),
            Prog::Unknown => {
                // No program: a bare message part. Postfix shapes first.
                if let Some(m) = parse_message(None, msg) {
                    handle(asm, &ctx, pos, "", &m, out);
                    return Outcome::Parsed;
                }
                if let Some((k, f)) = parse_filter(None, msg) {
                    handle_filter(asm, &ctx, pos, k, &f, out);
                    return Outcome::Parsed;
                }
                fail(
                    if h.format == HeaderFormat::None {
                        ErrorKind::Header
                    } else {
                        ErrorKind::UnknownMessage
                    },
                    out,
                )
            }
        }
    }

    fn flush(&mut self, out: &mut dyn FnMut(&mut Event<'_>)) {
        let opts = &self.opts;
        self.asm.drain(&mut |m, r| emit_message(m, r, opts, out));
    }

    fn oldest_held(&self) -> Option<u64> {
        self.asm.oldest_held()
    }
}

/// Fold a queue-ID line into its message, or emit its own event.
fn handle(
    asm: &mut Assembler,
    ctx: &LineCtx<'_>,
    pos: u64,
    service: &str,
    msg: &Msg<'_>,
    out: &mut dyn FnMut(&mut Event<'_>),
) {
    let opts = ctx.opts;
    // Events of their own (the SASL success line also folds, below).
    // Policy actions with a queue ID only fold into their message.
    if !matches!(msg, Msg::Action(a) if a.qid.is_some()) {
        if let Some(mut ev) = ocsf::line_event(ctx, msg) {
            out(&mut ev);
        }
    }
    let qid = match msg {
        Msg::Client { qid, .. }
        | Msg::MessageId { qid, .. }
        | Msg::QueueActive { qid, .. }
        | Msg::Expired { qid, .. }
        | Msg::Removed { qid }
        | Msg::Notification { qid, .. }
        | Msg::Pickup { qid, .. }
        | Msg::QueueNote { qid, .. } => *qid,
        Msg::Delivery(d) => d.qid,
        Msg::Action(a) => match a.qid {
            Some(q) => q,
            None => return,
        },
        _ => return,
    };
    if qid == "NOQUEUE" {
        return;
    }
    let mut emit = |m: OpenMsg, r: EmitReason| emit_message(m, r, opts, out);
    let m = asm.entry(
        ctx.host,
        qid,
        pos,
        ctx.time_ms,
        ctx.original_time,
        &mut emit,
    );
    let mut done = None;
    match msg {
        Msg::Client {
            client,
            sasl_method,
            sasl_username,
            orig,
            ..
        } => {
            m.origin = Origin::Smtpd;
            set_client(m, client);
            if let Some(s) = sasl_method {
                m.sasl_method = m.set(m.sasl_method, s);
            }
            if let Some(s) = sasl_username {
                m.sasl_username = m.set(m.sasl_username, s);
            }
            if let Some(o) = orig {
                m.note("orig_queue_id", o);
            }
        }
        Msg::MessageId { id, resent, .. } => {
            if *resent {
                m.note("resent_message_id", id);
            } else {
                m.message_id = m.set(m.message_id, id);
            }
        }
        Msg::QueueActive {
            from, size, nrcpt, ..
        } => {
            m.from = m.set(m.from, from);
            m.size = size.or(m.size);
            m.nrcpt = nrcpt.or(m.nrcpt);
        }
        Msg::Expired { from, .. } => {
            m.from = m.set(m.from, from);
            m.expired = true;
        }
        Msg::Removed { .. } => {
            m.removed = true;
            done = Some(EmitReason::Removed);
        }
        Msg::Delivery(d) => {
            if let Some(k) = m.rcpt(d.to, d.orig_to) {
                let agent = m.put(service);
                let status = m.put(d.status);
                let relay = d.relay.map(|r| m.put(r));
                let dsn = d.dsn.map(|x| m.put(x));
                let response = d
                    .response
                    .map(|x| m.put(assemble::truncate(x, assemble::MAX_NOTE_LEN)));
                if let Some(r) = m.rcpts.get_mut(k) {
                    r.agent = agent;
                    r.status = status;
                    r.relay = relay;
                    r.dsn = dsn;
                    r.response = response;
                    r.delay = d.delay.and_then(|x| x.parse().ok());
                    r.delays = d.delays.and_then(parse_delays);
                    r.attempts += 1;
                }
            }
        }
        Msg::Notification { kind, new_qid, .. } => {
            if m.notifications.len() < assemble::MAX_NOTES {
                let k = m.put(kind);
                let q = m.put(new_qid);
                m.notifications.push((k, q));
            } else {
                m.notes_dropped += 1;
            }
        }
        Msg::Pickup { uid, from, .. } => {
            m.origin = Origin::Pickup;
            m.uid = m.set(m.uid, uid);
            if !from.is_empty() {
                m.from = m.set(m.from, from);
            }
        }
        Msg::QueueNote { kind, text, .. } => m.note(kind, text),
        Msg::Action(a) => {
            let text = a.checked.unwrap_or(a.reason);
            m.action(a.action, a.stage, text);
            if a.client.ip.is_some() {
                set_client(m, &a.client);
            }
            if let Some(hl) = a.helo {
                m.helo = m.set(m.helo, hl);
            }
            if m.from.is_none() {
                if let Some(f) = a.from {
                    m.from = m.set(None, f);
                }
            }
            if let Some(t) = a.to {
                // The recipient is known even if no delivery line follows.
                if let Some(k) = m.rcpt(t, None) {
                    if m.rcpts
                        .get(k)
                        .is_some_and(|r| r.status == Default::default())
                    {
                        let st = m.put(match a.action {
                            "reject" | "milter-reject" | "proxy-reject" => "rejected",
                            "discard" | "milter-discard" => "discarded",
                            "hold" | "milter-hold" => "held",
                            _ => "accepted",
                        });
                        let ag = m.put(service);
                        if let Some(r) = m.rcpts.get_mut(k) {
                            r.status = st;
                            r.agent = ag;
                        }
                    }
                }
            }
            let final_stage = matches!(
                a.stage,
                "header" | "body" | "END-OF-MESSAGE" | "DATA" | "BDAT"
            );
            let final_action = matches!(
                a.action,
                "reject" | "milter-reject" | "proxy-reject" | "discard" | "milter-discard"
            );
            if final_stage && final_action {
                done = Some(EmitReason::Rejected);
            }
        }
        _ => {}
    }
    if let Some(reason) = done {
        if let Some(m) = asm.take(ctx.host, qid) {
            emit(m, reason);
        }
    }
}

/// Fold OpenDKIM/OpenDMARC results into their message, or emit the
/// filter's own event.
fn handle_filter(
    asm: &mut Assembler,
    ctx: &LineCtx<'_>,
    pos: u64,
    kind: FilterKind,
    f: &FilterMsg<'_>,
    out: &mut dyn FnMut(&mut Event<'_>),
) {
    let opts = ctx.opts;
    match f {
        FilterMsg::Dkim {
            qid,
            result,
            domain,
            text,
        } => {
            let mut emit = |m: OpenMsg, r: EmitReason| emit_message(m, r, opts, out);
            let m = asm.entry(
                ctx.host,
                qid,
                pos,
                ctx.time_ms,
                ctx.original_time,
                &mut emit,
            );
            if let Some(r) = result {
                m.dkim = m.set(m.dkim, r);
            }
            if let Some(d) = domain {
                m.dkim_domain = m.set(m.dkim_domain, d);
            }
            m.note("opendkim", text);
        }
        FilterMsg::Dmarc {
            qid,
            domain,
            result,
        } => {
            let mut emit = |m: OpenMsg, r: EmitReason| emit_message(m, r, opts, out);
            let m = asm.entry(
                ctx.host,
                qid,
                pos,
                ctx.time_ms,
                ctx.original_time,
                &mut emit,
            );
            m.dmarc = m.set(m.dmarc, result);
            m.dmarc_domain = m.set(m.dmarc_domain, domain);
        }
        _ => {
            if let Some(mut ev) = ocsf::filter_event(ctx, kind, f) {
                out(&mut ev);
            }
        }
    }
}
