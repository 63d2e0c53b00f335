//! Keeps freed memory in the process for reuse (glibc `malloc` only).
//!
//! A training step allocates and frees tensors of tens of MB. glibc serves blocks that large
//! with `mmap` and hands them back with `munmap` (or trims the heap top), so every step
//! faults its activations in again page by page, and the kernel zeroes each page: about 15 %
//! of a U-Net step on the CPU (`perf`: `clear_page`, `exc_page_fault`). With mmap disabled
//! and trimming off, freed blocks are reused from the heap; the peak resident size stays
//! the same (it is set by the largest live set, which does not change).

/// Makes glibc's allocator keep freed memory for reuse (no-op on other platforms). Call
/// once at start-up, before large allocations; safe to call more than once.
pub fn reuse_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // From glibc's <malloc.h>.
        const M_TRIM_THRESHOLD: i32 = -1;
        const M_MMAP_MAX: i32 = -4;
        extern "C" {
            fn mallopt(param: i32, value: i32) -> i32;
        }
        // SAFETY: mallopt only changes allocator tunables; glibc serialises it internally.
        unsafe {
            mallopt(M_MMAP_MAX, 0);
            mallopt(M_TRIM_THRESHOLD, i32::MAX);
        }
    }
}
