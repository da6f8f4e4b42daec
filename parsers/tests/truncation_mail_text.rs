//! No panics on damaged input: every prefix and a byte-flipped copy of each
//! fixture line of the text mail sources decodes to some outcome.

use idlink_parsers::{decoder, Options, Source};

#[test]
fn prefixes_and_flips_do_not_panic() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    for src in [
        Source::CiscoEsa,
        Source::Fortimail,
        Source::Exim,
        Source::Sendmail,
        Source::Spamassassin,
    ] {
        let mut dec = decoder(src, &Options::default());
        for entry in std::fs::read_dir(dir.join(src.name())).expect("fixture dir") {
            let path = entry.expect("entry").path();
            if path.extension().and_then(|e| e.to_str()) != Some("log") {
                continue;
            }
            let data = std::fs::read(&path).expect("read");
            for line in data.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                for cut in 0..=line.len() {
                    dec.decode(&line[..cut], 0, &mut |_| {});
                }
                let mut flipped = line.to_vec();
                for i in (0..flipped.len()).step_by(7) {
                    flipped[i] ^= 0x20;
                }
                dec.decode(&flipped, 0, &mut |_| {});
            }
        }
        dec.flush(&mut |_| {});
    }
}
