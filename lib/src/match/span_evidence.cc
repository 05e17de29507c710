#include "span_evidence.h"

#include <algorithm>
#include <array>
#include <iterator>
#include <utility>

namespace doppel {

void BoundToPairs(AlignedSpan* a) {
  a->q_begin = a->pairs.front().first;
  a->q_end = a->pairs.back().first + 1;
  a->s_begin = a->pairs.front().second;
  a->s_end = a->pairs.back().second + 1;
  a->matched = static_cast<uint32_t>(a->pairs.size());
}

void KeepPairs(AlignedSpan* a, size_t first, size_t last) {
  a->pairs = std::vector<std::pair<uint32_t, uint32_t>>(a->pairs.begin() + first, a->pairs.begin() + last);
  BoundToPairs(a);
}

bool CutAtGaps(const AlignedSpan& a, const Tokens& q, const Tokens& s, std::vector<AlignedSpan>* runs) {
  runs->clear();
  size_t run_begin = 0;
  for (size_t i = 1; i < a.pairs.size(); ++i) {
    const auto [q0, s0] = a.pairs[i - 1];
    const auto [q1, s1] = a.pairs[i];
    bool agree = q1 - q0 == s1 - s0;
    for (uint32_t d = 1; agree && q0 + d < q1; ++d) agree = q[q0 + d].hash == s[s0 + d].hash;
    if (agree) continue;
    bool cut = false;
    for (uint32_t t = q0; t < q1 && !cut; ++t) cut = q[t + 1].line >= q[t].line + 2;
    if (!cut) continue;
    runs->emplace_back();
    runs->back().pairs.assign(a.pairs.begin() + static_cast<std::ptrdiff_t>(run_begin),
                              a.pairs.begin() + static_cast<std::ptrdiff_t>(i));
    BoundToPairs(&runs->back());
    run_begin = i;
  }
  if (runs->empty()) return false;
  runs->emplace_back();
  runs->back().pairs.assign(a.pairs.begin() + static_cast<std::ptrdiff_t>(run_begin), a.pairs.end());
  BoundToPairs(&runs->back());
  return true;
}

uint32_t ForeignImports(const AlignedSpan& a, const Tokens& q, const Tokens& s, std::vector<char>* foreign) {
  foreign->clear();
  std::vector<uint32_t> statements;  // Token::import of the foreign ones, ascending
  for (const auto& [qi, si] : a.pairs) {
    const Token &qt = q[qi], &st = s[si];
    if (qt.import == 0 || qt.name == 0 || st.name == 0 || qt.name == st.name) continue;
    if (statements.empty() || statements.back() != qt.import) statements.push_back(qt.import);
  }
  if (statements.empty()) return 0;
  foreign->assign(a.pairs.size(), 0);
  uint32_t n = 0;
  for (size_t i = 0; i < a.pairs.size(); ++i) {
    const uint32_t im = q[a.pairs[i].first].import;
    if (im != 0 && std::binary_search(statements.begin(), statements.end(), im)) {
      (*foreign)[i] = 1;
      ++n;
    }
  }
  return n;
}

bool TrimForeignImports(AlignedSpan* a, const Tokens& q, const Tokens& s, std::vector<char>* foreign) {
  if (ForeignImports(*a, q, s, foreign) == 0) return true;
  size_t first = 0, last = a->pairs.size();
  while (first < last && (*foreign)[first]) ++first;
  while (last > first && (*foreign)[last - 1]) --last;
  if (first == last) return false;
  if (first > 0 || last < a->pairs.size()) KeepPairs(a, first, last);
  return true;
}

void SpelledHashes(const Tokens& tokens, std::vector<uint64_t>* out) {
  out->resize(tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i) (*out)[i] = SpelledHash(tokens[i]);
}

void NamedHashes(const Tokens& tokens, std::vector<uint64_t>* out) {
  out->resize(tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i) {
    const Token& t = tokens[i];
    (*out)[i] = t.name != 0 ? t.hash ^ (t.name * 0x9E3779B97F4A7C15ull) : t.hash;
  }
}

void LiteralAnchors(const Tokens& q, const std::vector<uint64_t>& qs, const std::vector<Fingerprint>& fps,
                    const std::vector<uint64_t>& ss, uint32_t k, size_t keep, std::vector<Anchor>* out,
                    bool once) {
  if (k == 0 || q.size() < k || ss.size() < k) return;
  const RollingHash roll(k);
  std::vector<std::pair<uint64_t, uint32_t>> wanted;  // (spelled gram, answer position)
  for (const Fingerprint& f : fps) {
    if (size_t{f.position} + k > q.size()) continue;
    bool literal = false;
    for (uint32_t t = f.position; t < f.position + k && !literal; ++t) literal = qs[t] != q[t].hash;
    if (literal) wanted.emplace_back(roll.At(qs.data() + f.position), f.position);
  }
  if (wanted.empty()) return;
  std::sort(wanted.begin(), wanted.end());
  std::vector<uint32_t> found(wanted.size(), 0), first(wanted.size(), 0);
  // The wanted grams' top 12 bits: most source positions are passed over without a search.
  std::array<uint64_t, 64> maybe{};
  for (const auto& w : wanted) maybe[w.first >> 58] |= uint64_t{1} << ((w.first >> 52) & 63);
  uint64_t r = roll.At(ss.data());
  for (size_t j = 0;; ++j) {
    if ((maybe[r >> 58] >> ((r >> 52) & 63)) & 1) {
      for (auto it = std::lower_bound(wanted.begin(), wanted.end(), std::make_pair(r, uint32_t{0}));
           it != wanted.end() && it->first == r; ++it) {
        const size_t i = it - wanted.begin();
        if (found[i]++ == 0) first[i] = static_cast<uint32_t>(j);
        if (!once && found[i] <= keep) out->push_back({it->second, static_cast<uint32_t>(j)});
      }
    }
    if (j + k >= ss.size()) break;
    r = roll.Slide(r, ss[j], ss[j + k]);
  }
  if (once) {
    for (size_t i = 0; i < wanted.size(); ++i) {
      if (found[i] == 1) out->push_back({wanted[i].second, first[i]});
    }
  }
}

bool JointlyRare(const std::vector<Fingerprint>& fps, const std::vector<uint32_t>& fp_gram,
                 const std::vector<Posting>& postings, uint32_t gram_k, uint32_t begin, uint32_t end,
                 uint32_t source, uint32_t max_df) {
  std::vector<uint32_t> joint, joint_common, next;
  bool any = false, any_common = false;
  // `acc` narrowed to the ids `with` holds too (set to them the first time, `*started` false).
  auto narrow = [&next](std::vector<uint32_t>* acc, bool* started, const std::vector<uint32_t>& with) {
    if (!*started) {
      *acc = with;
      *started = true;
      return;
    }
    next.clear();
    std::set_intersection(acc->begin(), acc->end(), with.begin(), with.end(), std::back_inserter(next));
    acc->swap(next);
  };
  for (size_t i = 0; i < fps.size(); ++i) {
    if (fps[i].position < begin || fps[i].position + gram_k > end) continue;
    const Posting& p = postings[fp_gram[i]];
    if (p.saturated || !std::binary_search(p.ids.begin(), p.ids.end(), source)) continue;
    narrow(&joint, &any, p.ids);
    if (p.common == 0 || !p.common_ids.empty()) narrow(&joint_common, &any_common, p.common_ids);  // listed (or none)
    // (An intersection, never without source, only shrinks.)
    if (any_common && joint.size() + joint_common.size() <= max_df) return true;
  }
  return false;
}

double CheckRenaming(AlignedSpan* a, const Tokens& q, const Tokens& s, const std::vector<int8_t>& block_delta,
                     uint32_t* repeats) {
  const uint64_t id_hash = IdentifierTokenHash();
  auto id_name = [id_hash](const Token& t) { return IdName(t, id_hash); };
  // The renaming over pairs [begin, end): the distinct (query name, source name) pairs with
  // their counts, sorted by names; then, greedy on counts (ties in name order), each query name
  // takes the source name it is paired with most often unless either is already taken. Flat
  // vectors reused across calls: this runs for every aligned span.
  struct NamePair {
    uint64_t q, s;
    uint32_t count;
    uint32_t q_index, s_index;  // in q_names, s_names
  };
  thread_local std::vector<NamePair> table;  // build_renaming's counting table
  thread_local std::vector<uint32_t> taken_slots;  // its slots in use
  thread_local std::vector<NamePair> counted;
  thread_local std::vector<uint32_t> by_count;
  thread_local std::vector<uint64_t> q_names, s_names;  // sorted, distinct
  thread_local std::vector<uint64_t> q_maps_to;         // per q_names entry: its source name, 0 when none
  thread_local std::vector<uint8_t> s_taken;            // per s_names entry
  auto index_of = [](const std::vector<uint64_t>& v, uint64_t x) -> int64_t {
    auto it = std::lower_bound(v.begin(), v.end(), x);
    return it != v.end() && *it == x ? it - v.begin() : -1;
  };
  // The renaming last built is kept while a->pairs stays as it was (`version` counts its
  // changes, all made through `keep` or followed by a bump): most spans are neither trimmed nor
  // cut, and their renaming is built once.
  uint32_t version = 0, built_version = UINT32_MAX;
  size_t built_begin = 0, built_end = 0;
  auto keep = [&](size_t first, size_t last) {
    KeepPairs(a, first, last);
    ++version;
  };
  auto build_renaming = [&](size_t begin, size_t end) {
    if (built_version == version && built_begin == begin && built_end == end) return;
    built_version = version;
    built_begin = begin;
    built_end = end;
    // Counted in an open-addressing table (a slot is free while its count is 0), then the few
    // distinct pairs sorted: a span pairs each name many times. The table is left all free
    // (the slots taken are freed one by one), so a call costs its pairs, not the table's size:
    // an answer of many short look-alike functions builds thousands of renamings per check.
    size_t slots = 16;
    while (slots < 2 * (end - begin)) slots *= 2;
    if (table.size() < slots) table.assign(slots, NamePair{0, 0, 0, 0, 0});
    const size_t mask = slots - 1;
    taken_slots.clear();
    counted.clear();
    for (size_t i = begin; i < end; ++i) {
      const auto [qi, si] = a->pairs[i];
      const uint64_t qn = id_name(q[qi]), sn = id_name(s[si]);
      if (qn == 0 || sn == 0) continue;
      size_t slot = ((qn ^ (sn * 0x9E3779B97F4A7C15ull)) * 0xD6E8FEB86659FD93ull >> 32) & mask;
      while (table[slot].count != 0 && (table[slot].q != qn || table[slot].s != sn)) slot = (slot + 1) & mask;
      if (table[slot].count++ == 0) {
        table[slot].q = qn;
        table[slot].s = sn;
        taken_slots.push_back(static_cast<uint32_t>(slot));
      }
    }
    for (const uint32_t slot : taken_slots) {
      counted.push_back(table[slot]);
      table[slot].count = 0;
    }
    std::sort(counted.begin(), counted.end(),
              [](const NamePair& x, const NamePair& y) { return x.q != y.q ? x.q < y.q : x.s < y.s; });
    q_names.clear();
    s_names.clear();
    for (NamePair& np : counted) {
      if (q_names.empty() || q_names.back() != np.q) q_names.push_back(np.q);
      np.q_index = static_cast<uint32_t>(q_names.size() - 1);
      s_names.push_back(np.s);
    }
    std::sort(s_names.begin(), s_names.end());
    s_names.erase(std::unique(s_names.begin(), s_names.end()), s_names.end());
    by_count.resize(counted.size());
    for (uint32_t i = 0; i < counted.size(); ++i) {
      counted[i].s_index = static_cast<uint32_t>(index_of(s_names, counted[i].s));
      by_count[i] = i;
    }
    std::stable_sort(by_count.begin(), by_count.end(),
                     [](uint32_t x, uint32_t y) { return counted[x].count > counted[y].count; });
    q_maps_to.assign(q_names.size(), 0);
    s_taken.assign(s_names.size(), 0);
    for (const uint32_t i : by_count) {
      const NamePair& np = counted[i];
      if (q_maps_to[np.q_index] != 0 || s_taken[np.s_index]) continue;
      q_maps_to[np.q_index] = np.s;
      s_taken[np.s_index] = 1;
    }
  };
  // Sets the renaming aside (or back): swapped with `other`, which holds the range it was built
  // over, the version it was built at, and its tables.
  struct Renaming {
    std::vector<NamePair> counted;
    std::vector<uint64_t> q_names, s_names, q_maps_to;
    std::vector<uint8_t> s_taken;
    uint32_t version = UINT32_MAX;
    size_t begin = 0, end = 0;
  };
  auto swap_renaming = [&](Renaming* other) {
    counted.swap(other->counted);
    q_names.swap(other->q_names);
    s_names.swap(other->s_names);
    q_maps_to.swap(other->q_maps_to);
    s_taken.swap(other->s_taken);
    std::swap(built_version, other->version);
    std::swap(built_begin, other->begin);
    std::swap(built_end, other->end);
  };
  // The source name query name `qn` maps to, 0 when none.
  auto maps_to = [&](uint64_t qn) -> uint64_t {
    const int64_t i = index_of(q_names, qn);
    return i < 0 ? 0 : q_maps_to[static_cast<size_t>(i)];
  };
  auto taken = [&](uint64_t sn) {
    const int64_t i = index_of(s_names, sn);
    return i >= 0 && s_taken[static_cast<size_t>(i)];
  };
  auto pair_count = [&](uint64_t qn, uint64_t sn) -> uint32_t {
    auto it = std::lower_bound(counted.begin(), counted.end(), std::make_pair(qn, sn),
                               [](const NamePair& x, const std::pair<uint64_t, uint64_t>& v) {
                                 return x.q != v.first ? x.q < v.first : x.s < v.second;
                               });
    return it != counted.end() && it->q == qn && it->s == sn ? it->count : 0;
  };
  build_renaming(0, a->pairs.size());
  if (counted.empty()) return -1;
  auto consistent_id = [&](const std::pair<uint32_t, uint32_t>& p) {
    const uint64_t qn = id_name(q[p.first]), sn = id_name(s[p.second]);
    return qn != 0 && sn != 0 && maps_to(qn) == sn;
  };
  auto is_id = [&](const std::pair<uint32_t, uint32_t>& p) {
    return id_name(q[p.first]) != 0 || id_name(s[p.second]) != 0;
  };
  // The span's ends move in to the outermost names that are consistent with the renaming and
  // occur at least twice in the span (a single fresh pair at an edge is as likely a neighbour's
  // local variable), then back out over the rest of those lines and over keywords and
  // punctuation, but not past another line's names or a blank line. A span that pairs every
  // token of the answer's block has no neighbour to have run into and keeps its ends.
  auto strong = [&](const std::pair<uint32_t, uint32_t>& p) {
    return consistent_id(p) && pair_count(id_name(q[p.first]), id_name(s[p.second])) >= 2;
  };
  size_t first = 0, last = a->pairs.size();
  if (a->pairs.size() < q.size()) {
    while (first < last && !strong(a->pairs[first])) ++first;
    while (last > first && !strong(a->pairs[last - 1])) --last;
  }
  if (first == last) {  // no name occurs twice: fall back to any consistent name
    first = 0;
    last = a->pairs.size();
    while (first < last && !consistent_id(a->pairs[first])) ++first;
    while (last > first && !consistent_id(a->pairs[last - 1])) --last;
  }
  if (first < last) {
    const uint32_t first_line = q[a->pairs[first].first].line;
    while (first > 0) {
      const auto& p = a->pairs[first - 1];
      const uint32_t line = q[p.first].line, next_line = q[a->pairs[first].first].line;
      if (next_line - line >= 2 || (is_id(p) && line != first_line)) break;
      --first;
    }
    const uint32_t last_line = q[a->pairs[last - 1].first].line;
    while (last < a->pairs.size()) {
      const auto& p = a->pairs[last];
      const uint32_t line = q[p.first].line, prev_line = q[a->pairs[last - 1].first].line;
      if (line - prev_line >= 2 || (is_id(p) && line != last_line)) break;
      ++last;
    }
  }
  // Blocks the span opens are closed, and those it closes opened: its end moves out over
  // pairs that do not contradict the renaming until the blocks it opens are closed, so a copied
  // function keeps its last lines (`abort(); }`, Ruby's `end`) though their names occur once;
  // its start likewise.
  if (first < last) {
    // The renaming of the span as trimmed: names paired only in the trimmed-off edges (a
    // neighbour's code aligned by chance) no longer claim a source name.
    build_renaming(first, last);
    auto agrees = [&](const std::pair<uint32_t, uint32_t>& p) {
      if (!is_id(p) || consistent_id(p)) return true;
      const uint64_t qn = id_name(q[p.first]), sn = id_name(s[p.second]);
      return qn != 0 && sn != 0 && maps_to(qn) == 0 && !taken(sn);  // a fresh pair
    };
    int open = 0, unopened = 0;
    for (size_t i = first; i < last; ++i) {
      const int d = block_delta[a->pairs[i].first];
      if (d > 0) open += d;
      for (int k = d; k < 0; ++k) open > 0 ? --open : ++unopened;
    }
    while (open > 0 && last < a->pairs.size() && agrees(a->pairs[last])) {
      open = std::max(0, open + block_delta[a->pairs[last++].first]);
    }
    while (unopened > 0 && first > 0 && agrees(a->pairs[first - 1])) {
      unopened = std::max(0, unopened - block_delta[a->pairs[--first].first]);
    }
    // The block around the span: trimming on names drops a copied function's own name and
    // parameters (each occurs once) and stops at a blank line before its last lines (`return
    // nil`, `end`). Where the pairs just outside the span pair every token on both sides, with
    // names that do not contradict the renaming, out to the token opening the block that encloses
    // the span (from the start of its line, or of the line above when the opener stands alone on
    // its line, as a brace does) and the one closing it, the span takes that whole block.
    if (open == 0 && unopened == 0) {
      auto adjacent = [&](size_t i) {  // pairs i and i + 1 are next to each other on both sides
        return a->pairs[i + 1].first == a->pairs[i].first + 1 && a->pairs[i + 1].second == a->pairs[i].second + 1;
      };
      auto usable = [&](size_t i) { return agrees(a->pairs[i]); };
      // Back to the opener: the first pair that opens or closes a block must open one.
      size_t head = first, tail = last;
      int depth = 0;
      while (head > 0 && adjacent(head - 1) && usable(head - 1)) {
        const int d = block_delta[a->pairs[head - 1].first];
        if (d != 0) {
          if (d == 1) {
            --head;
            depth = 1;
          }
          break;
        }
        --head;
      }
      if (depth == 1) {
        const uint32_t opener = a->pairs[head].first;
        const bool alone = (opener == 0 || q[opener - 1].line < q[opener].line) &&
                           (opener + 1 == q.size() || q[opener + 1].line > q[opener].line);
        const uint32_t lowest_line = alone && q[opener].line > 1 ? q[opener].line - 1 : q[opener].line;
        while (head > 0 && adjacent(head - 1) && usable(head - 1) && block_delta[a->pairs[head - 1].first] == 0 &&
               q[a->pairs[head - 1].first].line >= lowest_line) {
          --head;
        }
        while (tail < a->pairs.size() && depth > 0 && adjacent(tail - 1) && usable(tail)) {
          depth += block_delta[a->pairs[tail++].first];
        }
        if (depth == 0 && WholeBlocks(block_delta, a->pairs[head].first, a->pairs[tail - 1].first + 1)) {
          first = head;
          last = tail;
        }
      }
    }
  }
  if (first < last && (first > 0 || last < a->pairs.size())) keep(first, last);
  build_renaming(0, a->pairs.size());  // the renaming of the span as it is reported
  // The ends move out along their diagonals over tokens equal on both sides whose names the
  // renaming maps alike, up to a blank line: where the chain reached a copy's edge through a
  // seed of neighbouring code (trimmed above), the copy's first or last tokens were not paired.
  if (!a->pairs.empty()) {
    auto same = [&](uint32_t qi, uint32_t si) {
      if (q[qi].hash != s[si].hash) return false;
      const uint64_t qn = id_name(q[qi]), sn = id_name(s[si]);
      if (qn == 0 && sn == 0) return true;
      return qn != 0 && sn != 0 && maps_to(qn) == sn;
    };
    std::vector<std::pair<uint32_t, uint32_t>> before;
    for (uint32_t qi = a->pairs.front().first, si = a->pairs.front().second;
         qi > 0 && si > 0 && SameRunOfLines(q[qi - 1], q[qi]) && same(qi - 1, si - 1); --qi, --si) {
      before.emplace_back(qi - 1, si - 1);
    }
    size_t added = before.size();
    if (!before.empty()) {
      std::reverse(before.begin(), before.end());
      a->pairs.insert(a->pairs.begin(), before.begin(), before.end());
    }
    for (uint32_t qi = a->pairs.back().first, si = a->pairs.back().second;
         qi + 1 < q.size() && si + 1 < s.size() && SameRunOfLines(q[qi], q[qi + 1]) && same(qi + 1, si + 1);
         ++qi, ++si) {
      a->pairs.emplace_back(qi + 1, si + 1);
      ++added;
    }
    if (added > 0) {
      BoundToPairs(a);
      ++version;
    }
  }
  // A chain can also run on past a copy's end, across a blank line, into neighbouring code of
  // the same shape (the answer's next function against the source's): every name there occurs
  // once, so the trimming above keeps it, and it claims names the copy already maps. The span
  // is cut at its last (then first) break — a query line without paired tokens between two
  // pairs: a blank or comment line, or a line the alignment skipped — while most names beyond
  // it contradict the renaming of the rest: a query name mapped to another source name, or a
  // source name another query name takes.
  auto contradicted = [&](size_t begin, size_t end) {
    uint32_t ids = 0, against = 0;
    for (size_t i = begin; i < end; ++i) {
      const uint64_t qn = id_name(q[a->pairs[i].first]), sn = id_name(s[a->pairs[i].second]);
      if (qn == 0 || sn == 0) continue;
      ++ids;
      const uint64_t to = maps_to(qn);
      against += to != 0 ? to != sn : taken(sn);
    }
    return 2 * against > ids;
  };
  // A side beyond a break is also cut when its pairs are sparse and fewer than the other side's:
  // a copy pairs every token it spans on both sides (cosmetic changes neither add nor drop
  // compared tokens), while a chain that ran on into neighbouring code pairs a keyword and some
  // punctuation here and there (`def`, `(`, `)` of the answer's next function against a later one
  // of the source's). Sparse: fewer pairs than half the tokens from its first pair to its last,
  // on either side.
  auto sparse = [&](size_t begin, size_t end) {
    const uint32_t pairs = static_cast<uint32_t>(end - begin);
    const uint32_t q_span = a->pairs[end - 1].first - a->pairs[begin].first + 1;
    const uint32_t s_span = a->pairs[end - 1].second - a->pairs[begin].second + 1;
    return 2 * pairs < q_span || 2 * pairs < s_span;
  };
  // The breaks are looked at only when there are some; each side is judged by the renaming of
  // the other, and the span's own renaming, set aside meanwhile, comes back when nothing was
  // cut (it is rebuilt over the span as kept otherwise).
  thread_local Renaming set_aside;
  for (bool judged = false;;) {
    size_t last_break = 0, first_break = 0;  // indices of pairs after a break (0: none)
    for (size_t i = 1; i < a->pairs.size(); ++i) {
      if (q[a->pairs[i].first].line < q[a->pairs[i - 1].first].line + 2) continue;
      if (first_break == 0) first_break = i;
      last_break = i;
    }
    if (last_break != 0) {
      if (!judged) {
        swap_renaming(&set_aside);
        built_version = UINT32_MAX;  // what came back is another span's
      }
      judged = true;
      const size_t n = a->pairs.size();
      if (n - last_break < last_break && sparse(last_break, n)) {
        keep(0, last_break);
        continue;
      }
      build_renaming(0, last_break);
      if (contradicted(last_break, n)) {
        keep(0, last_break);
        continue;
      }
      if (first_break < n - first_break && sparse(0, first_break)) {
        keep(first_break, n);
        continue;
      }
      build_renaming(first_break, n);
      if (contradicted(0, first_break)) {
        keep(first_break, n);
        continue;
      }
    }
    if (judged) {
      swap_renaming(&set_aside);  // valid still if nothing was cut since (build_renaming checks)
      build_renaming(0, a->pairs.size());
    }
    break;
  }
  // Evidence: occurrences of a name already seen in the span. Only repeated names can disagree
  // with a renaming; when every name occurs once, any code of the same shape "renames" 100%.
  uint32_t total = 0, consistent = 0;
  thread_local std::vector<uint64_t> names;
  names.clear();
  for (const auto& p : a->pairs) {
    if (id_name(q[p.first]) == 0 || id_name(s[p.second]) == 0) continue;
    ++total;
    consistent += consistent_id(p);
    names.push_back(id_name(q[p.first]));
  }
  std::sort(names.begin(), names.end());
  *repeats = total - static_cast<uint32_t>(std::unique(names.begin(), names.end()) - names.begin());
  return total == 0 ? -1 : static_cast<double>(consistent) / total;
}

uint32_t VerbatimNames(const AlignedSpan& a, const std::vector<char>& skip, const Tokens& q, const Tokens& s) {
  const uint64_t id_hash = IdentifierTokenHash();
  std::vector<uint64_t> names;
  for (size_t i = 0; i < a.pairs.size(); ++i) {
    if (!skip.empty() && skip[i]) continue;
    const Token &qt = q[a.pairs[i].first], &st = s[a.pairs[i].second];
    const uint64_t name = IdName(qt, id_hash);
    if (name == 0) continue;
    if (name != IdName(st, id_hash)) return 0;
    names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return static_cast<uint32_t>(std::unique(names.begin(), names.end()) - names.begin());
}

}  // namespace doppel
