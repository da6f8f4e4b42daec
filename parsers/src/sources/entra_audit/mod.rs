//! Microsoft Entra ID audit logs (directory audits) and Microsoft Graph
//! activity logs.
//!
//! Shapes: the Azure diagnostic record (`properties` holds the
//! `directoryAudit`), the Graph `directoryAudit` resource itself, and the
//! Log Analytics `AuditLogs` row (PascalCase columns, `InitiatedBy` and
//! `TargetResources` as JSON strings). The mapping picks the class from
//! `activityDisplayName` (see `docs/sources/entra-audit.md`).

mod ocsf;

use crate::common::fallback;
use crate::ocsf::{Event, Product};
use crate::sources::entra_signin::ms;
use crate::{Decoder, ErrorKind, Options, Outcome, ParseError};

/// The Entra audit decoder (stateless).
pub struct EntraAuditDecoder {
    opts: Options,
}

impl EntraAuditDecoder {
    /// A decoder with these options.
    pub fn new(opts: Options) -> Self {
        EntraAuditDecoder { opts }
    }
}

fn product() -> Product<'static> {
    Product {
        name: Some("Microsoft Entra ID".into()),
        vendor_name: Some("Microsoft".into()),
        ..Default::default()
    }
}

impl Decoder for EntraAuditDecoder {
    fn decode(&mut self, record: &[u8], _pos: u64, out: &mut dyn FnMut(&mut Event<'_>)) -> Outcome {
        let err = match ms::parse_record(record) {
            Ok(j) => match ocsf::map(&j, record, &self.opts) {
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
            "AuditLogs",
            None,
            &self.opts,
        ));
        Outcome::Unparsed(err)
    }
}
