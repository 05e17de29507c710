// Allocator settings for processes that check many answers (doppel-filter, and programs that
// embed a Filter). A check allocates and frees a few megabytes (token streams, the source
// documents' decoded tokens, posting lists); with glibc's defaults, blocks over its adaptive
// mmap threshold and the freed top of each heap go back to the kernel after a check and are
// faulted in again by the next one. On this project's 2-core machine that made the p99 of a
// 100-line code check read 9.5-12.4 ms in 7 of 8 runs instead of 4.9-5.2 ms (bench/README.md).
#pragma once

namespace doppel {

// Process-wide: blocks up to 64 MB come from the heap, and up to 512 MB of freed memory stays
// with each heap before it is trimmed (what a process keeps is memory it used at its peak), and
// a heap grows 16 MB at a time. Call once, early, before threads start. Returns false when the
// allocator refused a setting (a sanitizer's allocator ignores them) or is not glibc's: under
// jemalloc it does nothing (doppel-filter links jemalloc with the settings in
// lib/src/base/jemalloc_conf.cc, which serve the same end). The process works either way.
bool KeepCheckMemory();

}  // namespace doppel
