#include "doppel/winnow.h"

#include <cstddef>

namespace doppel {

void Winnow(const std::vector<uint64_t>& grams, uint32_t window, std::vector<Fingerprint>* out) {
  out->clear();
  const size_t n = grams.size();
  if (n == 0) return;
  const size_t w = window == 0 ? 1 : window;
  out->reserve(2 * n / (w + 1) + 2);
  // Monotone queue of positions whose hashes increase strictly from front to back; the front is
  // the minimum of the current window. Ties keep the later position (the rightmost minimum).
  // Every position is pushed once, so a plain array of n slots holds the queue.
  thread_local std::vector<uint32_t> slots;
  if (slots.size() < n) slots.resize(n);
  uint32_t* q = slots.data();
  size_t head = 0, tail = 0;  // the queue is q[head, tail)
  int64_t last = -1;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t g = grams[i];
    while (tail > head && grams[q[tail - 1]] >= g) --tail;
    q[tail++] = static_cast<uint32_t>(i);
    if (i + 1 < w && i + 1 < n) continue;  // first window not complete yet
    const size_t window_start = i + 1 >= w ? i + 1 - w : 0;
    while (q[head] < window_start) ++head;
    // Invariant: q[head] is the rightmost minimum of grams[window_start..i].
    if (static_cast<int64_t>(q[head]) != last) {
      last = q[head];
      out->push_back(Fingerprint{grams[q[head]], q[head]});
    }
  }
}

}  // namespace doppel
