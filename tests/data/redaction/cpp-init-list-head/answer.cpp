#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstdio>
#include <string>

int ClampLevel(int requested) {
  if (requested < 0) return 0;
  if (requested > 2) return 2;
  return requested;
}

ReaderConfig::ReaderConfig(int level)
    : depth_limit_(level == 2 ? 64 : 512),
      token_limit_(level == 2 ? 4096 : 1 << 20),
      comments_ok_(level != 2),
      trailing_commas_ok_(level == 0),
      exact_numbers_(level == 2),
      ordered_(false),
      warn_duplicates_(level != 0),
      buffer_size_(std::max<std::size_t>(ClampLevel(level) * 4096, sizeof(long double))),
      verbose_(std::getenv("READER_VERBOSE") != nullptr) {
  if (verbose_) std::fprintf(stderr, "reader: level %d, buffer %zu\n", level, buffer_size_);
}

std::string Describe(const ReaderConfig& config) {
  std::string text = "level " + std::to_string(config.level_);
  if (config.verbose_) text += ", verbose";
  text += ", buffer " + std::to_string(config.buffer_size_);
  return text;
}
