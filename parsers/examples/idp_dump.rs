//! Decode NDJSON records of a source from stdin and print the OCSF events.
//! `cargo run -p idlink-parsers --example idp_dump -- okta < events.ndjson`
use std::io::BufRead;

use idlink_parsers::{decoder, Options, Source};

fn main() {
    let name = std::env::args().nth(1).unwrap_or_else(|| "okta".into());
    let Some(source) = Source::from_name(&name) else {
        eprintln!("unknown source {name}");
        std::process::exit(2);
    };
    let mut dec = decoder(source, &Options::default());
    for (n, line) in std::io::stdin()
        .lock()
        .lines()
        .map_while(Result::ok)
        .enumerate()
    {
        dec.decode(line.as_bytes(), n as u64, &mut |e| {
            println!("{}", serde_json::to_string(&e).unwrap_or_default())
        });
    }
}
