// parse_deadline.h — the time limit of a parse that reads its text in pieces.
#ifndef DOPPEL_LIB_SRC_CODE_PARSE_DEADLINE_H_
#define DOPPEL_LIB_SRC_CODE_PARSE_DEADLINE_H_

#include <algorithm>
#include <cstdint>

namespace doppel {

// A limit on the thread's CPU time that a parse may take, read each time the parse asks for the
// next piece of its text. A gap of more than half the limit between two pieces is a stall of the
// thread, not the grammar's reading: no grammar took more than 0.42 ms over a 64-byte piece in
// 42,350 parses of the code suite's untagged blocks, while on a virtual machine the thread's CPU
// clock (and the wall clock with it) ran on 2-4.1 ms between two pieces, even of a 116-byte
// parse, the machine's processor taken away from it: such gaps cut 1 to 23 of the guess's
// parses in each of four runs over the suite's 3,850 untagged answers. The deadline moves past
// a stall, by at most kStalledLimits times the limit in all (the longest cut parse took 5.0 ms,
// 2.5 times the guess's 2 ms), so a stall does not make a grammar that reads the text look like
// one that does not, while a parse that is slow piece after piece is still cut: at the latest
// after 1 + kStalledLimits times its limit, and what one piece takes past that.
//
// The thread's CPU clock is a system call (about 1 µs here, against 25 ns for the wall clock,
// which the kernel serves without one), and a 2 KB parse asks for 32 pieces: PassedAt reads it
// only once a sixteenth of the limit has passed on the wall clock since its last reading. The
// thread's CPU time runs no faster than the wall clock, so the cut comes at most that sixteenth
// and one piece late, and a gap between two readings is still a stall only when it is over half
// the limit.
class ParseDeadline {
 public:
  static constexpr double kStalledLimits = 2.5;
  static constexpr uint64_t kReadsPerLimit = 16;

  ParseDeadline(uint64_t start_nanos, uint64_t limit_nanos, uint64_t start_wall_nanos = 0)
      : deadline_(start_nanos + limit_nanos),
        last_(start_nanos),
        stall_(limit_nanos / 2),
        stalls_left_(static_cast<uint64_t>(kStalledLimits * static_cast<double>(limit_nanos))),
        read_every_(limit_nanos / kReadsPerLimit),
        last_wall_(start_wall_nanos) {}

  // Whether the parse is past its time when it asks for a piece at `now_nanos`.
  bool Passed(uint64_t now_nanos) {
    const uint64_t gap = now_nanos - std::min(now_nanos, last_);
    last_ = std::max(last_, now_nanos);
    if (gap > stall_) {
      const uint64_t forgiven = std::min(gap, stalls_left_);
      deadline_ += forgiven;
      stalls_left_ -= forgiven;
    }
    return now_nanos > deadline_;
  }

  // Passed, for a piece asked for at `wall_nanos` on the wall clock, reading the CPU clock
  // (`cpu_nanos()`) only once read_every_ has passed on the wall clock since its last reading.
  template <typename ReadCpu>
  bool PassedAt(uint64_t wall_nanos, ReadCpu&& cpu_nanos) {
    if (wall_nanos - std::min(wall_nanos, last_wall_) < read_every_) return false;
    last_wall_ = std::max(last_wall_, wall_nanos);
    return Passed(cpu_nanos());
  }

 private:
  uint64_t deadline_;
  uint64_t last_;
  uint64_t stall_;
  uint64_t stalls_left_;
  uint64_t read_every_;
  uint64_t last_wall_;
};

}  // namespace doppel

#endif  // DOPPEL_LIB_SRC_CODE_PARSE_DEADLINE_H_
