//! Timestamps as log headers write them, turned into epoch milliseconds.
//!
//! Two shapes are read here:
//!
//! * BSD / RFC 3164 `Mmm dd hh:mm:ss` (day space-padded or not, optional
//!   fraction `.123456`, optional year `Mmm dd yyyy hh:mm:ss`). It has no
//!   year and no zone: the year comes from [`TimeContext`] (a fixed year, or
//!   inferred from the caller's reference time), the zone from its UTC offset.
//! * ISO 8601 / RFC 3339 `yyyy-mm-ddThh:mm:ss[.frac][Z|±hh:mm]` (rsyslog's
//!   high-precision format, RFC 5424). Without a zone the context's offset
//!   applies.
//!
//! Nothing here reads a clock: "now" is the caller's `reference_time_ms`.
//! Calendar math is chrono's.

use chrono::NaiveDate;
use nom::bytes::complete::{tag, take_while_m_n};
use nom::character::complete::{char, one_of};
use nom::combinator::{map_res, opt, recognize};
use nom::{IResult, Parser};

use crate::Options;

const DAY_MS: i64 = 86_400_000;

/// A BSD timestamp as read, before a year and zone are given to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BsdTime {
    /// Month, 1-12.
    pub month: u32,
    /// Day of month, 1-31.
    pub day: u32,
    /// The year, when the header writes one (rare).
    pub year: Option<i32>,
    /// Seconds since midnight.
    pub secs_of_day: u32,
    /// Milliseconds of the fraction, if any.
    pub millis: u32,
}

/// An ISO 8601 timestamp as read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IsoTime {
    /// Epoch ms of the wall-clock time read as if it were UTC.
    pub naive_ms: i64,
    /// The zone written (`Z` = 0), or `None` when there was none.
    pub offset_secs: Option<i32>,
}

/// What turns a timestamp as written into epoch ms: the caller's year,
/// reference time and zone, plus a one-day cache (year inference costs a
/// few calendar conversions; log lines come in runs of the same day).
#[derive(Debug, Clone)]
pub struct TimeContext {
    year: Option<i32>,
    reference_time_ms: i64,
    utc_offset_secs: i32,
    /// (month, day) -> epoch ms of that local midnight, for year-less dates.
    cache: Option<(u32, u32, i64)>,
}

impl TimeContext {
    /// A context with a fixed `year` (or none), the reference "now" in
    /// epoch ms and the offset of zone-less times.
    pub fn new(year: Option<i32>, reference_time_ms: i64, utc_offset_secs: i32) -> Self {
        TimeContext {
            year,
            reference_time_ms,
            utc_offset_secs,
            cache: None,
        }
    }

    /// The context described by decoder [`Options`].
    pub fn from_options(opts: &Options) -> Self {
        Self::new(opts.year, opts.reference_time_ms, opts.utc_offset_secs)
    }

    /// The caller's reference time (the `time` of records without one).
    pub fn reference_time_ms(&self) -> i64 {
        self.reference_time_ms
    }

    /// Epoch ms of a BSD timestamp. A year-less one gets the fixed year, or
    /// the year that puts it closest to, and not more than a day after, the
    /// reference time. `None` for impossible dates (Feb 30, ...).
    pub fn resolve_bsd(&mut self, t: &BsdTime) -> Option<i64> {
        let midnight = match t.year {
            Some(y) => self.local_midnight(y, t.month, t.day)?,
            None => self.yearless_midnight(t.month, t.day)?,
        };
        Some(midnight + i64::from(t.secs_of_day) * 1000 + i64::from(t.millis))
    }

    /// Epoch ms of an ISO timestamp (zone-less ones take the context offset).
    pub fn resolve_iso(&self, t: &IsoTime) -> i64 {
        let off = t.offset_secs.unwrap_or(self.utc_offset_secs);
        t.naive_ms - i64::from(off) * 1000
    }

    fn local_midnight(&self, year: i32, month: u32, day: u32) -> Option<i64> {
        let d = NaiveDate::from_ymd_opt(year, month, day)?;
        let ms = d.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis();
        Some(ms - i64::from(self.utc_offset_secs) * 1000)
    }

