#include <cmath>
#include <cstdio>

#include "doppel/format.h"

namespace doppel {

void AppendJsonString(std::string* out, std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': *out += "\\\""; break;
      case '\\': *out += "\\\\"; break;
      case '\n': *out += "\\n"; break;
      case '\r': *out += "\\r"; break;
      case '\t': *out += "\\t"; break;
      default:
        if (c < 0x20) {
          *out += "\\u00";
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 15]);
        } else {
          out->push_back(ch);
        }
    }
  }
  out->push_back('"');
}

void AppendJsonNumber(std::string* out, double v) {
  if (!std::isfinite(v)) {
    *out += "0";
    return;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.4f", v);
  // Trim trailing zeros for readability: 0.5000 → 0.5, 1.0000 → 1.
  std::string_view b(buf);
  if (b.find('.') != std::string_view::npos) {
    while (b.back() == '0') b.remove_suffix(1);
    if (b.back() == '.') b.remove_suffix(1);
  }
  *out += b;
}

}  // namespace doppel
