#include <malloc.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>

#include "doppel/allocator.h"
#include "test_util.h"

using namespace doppel_test;

TEST_CASE("allocator: after KeepCheckMemory a freed 4 MB block stays with the heap", "[allocator]") {
#if defined(__SANITIZE_ADDRESS__)
  // AddressSanitizer's allocator ignores mallopt: the call says so, and the process goes on.
  CHECK_FALSE(doppel::KeepCheckMemory());
#else
  REQUIRE(doppel::KeepCheckMemory());
  constexpr size_t kBytes = size_t{4} << 20;  // over glibc's default 128 KB mmap threshold
  const struct mallinfo2 before = mallinfo2();
  void* block = std::malloc(kBytes);
  REQUIRE(block != nullptr);
  std::memset(block, 1, kBytes);
  const struct mallinfo2 during = mallinfo2();
  CHECK(during.hblks == before.hblks);  // from the heap, not a mapping of its own
  std::free(block);
  const struct mallinfo2 after = mallinfo2();
  // Freed, the block is the heap's free memory, not returned to the kernel (the trim threshold).
  CHECK(after.fordblks >= before.fordblks + kBytes / 2);
  CHECK(after.arena >= during.arena);
#endif
}

#if DOPPEL_FILTER_JEMALLOC
// doppel-filter runs on jemalloc with lib/src/base/jemalloc_conf.cc's settings: large blocks from
// the ordinary arenas, freed pages kept (jemalloc prints its options at exit on request).
TEST_CASE("allocator: doppel-filter runs on jemalloc with freed memory kept", "[allocator][cli]") {
  const auto r = Run("MALLOC_CONF=stats_print:true " + Quote(DOPPEL_FILTER_BIN) + " --help");
  INFO(Describe(r));
  REQUIRE(r.exit_code == 0);
  CHECK(Contains(r.err, "opt.oversize_threshold: 0\n"));
  CHECK(Contains(r.err, "opt.dirty_decay_ms: -1 "));
  CHECK(Contains(r.err, "opt.muzzy_decay_ms: -1 "));
}
#endif
