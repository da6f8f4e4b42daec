//! Elasticsearch / OpenSearch `_bulk`: each event is a `create` action
//! into its data stream (or index) followed by the document.
//!
//! Bulk answers 200 with one result per item. Items with 2xx are taken
//! (409, "already exists", also counts as taken: only a repeat of a
//! document that is already there can cause it); items with 429 or 5xx are
//! sent again (only those); any other 4xx item (mapping conflict, bad
//! document) goes to the dead-letter file with Elasticsearch's error type
//! and reason. A non-200 answer is judged as a whole.

pub mod config;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE};
use http_body_util::Full;
use serde::Deserialize;

pub use config::{ElasticsearchConfig, ElasticsearchSettings, Target};

use super::util::client::Response;
use super::util::config::join_url;
use super::util::dead_letter::Rejection;
use super::util::driver::{Api, Attempt, Framing, ItemResult, Request, Retry, SendCtx};
use super::util::{classify_status, transport_retry};
use crate::event::Encoded;

/// The `elasticsearch` sink's API.
pub struct BulkApi {
    settings: ElasticsearchSettings,
    url: String,
}

#[derive(Debug, Deserialize)]
struct BulkReply {
    errors: bool,
    #[serde(default)]
    items: Vec<std::collections::HashMap<String, BulkItem>>,
}

#[derive(Debug, Deserialize)]
struct BulkItem {
    status: u16,
    error: Option<serde_json::Value>,
}

impl BulkApi {
    /// For the cluster at `endpoint`.
    pub fn new(endpoint: &http::Uri, settings: ElasticsearchSettings) -> Self {
        BulkApi {
            settings,
            url: join_url(endpoint, "/_bulk"),
        }
    }

    fn judge(resp: &Response, n: usize) -> Attempt {
        if resp.status != http::StatusCode::OK {
            return classify_status(resp);
        }
        let reply: BulkReply = match serde_json::from_slice(&resp.body) {
            Ok(r) => r,
            Err(e) => {
                return Attempt::Retry(Retry {
                    kind: "bad_response",
                    detail: format!("unreadable bulk response: {e}"),
                    after: None,
                })
            }
        };
        if !reply.errors {
            return Attempt::Delivered;
        }
        if reply.items.len() != n {
            return Attempt::Retry(Retry {
                kind: "bad_response",
                detail: format!("bulk response has {} items for {n}", reply.items.len()),
                after: None,
            });
        }
        let results = reply
            .items
            .into_iter()
            .map(|m| {
                let Some(item) = m.into_values().next() else {
                    return ItemResult::Retry(Retry {
                        kind: "bad_response",
                        detail: "empty bulk item".into(),
                        after: None,
                    });
                };
                let why = || match &item.error {
                    Some(e) => format!(
                        "{}: {}",
                        e["type"].as_str().unwrap_or("error"),
                        e["reason"].as_str().unwrap_or("")
                    ),
                    None => format!("status {}", item.status),
                };
                match item.status {
                    200..=299 | 409 => ItemResult::Delivered,
                    429 => ItemResult::Retry(Retry {
                        kind: "bulk_item_429",
                        detail: why(),
                        after: None,
                    }),
                    500..=599 => ItemResult::Retry(Retry {
                        kind: "bulk_item_5xx",
                        detail: why(),
                        after: None,
                    }),
                    s => ItemResult::Reject(Rejection {
                        status: Some(s),
                        kind: "bulk_item_rejected",
                        reason: why(),
                    }),
                }
            })
            .collect();
        Attempt::PerItem(results)
    }
}

/// `{"@timestamp":"…",` + the rest of the object.
fn with_timestamp(json: &[u8], time_ms: i64) -> Option<Vec<u8>> {
    let ts = chrono::DateTime::from_timestamp_millis(time_ms)?
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let rest = json.strip_prefix(b"{")?;
    let mut v = Vec::with_capacity(json.len() + 40);
    v.extend_from_slice(b"{\"@timestamp\":\"");
    v.extend_from_slice(ts.as_bytes());
    v.push(b'"');
    if rest.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'}') {
        v.push(b',');
    }
    v.extend_from_slice(rest);
    Some(v)
}

impl Api for BulkApi {
    fn framing(&self) -> Framing {
        Framing {
            prefix: b"",
            separator: b"",
            suffix: b"",
        }
    }

    fn encode(&self, event: &Encoded, source: &str) -> Result<Bytes, Rejection> {
        let (name, doc) = match &self.settings.target {
            Target::DataStream(t) => {
                let doc = with_timestamp(&event.json, event.time_ms).ok_or_else(|| Rejection {
                    status: None,
                    kind: "not_an_object",
                    reason: "event is not a JSON object or its time is out of range".into(),
                })?;
                (t.render(event.class_uid, source), Bytes::from(doc))
            }
            Target::Index(t) => (t.render(event.class_uid, source), event.json.clone()),
        };
        let mut v = Vec::with_capacity(doc.len() + name.len() + 32);
        v.extend_from_slice(b"{\"create\":{\"_index\":");
        // A &str always serialises.
        let _ = serde_json::to_writer(&mut v, &name.to_ascii_lowercase());
        v.extend_from_slice(b"}}\n");
        v.extend_from_slice(&doc);
        v.push(b'\n');
        Ok(Bytes::from(v))
    }

    async fn send(&self, ctx: &SendCtx, req: &Request, body: Bytes) -> Attempt {
        let mut b = http::Request::post(&self.url).header(CONTENT_TYPE, "application/x-ndjson");
        if ctx.common.gzip {
            b = b.header(CONTENT_ENCODING, "gzip");
        }
        if let Some(h) = self.settings.auth.as_ref().and_then(|a| a.header()) {
            b = b.header(AUTHORIZATION, h);
        }
        let Ok(http_req) = b.body(Full::new(body)) else {
            return Attempt::Reject(Rejection {
                status: None,
                kind: "bad_request",
                reason: "cannot build the request".into(),
            });
        };
        match ctx.client.send(http_req).await {
            Ok(resp) => Self::judge(&resp, req.items.len()),
            Err(e) => transport_retry(&e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_goes_first() {
        let v = with_timestamp(br#"{"time":1}"#, 1_700_000_000_123).unwrap();
        assert_eq!(
            std::str::from_utf8(&v).unwrap(),
            r#"{"@timestamp":"2023-11-14T22:13:20.123Z","time":1}"#
        );
        let v = with_timestamp(b"{}", 0).unwrap();
        assert_eq!(
            std::str::from_utf8(&v).unwrap(),
            r#"{"@timestamp":"1970-01-01T00:00:00.000Z"}"#
        );
    }
}
