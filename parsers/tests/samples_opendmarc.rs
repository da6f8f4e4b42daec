//! Conformance over the mail-lab's opendmarc logs (`lab-opendmarc/*.log` in the shared
//! samples): every line decodes, none is unparsed or a fallback event, and
//! with `OCSF_VALIDATE=/path/to/ocsf-validate` every event passes
//! `--strict`. `IDLINK_SAMPLES=skip` skips it.

mod util;

use util::lab;

use idlink_parsers::Source;

#[test]
fn samples_conform() {
    let c = lab::conform(Source::Opendmarc, Vec::new());
    assert_eq!(c.events, c.records);
}
