//! OpenDMARC syslog lines to OCSF.
//!
//! Same syslog header and grammar as OpenDKIM (the Postfix source's
//! [`filters`](crate::sources::postfix::filters)), same decoder
//! ([`crate::sources::opendkim::milter_decoder`]); see the mapping table
//! there.
//!
//! | line | event |
//! |---|---|
//! | `QID: partner.test pass` | Base Event "DMARC Verdict", Success, `unmapped.opendmarc` {queue_id, header_from_domain, result} |
//! | `QID: corp.example fail` | Base Event "DMARC Verdict", Failure (severity Low) |
//! | `QID: deals-daily.test none` | Base Event "DMARC Verdict", Other "none" |
//! | `OpenDMARC Filter v1.4.2 starting ...`, other lines | Base Event "Start" / "Stop" / "Log" |

use crate::sources::opendkim::milter_decoder;
use crate::sources::postfix::filters::FilterKind;
use crate::{Decoder, Options};

/// A fresh OpenDMARC decoder.
pub fn decoder(opts: &Options) -> Box<dyn Decoder> {
    milter_decoder(FilterKind::OpenDmarc, opts)
}
