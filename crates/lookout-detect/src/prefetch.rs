//! Software prefetching of series state.
//!
//! With thousands of series, each point's state (detector windows, calibrations) is
//! cold: a worker that scores points one after another waits on memory for most of its
//! time. The engine therefore announces, a few points ahead, which state it is about to
//! touch, and the CPU loads it while the current point is scored. A prefetch is only a
//! hint: it never faults and never changes a result; on targets without the instruction
//! it does nothing.

/// Cache line size assumed for stepping through a block.
const LINE: usize = 64;

/// Hints that the memory of `value` will be read soon.
#[inline(always)]
pub fn object<T>(value: &T) {
    bytes(value as *const T as *const u8, std::mem::size_of::<T>());
}

/// Hints that the elements of `values` will be read soon (at most `max_bytes` of them,
/// from the start).
#[inline(always)]
pub fn slice<T>(values: &[T], max_bytes: usize) {
    bytes(
        values.as_ptr() as *const u8,
        std::mem::size_of_val(values).min(max_bytes),
    );
}

#[inline(always)]
fn bytes(start: *const u8, length: usize) {
    let mut offset = 0;
    while offset < length {
        line(start.wrapping_add(offset));
        offset += LINE;
    }
}

#[inline(always)]
fn line(address: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint; it does not access memory architecturally and
    // cannot fault, whatever the address.
    #[allow(unused_unsafe)]
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(address as *const i8);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = address;
}
