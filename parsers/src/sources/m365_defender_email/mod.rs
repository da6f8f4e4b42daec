//! Microsoft Defender for Office 365 advanced-hunting e-mail tables, as
//! streamed to Event Hub or a storage account (`EmailEvents`,
//! `EmailUrlInfo`, `EmailAttachmentInfo`, `EmailPostDeliveryEvents`,
//! `UrlClickEvents`; the Teams `Message*` tables too).
//!
//! A record is either the streaming wrapper
//! `{"time":..,"category":"AdvancedHunting-EmailEvents","properties":{..}}`
//! or the row itself (flat), whose table comes from `category`/`Type`
//! when present and otherwise from the columns it has.
//!
//! One event per record, no state: the rows of one message share
//! `NetworkMessageId`, which every event carries as `email.uid`,
//! `message_trace_uid` (Email Activity) and `metadata.correlation_uid`,
//! so a query joins them. See `docs/sources/m365-defender-email.md`.

mod ocsf;

use std::borrow::Cow;

use crate::common::mailjson::{self as json, Fields};
use crate::ocsf::{Event, Product};
use crate::{Decoder, Options, Outcome};

pub(crate) const LOG_NAME: &str = "m365-defender-email";

fn product() -> Product<'static> {
    json::product("Microsoft Defender for Office 365", "Microsoft")
}

/// The advanced-hunting table a record comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Table {
    EmailEvents,
    EmailUrlInfo,
    EmailAttachmentInfo,
    EmailPostDeliveryEvents,
    UrlClickEvents,
    MessageEvents,
    MessageUrlInfo,
    MessagePostDeliveryEvents,
}

impl Table {
    fn from_name(name: &str) -> Option<Table> {
        let n = name.strip_prefix("AdvancedHunting-").unwrap_or(name);
        Some(match n {
            "EmailEvents" => Table::EmailEvents,
            "EmailUrlInfo" => Table::EmailUrlInfo,
            "EmailAttachmentInfo" => Table::EmailAttachmentInfo,
            "EmailPostDeliveryEvents" => Table::EmailPostDeliveryEvents,
            "UrlClickEvents" => Table::UrlClickEvents,
            "MessageEvents" => Table::MessageEvents,
            "MessageUrlInfo" => Table::MessageUrlInfo,
            "MessagePostDeliveryEvents" => Table::MessagePostDeliveryEvents,
            _ => return None,
        })
    }

    /// The table of a flat row without a table name, from its columns.
    fn infer(f: &Fields<'_>) -> Option<Table> {
        let has = |k| f.has(k);
        Some(if has("TeamsMessageId") {
            if has("Url") {
                Table::MessageUrlInfo
            } else if has("ActionTrigger") {
                Table::MessagePostDeliveryEvents
            } else {
                Table::MessageEvents
            }
        } else if has("UrlChain") || has("IsClickedThrough") || has("AccountUpn") && has("Url") {
            Table::UrlClickEvents
        } else if !has("NetworkMessageId") {
            return None;
        } else if has("Url") && has("UrlLocation") || has("UrlDomain") && !has("DeliveryAction") {
            Table::EmailUrlInfo
        } else if has("FileName") || has("SHA256") || has("FileType") {
            Table::EmailAttachmentInfo
        } else if has("ActionTrigger") || has("ActionResult") {
            Table::EmailPostDeliveryEvents
        } else if has("DeliveryAction") || has("EmailDirection") || has("SenderFromAddress") {
            Table::EmailEvents
        } else {
            return None;
        })
    }

    /// True if the row's columns fit the table (the wrapper's category
    /// can be wrong: an endpoint `DeviceEvents` row under an e-mail
    /// category is not an e-mail record).
    fn fits(self, f: &Fields<'_>) -> bool {
        match self {
            Table::MessageEvents | Table::MessageUrlInfo | Table::MessagePostDeliveryEvents => {
                f.has("TeamsMessageId") || f.has("MessageId")
            }
            Table::UrlClickEvents => f.has("Url") || f.has("UrlChain"),
            _ => f.has("NetworkMessageId"),
        }
    }
}

