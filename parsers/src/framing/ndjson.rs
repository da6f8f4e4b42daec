//! The NDJSON fast path of the [`Splitter`](super::Splitter).
//!
//! Once a stream is known to be NDJSON, almost every line is one object.
//! Walking such a line byte by byte through the general state machine was
//! a sixth of the agent's CPU on the Okta workload; here one pass over the
//! line, 64 bytes at a time, checks that it holds exactly one object that
//! ends on its last non-blank byte. Only then is it handed out whole. Any
//! other line (blank lines aside) goes through the state machine as before,
//! so what comes out (records, errors, offsets, checkpoints) is the same
//! either way; the splitter tests compare the two on every line shape they
//! know.
//!
//! ## The 64-byte scan
//!
//! Each 64-byte block is turned into bitmasks (bit `k` for byte `k`) of
//! quotes, backslashes, opening and closing brackets and newlines: on
//! x86_64 with AVX-512BW or AVX2 when the CPU has it (checked at run time,
//! once per line; the scan is compiled once for each), else with SSE2 (part
//! of its baseline), byte by byte elsewhere. From them, without looking at
//! the bytes one by one:
//!
//! - the escaped bytes are those after an odd-length run of backslashes
//!   (runs may cross blocks, so whether the next block starts escaped is
//!   carried over);
//! - the quotes that are not escaped open and close strings, so a prefix
//!   XOR of them marks the bytes inside strings (the opening quote
//!   included, the closing one not), carried over blocks too;
//! - the brackets outside strings count the depth as the state machine
//!   does: an opening bracket raises it, any closing one lowers it (never
//!   below zero), and the object closes where it reaches zero. A block
//!   with fewer closing brackets than the depth it starts at cannot reach
//!   zero, so it only adds its counts; the others are visited bracket by
//!   bracket, in order.
//!
//! This is exact as long as every backslash lies inside a string, which
//! the state machine (and JSON) requires for it to escape anything: outside
//! a string a backslash is an ordinary byte, while the masks would take it
//! as an escape. Everything before the first such backslash is still
//! classified right, so the scan sees it, and gives the line to the
//! byte-at-a-time check instead ([`closes_at`]). A line that is not valid
//! JSON can never be taken whole by mistake either way.

/// What the line at the start of a stretch of input is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Line {
    /// One record at `start..end`; the line (its newline included) is
    /// `next` bytes long.
    Record {
        start: usize,
        end: usize,
        next: usize,
    },
    /// Only blanks up to and including the newline at `next - 1`.
    Blank { next: usize },
    /// Anything else: let the state machine read the `next` bytes (the
    /// line and its newline).
    Slow { next: usize },
    /// No newline yet.
    Incomplete,
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Classify the line that starts at `input[0]`, for a stream in NDJSON
/// mode between records; records longer than `max` are left to the state
/// machine, which reports them.
pub(super) fn line(input: &[u8], max: usize) -> Line {
    line_with(input, max, scan)
}

/// [`line`] with the given scan (tests run every one this machine has).
#[inline(always)]
fn line_with(input: &[u8], max: usize, scan: impl Fn(&[u8], usize, usize) -> Scan) -> Line {
    let mut start = 0;
    while start < input.len() && matches!(input[start], b' ' | b'\t' | b'\r') {
        start += 1;
    }
    match input.get(start) {
        None => return Line::Incomplete,
        Some(b'\n') => return Line::Blank { next: start + 1 },
        Some(b'{') => {}
        Some(_) => return slow_from(input, start),
    }
    match scan(input, start, max) {
        Scan::Close(c) => {
            let Some(k) = memchr::memchr(b'\n', &input[c + 1..]) else {
                return Line::Incomplete;
            };
            let nl = c + 1 + k;
            let one_object = input[c] == b'}'
                && input[c + 1..nl].iter().all(|&b| is_ws(b))
                && !wrapper_like(&input[start..=c]);
            if one_object {
                Line::Record {
                    start,
                    end: c + 1,
                    next: nl + 1,
                }
            } else {
                Line::Slow { next: nl + 1 }
            }
        }
        Scan::Newline(nl) => Line::Slow { next: nl + 1 },
        Scan::End => Line::Incomplete,
        Scan::Long => slow_from(input, start),
        Scan::Stray => line_bytewise(input, max),
    }
}

