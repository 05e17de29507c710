#include "doppel/allocator.h"

#include <malloc.h>

// Defined when jemalloc is the process's allocator (a weak reference: null under glibc).
extern "C" int mallctl(const char*, void*, size_t*, void*, size_t) __attribute__((weak));

namespace doppel {

bool KeepCheckMemory() {
  if (mallctl != nullptr) return false;  // jemalloc keeps to its own settings
  // Each mallopt call returns 1 on success. M_MMAP_THRESHOLD also turns off glibc's adaptive
  // threshold, so the setting holds for the life of the process.
  const bool mmap_ok = mallopt(M_MMAP_THRESHOLD, 64 << 20) == 1;
  const bool trim_ok = mallopt(M_TRIM_THRESHOLD, 512 << 20) == 1;
  const bool pad_ok = mallopt(M_TOP_PAD, 16 << 20) == 1;
  return mmap_ok && trim_ok && pad_ok;
}

}  // namespace doppel
