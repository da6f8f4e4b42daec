//! The UTF-8 check of whole records.
//!
//! Each text or JSON record is checked once, whole, before its fields are
//! borrowed as `&str`. Log records are nearly always plain ASCII, which is
//! valid UTF-8 as it stands: a vector pass that finds no byte of 0x80 or
//! more settles those at a fraction of the cost of the full check, which
//! only the others go through.

/// `record` as text, or where its UTF-8 goes wrong (as
/// [`std::str::from_utf8`] says).
#[inline]
pub fn text(record: &[u8]) -> Result<&str, std::str::Utf8Error> {
    if is_ascii(record) {
        // SAFETY: every byte is below 0x80, and a string of ASCII bytes is
        // valid UTF-8.
        #[allow(unsafe_code)]
        return Ok(unsafe { std::str::from_utf8_unchecked(record) });
    }
    std::str::from_utf8(record)
}

/// Whether every byte of `b` is below 0x80.
fn is_ascii(b: &[u8]) -> bool {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        return is_ascii_avx2(b);
    }
    b.is_ascii()
}

/// [`is_ascii`] 64 bytes a step, on CPUs with AVX2 (checked by the
/// caller): the bytes are OR-ed together and the top bits read at the end.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
fn is_ascii_avx2(b: &[u8]) -> bool {
    #[target_feature(enable = "avx2")]
    fn inner(b: &[u8]) -> bool {
        use std::arch::x86_64::*;
        let mut acc = _mm256_setzero_si256();
        let mut blocks = b.chunks_exact(64);
        for block in &mut blocks {
            // SAFETY: two unaligned loads of 32 bytes from a 64-byte slice.
            let (x, y) = unsafe {
                (
                    _mm256_loadu_si256(block.as_ptr().cast()),
                    _mm256_loadu_si256(block.as_ptr().add(32).cast()),
                )
            };
            acc = _mm256_or_si256(acc, _mm256_or_si256(x, y));
        }
        _mm256_movemask_epi8(acc) == 0 && blocks.remainder().is_ascii()
    }
    // SAFETY: `is_ascii` calls this only when the CPU has AVX2.
    unsafe { inner(b) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_answer_as_the_standard_check() {
        // Every byte value at every position of records of 0 to 200 bytes,
        // around the 64-byte steps.
        for len in 0..=200usize {
            let mut rec = vec![b'a'; len];
            for at in 0..len {
                for v in 0..=255u8 {
                    rec[at] = v;
                    assert_eq!(text(&rec), std::str::from_utf8(&rec), "{len} {at} {v}");
                }
                rec[at] = b'a';
            }
            assert_eq!(text(&rec), Ok(std::str::from_utf8(&rec).unwrap()));
        }
        // Valid and broken multi-byte sequences across a step.
        for s in ["é", "€", "𝄞"] {
            for pad in 60..66 {
                let mut rec = "x".repeat(pad).into_bytes();
                rec.extend_from_slice(s.as_bytes());
                assert_eq!(text(&rec), std::str::from_utf8(&rec));
                rec.pop();
                assert_eq!(text(&rec), std::str::from_utf8(&rec));
                assert!(text(&rec).is_err());
            }
        }
    }
}