/// A line that is not one object, when `input[..from]` holds no newline.
fn slow_from(input: &[u8], from: usize) -> Line {
    match memchr::memchr(b'\n', &input[from..]) {
        Some(k) => Line::Slow { next: from + k + 1 },
        None => Line::Incomplete,
    }
}

/// What [`scan`] found first after the opening bracket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scan {
    /// The value closes at this index (before `start + max`), before any
    /// newline.
    Close(usize),
    /// A newline at this index comes before the value closes.
    Newline(usize),
    /// The value does not close within `max` bytes (nor does a newline
    /// come first).
    Long,
    /// A backslash outside a string comes before the value closes or the
    /// line ends: the masks cannot say what happens next.
    Stray,
    /// The input ends before the value closes or the line ends.
    End,
}

/// Where the value opening at `input[start]` closes, as [`closes_at`]
/// counts it, or what comes first; 64 bytes at a time (see the module
/// documentation), with the widest vectors the CPU has (checked once per
/// line).
fn scan(input: &[u8], start: usize, max: usize) -> Scan {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        if has!("popcnt") && has!("pclmulqdq") {
            if has!("avx512bw") {
                return scan_avx512(input, start, max);
            }
            if has!("avx2") {
                return scan_avx2(input, start, max);
            }
        }
        scan_with(input, start, max, Masks::sse2, prefix_xor)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        scan_with(input, start, max, Masks::bytewise, prefix_xor)
    }
}

/// [`scan`] on CPUs with AVX-512BW, POPCNT and CLMUL (checked by the caller).
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
fn scan_avx512(input: &[u8], start: usize, max: usize) -> Scan {
    #[target_feature(enable = "avx512bw,popcnt,pclmulqdq")]
    fn inner(input: &[u8], start: usize, max: usize) -> Scan {
        scan_with(
            input,
            start,
            max,
            |b| Masks::avx512_inner(b),
            |x| prefix_xor_clmul(x),
        )
    }
    // SAFETY: `scan` calls this only when the CPU has these features.
    unsafe { inner(input, start, max) }
}

/// [`scan`] on CPUs with AVX2, POPCNT and CLMUL (checked by the caller).
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
fn scan_avx2(input: &[u8], start: usize, max: usize) -> Scan {
    #[target_feature(enable = "avx2,popcnt,pclmulqdq")]
    fn inner(input: &[u8], start: usize, max: usize) -> Scan {
        scan_with(
            input,
            start,
            max,
            |b| Masks::avx2_inner(b),
            |x| prefix_xor_clmul(x),
        )
    }
    // SAFETY: `scan` calls this only when the CPU has these features.
    unsafe { inner(input, start, max) }
}

/// The scan, with the masks and the prefix XOR given; inlined into each
/// of the functions above, so that it is compiled for their features.
#[inline(always)]
fn scan_with(
    input: &[u8],
    start: usize,
    max: usize,
    masks: impl Fn(&[u8; 64]) -> Masks,
    prefix_xor: impl Fn(u64) -> u64,
) -> Scan {
    let limit = start.saturating_add(max);
    let mut pos = start;
    let mut depth = 0u32;
    // 1 when the next block starts with an escaped byte.
    let mut escape_carry = 0u64;
    // All ones when the next block starts inside a string.
    let mut string_carry = 0u64;
    while pos < input.len() {
        if pos >= limit {
            return Scan::Long;
        }
        let rest = &input[pos..];
        let m = match rest.first_chunk::<64>() {
            Some(block) => masks(block),
            None => {
                let mut block = [0u8; 64];
                block[..rest.len()].copy_from_slice(rest);
                masks(&block)
            }
        };
        let escaped = escaped(m.backslash, &mut escape_carry);
        let inside = prefix_xor(m.quote & !escaped) ^ string_carry;
        string_carry = ((inside as i64) >> 63) as u64;
        // The bytes before the block's first newline (all when none).
        let line = m.newline.wrapping_sub(1) & !m.newline;
        if m.backslash & !inside & line != 0 {
            return Scan::Stray;
        }
        let opens = m.open & !inside & line;
        let closes = m.close & !inside & line;
        if closes.count_ones() < depth {
            // Fewer closers than the depth: it cannot reach zero in this
            // block (nor saturate), so only the counts matter.
            depth = depth + opens.count_ones() - closes.count_ones();
        } else {
            let mut brackets = opens | closes;
            while brackets != 0 {
                let bit = brackets & brackets.wrapping_neg();
                if opens & bit != 0 {
                    depth += 1;
                } else {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        let k = pos + bit.trailing_zeros() as usize;
                        return if k < limit {
                            Scan::Close(k)
                        } else {
                            Scan::Long
                        };
                    }
                }
                brackets &= brackets - 1;
            }
        }
        if m.newline != 0 {
            return Scan::Newline(pos + m.newline.trailing_zeros() as usize);
        }
        pos += 64;
    }
    Scan::End
}

