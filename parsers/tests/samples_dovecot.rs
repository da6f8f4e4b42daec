//! Conformance over the mail-lab's dovecot logs (`lab-dovecot/*.log` in the shared
//! samples): every line decodes, none is unparsed or a fallback event, and
//! with `OCSF_VALIDATE=/path/to/ocsf-validate` every event passes
//! `--strict`. `IDLINK_SAMPLES=skip` skips it.

mod util;

use util::lab;

use idlink_parsers::Source;

#[test]
fn samples_conform() {
    // The Dovecot lines inside the Postfix samples (maillog-dump, MIT).
    let mut extra = Vec::new();
    if let Some(dir) = util::samples_dir() {
        for l in lab::lines_of(&dir.join("postfix/events.log")) {
            let s = String::from_utf8_lossy(&l);
            if s.contains(" dovecot: ") || s.contains(" dovecot[") {
                extra.push(l);
            }
        }
        assert!(!extra.is_empty(), "no Dovecot lines in postfix/events.log");
    }
    let c = lab::conform(Source::Dovecot, extra);
    assert!(c.by_class.get(&3002).is_some_and(|n| *n > 0) || c.records == 0);
    assert!(c.by_class.get(&4009).is_some_and(|n| *n > 0) || c.records == 0);
}
