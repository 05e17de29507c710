#include <cstddef>
#include <string>

struct ReaderConfig {
  explicit ReaderConfig(int level);
  std::size_t buffer_size_;
  bool verbose_;
  std::size_t depth_limit_;
  std::size_t token_limit_;
  bool comments_ok_;
  bool trailing_commas_ok_;
  bool exact_numbers_;
  bool ordered_;
  bool warn_duplicates_;
  bool fold_keys_;
  bool unescape_;
  bool check_encoding_;
  int level_;
};

int ClampLevel(int requested) {
  if (requested < 0) return 0;
  if (requested > 2) return 2;
  return requested;
}

namespace cfg {
ReaderConfig::ReaderConfig(int level) : buffer_size_(static_cast<std::size_t>(ClampLevel(level) + 1) * 4096),
      verbose_(level > 3),
      depth_limit_(level == 2 ? 64 : 512),
      token_limit_(level == 2 ? 4096 : 1 << 20),
      comments_ok_(level != 2),
      trailing_commas_ok_(level == 0),
      exact_numbers_(level == 2),
      ordered_(false),
      warn_duplicates_(level != 0),
      fold_keys_(false),
      unescape_(true),
      check_encoding_(level != 0),
      level_(level) {
}

}  // namespace cfg

std::string Describe(const ReaderConfig& config) {
  std::string text = "level " + std::to_string(config.level_);
  if (config.verbose_) text += ", verbose";
  text += ", buffer " + std::to_string(config.buffer_size_);
  return text;
}
