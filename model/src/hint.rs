//! A cache hint for drivers that know ahead which party an event will
//! touch: a workload's next arrival is drawn one arrival early, and the
//! next event is in the agenda while the current one is handled. At a
//! million users a random user's memory is a cache miss that costs more
//! than the event's own bookkeeping; asking for it early lets the miss
//! overlap with the work of the events in between. (Asking for the next
//! event's party measured no different in an earlier session, before the
//! allocator's huge pages; re-measured on 2026-11-28 it pays:
//! `reports/performance.md`.)

/// Ask the CPU to start loading the cache lines that hold `r`: its first
/// and its last byte (a 64-byte slot in a vector whose buffer is not
/// 64-aligned straddles two lines). A hint: it reads nothing the program
/// can observe and changes no behaviour; on targets without a prefetch
/// instruction it does nothing.
#[inline(always)]
pub fn prefetch<T: ?Sized>(r: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        let first = std::ptr::from_ref(r).cast::<i8>();
        let last = first.wrapping_add(std::mem::size_of_val(r).saturating_sub(1));
        // SAFETY: `_mm_prefetch` needs SSE, which every x86_64 target has;
        // a prefetch never faults, and both addresses lie within `r`.
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(first);
            _mm_prefetch::<_MM_HINT_T0>(last);
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = r;
}
