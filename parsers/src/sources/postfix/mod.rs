//! Postfix (placeholder until the parser lands).
use crate::common::fallback;
use crate::ocsf::{Event, Product};
use crate::{Decoder, ErrorKind, Options, Outcome, ParseError};
use std::borrow::Cow;

/// Postfix decoder.
pub struct PostfixDecoder {
    opts: Options,
}

impl PostfixDecoder {
    /// New decoder.
    pub fn new(opts: Options) -> Self {
        PostfixDecoder { opts }
    }
}

impl Decoder for PostfixDecoder {
    fn decode(&mut self, record: &[u8], _pos: u64, out: &mut dyn FnMut(Event<'_>)) -> Outcome {
        let err = ParseError {
            kind: ErrorKind::UnknownMessage,
            at: 0,
        };
        let product = Product {
            name: Some(Cow::Borrowed("Postfix")),
            vendor_name: Some(Cow::Borrowed("Postfix")),
            ..Default::default()
        };
        out(fallback::unparsed(
            record, err, product, "maillog", None, &self.opts,
        ));
        Outcome::Unparsed(err)
    }
}
