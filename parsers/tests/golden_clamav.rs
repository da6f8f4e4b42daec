//! Golden tests for the clamav source: `tests/fixtures/clamav/*.log` →
//! `*.ocsf.json` (`BLESS=1` rewrites; with `OCSF_VALIDATE` the events
//! are also validated with `--strict`).

mod util;

use util::lab;

use idlink_parsers::Source;

#[test]
fn golden_clamav() {
    lab::golden(Source::Clamav, "clamav", 3);
}
