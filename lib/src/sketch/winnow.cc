#include "doppel/winnow.h"

#include <cstddef>
#include <deque>

namespace doppel {

void Winnow(const std::vector<uint64_t>& grams, uint32_t window, std::vector<Fingerprint>* out) {
  out->clear();
  const size_t n = grams.size();
  if (n == 0) return;
  const size_t w = window == 0 ? 1 : window;
  out->reserve(2 * n / (w + 1) + 2);
  // Monotone deque of positions whose hashes increase strictly from front to back; the front is
  // the minimum of the current window. Ties keep the later position (the rightmost minimum).
  std::deque<uint32_t> q;
  int64_t last = -1;
  for (size_t i = 0; i < n; ++i) {
    while (!q.empty() && grams[q.back()] >= grams[i]) q.pop_back();
    q.push_back(static_cast<uint32_t>(i));
    if (i + 1 < w && i + 1 < n) continue;  // first window not complete yet
    const size_t window_start = i + 1 >= w ? i + 1 - w : 0;
    while (q.front() < window_start) q.pop_front();
    // Invariant: q.front() is the rightmost minimum of grams[window_start..i].
    if (static_cast<int64_t>(q.front()) != last) {
      last = q.front();
      out->push_back(Fingerprint{grams[q.front()], q.front()});
    }
  }
}

}  // namespace doppel