const ODD_BITS: u64 = 0xAAAA_AAAA_AAAA_AAAA;

/// The bytes of a block escaped by a backslash: those after an odd-length
/// run of backslashes. `carry` is 1 when the block's first byte is escaped
/// by a run that ended the previous block, and is set for the next block.
fn escaped(backslash: u64, carry: &mut u64) -> u64 {
    if backslash == 0 {
        return std::mem::take(carry);
    }
    // Runs that start on an odd bit come out of the subtraction inverted;
    // XOR with the odd bits puts both kinds right: in every run, every
    // other backslash (from the second) is escaped, and the byte after
    // the run is escaped when the run is odd.
    let starts = backslash & !*carry;
    let code = ((starts << 1) | ODD_BITS).wrapping_sub(starts) ^ ODD_BITS;
    let escaped = code ^ (backslash | *carry);
    *carry = (code & backslash) >> 63;
    escaped
}

/// Bit `k` of the result is the XOR of bits `0..=k` of `x`.
fn prefix_xor(mut x: u64) -> u64 {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
}

/// [`prefix_xor`] in one carry-less multiplication by all ones.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "pclmulqdq")]
fn prefix_xor_clmul(x: u64) -> u64 {
    use std::arch::x86_64::*;
    let p = _mm_clmulepi64_si128(_mm_set_epi64x(0, x as i64), _mm_set1_epi8(-1), 0);
    _mm_cvtsi128_si64(p) as u64
}

/// Where the bytes the scan looks at lie in a 64-byte block.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Masks {
    quote: u64,
    backslash: u64,
    /// `{` and `[`.
    open: u64,
    /// `}` and `]`.
    close: u64,
    newline: u64,
}

/// `[` and `]` differ from `{` and `}` only in bit 5: with it set, a byte
/// is one of the openers when it equals `OPEN`, one of the closers when it
/// equals `CLOSE`.
const CASE: u8 = 0x20;
const OPEN: u8 = b'{';
const CLOSE: u8 = b'}';

impl Masks {
    #[cfg_attr(target_arch = "x86_64", allow(dead_code))]
    fn bytewise(block: &[u8; 64]) -> Masks {
        let mut m = Masks::default();
        for (k, &b) in block.iter().enumerate() {
            let bit = 1u64 << k;
            match b {
                b'"' => m.quote |= bit,
                b'\\' => m.backslash |= bit,
                b'{' | b'[' => m.open |= bit,
                b'}' | b']' => m.close |= bit,
                b'\n' => m.newline |= bit,
                _ => {}
            }
        }
        m
    }

    /// With SSE2 (part of the x86_64 baseline): 16 bytes a compare.
    #[cfg(target_arch = "x86_64")]
    #[allow(unsafe_code)]
    fn sse2(block: &[u8; 64]) -> Masks {
        use std::arch::x86_64::*;
        let mut m = Masks::default();
        // SAFETY: every x86_64 CPU has SSE2, and the build enables it for
        // the whole target, so these intrinsics may always run; each
        // unaligned load reads bytes 16k..16k + 16 of the 64-byte array
        // (k < 4), all in bounds. Nothing else here touches memory.
        unsafe {
            let quote = _mm_set1_epi8(b'"' as i8);
            let backslash = _mm_set1_epi8(b'\\' as i8);
            let newline = _mm_set1_epi8(b'\n' as i8);
            let case = _mm_set1_epi8(CASE as i8);
            let open = _mm_set1_epi8(OPEN as i8);
            let close = _mm_set1_epi8(CLOSE as i8);
            for k in 0..4 {
                let v = _mm_loadu_si128(block.as_ptr().add(16 * k).cast());
                let folded = _mm_or_si128(v, case);
                let shift = 16 * k;
                let bits = |x: __m128i| (_mm_movemask_epi8(x) as u16 as u64) << shift;
                m.quote |= bits(_mm_cmpeq_epi8(v, quote));
                m.backslash |= bits(_mm_cmpeq_epi8(v, backslash));
                m.open |= bits(_mm_cmpeq_epi8(folded, open));
                m.close |= bits(_mm_cmpeq_epi8(folded, close));
                m.newline |= bits(_mm_cmpeq_epi8(v, newline));
            }
        }
        m
    }
}

