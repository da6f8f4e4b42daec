//! Per-record work between reading and sinking: [`parse`] turns records into
//! serialised OCSF events (enrichment plugs in there, between mapping and
//! serialisation, so each event is serialised once).

pub mod parse;
