// Small JSON writing helpers shared by the front-ends (CLI verdict lines, stats, HTTP bodies).
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace doppel {

// Appends `s` as a JSON string literal. Control characters are escaped; other bytes are copied,
// so `s` must be valid UTF-8 (every text doppel holds has been validated).
void AppendJsonString(std::string* out, std::string_view s);
// Appends a double with up to 4 decimals, as JSON.
void AppendJsonNumber(std::string* out, double v);

}  // namespace doppel
