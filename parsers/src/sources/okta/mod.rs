//! Okta System Log (the `/api/v1/logs` LogEvent JSON objects).
//!
//! One LogEvent becomes one OCSF event; the class follows `eventType`
//! (see [`ocsf::classify`] and `docs/sources/okta.md`). The record is read
//! into borrowed structs that name only what the mapping uses; the vendor's
//! free-form parts (`debugContext.debugData`, `target[].detailEntry`,
//! `device`) are read as [`J`] trees so whatever they hold can be kept
//! under `unmapped`.

mod fast;
mod ocsf;

use serde::Deserialize;

use crate::common::fallback;
use crate::common::jtree::{Text, J};
use crate::ocsf::{Event, Product};
use crate::{Decoder, ErrorKind, Options, Outcome, ParseError};

/// `log_name` of every Okta event.
pub const LOG_NAME: &str = "System Log";

/// A LogEvent, as far as the mapping reads it.
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(test, derive(PartialEq))]
#[serde(rename_all = "camelCase", default)]
struct LogEvent<'a> {
    #[serde(borrow)]
    uuid: Option<Text<'a>>,
    #[serde(borrow)]
    published: Option<Text<'a>>,
    #[serde(borrow)]
    event_type: Option<Text<'a>>,
    #[serde(borrow)]
    legacy_event_type: Option<Text<'a>>,
    #[serde(borrow)]
    display_message: Option<Text<'a>>,
    #[serde(borrow)]
    severity: Option<Text<'a>>,
    #[serde(borrow)]
    actor: Option<Principal<'a>>,
    #[serde(borrow)]
    client: Option<Client<'a>>,
    #[serde(borrow)]
    device: J<'a>,
    #[serde(borrow)]
    authentication_context: Option<AuthContext<'a>>,
    #[serde(borrow)]
    outcome: Option<EventOutcome<'a>>,
    #[serde(borrow)]
    security_context: Option<SecurityContext<'a>>,
    #[serde(borrow)]
    debug_context: Option<DebugContext<'a>>,
    #[serde(borrow)]
    transaction: Option<Transaction<'a>>,
    #[serde(borrow)]
    request: Option<Request<'a>>,
    #[serde(borrow)]
    target: Option<Vec<Principal<'a>>>,
}

/// `actor` and `target[]` entries.
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(test, derive(PartialEq))]
#[serde(rename_all = "camelCase", default)]
struct Principal<'a> {
    #[serde(borrow)]
    id: Option<Text<'a>>,
    #[serde(borrow, rename = "type")]
    type_: Option<Text<'a>>,
    #[serde(borrow)]
    alternate_id: Option<Text<'a>>,
    #[serde(borrow)]
    display_name: Option<Text<'a>>,
    #[serde(borrow)]
    detail_entry: J<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[cfg_attr(test, derive(PartialEq))]
#[serde(rename_all = "camelCase", default)]
struct Client<'a> {
    #[serde(borrow)]
    user_agent: Option<UserAgent<'a>>,
    #[serde(borrow)]
    zone: Option<Text<'a>>,
    #[serde(borrow)]
    device: Option<Text<'a>>,
    #[serde(borrow)]
    id: Option<Text<'a>>,
    #[serde(borrow)]
    ip_address: Option<Text<'a>>,
    #[serde(borrow)]
    geographical_context: Option<Geo<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[cfg_attr(test, derive(PartialEq))]
#[serde(rename_all = "camelCase", default)]
struct UserAgent<'a> {
    #[serde(borrow)]
    raw_user_agent: Option<Text<'a>>,
    #[serde(borrow)]
    os: Option<Text<'a>>,
    #[serde(borrow)]
    browser: Option<Text<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[cfg_attr(test, derive(PartialEq))]
#[serde(rename_all = "camelCase", default)]
struct Geo<'a> {
    #[serde(borrow)]
    city: Option<Text<'a>>,
    #[serde(borrow)]
    state: Option<Text<'a>>,
    #[serde(borrow)]
    country: Option<Text<'a>>,
    #[serde(borrow)]
    postal_code: Option<Text<'a>>,
    geolocation: Option<GeoPoint>,
}

