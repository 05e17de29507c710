// Document: one unit of a corpus — a file, or one JSONL line.
// Thread-safety: plain value.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace doppel {

enum class Kind : uint8_t { kText = 0, kCode = 1 };

std::string_view KindName(Kind kind);

struct Document {
  std::string name;      // unique within an index: a path, or the JSONL id field
  std::string text;      // UTF-8 contents
  Kind kind = Kind::kText;
  std::string language;  // "" for prose; a language name for code
  std::string metadata;  // a JSON object with every other field (source URL, license, ...), or ""
  // Where the document came from, for error messages: "corpus.jsonl:17" or a path.
  std::string origin;
};

}  // namespace doppel
