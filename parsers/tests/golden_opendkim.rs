//! Golden tests for the opendkim source: `tests/fixtures/opendkim/*.log` →
//! `*.ocsf.json` (`BLESS=1` rewrites; with `OCSF_VALIDATE` the events
//! are also validated with `--strict`).

mod util;

use util::lab;

use idlink_parsers::Source;

#[test]
fn golden_opendkim() {
    lab::golden(Source::Opendkim, "opendkim", 3);
}
