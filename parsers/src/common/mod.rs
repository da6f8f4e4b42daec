//! Pieces shared by several sources: syslog headers, timestamps, key=value
//! lists, e-mail address and endpoint helpers, JSON helpers, CEF records,
//! mail event helpers, the fallback event, and the UTF-8 check of records.

pub mod addr;
pub mod cef;
pub mod fallback;
pub mod json;
pub mod jtree;
pub mod kv;
pub mod mail;
pub mod mailjson;
pub mod scan;
pub mod syslog;
pub mod time;
pub mod utf8;
