//! Microsoft 365 unified audit log (Office 365 Management Activity API
//! records, and the Log Analytics `OfficeActivity` rows).
//!
//! The class follows `Workload` and `Operation`; see
//! `docs/sources/m365-audit.md`. Mailbox rules and forwarding keep their
//! parameters as a structured map under `unmapped.m365`.

mod ocsf;

use crate::common::fallback;
use crate::ocsf::{Event, Product};
use crate::sources::entra_signin::ms;
use crate::{Decoder, ErrorKind, Options, Outcome, ParseError};

/// The Microsoft 365 audit decoder (stateless).
pub struct M365AuditDecoder {
    opts: Options,
}

impl M365AuditDecoder {
    /// A decoder with these options.
    pub fn new(opts: Options) -> Self {
        M365AuditDecoder { opts }
    }
}

fn product() -> Product<'static> {
    Product {
        name: Some("Microsoft 365".into()),
        vendor_name: Some("Microsoft".into()),
        ..Default::default()
    }
}

impl Decoder for M365AuditDecoder {
    fn decode(&mut self, record: &[u8], _pos: u64, out: &mut dyn FnMut(&mut Event<'_>)) -> Outcome {
        let err = match ms::parse_record(record) {
            Ok(mut j) => match ocsf::map(ocsf::unnest(&mut j), record, &self.opts) {
                Some(mut ev) => {
                    out(&mut ev);
                    return Outcome::Parsed;
                }
                None => ParseError {
                    kind: ErrorKind::NotThisSource,
                    at: 0,
                },
            },
            Err(err) => err,
        };
        out(&mut fallback::unparsed(
            record,
            err,
            product(),
            "Audit.General",
            None,
            &self.opts,
        ));
        Outcome::Unparsed(err)
    }
}