#[derive(Debug, Default, Deserialize)]
#[cfg_attr(test, derive(PartialEq))]
#[serde(default)]
struct GeoPoint {
    lat: Option<f64>,
    lon: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[cfg_attr(test, derive(PartialEq))]
#[serde(rename_all = "camelCase", default)]
struct AuthContext<'a> {
    #[serde(borrow)]
    authentication_provider: Option<Text<'a>>,
    #[serde(borrow)]
    credential_provider: Option<Text<'a>>,
    #[serde(borrow)]
    credential_type: Option<Text<'a>>,
    #[serde(borrow)]
    issuer: J<'a>,
    #[serde(borrow)]
    interface: Option<Text<'a>>,
    authentication_step: Option<i64>,
    #[serde(borrow)]
    root_session_id: Option<Text<'a>>,
    #[serde(borrow)]
    external_session_id: Option<Text<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[cfg_attr(test, derive(PartialEq))]
#[serde(default)]
struct EventOutcome<'a> {
    #[serde(borrow)]
    result: Option<Text<'a>>,
    #[serde(borrow)]
    reason: Option<Text<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[cfg_attr(test, derive(PartialEq))]
#[serde(rename_all = "camelCase", default)]
struct SecurityContext<'a> {
    as_number: Option<i64>,
    #[serde(borrow)]
    as_org: Option<Text<'a>>,
    #[serde(borrow)]
    isp: Option<Text<'a>>,
    #[serde(borrow)]
    domain: Option<Text<'a>>,
    is_proxy: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[cfg_attr(test, derive(PartialEq))]
#[serde(rename_all = "camelCase", default)]
struct DebugContext<'a> {
    #[serde(borrow)]
    debug_data: J<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[cfg_attr(test, derive(PartialEq))]
#[serde(default)]
struct Transaction<'a> {
    #[serde(borrow, rename = "type")]
    type_: Option<Text<'a>>,
    #[serde(borrow)]
    id: Option<Text<'a>>,
    #[serde(borrow)]
    detail: J<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[cfg_attr(test, derive(PartialEq))]
#[serde(rename_all = "camelCase", default)]
struct Request<'a> {
    #[serde(borrow)]
    ip_chain: Option<Vec<IpChainEntry<'a>>>,
}

#[derive(Debug, Default, Deserialize)]
#[cfg_attr(test, derive(PartialEq))]
#[serde(default)]
struct IpChainEntry<'a> {
    #[serde(borrow)]
    ip: Option<Text<'a>>,
}

/// The Okta decoder (stateless).
pub struct OktaDecoder {
    opts: Options,
}

impl OktaDecoder {
    /// A decoder with these options.
    pub fn new(opts: Options) -> Self {
        OktaDecoder { opts }
    }
}

fn product() -> Product<'static> {
    Product {
        name: Some("Okta System Log".into()),
        vendor_name: Some("Okta".into()),
        ..Default::default()
    }
}

impl Decoder for OktaDecoder {
    fn decode(&mut self, record: &[u8], _pos: u64, out: &mut dyn FnMut(&mut Event<'_>)) -> Outcome {
        let start = record.iter().position(|b| !b.is_ascii_whitespace());
        let Some(start) = start else {
            return self.unparsed(record, ErrorKind::Empty, 0, out);
        };
        if record[start] != b'{' {
            return self.unparsed(record, ErrorKind::Json, start, out);
        }
        // One UTF-8 check for the whole record, so serde_json can borrow
        // strings without checking each of them again.
        let text = match crate::common::utf8::text(record) {
            Ok(t) => t,
            Err(e) => return self.unparsed(record, ErrorKind::NotUtf8, e.valid_up_to(), out),
        };
        // The direct reader takes the records it reads exactly as serde
        // would; anything else goes through serde as it always has.
        let mut ev = LogEvent::default();
        let parsed = if fast::read_log_event(text, &mut ev) {
            Ok(())
        } else {
            serde_json::from_str::<LogEvent<'_>>(text).map(|e| ev = e)
        };
        match parsed {
            Ok(()) if ev.event_type.is_some() || ev.published.is_some() => {
                let mut mapped = Event::default();
                ocsf::map(&ev, record, &self.opts, &mut mapped);
                out(&mut mapped);
                Outcome::Parsed
            }
            Ok(_) => self.unparsed(record, ErrorKind::NotThisSource, start, out),
            // Valid JSON of an unexpected shape (a field of another type):
            // keep it as a fallback event of this source.
            Err(e) => match serde_json::from_str::<J<'_>>(text) {
                Ok(j) if j.get("eventType").str().is_some() => {
                    out(&mut ocsf::fallback_event(&j, record, &self.opts));
                    Outcome::Parsed
                }
                Ok(_) => self.unparsed(record, ErrorKind::NotThisSource, start, out),
                Err(_) => self.unparsed(record, ErrorKind::Json, e.column().saturating_sub(1), out),
            },
        }
    }
}