#[cfg(target_arch = "x86_64")]
impl Masks {
    /// [`Masks::sse2`] 32 bytes a compare, on CPUs with AVX2 (checked by
    /// the caller).
    #[allow(unsafe_code)]
    #[target_feature(enable = "avx2")]
    fn avx2_inner(block: &[u8; 64]) -> Masks {
        use std::arch::x86_64::*;
        let mut m = Masks::default();
        let quote = _mm256_set1_epi8(b'"' as i8);
        let backslash = _mm256_set1_epi8(b'\\' as i8);
        let newline = _mm256_set1_epi8(b'\n' as i8);
        let case = _mm256_set1_epi8(CASE as i8);
        let open = _mm256_set1_epi8(OPEN as i8);
        let close = _mm256_set1_epi8(CLOSE as i8);
        for (k, chunk) in block.chunks_exact(32).enumerate() {
            // SAFETY: an unaligned load of 32 bytes from a 32-byte slice.
            let v = unsafe { _mm256_loadu_si256(chunk.as_ptr().cast()) };
            let folded = _mm256_or_si256(v, case);
            let shift = 32 * k;
            let bits = |x: __m256i| (_mm256_movemask_epi8(x) as u32 as u64) << shift;
            m.quote |= bits(_mm256_cmpeq_epi8(v, quote));
            m.backslash |= bits(_mm256_cmpeq_epi8(v, backslash));
            m.open |= bits(_mm256_cmpeq_epi8(folded, open));
            m.close |= bits(_mm256_cmpeq_epi8(folded, close));
            m.newline |= bits(_mm256_cmpeq_epi8(v, newline));
        }
        m
    }

    /// The whole block in one register, on CPUs with AVX-512BW (checked by
    /// the caller): each compare gives its mask directly.
    #[allow(unsafe_code)]
    #[target_feature(enable = "avx512bw")]
    fn avx512_inner(block: &[u8; 64]) -> Masks {
        use std::arch::x86_64::*;
        // SAFETY: an unaligned load of the 64 bytes of the array.
        let v = unsafe { _mm512_loadu_si512(block.as_ptr().cast()) };
        let folded = _mm512_or_si512(v, _mm512_set1_epi8(CASE as i8));
        let eq = |x: __m512i, b: u8| _mm512_cmpeq_epi8_mask(x, _mm512_set1_epi8(b as i8));
        Masks {
            quote: eq(v, b'"'),
            backslash: eq(v, b'\\'),
            open: eq(folded, OPEN),
            close: eq(folded, CLOSE),
            newline: eq(v, b'\n'),
        }
    }
}

/// [`line`], one byte at a time: what [`line`] falls back to when a line
/// has a backslash outside its strings.
fn line_bytewise(input: &[u8], max: usize) -> Line {
    let Some(nl) = memchr::memchr(b'\n', input) else {
        return Line::Incomplete;
    };
    let next = nl + 1;
    let text = &input[..nl];
    let Some(start) = text.iter().position(|&b| !is_ws(b)) else {
        return Line::Blank { next };
    };
    let end = text
        .iter()
        .rposition(|&b| !is_ws(b))
        .map_or(start, |e| e + 1);
    let rec = &text[start..end];
    let one_object = rec.len() <= max
        && rec.first() == Some(&b'{')
        && rec.last() == Some(&b'}')
        && !wrapper_like(rec)
        && closes_at(rec) == Some(rec.len() - 1);
    if one_object {
        Line::Record { start, end, next }
    } else {
        Line::Slow { next }
    }
}

