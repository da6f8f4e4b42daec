//! Exchange Online message trace rows (Reporting web service
//! `MessageTrace` / `Get-MessageTrace`): one row per message and
//! recipient, with a delivery `Status`.
//!
//! Each row is an Email Activity (activity Trace). `MessageTraceId` is the
//! message's Network Message ID, the same key Defender's e-mail tables
//! carry as `NetworkMessageId`: it goes to `email.uid`,
//! `message_trace_uid` and `metadata.correlation_uid`, so trace rows join
//! the Defender records of the same message.

use std::borrow::Cow;

use serde_json::Value;

use crate::common::mailjson::{self as json, Fields, Msg};
use crate::ocsf::{status, Event, NetworkEndpoint, Product, EMAIL_ACTIVITY};
use crate::{Decoder, Options, Outcome};

const LOG_NAME: &str = "exchange-message-trace";

fn product() -> Product<'static> {
    json::product("Exchange Online", "Microsoft")
}

/// Decoder for `exchange-message-trace` rows.
pub struct ExchangeMessageTraceDecoder {
    opts: Options,
}

impl ExchangeMessageTraceDecoder {
    /// A decoder with `opts`.
    pub fn new(opts: Options) -> Self {
        ExchangeMessageTraceDecoder { opts }
    }
}

impl Decoder for ExchangeMessageTraceDecoder {
    fn decode(&mut self, record: &[u8], _pos: u64, out: &mut dyn FnMut(&mut Event<'_>)) -> Outcome {
        let opts = &self.opts;
        json::decode_json(
            record,
            product(),
            LOG_NAME,
            opts,
            out,
            |mut f, text, out| {
                let is_trace = f.has("MessageTraceId")
                    || (f.has("Received") && (f.has("SenderAddress") || f.has("RecipientAddress")));
                let mut ev = if is_trace {
                    let mut ev = map(&mut f, opts);
                    json::finish(&mut ev, &f, text, opts);
                    ev
                } else {
                    let time = f
                        .peek_str("Received")
                        .and_then(|t| json::parse_time(&t, opts.utc_offset_secs));
                    let mut ev = json::fallback_event(
                        &mut f,
                        Cow::Borrowed("unknown"),
                        time,
                        product(),
                        LOG_NAME,
                        opts,
                    );
                    if opts.raw_data {
                        ev.raw_data = Some(Cow::Borrowed(text));
                    }
                    ev
                };
                out(&mut ev);
                Outcome::Parsed
            },
        )
    }
}

fn map<'a>(f: &mut Fields<'a>, opts: &Options) -> Event<'a> {
    let received = f.str("Received");
    let time = received
        .as_deref()
        .and_then(|t| json::parse_time(t, opts.utc_offset_secs))
        .unwrap_or(opts.reference_time_ms);
    let mut ev = Event::new(&EMAIL_ACTIVITY, 4, time);
    // The OData row's `__metadata.id` is the row's address in the service.
    let mut row_id = None;
    if let Some(mut md) = f.fields("__metadata") {
        row_id = md.str("id").map(|s| Cow::Owned(s.into_owned()));
        md.skip(&["uri"]);
        let mut rest = serde_json::Map::new();
        md.rest_into(&mut rest);
        if !rest.is_empty() {
            ev.unmapped()
                .insert("__metadata".into(), Value::Object(rest));
        }
    }
    let m = ev.meta();
    m.product = Some(Box::new(product()));
    m.log_name = Some(Cow::Borrowed(LOG_NAME));
    m.original_time = received;
    m.event_code = Some(Cow::Borrowed("MessageTrace"));
    m.uid = row_id;
    let mut msg = Msg {
        uid: f.str("MessageTraceId"),
        message_uid: f.str("MessageId"),
        subject: f.str("Subject"),
        size: f.i64("Size"),
        ..Default::default()
    };
    // The trace's SenderAddress is the envelope sender; it is also the
    // only sender address the row has, so it is `email.from` too.
    let sender = f.str("SenderAddress");
    msg.set_from(sender.clone(), "SenderAddress", ev.unmapped());
    msg.return_path = msg.from.clone();
    let rcpt = f.strs("RecipientAddress");
    msg.add_to(rcpt, "RecipientAddress", ev.unmapped());
    let email = msg.email();
    msg.fill(&mut ev, email, None, opts);
    if let Some(ip) = f.str("FromIP").filter(|ip| json::is_ip(ip)) {
        ev.src_endpoint = Some(Box::new(NetworkEndpoint {
            ip: Some(ip),
            ..Default::default()
        }));
    }
    if let Some(ip) = f.str("ToIP").filter(|ip| json::is_ip(ip)) {
        ev.dst_endpoint = Some(Box::new(NetworkEndpoint {
            ip: Some(ip),
            ..Default::default()
        }));
    }
    // Status: Delivered, Failed, Pending, Expanded, Quarantined,
    // FilteredAsSpam, GettingStatus, None, Resolved, ...
    if let Some(s) = f.str("Status") {
        let l = s.to_ascii_lowercase();
        let (st, disp) = match l.as_str() {
            "delivered" | "expanded" | "resolved" => (status::SUCCESS, Some(1)),
            "failed" => (status::FAILURE, Some(27)),
            "quarantined" => (status::SUCCESS, Some(3)),
            "filteredasspam" => (status::SUCCESS, Some(18)),
            _ => (status::OTHER, None),
        };
        ev.set_status(st, Some(s.clone()));
        if let Some(d) = disp {
            json::set_disposition(&mut ev, d, None);
        }
        if l == "filteredasspam" || l == "quarantined" {
            ev.set_severity(crate::ocsf::severity::LOW);
        }
        ev.status_detail = Some(s);
    }
    for k in ["StartDate", "EndDate"] {
        if let Some(d) = f.str(k) {
            let v = json::parse_time(&d, 0)
                .map(Value::from)
                .unwrap_or_else(|| Value::from(d.as_ref()));
            ev.unmapped().insert(k.into(), v);
        }
    }
    ev
}