    fn yearless_midnight(&mut self, month: u32, day: u32) -> Option<i64> {
        if let Some((m, d, ms)) = self.cache {
            if m == month && d == day {
                return Some(ms);
            }
        }
        let ms = match self.year {
            Some(y) => self.local_midnight(y, month, day)?,
            None => self.infer_year_midnight(month, day)?,
        };
        self.cache = Some((month, day, ms));
        Some(ms)
    }

    /// Latest of (ref year + 1, ref year, ref year - 1) whose date starts no
    /// later than a day after the reference (a date's midnight; the time of
    /// day is within that same day, so comparing midnights is enough).
    fn infer_year_midnight(&self, month: u32, day: u32) -> Option<i64> {
        let ref_year = chrono::DateTime::from_timestamp_millis(self.reference_time_ms)
            .map(|d| chrono::Datelike::year(&d.date_naive()))
            .unwrap_or(1970);
        let limit = self.reference_time_ms.saturating_add(DAY_MS);
        let mut fallback = None;
        for y in [ref_year + 1, ref_year, ref_year - 1] {
            if let Some(ms) = self.local_midnight(y, month, day) {
                if ms <= limit {
                    return Some(ms);
                }
                fallback = Some(ms);
            }
        }
        // Only Feb 29 of a non-leap year range lands here: take any year
        // that has it rather than failing the line.
        fallback.or_else(|| (1..=4).find_map(|k| self.local_midnight(ref_year - k, month, day)))
    }
}

/// Month number (1-12) of an English three-letter abbreviation.
pub fn month_from_abbr(s: &str) -> Option<u32> {
    let b = s.as_bytes();
    if b.len() != 3 {
        return None;
    }
    let m = match [
        b[0].to_ascii_lowercase(),
        b[1].to_ascii_lowercase(),
        b[2].to_ascii_lowercase(),
    ] {
        [b'j', b'a', b'n'] => 1,
        [b'f', b'e', b'b'] => 2,
        [b'm', b'a', b'r'] => 3,
        [b'a', b'p', b'r'] => 4,
        [b'm', b'a', b'y'] => 5,
        [b'j', b'u', b'n'] => 6,
        [b'j', b'u', b'l'] => 7,
        [b'a', b'u', b'g'] => 8,
        [b's', b'e', b'p'] => 9,
        [b'o', b'c', b't'] => 10,
        [b'n', b'o', b'v'] => 11,
        [b'd', b'e', b'c'] => 12,
        _ => return None,
    };
    Some(m)
}

fn digits_n(n: usize) -> impl Fn(&str) -> IResult<&str, u32> {
    move |i| {
        map_res(
            take_while_m_n(n, n, |c: char| c.is_ascii_digit()),
            str::parse::<u32>,
        )
        .parse(i)
    }
}

fn digits_1_2(i: &str) -> IResult<&str, u32> {
    map_res(
        take_while_m_n(1, 2, |c: char| c.is_ascii_digit()),
        str::parse::<u32>,
    )
    .parse(i)
}

/// `hh:mm:ss` -> seconds of day.
fn hms(i: &str) -> IResult<&str, u32> {
    let (i, (h, _, m, _, s)) =
        (digits_n(2), char(':'), digits_n(2), char(':'), digits_n(2)).parse(i)?;
    if h > 23 || m > 59 || s > 60 {
        return Err(nom::Err::Error(nom::error::Error::new(
            i,
            nom::error::ErrorKind::Verify,
        )));
    }
    Ok((i, h * 3600 + m * 60 + s.min(59)))
}

/// `.ffffff` (1-9 digits) -> milliseconds.
fn fraction(i: &str) -> IResult<&str, u32> {
    let (i, digits) = nom::sequence::preceded(
        one_of(".,"),
        take_while_m_n(1, 9, |c: char| c.is_ascii_digit()),
    )
    .parse(i)?;
    let mut ms = 0u32;
    for (k, b) in digits.bytes().take(3).enumerate() {
        ms += u32::from(b - b'0') * [100, 10, 1][k];
    }
    Ok((i, ms))
}