impl OktaDecoder {
    fn unparsed(
        &self,
        record: &[u8],
        kind: ErrorKind,
        at: usize,
        out: &mut dyn FnMut(&mut Event<'_>),
    ) -> Outcome {
        let err = ParseError { kind, at };
        out(&mut fallback::unparsed(
            record,
            err,
            product(),
            LOG_NAME,
            None,
            &self.opts,
        ));
        Outcome::Unparsed(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(rec: &str) -> (Outcome, Vec<serde_json::Value>) {
        let mut d = OktaDecoder::new(Options::default());
        let mut evs = Vec::new();
        let o = d.decode(rec.as_bytes(), 0, &mut |e| {
            evs.push(serde_json::to_value(e).unwrap())
        });
        (o, evs)
    }

    /// Which targets the mapping took is kept on the stack for up to 16
    /// of them and in a list beyond: the same event either way.
    #[test]
    fn many_targets_map_as_few_do() {
        for fillers in [2, 15, 16, 30] {
            let mut targets: Vec<String> = (0..fillers)
                .map(|i| format!(r#"{{"id":"x{i}","type":"Other","displayName":"x{i}"}}"#))
                .collect();
            targets.push(r#"{"id":"00u1","type":"User","alternateId":"ann@example.com"}"#.into());
            targets.push(r#"{"id":"0oa1","type":"AppInstance","alternateId":"Mail"}"#.into());
            let rec = format!(
                r#"{{"uuid":"u1","published":"2024-08-13T15:58:20.353Z","eventType":"user.authentication.sso","outcome":{{"result":"SUCCESS"}},"target":[{}]}}"#,
                targets.join(",")
            );
            let (o, evs) = decode(&rec);
            assert!(o.is_parsed(), "{fillers}");
            let ev = &evs[0];
            assert_eq!(ev["user"]["uid"], "00u1", "{fillers}");
            assert_eq!(ev["service"]["name"], "Mail", "{fillers}");
            let rest = ev["unmapped"]["okta"]["target"].as_array().unwrap();
            assert_eq!(rest.len(), fillers, "{fillers}");
            assert_eq!(rest[fillers - 1]["id"], format!("x{}", fillers - 1));
        }
    }

    #[test]
    fn garbage_is_unparsed_never_dropped() {
        for rec in ["", "  ", "[1]", "{", "{\"a\":1}", "nope"] {
            let (o, evs) = decode(rec);
            assert!(!o.is_parsed(), "{rec}");
            assert_eq!(evs.len(), 1, "{rec}");
            assert_eq!(evs[0]["class_uid"], 0);
        }
    }

    #[test]
    fn odd_field_types_become_a_fallback_event() {
        let (o, evs) = decode(r#"{"eventType":"user.session.start","actor":"me","published":"x"}"#);
        assert!(o.is_parsed());
        assert_eq!(evs[0]["unmapped"]["idlink"]["fallback"], true);
    }

    /// An event of a type the mapping does not know becomes API Activity,
    /// which needs a source endpoint. Without one, the mapping starts
    /// over as a Base Event: nothing of the API Activity it had begun
    /// (actor, api, resources) is left in it.
    #[test]
    fn an_unknown_type_without_a_client_is_a_whole_base_event() {
        let rec = r#"{"uuid":"u9","published":"2024-08-13T15:58:20.353Z","eventType":"vendor.thing.happened",
            "displayMessage":"Thing","actor":{"id":"00u1","type":"User","alternateId":"ann@example.com"},
            "target":[{"id":"x1","type":"Thing","displayName":"T"}],"outcome":{"result":"SUCCESS"}}"#;
        let (o, evs) = decode(rec);
        assert!(o.is_parsed());
        assert_eq!(evs.len(), 1);
        let want = serde_json::json!({
            "activity_id": 99, "activity_name": "vendor.thing.happened",
            "category_name": "Uncategorized", "category_uid": 0,
            "class_name": "Base Event", "class_uid": 0, "message": "Thing",
            "metadata": {
                "event_code": "vendor.thing.happened", "log_name": "System Log",
                "original_time": "2024-08-13T15:58:20.353Z",
                "product": {"name": "Okta System Log", "vendor_name": "Okta"},
                "uid": "u9", "version": "1.8.0"
            },
            "severity": "Informational", "severity_id": 1,
            "status": "Success", "status_id": 1, "time": 1723564700353_i64,
            "type_name": "Base Event: Other", "type_uid": 99,
            "unmapped": {
                "idlink": {"fallback": true},
                "okta": {"event": {
                    "actor": {"alternateId": "ann@example.com", "id": "00u1", "type": "User"},
                    "displayMessage": "Thing", "eventType": "vendor.thing.happened",
                    "outcome": {"result": "SUCCESS"},
                    "published": "2024-08-13T15:58:20.353Z",
                    "target": [{"displayName": "T", "id": "x1", "type": "Thing"}],
                    "uuid": "u9"
                }}
            }
        });
        assert_eq!(evs[0], want);
    }

    #[test]
    fn an_as_number_beyond_integer_t_stays_under_unmapped() {
        let rec = r#"{"uuid":"u1","published":"2024-08-13T15:58:20.353Z","eventType":"user.session.start",
            "client":{"ipAddress":"192.0.2.4"},
            "securityContext":{"asNumber":4200000001,"asOrg":"lab","isp":"Lab"}}"#;
        let (_, evs) = decode(rec);
        let e = &evs[0];
        assert_eq!(
            e["src_endpoint"]["autonomous_system"],
            serde_json::json!({"name": "lab"})
        );
        assert_eq!(e["unmapped"]["okta"]["as_number"], 4_200_000_001_i64);
        let (_, evs) = decode(&rec.replace("4200000001", "16509"));
        assert_eq!(
            evs[0]["src_endpoint"]["autonomous_system"],
            serde_json::json!({"name": "lab", "number": 16509})
        );
        assert!(evs[0]["unmapped"]["okta"].get("as_number").is_none());
    }

    #[test]
    fn session_start_is_a_logon() {
        let rec = r#"{"uuid":"u1","published":"2024-08-13T15:58:20.353Z","eventType":"user.session.start",
            "actor":{"id":"00u1","type":"User","alternateId":"Ann@Example.com","displayName":"Ann"},
            "client":{"ipAddress":"192.0.2.4","userAgent":{"rawUserAgent":"UA","os":"Mac OS X"}},
            "authenticationContext":{"credentialType":"PASSWORD","externalSessionId":"s1"},
            "outcome":{"result":"FAILURE","reason":"INVALID_CREDENTIALS"},"severity":"WARN",
            "debugContext":{"debugData":{"risk":"{reasons=Anomalous Device, level=HIGH}",
              "behaviors":"{New IP=POSITIVE, Velocity=NEGATIVE}","threatSuspected":"false","dtHash":"h"}}}"#;
        let (o, evs) = decode(rec);
        assert!(o.is_parsed());
        let e = &evs[0];
        assert_eq!(e["type_uid"], 300201);
        assert_eq!(e["status_id"], 2);
        assert_eq!(e["status_code"], "INVALID_CREDENTIALS");
        assert_eq!(e["user"]["email_addr"], "Ann@Example.com");
        assert_eq!(e["src_endpoint"]["ip"], "192.0.2.4");
        assert_eq!(e["risk_level_id"], 3);
        assert_eq!(e["unmapped"]["okta"]["behaviors"]["New IP"], "POSITIVE");
        assert_eq!(e["unmapped"]["okta"]["threat_suspected"], false);
        assert_eq!(e["unmapped"]["okta"]["debug_data"]["dtHash"], "h");
        assert!(e["unmapped"].get("idlink").is_none());
    }
}
