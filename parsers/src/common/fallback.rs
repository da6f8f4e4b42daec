//! The event a record becomes when no parser recognises it.

use std::borrow::Cow;

use serde_json::json;

use crate::ocsf::{Event, Product, BASE_EVENT};
use crate::{Options, ParseError};

/// A Base Event (class 0, activity Other) that carries the whole record in
/// `raw_data` and the reason under `unmapped.idlink`, timed at `time_ms`
/// (the record's own time if it was read, else the caller's reference time).
pub fn unparsed<'a>(
    record: &'a [u8],
    err: ParseError,
    product: Product<'a>,
    log_name: &'static str,
    time_ms: Option<i64>,
    opts: &Options,
) -> Event<'a> {
    let mut ev = Event::new(&BASE_EVENT, 99, time_ms.unwrap_or(opts.reference_time_ms));
    ev.set_other_activity("Unparsed");
    ev.raw_data = Some(String::from_utf8_lossy(record));
    let meta = ev.meta();
    meta.product = Some(Box::new(product));
    meta.log_name = Some(Cow::Borrowed(log_name));
    ev.unmapped().insert(
        "idlink".into(),
        json!({ "parse_error": err.kind.as_str(), "parse_error_at": err.at }),
    );
    ev.message = Some(Cow::Borrowed("record not recognised"));
    ev
}