/// Parse a BSD timestamp `Mmm dd hh:mm:ss[.frac]` or `Mmm dd yyyy hh:mm:ss`
/// at the start of `i`; day may be padded with a space (`Mar  1`).
pub fn parse_bsd_time(i: &str) -> IResult<&str, BsdTime> {
    let (i, month) = map_res(
        take_while_m_n(3, 3, |c: char| c.is_ascii_alphabetic()),
        |m| month_from_abbr(m).ok_or(()),
    )
    .parse(i)?;
    let (i, _) = take_while_m_n(1, 2, |c| c == ' ').parse(i)?;
    let (i, day) = digits_1_2(i)?;
    let (i, _) = char(' ').parse(i)?;
    let (i, year) = opt(nom::sequence::terminated(digits_n(4), char(' '))).parse(i)?;
    let (i, secs_of_day) = hms(i)?;
    let (i, millis) = opt(fraction).parse(i)?;
    if !(1..=31).contains(&day) {
        return Err(nom::Err::Error(nom::error::Error::new(
            i,
            nom::error::ErrorKind::Verify,
        )));
    }
    Ok((
        i,
        BsdTime {
            month,
            day,
            year: year.map(|y| y as i32),
            secs_of_day,
            millis: millis.unwrap_or(0),
        },
    ))
}

