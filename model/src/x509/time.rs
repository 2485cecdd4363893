//! Virtual time: milliseconds from a fixed epoch, never the wall clock,
//! and its conversions to the whole seconds X.509 carries.

use time::OffsetDateTime;

/// Virtual time: milliseconds since [`EPOCH_UNIX_SECONDS`] (2025-01-01T00:00:00Z).
/// Never the wall clock, so that runs are reproducible.
pub type VirtualTime = u64;

/// The Unix time of virtual time 0: 2025-01-01T00:00:00Z.
pub const EPOCH_UNIX_SECONDS: i64 = 1_735_689_600;

/// One virtual day, in milliseconds.
pub const DAY: VirtualTime = 86_400_000;

/// How long the root is valid: 2025-01-01 to 2045-01-01 (20 years, 5 leap days).
pub const ROOT_VALIDITY: VirtualTime = 7_305 * DAY;

/// How long after its `thisUpdate` a CRL's `nextUpdate` lies.
pub const CRL_VALIDITY: VirtualTime = DAY;

/// 9999-12-31T23:59:59Z, the last instant X.509 can express (RFC 5280 4.1.2.5).
/// Virtual times beyond it saturate to it.
pub(super) const MAX_ASN1_UNIX_SECONDS: i64 = 253_402_300_799;

/// Unix seconds of `t`, rounded down, saturating at [`MAX_ASN1_UNIX_SECONDS`].
pub(super) fn unix_seconds_floor(t: VirtualTime) -> i64 {
    // u64::MAX / 1000 < i64::MAX, so the conversion cannot fail.
    let secs = i64::try_from(t / 1000).unwrap_or(i64::MAX);
    EPOCH_UNIX_SECONDS
        .saturating_add(secs)
        .min(MAX_ASN1_UNIX_SECONDS)
}

/// Unix seconds of `t`, rounded up, saturating at [`MAX_ASN1_UNIX_SECONDS`].
pub(super) fn unix_seconds_ceil(t: VirtualTime) -> i64 {
    let floor = unix_seconds_floor(t);
    if t.is_multiple_of(1000) {
        floor
    } else {
        floor.saturating_add(1).min(MAX_ASN1_UNIX_SECONDS)
    }
}

/// `now` as Unix milliseconds; `i128` so that no certificate time overflows it.
pub(super) fn unix_millis(now: VirtualTime) -> i128 {
    i128::from(EPOCH_UNIX_SECONDS) * 1000 + i128::from(now)
}

/// The date-time of `unix` seconds (already clamped to X.509's range).
pub(super) fn datetime_from_unix(unix: i64) -> OffsetDateTime {
    // Every value in 0..=MAX_ASN1_UNIX_SECONDS is representable; the fallback
    // is unreachable and only avoids a panic path.
    OffsetDateTime::from_unix_timestamp(unix.clamp(i64::MIN / 2, MAX_ASN1_UNIX_SECONDS))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The UTC date-time of a virtual time, with millisecond precision.
///
/// Saturates at 9999-12-31T23:59:59Z, the last instant a certificate can name.
/// Certificates only carry whole seconds; see [`CertificateAuthority::issue`]
/// for how issuance rounds.
pub fn asn1_time(t: VirtualTime) -> OffsetDateTime {
    let secs = unix_seconds_floor(t);
    let base = datetime_from_unix(secs);
    if secs == MAX_ASN1_UNIX_SECONDS {
        return base;
    }
    // t % 1000 < 1000, so the cast is lossless.
    base + time::Duration::milliseconds((t % 1000) as i64)
}

/// The virtual time of a Unix time in seconds; times before the epoch
/// saturate to 0 and times beyond `u64` milliseconds to `u64::MAX`.
pub fn virtual_time_from_unix_seconds(unix: i64) -> VirtualTime {
    let since_epoch = unix.saturating_sub(EPOCH_UNIX_SECONDS);
    u64::try_from(since_epoch).unwrap_or(0).saturating_mul(1000)
}
