//! placeholder
use crate::{Decoder, Options};
/// A decoder.
pub fn decoder(opts: &Options) -> Box<dyn Decoder> {
    crate::sources::spamassassin::decoder(opts)
}
