//! Splunk HTTP Event Collector: `POST /services/collector/event` with a
//! body of concatenated envelopes
//! `{"time":<epoch s.ms>,"host","source","sourcetype","index","event":{OCSF}}`.
//!
//! HEC answers `{"text","code"}`. Codes are told apart: 8 (internal error),
//! 9 (server busy) and 18 (unhealthy) are retried; 1–4 (token problems) are
//! retried as `auth`; 5, 6, 7, 12, 13 and 15 (bad data, incorrect index)
//! dead-letter. When HEC names the `invalid-event-number`, only that event
//! is dead-lettered: the ones before it were taken, the ones after it are
//! sent again.
//!
//! With `acknowledgements.enabled`, every request carries the sink's
//! `X-Splunk-Request-Channel`; a `200` returns an `ackId`, and the request
//! counts as delivered only once `/services/collector/ack` reports it
//! indexed. An ack that does not come within `acknowledgements.timeout_secs`
//! (the indexer crashed, the ack was lost) makes the request go again:
//! duplicates are possible, loss is not.

pub mod config;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE};
use http_body_util::Full;
use serde::Deserialize;

pub use config::{SplunkHecConfig, SplunkHecSettings};

use super::util::client::{snippet, Response};
use super::util::config::{join_url, sensitive};
use super::util::dead_letter::Rejection;
use super::util::driver::{Api, Attempt, Framing, ItemResult, Request, Retry, SendCtx};
use super::util::retry::{random_u64, retry_after};
use super::util::{classify_status, transport_retry};
use crate::event::Encoded;

/// The request channel header.
pub const CHANNEL_HEADER: &str = "x-splunk-request-channel";

/// The `splunk_hec` sink's API.
pub struct HecApi {
    settings: SplunkHecSettings,
    event_url: String,
    ack_url: String,
    channel: String,
    warned_no_ack: AtomicBool,
}

#[derive(Debug, Default, Deserialize)]
struct HecReply {
    #[serde(default)]
    text: String,
    code: Option<i64>,
    #[serde(rename = "ackId")]
    ack_id: Option<u64>,
    #[serde(rename = "invalid-event-number")]
    invalid_event_number: Option<usize>,
}

#[derive(Debug, Deserialize)]
struct AckReply {
    acks: std::collections::HashMap<String, bool>,
}

impl HecApi {
    /// For HEC at `endpoint`.
    pub fn new(endpoint: &http::Uri, settings: SplunkHecSettings) -> Self {
        let channel = uuid_v4();
        HecApi {
            event_url: join_url(endpoint, "/services/collector/event"),
            ack_url: join_url(
                endpoint,
                &format!("/services/collector/ack?channel={channel}"),
            ),
            channel,
            settings,
            warned_no_ack: AtomicBool::new(false),
        }
    }

    fn request(&self, url: &str, gzip: bool, body: Bytes) -> Option<http::Request<Full<Bytes>>> {
        let mut b = http::Request::post(url)
            .header(CONTENT_TYPE, "application/json")
            .header(CHANNEL_HEADER, &self.channel);
        if gzip {
            b = b.header(CONTENT_ENCODING, "gzip");
        }
        let auth = sensitive(&format!("Splunk {}", self.settings.token.expose()))?;
        b.header(AUTHORIZATION, auth).body(Full::new(body)).ok()
    }

    /// Poll until `ack_id` is indexed, or give up after the timeout.
    async fn wait_ack(&self, ctx: &SendCtx, ack_id: u64) -> Attempt {
        let Some(acks) = self.settings.acks else {
            return Attempt::Delivered;
        };
        let started = Instant::now();
        let body = Bytes::from(format!("{{\"acks\":[{ack_id}]}}"));
        loop {
            tokio::time::sleep(acks.poll_interval).await;
            let Some(req) = self.request(&self.ack_url, false, body.clone()) else {
                return bad_token();
            };
            let last = match ctx.client.send(req).await {
                Ok(r) if r.status.is_success() => match serde_json::from_slice::<AckReply>(&r.body)
                {
                    Ok(a) if a.acks.get(&ack_id.to_string()) == Some(&true) => {
                        return Attempt::Delivered
                    }
                    Ok(_) => format!("ackId {ack_id} not yet indexed"),
                    Err(e) => format!("unreadable ack reply: {e}"),
                },
                Ok(r) => {
                    let reply: HecReply = serde_json::from_slice(&r.body).unwrap_or_default();
                    if reply.code == Some(14) {
                        // ACK is disabled on the token after all.
                        self.warn_no_ack();
                        return Attempt::Delivered;
                    }
                    format!(
                        "ack poll: HTTP {}: {}",
                        r.status.as_u16(),
                        snippet(&r.body, 200)
                    )
                }
                Err(e) => format!("ack poll: {e}"),
            };
            if started.elapsed() >= acks.timeout {
                return Attempt::Retry(Retry {
                    kind: "ack_timeout",
                    detail: format!(
                        "ackId {ack_id} not acknowledged within {:?} ({last}); sending again",
                        acks.timeout
                    ),
                    after: None,
                });
            }
        }
    }

