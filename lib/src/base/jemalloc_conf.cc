// jemalloc's settings for the programs linked with it (doppel-filter and the latency and scan
// benchmarks; CMake option DOPPEL_JEMALLOC). jemalloc reads this symbol at its first allocation;
// MALLOC_CONF in the environment still overrides it.
//
// - oversize_threshold:0 — by default jemalloc serves blocks of 8 MB and more from an arena of
//   their own that hands them back to the kernel at once; a check's largest buffers (a whole
//   file's token streams) reach that size.
// - dirty_decay_ms / muzzy_decay_ms -1 — freed pages stay with the process for the next check:
//   a process keeps the memory of its busiest moment (as glibc keeps up to its trim threshold
//   under KeepCheckMemory). Any decay costs: pages purged on the decay curve are faulted in again.
// - thp:always, metadata_thp:always — jemalloc asks for transparent huge pages on its extents
//   (MADV_HUGEPAGE; Debian's kernels enable THP on madvise): a code scan's token streams and
//   posting lists fill a few hundred MB, which took about 95,000 page faults in 4 KB pages and
//   7,500 with huge pages (the scan 4.19-4.45 s instead of 4.60-4.89 s in three interleaved
//   pairs; peak RSS 534-545 MB instead of 497-501 MB).
//   Where the kernel has THP off, the setting is a no-op.
//
// A 100-line code check's p99 on the 500 MB code index: jemalloc's defaults 6.5-12.8 ms,
// oversize_threshold:0 alone 7.5-8.3, with a 30 s decay 10.9-11.8, these settings 4.9-5.5 (glibc
// with KeepCheckMemory beside them 4.9-5.2).
//
// Against glibc (with KeepCheckMemory), on 2 cores: a text scan of 100,000 1 KB documents took
// 14-31% less time (malloc, free and the page faults of RocksDB's block reads), a 100-line code
// check's median about 8% less and its 99th percentile about 0.5 ms more (bench/README.md).
extern "C" {
extern const char* malloc_conf;
const char* malloc_conf = "oversize_threshold:0,dirty_decay_ms:-1,muzzy_decay_ms:-1,thp:always,metadata_thp:always";
}