/// True when the state machine would look further at this object's first
/// key: `records` and `value` may open a wrapper (Azure, Graph), `@...`
/// keys (Graph's `@odata.context`) come before one. Also true when the
/// first key is not a plain string, so the state machine decides.
fn wrapper_like(rec: &[u8]) -> bool {
    let mut i = 1;
    while i < rec.len() && is_ws(rec[i]) {
        i += 1;
    }
    match rec.get(i) {
        Some(b'}') => false,
        Some(b'"') => {
            let key = &rec[i + 1..];
            match memchr::memchr2(b'"', b'\\', key) {
                Some(k) if key[k] == b'"' => {
                    let key = &key[..k];
                    key == b"records" || key == b"value" || key.first() == Some(&b'@')
                }
                _ => true,
            }
        }
        _ => true,
    }
}

/// Index of the byte at which the value starting at `rec[0]` closes, as the
/// state machine counts it: brackets outside strings, any closing bracket
/// lowering the depth, a backslash escaping the next byte inside strings.
fn closes_at(rec: &[u8]) -> Option<usize> {
    let mut depth = 0u32;
    let mut i = 0;
    while i < rec.len() {
        match rec[i] {
            b'"' => {
                i += 1;
                loop {
                    let j = i + quote_or_backslash(rec.get(i..)?)?;
                    if rec[j] == b'\\' {
                        i = j + 2;
                    } else {
                        i = j + 1;
                        break;
                    }
                }
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Index of the first `"` or `\` in `s`, eight bytes at a time.
fn quote_or_backslash(s: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let mut i = 0;
    while i + 8 <= s.len() {
        let mut word = [0u8; 8];
        word.copy_from_slice(&s[i..i + 8]);
        let w = u64::from_le_bytes(word);
        // The lowest flagged byte is exact (borrows only run upwards).
        let m = zero(w ^ (ONES * b'"' as u64)) | zero(w ^ (ONES * b'\\' as u64));
        if m != 0 {
            return Some(i + (m.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    s[i..]
        .iter()
        .position(|&b| b == b'"' || b == b'\\')
        .map(|k| i + k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        let rec = |s: &str| line(s.as_bytes(), 1 << 20);
        assert_eq!(
            rec(" {\"a\":\"}\\\"{\"}\r\nx"),
            Line::Record {
                start: 1,
                end: 13,
                next: 15
            }
        );
        assert_eq!(rec(" \r\n{"), Line::Blank { next: 3 });
        assert_eq!(rec("{\"a\":1}"), Line::Incomplete);
        for slow in [
            "{\"a\":1}{\"b\":2}\n",
            "{\"a\":{\"b\":1}\n",
            "{\"a\":\"}\n",
            "{\"a\":1} x\n",
            "[{\"a\":1}]\n",
            "{\"records\":[]}\n",
            "{\"value\":[]}\n",
            "{\"@odata.context\":\"x\",\"a\":1}\n",
            "{\"k\\\"\":1}\n",
            "{1:2}\n",
            "not json\n",
            "{\"a\":\"\\\n",
        ] {
            assert_eq!(rec(slow), Line::Slow { next: slow.len() }, "{slow}");
        }
        assert_eq!(
            rec("{}\n"),
            Line::Record {
                start: 0,
                end: 2,
                next: 3
            }
        );
        assert_eq!(line(b"{\"a\":1}\n", 6), Line::Slow { next: 8 });
        assert_eq!(
            line(b"{\"a\":1}\n", 7),
            Line::Record {
                start: 0,
                end: 7,
                next: 8
            }
        );
    }

    #[test]
    fn quotes_at_every_position() {
        for n in 0..40 {
            for c in [b'"', b'\\'] {
                let mut s = vec![b'a'; n];
                s.push(c);
                s.extend_from_slice(b"\"\\aaaaaaaaaa");
                assert_eq!(quote_or_backslash(&s), Some(n));
            }
            assert_eq!(quote_or_backslash(&vec![b'a'; n]), None);
        }
    }

    #[test]
    fn escapes_and_brackets_at_every_position() {
        for n in 0..24 {
            let pad = "x".repeat(n);
            for (body, closes) in [
                (format!(r#"{{"a":"{pad}\"{pad}"}}"#), true),
                (format!(r#"{{"a":"{pad}\\"}}"#), true),
                (format!(r#"{{"a":"{pad}\"}}"#), false),
                (format!(r#"{{"{pad}":[{{}},"]}}{pad}"]}}"#), true),
                (format!(r#"{{"a":1}}{pad}}}"#), false),
            ] {
                let rec = body.as_bytes();
                let want = closes.then(|| rec.len() - 1);
                let got = closes_at(rec);
                if closes {
                    assert_eq!(got, want, "{body}");
                } else {
                    assert_ne!(got, Some(rec.len() - 1), "{body}");
                }
            }
        }
    }
    /// Bytes that matter to the scan, and one that does not.
    const ALPHABET: &[u8] = b"{}[]\"\\\n a";

    /// Every scan this machine can run classifies `input` as the
    /// byte-by-byte check does.
    fn same_as_bytewise(input: &[u8], max: usize) {
        let want = line_bytewise(input, max);
        for (name, scan) in scan_paths() {
            assert_eq!(
                line_with(input, max, scan),
                want,
                "{name}: {:?} max {max}",
                String::from_utf8_lossy(input)
            );
        }
    }

    type ScanFn = fn(&[u8], usize, usize) -> Scan;

    /// Every scan this machine can run, the one [`line`] picks first.
    fn scan_paths() -> Vec<(&'static str, ScanFn)> {
        let mut v: Vec<(&'static str, ScanFn)> = vec![("picked", scan)];
        v.push(("bytewise", |i, s, m| {
            scan_with(i, s, m, Masks::bytewise, prefix_xor)
        }));
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            v.push(("sse2", |i, s, m| {
                scan_with(i, s, m, Masks::sse2, prefix_xor)
            }));
            if has!("popcnt") && has!("pclmulqdq") {
                if has!("avx2") {
                    v.push(("avx2", scan_avx2));
                }
                if has!("avx512bw") {
                    v.push(("avx512", scan_avx512));
                }
            }
        }
        v
    }

    type MaskFn = fn(&[u8; 64]) -> Masks;

    /// Every way of computing the masks this machine can run.
    #[allow(unsafe_code)]
    fn mask_paths() -> Vec<(&'static str, MaskFn)> {
        let mut v: Vec<(&'static str, MaskFn)> = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            v.push(("sse2", Masks::sse2));
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2.
                v.push(("avx2", |b| unsafe { Masks::avx2_inner(b) }));
            }
            if std::arch::is_x86_feature_detected!("avx512bw") {
                // SAFETY: the CPU has AVX-512BW.
                v.push(("avx512", |b| unsafe { Masks::avx512_inner(b) }));
            }
        }
        v
    }

    #[test]
    fn vector_masks_match_the_bytewise_ones() {
        let paths = mask_paths();
        println!(
            "mask paths: {:?}",
            paths.iter().map(|p| p.0).collect::<Vec<_>>()
        );
        let mut block = [b'a'; 64];
        for k in 0..64 {
            for b in 0..=255u8 {
                block[k] = b;
                for (name, f) in &paths {
                    assert_eq!(f(&block), Masks::bytewise(&block), "{name}: {b} at {k}");
                }
            }
            block[k] = b'a';
        }
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            for b in block.iter_mut() {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                *b =
                    ALPHABET[(seed % ALPHABET.len() as u64) as usize] ^ ((seed >> 40) as u8 & 0x60);
            }
            for (name, f) in &paths {
                assert_eq!(f(&block), Masks::bytewise(&block), "{name}");
            }
        }
    }

    /// `escaped` over consecutive blocks against the byte-by-byte rule.
    #[test]
    fn escapes_of_every_run_at_every_position() {
        for run in 0..=140 {
            for at in 0..=130 {
                let mut bytes = [b'a'; 192];
                for b in &mut bytes[at..(at + run).min(192)] {
                    *b = b'\\';
                }
                let mut want = [0u64; 3];
                let mut i = 0;
                while i < bytes.len() {
                    if bytes[i] == b'\\' {
                        if i + 1 < bytes.len() {
                            want[(i + 1) / 64] |= 1 << ((i + 1) % 64);
                        }
                        i += 2;
                    } else {
                        i += 1;
                    }
                }
                let mut carry = 0;
                for (k, w) in want.iter().enumerate() {
                    let block: &[u8; 64] = bytes[64 * k..64 * k + 64].try_into().unwrap();
                    let got = escaped(Masks::bytewise(block).backslash, &mut carry);
                    assert_eq!(got, *w, "run {run} at {at}, block {k}");
                }
            }
        }
    }

    #[test]
    fn prefix_xor_is_a_running_parity() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..1000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let got = prefix_xor(seed);
            for k in 0..64 {
                let want = (seed & (u64::MAX >> (63 - k))).count_ones() % 2;
                assert_eq!((got >> k) & 1, want as u64);
            }
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("pclmulqdq") {
                // SAFETY: the CPU has CLMUL.
                #[allow(unsafe_code)]
                let clmul = unsafe { prefix_xor_clmul(seed) };
                assert_eq!(clmul, got, "{seed:#x}");
            }
        }
    }

    /// Every short tail over the bytes that matter, placed at every offset
    /// around a block boundary, in and out of a string, with and without
    /// a newline after it and a cap that falls inside it.
    #[test]
    fn scan_matches_bytewise_on_all_short_tails() {
        let mut tails: Vec<Vec<u8>> = vec![Vec::new()];
        let mut all = Vec::new();
        for _ in 0..4 {
            let mut longer = Vec::new();
            for t in &tails {
                for &b in ALPHABET {
                    let mut t = t.clone();
                    t.push(b);
                    longer.push(t);
                }
            }
            all.extend(tails);
            tails = longer;
        }
        all.extend(tails);
        for pad in (0..=70).chain([120, 126]) {
            for open_string in [false, true] {
                let mut head = b"{\"p\":\"".to_vec();
                head.extend(std::iter::repeat_n(b'x', pad));
                if !open_string {
                    head.extend_from_slice(b"\",");
                }
                for t in &all {
                    let mut input = head.clone();
                    input.extend_from_slice(t);
                    same_as_bytewise(&input, 1 << 20);
                    input.extend_from_slice(b"}\n{}\n");
                    same_as_bytewise(&input, 1 << 20);
                    let len = head.len() + t.len();
                    same_as_bytewise(&input, len);
                    same_as_bytewise(&input, len + 1);
                }
            }
        }
    }

    /// Long random lines: strings with backslash runs of every length,
    /// brackets in and out of strings, stray closers and backslashes.
    #[test]
    fn scan_matches_bytewise_on_random_lines() {
        let mut seed = 0xdead_beef_cafe_f00du64;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n) as usize
        };
        for round in 0..30_000 {
            let mut s = Vec::new();
            for _ in 0..next(4) {
                s.push(b" \t\r"[next(3)]);
            }
            s.push(if next(20) == 0 { b'[' } else { b'{' });
            let tokens = next(60);
            for _ in 0..tokens {
                match next(12) {
                    0..=4 => {
                        s.push(b'"');
                        for _ in 0..next(30) {
                            match next(8) {
                                0 => s.extend(std::iter::repeat_n(b'\\', next(6))),
                                1 => s.push(b"{}[]"[next(4)]),
                                _ => s.push(b'a' + next(26) as u8),
                            }
                        }
                        if next(30) != 0 {
                            s.push(b'"');
                        }
                    }
                    5 | 6 => s.push(b"{["[next(2)]),
                    7 | 8 => s.push(b"}]"[next(2)]),
                    9 => s.extend_from_slice(b":1,"),
                    10 => s.push(b" \t\r\n"[next(4)]),
                    _ => {
                        if next(10) == 0 {
                            s.push(b'\\');
                        } else {
                            s.push(b'x');
                        }
                    }
                }
            }
            // Mostly balanced objects, as in real files.
            if round % 2 == 0 {
                s.push(b'}');
            }
            for _ in 0..next(3) {
                s.push(b" \r"[next(2)]);
            }
            if next(10) != 0 {
                s.push(b'\n');
            }
            s.extend_from_slice(b"{\"next\":1}\n");
            same_as_bytewise(&s, 1 << 20);
            same_as_bytewise(&s, next(s.len() as u64 + 2));
        }
    }
}
