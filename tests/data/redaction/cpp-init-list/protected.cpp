#include <cstddef>
#include <string>
#include <vector>

// Limits and switches of the document reader, by strictness: 0 lenient, 1 normal, 2 strict.
struct ParserOptions {
  explicit ParserOptions(int mode);
  bool Accepts(const std::string& feature) const;

  std::size_t max_depth_;
  std::size_t max_tokens_;
  bool allow_comments_;
  bool allow_trailing_commas_;
  bool strict_numbers_;
  bool keep_order_;
  bool report_duplicates_;
  bool lower_case_keys_;
  bool decode_escapes_;
  bool validate_utf8_;
  int mode_;
};

ParserOptions::ParserOptions(int mode)
    : max_depth_(mode == 2 ? 64 : 512),
      max_tokens_(mode == 2 ? 4096 : 1 << 20),
      allow_comments_(mode != 2),
      allow_trailing_commas_(mode == 0),
      strict_numbers_(mode == 2),
      keep_order_(false),
      report_duplicates_(mode != 0),
      lower_case_keys_(false),
      decode_escapes_(true),
      validate_utf8_(mode != 0),
      mode_(mode) {
}

bool ParserOptions::Accepts(const std::string& feature) const {
  if (feature == "comments") return allow_comments_;
  if (feature == "trailing-commas") return allow_trailing_commas_;
  if (feature == "duplicates") return !report_duplicates_;
  return mode_ == 0;
}

std::vector<std::string> SplitPath(const std::string& path, char separator) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t end = path.find(separator, start);
    if (end == std::string::npos) {
      parts.push_back(path.substr(start));
      break;
    }
    parts.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}