/// Decoder for `m365-defender-email` records.
pub struct M365DefenderEmailDecoder {
    opts: Options,
}

impl M365DefenderEmailDecoder {
    /// A decoder with `opts`.
    pub fn new(opts: Options) -> Self {
        M365DefenderEmailDecoder { opts }
    }
}

impl Decoder for M365DefenderEmailDecoder {
    fn decode(&mut self, record: &[u8], _pos: u64, out: &mut dyn FnMut(&mut Event<'_>)) -> Outcome {
        let opts = &self.opts;
        json::decode_json(record, product(), LOG_NAME, opts, out, |f, text, out| {
            decode_fields(f, text, opts, out)
        })
    }
}

fn decode_fields<'a>(
    mut top: Fields<'a>,
    text: &'a str,
    opts: &Options,
    out: &mut dyn FnMut(&mut Event<'_>),
) -> Outcome {
    let wrapped = top.peek("properties").is_some();
    let category = top.str_any(&["category", "Category", "Type", "$table"]);
    let (mut row, mut wrapper) = if wrapped {
        let props = top.fields("properties").unwrap_or_default();
        (props, Some(top))
    } else {
        (top, None)
    };
    let named = category.as_deref().and_then(Table::from_name);
    let table = match named {
        Some(t) if t.fits(&row) => Some(t),
        Some(_) => None,
        None if category.is_none() => Table::infer(&row),
        None => None,
    };
    let logged = wrapper.as_mut().and_then(|w| {
        w.str("time")
            .and_then(|t| json::parse_time(&t, opts.utc_offset_secs))
    });
    let tenant = match wrapper.as_mut() {
        Some(w) => w.str("tenantId"),
        None => row.str("TenantId"),
    };
    if let Some(w) = wrapper.as_mut() {
        w.skip(&["operationName"]);
    }
    let Some(table) = table else {
        let time = row
            .peek_str("Timestamp")
            .and_then(|t| json::parse_time(&t, opts.utc_offset_secs))
            .or(logged);
        let kind = category.unwrap_or(Cow::Borrowed("unknown"));
        let mut ev = json::fallback_event(&mut row, kind, time, product(), LOG_NAME, opts);
        if let Some(w) = &wrapper {
            let mut m = serde_json::Map::new();
            w.rest_into(&mut m);
            ev.unmapped()
                .insert("wrapper".into(), serde_json::Value::Object(m));
        }
        if named.is_some() {
            // The category names an e-mail table but the columns are not
            // of one (seen: endpoint DeviceEvents rows).
            if let Some(serde_json::Value::Object(i)) = ev.unmapped().get_mut("idlink") {
                i.insert("reason".into(), "columns_do_not_match_category".into());
            }
        }
        if opts.raw_data {
            ev.raw_data = Some(Cow::Borrowed(text));
        }
        out(&mut ev);
        return Outcome::Parsed;
    };
    let code = category.unwrap_or(Cow::Borrowed(table_name(table)));
    let mut ctx = ocsf::Ctx {
        opts,
        code,
        logged,
        tenant,
        events: Vec::with_capacity(2),
    };
    ocsf::map(table, &mut row, &mut ctx);
    let mut events = std::mem::take(&mut ctx.events);
    if let Some(first) = events.first_mut() {
        if let Some(w) = &wrapper {
            w.rest_into(first.unmapped());
        }
        json::finish(first, &row, text, opts);
    }
    for mut ev in events {
        out(&mut ev);
    }
    Outcome::Parsed
}

fn table_name(t: Table) -> &'static str {
    match t {
        Table::EmailEvents => "EmailEvents",
        Table::EmailUrlInfo => "EmailUrlInfo",
        Table::EmailAttachmentInfo => "EmailAttachmentInfo",
        Table::EmailPostDeliveryEvents => "EmailPostDeliveryEvents",
        Table::UrlClickEvents => "UrlClickEvents",
        Table::MessageEvents => "MessageEvents",
        Table::MessageUrlInfo => "MessageUrlInfo",
        Table::MessagePostDeliveryEvents => "MessagePostDeliveryEvents",
    }
}
