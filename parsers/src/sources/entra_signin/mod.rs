//! Microsoft Entra ID sign-in logs (and Identity Protection risk events).
//!
//! Three shapes carry the same sign-in: the Azure diagnostic-settings record
//! (`{"time":…,"category":"SignInLogs","properties":{…}}`, also what Event
//! Hub and storage exports hold), the Microsoft Graph `signIn` resource
//! (`createdDateTime`, `userPrincipalName`, … at the top level) and the Log
//! Analytics table row (`TimeGenerated`, `Category`, …). The decoder reads
//! the record into a borrowing [`J`](crate::common::jtree::J) tree and looks fields up in the
//! `properties` object when there is one, else in the record itself.
//!
//! Categories: `SignInLogs`, `NonInteractiveUserSignInLogs`,
//! `ServicePrincipalSignInLogs`, `ManagedIdentitySignInLogs`,
//! `ADFSSignInLogs` → Authentication; `UserRiskEvents`,
//! `RiskyUsers`/`RiskyServicePrincipals` risk detections → Detection
//! Finding. Anything else → a Base Event flagged as fallback.

pub(crate) mod ms;
mod ocsf;

use crate::common::fallback;
use crate::ocsf::{Event, Product};
use crate::{Decoder, ErrorKind, Options, Outcome, ParseError};

/// The Entra sign-in decoder (stateless).
pub struct EntraSigninDecoder {
    opts: Options,
}

impl EntraSigninDecoder {
    /// A decoder with these options.
    pub fn new(opts: Options) -> Self {
        EntraSigninDecoder { opts }
    }
}

fn product() -> Product<'static> {
    Product {
        name: Some("Microsoft Entra ID".into()),
        vendor_name: Some("Microsoft".into()),
        ..Default::default()
    }
}

impl Decoder for EntraSigninDecoder {
    fn decode(&mut self, record: &[u8], _pos: u64, out: &mut dyn FnMut(&mut Event<'_>)) -> Outcome {
        match ms::parse_record(record) {
            Ok(j) => match ocsf::map(&j, record, &self.opts) {
                Some(mut ev) => {
                    out(&mut ev);
                    Outcome::Parsed
                }
                None => self.unparsed(record, ErrorKind::NotThisSource, 0, out),
            },
            Err(err) => self.unparsed(record, err.kind, err.at, out),
        }
    }
}

impl EntraSigninDecoder {
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
            "SignInLogs",
            None,
            &self.opts,
        ));
        Outcome::Unparsed(err)
    }
}
