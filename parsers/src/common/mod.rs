//! Pieces shared by several sources: syslog headers, timestamps, key=value
//! lists, e-mail address and endpoint helpers, and the fallback event.

pub mod fallback;
pub mod json;
