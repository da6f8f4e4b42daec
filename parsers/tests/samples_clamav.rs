//! Conformance over the mail-lab's clamav logs (`lab-clamav/*.log` in the shared
//! samples): every line decodes, none is unparsed or a fallback event, and
//! with `OCSF_VALIDATE=/path/to/ocsf-validate` every event passes
//! `--strict`. `IDLINK_SAMPLES=skip` skips it.

mod util;

use util::lab;

use idlink_parsers::Source;

#[test]
fn samples_conform() {
    let c = lab::conform(Source::Clamav, Vec::new());
    assert!(c.by_class.get(&2004).is_some_and(|n| *n > 0) || c.records == 0);
    assert!(c.by_class.get(&4009).is_some_and(|n| *n > 0) || c.records == 0);
}
