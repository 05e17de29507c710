// jemalloc's settings for the programs linked with it (doppel-filter and the latency and scan
// benchmarks; CMake option DOPPEL_JEMALLOC). jemalloc reads this symbol at its first allocation;
// MALLOC_CONF in the environment still overrides it.
//
// - oversize_threshold:0 — by default jemalloc serves blocks of 8 MB and more from an arena that
//   returns them to the kernel at once; a code check's token streams reach that size, and the
//   next check faulted them in again (a 100-line code check's p99 7.5-8.3 ms instead of 4.9).
// - dirty_decay_ms / muzzy_decay_ms -1 — freed pages stay with the process for the next check:
//   a process keeps the memory of its busiest moment (as glibc keeps up to its trim threshold
//   under KeepCheckMemory). Any decay costs: with 30 s, pages purged on the decay curve were
//   faulted in again and the code check's p99 read 10.9-11.8 ms instead of 5.0-5.1.
//
// Against glibc (with KeepCheckMemory), on 2 cores: a text scan of 100,000 1 KB documents took
// 15-20% less time, most of it malloc, free and the page faults of RocksDB's block reads
// (bench/README.md).
extern "C" {
extern const char* malloc_conf;
const char* malloc_conf = "oversize_threshold:0,dirty_decay_ms:-1,muzzy_decay_ms:-1";
}