/// Parse an ISO 8601 / RFC 3339 timestamp at the start of `i`:
/// `yyyy-mm-ddThh:mm:ss[.frac][Z|±hh:mm|±hhmm]` (a space instead of `T` is
/// accepted too).
pub fn parse_iso_time(i: &str) -> IResult<&str, IsoTime> {
    let (i, (y, _, mo, _, d, _, sod)) = (
        digits_n(4),
        char('-'),
        digits_n(2),
        char('-'),
        digits_n(2),
        one_of("T "),
        hms,
    )
        .parse(i)?;
    let (i, millis) = opt(fraction).parse(i)?;
    let (i, zone) = opt(
        recognize((one_of("+-"), digits_n(2), opt(char(':')), digits_n(2))).map(|z: &str| {
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let b = z.as_bytes();
            let num =
                |a: usize| i32::from(b.get(a).copied().unwrap_or(b'0').wrapping_sub(b'0') % 10);
            let (hh, mm) = if b.len() == 6 {
                (num(1) * 10 + num(2), num(4) * 10 + num(5))
            } else {
                (num(1) * 10 + num(2), num(3) * 10 + num(4))
            };
            sign * (hh * 3600 + mm * 60)
        }),
    )
    .parse(i)?;
    let (i, offset) = match zone {
        Some(z) => (i, Some(z)),
        None => {
            let (i, z) = opt(tag("Z")).parse(i)?;
            (i, z.map(|_| 0))
        }
    };
    let date = NaiveDate::from_ymd_opt(y as i32, mo, d).ok_or(nom::Err::Error(
        nom::error::Error::new(i, nom::error::ErrorKind::Verify),
    ))?;
    let midnight = date
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp_millis())
        .unwrap_or(0);
    Ok((
        i,
        IsoTime {
            naive_ms: midnight + i64::from(sod) * 1000 + i64::from(millis.unwrap_or(0)),
            offset_secs: offset,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-11-22T12:00:00Z
    const REF: i64 = 1_795_348_800_000;

    #[test]
    fn bsd_table() {
        type Case<'a> = (&'a str, Option<(u32, u32, u32, u32)>, &'a str);
        let cases: &[Case] = &[
            (
                "Nov 22 12:31:52 mx",
                Some((11, 22, 12 * 3600 + 31 * 60 + 52, 0)),
                " mx",
            ),
            ("Mar  1 00:00:00 x", Some((3, 1, 0, 0)), " x"),
            (
                "Mar 7 02:09:33 x",
                Some((3, 7, 2 * 3600 + 9 * 60 + 33, 0)),
                " x",
            ),
            (
                "Jan 12 11:07:49.123456 h",
                Some((1, 12, 11 * 3600 + 7 * 60 + 49, 123)),
                " h",
            ),
            ("Foo 12 11:07:49 h", None, ""),
            ("Jan 32 11:07:49 h", None, ""),
            ("Jan 12 25:07:49 h", None, ""),
            ("Jan 12 11:07", None, ""),
        ];
        for (input, want, rest) in cases {
            match (parse_bsd_time(input), want) {
                (Ok((r, t)), Some((m, d, s, ms))) => {
                    assert_eq!(
                        (t.month, t.day, t.secs_of_day, t.millis),
                        (*m, *d, *s, *ms),
                        "{input}"
                    );
                    assert_eq!(r, *rest, "{input}");
                }
                (Err(_), None) => {}
                (got, _) => panic!("{input}: {got:?}"),
            }
        }
    }

    #[test]
    fn bsd_with_year() {
        let (_, t) = parse_bsd_time("Feb 26 2020 12:16:08 h").unwrap();
        assert_eq!(t.year, Some(2020));
        let mut c = TimeContext::new(None, REF, 0);
        assert_eq!(c.resolve_bsd(&t), Some(1_582_719_368_000));
    }

    #[test]
    fn year_inference() {
        let mut c = TimeContext::new(None, REF, 0);
        // Same day as the reference: this year.
        let t = parse_bsd_time("Nov 22 12:31:52").unwrap().1;
        assert_eq!(c.resolve_bsd(&t), Some(1_795_350_712_000));
        // Next month would be in the future: last year.
        let t = parse_bsd_time("Dec 25 00:00:00").unwrap().1;
        let ms = c.resolve_bsd(&t).unwrap();
        assert_eq!(
            chrono::DateTime::from_timestamp_millis(ms)
                .unwrap()
                .to_rfc3339(),
            "2025-12-25T00:00:00+00:00"
        );
        // Reference on Dec 31: Jan 1 is within a day, next year.
        let mut c = TimeContext::new(None, 1_798_718_400_000, 0); // 2026-12-31T12:00Z
        let t = parse_bsd_time("Jan  1 00:10:00").unwrap().1;
        let ms = c.resolve_bsd(&t).unwrap();
        assert_eq!(
            chrono::DateTime::from_timestamp_millis(ms)
                .unwrap()
                .to_rfc3339(),
            "2027-01-01T00:10:00+00:00"
        );
        // Fixed year and offset win.
        let mut c = TimeContext::new(Some(2015), REF, 3600);
        let t = parse_bsd_time("Jul 12 07:47:48").unwrap().1;
        let ms = c.resolve_bsd(&t).unwrap();
        assert_eq!(
            chrono::DateTime::from_timestamp_millis(ms)
                .unwrap()
                .to_rfc3339(),
            "2015-07-12T06:47:48+00:00"
        );
        // Feb 29 in a non-leap context still resolves.
        let mut c = TimeContext::new(None, REF, 0);
        let t = parse_bsd_time("Feb 29 10:00:00").unwrap().1;
        assert!(c.resolve_bsd(&t).is_some());
    }

    #[test]
    fn iso_table() {
        let c = TimeContext::new(None, REF, 7200);
        let cases: &[(&str, Option<i64>)] = &[
            (
                "2026-11-22T12:31:52.123456+01:00 mx",
                Some(1_795_350_712_123 - 3_600_000),
            ),
            ("2026-11-22T12:31:52Z", Some(1_795_350_712_000)),
            (
                "2026-11-22T12:31:52.5-0130",
                Some(1_795_350_712_500 + 5_400_000),
            ),
            ("2026-11-22 12:31:52", Some(1_795_350_712_000 - 7_200_000)),
            ("2026-13-22T12:31:52Z", None),
            ("2026-11-22", None),
        ];
        for (input, want) in cases {
            let got = parse_iso_time(input).ok().map(|(_, t)| c.resolve_iso(&t));
            assert_eq!(got, *want, "{input}");
        }
    }
}