    fn warn_no_ack(&self) {
        if !self.warned_no_ack.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "acknowledgements.enabled is set but the HEC token has indexer \
                 acknowledgement off: events count as delivered when HEC accepts them"
            );
        }
    }

    fn judge(&self, resp: &Response, n: usize) -> Result<Option<u64>, Attempt> {
        let reply: HecReply = serde_json::from_slice(&resp.body).unwrap_or_default();
        if resp.status.is_success() && reply.code.unwrap_or(0) == 0 {
            return Ok(reply.ack_id);
        }
        let Some(code) = reply.code else {
            return Err(classify_status(resp));
        };
        let detail = format!("HEC code {code}: {}", reply.text);
        let retry = |kind| {
            Attempt::Retry(Retry {
                kind,
                detail: detail.clone(),
                after: retry_after(&resp.headers),
            })
        };
        let kind = match code {
            9 | 18 => return Err(retry("hec_busy")),
            8 => return Err(retry("hec_server_error")),
            1..=4 => return Err(retry("auth")),
            10 | 11 => return Err(retry("hec_channel")),
            5 => "hec_no_data",
            6 => "hec_invalid_data",
            7 => "hec_incorrect_index",
            12 | 13 => "hec_event_field",
            15 => "hec_indexed_fields",
            _ => return Err(classify_status(resp)),
        };
        let rej = Rejection {
            status: Some(resp.status.as_u16()),
            kind,
            reason: detail.clone(),
        };
        match reply.invalid_event_number {
            Some(bad) if bad < n => {
                // HEC stopped at event `bad`: the ones before were taken
                // (without indexer acks that is all HEC promises; with acks
                // there is no ackId for them, so they go again), the ones
                // after were not read.
                let before = if self.settings.acks.is_some() {
                    ItemResult::Retry(Retry {
                        kind: "hec_unacknowledged",
                        detail: format!("{detail} (earlier events of the request have no ackId)"),
                        after: None,
                    })
                } else {
                    ItemResult::Delivered
                };
                let after = ItemResult::Retry(Retry {
                    kind: "hec_after_invalid",
                    detail: format!("{detail} (events after the invalid one were not read)"),
                    after: None,
                });
                let results = (0..n)
                    .map(|i| match i.cmp(&bad) {
                        std::cmp::Ordering::Less => before.clone(),
                        std::cmp::Ordering::Equal => ItemResult::Reject(rej.clone()),
                        std::cmp::Ordering::Greater => after.clone(),
                    })
                    .collect();
                Err(Attempt::PerItem(results))
            }
            // Without the position, find the bad events by halving.
            _ if n > 1 && code != 7 => Err(Attempt::Split(rej)),
            _ => Err(Attempt::Reject(rej)),
        }
    }
}

fn bad_token() -> Attempt {
    Attempt::Reject(Rejection {
        status: None,
        kind: "bad_request",
        reason: "the token has characters not allowed in a header".into(),
    })
}

impl Api for HecApi {
    fn framing(&self) -> Framing {
        Framing {
            prefix: b"",
            separator: b"\n",
            suffix: b"",
        }
    }

    fn encode(&self, event: &Encoded, source: &str) -> Result<Bytes, Rejection> {
        let s = &self.settings;
        let mut v = Vec::with_capacity(event.json.len() + 160);
        v.push(b'{');
        if event.time_ms != 0 {
            let ms = event.time_ms;
            v.extend_from_slice(
                format!(
                    "\"time\":{}.{:03},",
                    ms.div_euclid(1000),
                    ms.rem_euclid(1000)
                )
                .as_bytes(),
            );
        }
        let mut field = |name: &str, value: &str| {
            v.extend_from_slice(b"\"");
            v.extend_from_slice(name.as_bytes());
            v.extend_from_slice(b"\":");
            // A &str always serialises.
            let _ = serde_json::to_writer(&mut v, value);
            v.push(b',');
        };
        field("host", &s.host);
        field("source", &s.source.render(event.class_uid, source));
        field("sourcetype", &s.sourcetype.render(event.class_uid, source));
        if let Some(index) = &s.index {
            field("index", &index.render(event.class_uid, source));
        }
        v.extend_from_slice(b"\"event\":");
        v.extend_from_slice(&event.json);
        v.push(b'}');
        Ok(Bytes::from(v))
    }

    async fn send(&self, ctx: &SendCtx, req: &Request, body: Bytes) -> Attempt {
        let Some(http_req) = self.request(&self.event_url, ctx.common.gzip, body) else {
            return bad_token();
        };
        let resp = match ctx.client.send(http_req).await {
            Ok(r) => r,
            Err(e) => return transport_retry(&e),
        };
        match self.judge(&resp, req.items.len()) {
            Err(a) => a,
            Ok(None) if self.settings.acks.is_some() => {
                self.warn_no_ack();
                Attempt::Delivered
            }
            Ok(None) => Attempt::Delivered,
            Ok(Some(id)) if self.settings.acks.is_some() => self.wait_ack(ctx, id).await,
            Ok(Some(_)) => Attempt::Delivered,
        }
    }
}

/// A random UUID (version 4 layout), for the request channel.
fn uuid_v4() -> String {
    let a = random_u64();
    let b = random_u64();
    let b = (b & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    let a = (a & 0xffff_ffff_ffff_0fff) | 0x0000_0000_0000_4000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xffff,
        b >> 48,
        b & 0xffff_ffff_ffff
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_is_a_uuid() {
        let u = uuid_v4();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert_ne!(u, uuid_v4());
    }
}
