//! Golden tests for the rspamd source: `tests/fixtures/rspamd/*.log` →
//! `*.ocsf.json` (`BLESS=1` rewrites; with `OCSF_VALIDATE` the events
//! are also validated with `--strict`).

mod util;

use util::lab;

use idlink_parsers::Source;

#[test]
fn golden_rspamd() {
    lab::golden(Source::Rspamd, "rspamd", 3);
}
