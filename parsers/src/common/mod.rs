//! Pieces shared by several sources: syslog headers, timestamps, key=value
//! lists, e-mail address and endpoint helpers, JSON helpers, and the
//! fallback event.

pub mod addr;
pub mod fallback;
pub mod json;
pub mod kv;
pub mod scan;
pub mod syslog;
pub mod time;
