//! Golden tests for the opendmarc source: `tests/fixtures/opendmarc/*.log` →
//! `*.ocsf.json` (`BLESS=1` rewrites; with `OCSF_VALIDATE` the events
//! are also validated with `--strict`).

mod util;

use util::lab;

use idlink_parsers::Source;

#[test]
fn golden_opendmarc() {
    lab::golden(Source::Opendmarc, "opendmarc", 3);
}
