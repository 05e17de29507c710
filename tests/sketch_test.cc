// Tests of k-gram hashing, MinHash, LSH banding and winnowing (doppel/shingle.h, minhash.h,
// lsh.h, winnow.h) and of DocumentSketcher.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <set>
#include <unordered_set>
#include <vector>

#include "doppel/lsh.h"
#include "doppel/minhash.h"
#include "doppel/shingle.h"
#include "doppel/sketch.h"
#include "doppel/winnow.h"

using namespace doppel;

namespace {

std::vector<uint64_t> RandomHashes(std::mt19937_64& rng, size_t n) {
  std::vector<uint64_t> v(n);
  for (auto& x : v) x = rng();
  return v;
}

// Two sets of distinct random 64-bit values with |A ∩ B| = common and |A \ B| = |B \ A| = only,
// so their Jaccard similarity is exactly common / (common + 2 * only).
void MakePair(std::mt19937_64& rng, size_t common, size_t only, std::vector<uint64_t>* a,
              std::vector<uint64_t>* b) {
  std::unordered_set<uint64_t> seen;
  auto fresh = [&]() {
    for (;;) {
      const uint64_t x = rng();
      if (seen.insert(x).second) return x;
    }
  };
  a->clear();
  b->clear();
  for (size_t i = 0; i < common; ++i) {
    const uint64_t x = fresh();
    a->push_back(x);
    b->push_back(x);
  }
  for (size_t i = 0; i < only; ++i) a->push_back(fresh());
  for (size_t i = 0; i < only; ++i) b->push_back(fresh());
  std::shuffle(a->begin(), a->end(), rng);
  std::shuffle(b->begin(), b->end(), rng);
}

bool ShareBand(const std::vector<BandKey>& a, const std::vector<BandKey>& b) {
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    if (a[i].band == b[i].band && a[i].key == b[i].key) return true;
  }
  return false;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// HashKGrams

TEST_CASE("shingle: HashKGrams gives n - k + 1 hashes", "[shingle]") {
  std::mt19937_64 rng(1);
  const auto tokens = RandomHashes(rng, 20);
  std::vector<uint64_t> out;
  for (uint32_t k : {1u, 2u, 4u, 5u, 20u}) {
    HashKGrams(tokens, k, 7, &out);
    CHECK(out.size() == tokens.size() - k + 1);
  }
}

TEST_CASE("shingle: HashKGrams depends only on the k tokens of each window", "[shingle]") {
  std::mt19937_64 rng(2);
  const auto tokens = RandomHashes(rng, 30);
  std::vector<uint64_t> all, part;
  HashKGrams(tokens, 5, 99, &all);
  // The grams of a sub-sequence are the matching slice of the grams of the whole.
  const std::vector<uint64_t> sub(tokens.begin() + 10, tokens.begin() + 22);
  HashKGrams(sub, 5, 99, &part);
  REQUIRE(part.size() == 8);
  for (size_t i = 0; i < part.size(); ++i) CHECK(part[i] == all[10 + i]);
  // Order-sensitive: swapping two tokens inside a window changes its hash.
  auto swapped = tokens;
  std::swap(swapped[0], swapped[1]);
  std::vector<uint64_t> sw;
  HashKGrams(swapped, 5, 99, &sw);
  CHECK(sw[0] != all[0]);
  CHECK(sw[5] == all[5]);  // windows not containing positions 0 and 1 are unchanged
  // All hashes of distinct windows differ.
  std::set<uint64_t> distinct(all.begin(), all.end());
  CHECK(distinct.size() == all.size());
}

TEST_CASE("shingle: a sequence shorter than k gives one hash and an empty one none",
          "[shingle]") {
  std::vector<uint64_t> out{1, 2, 3};
  HashKGrams({}, 4, 0, &out);
  CHECK(out.empty());
  HashKGrams({11, 22}, 4, 0, &out);
  REQUIRE(out.size() == 1);
  const uint64_t short_hash = out[0];
  HashKGrams({11, 22, 33}, 4, 0, &out);
  REQUIRE(out.size() == 1);
  CHECK(out[0] != short_hash);
  HashKGrams({11, 22, 33, 44}, 4, 0, &out);
  CHECK(out.size() == 1);
  HashKGrams({11, 22, 33}, 0, 0, &out);  // k = 0 has no grams
  CHECK(out.empty());
}

TEST_CASE("shingle: the seed changes every hash", "[shingle]") {
  std::mt19937_64 rng(3);
  const auto tokens = RandomHashes(rng, 50);
  std::vector<uint64_t> a, b, a2;
  HashKGrams(tokens, 4, 1, &a);
  HashKGrams(tokens, 4, 2, &b);
  HashKGrams(tokens, 4, 1, &a2);
  REQUIRE(a.size() == b.size());
  CHECK(a == a2);
  for (size_t i = 0; i < a.size(); ++i) CHECK(a[i] != b[i]);
}

TEST_CASE("shingle: TokenHashes copies the hashes in order", "[shingle]") {
  Tokens t = {Token{5, 0, 0, 1, 1}, Token{9, 0, 2, 3, 1}, Token{5, 0, 4, 5, 2}};
  std::vector<uint64_t> out{42, 42, 42, 42, 42};
  TokenHashes(t, &out);
  CHECK(out == std::vector<uint64_t>{5, 9, 5});
}

// ---------------------------------------------------------------------------------------------
// MinHash

TEST_CASE("minhash: estimate is within 3/sqrt(k) of the true Jaccard", "[minhash][statistical]") {
  // k = 128: the standard error is at most 0.5/sqrt(128) = 0.044, so 3/sqrt(k) = 0.265 is about
  // six standard errors. The mean absolute error over the sweep must also stay below
  // 1/sqrt(k) = 0.088 (expected about 0.03).
  const uint32_t k = 128;
  const MinHasher mh(k, 0x5eed);
  REQUIRE(mh.num_permutations() == k);
  std::mt19937_64 rng(12345);
  const double tolerance = 3.0 / std::sqrt(static_cast<double>(k));
  double total_error = 0;
  int n = 0;
  for (int tenth = 1; tenth <= 9; ++tenth) {
    const size_t common = 100 * tenth;           // union of 1000
    const size_t only = (1000 - common) / 2;
    const double truth = static_cast<double>(common) / (common + 2 * only);
    REQUIRE(truth == Approx(tenth / 10.0));
    std::vector<uint64_t> a, b;
    MakePair(rng, common, only, &a, &b);
    Signature sa, sb;
    mh.Sketch(a, &sa);
    mh.Sketch(b, &sb);
    REQUIRE(sa.size() == k);
    const double est = EstimateJaccard(sa, sb);
    INFO("true Jaccard " << truth << ", estimate " << est);
    CHECK(std::abs(est - truth) <= tolerance);
    total_error += std::abs(est - truth);
    ++n;
  }
  CHECK(total_error / n <= 1.0 / std::sqrt(static_cast<double>(k)));
}

TEST_CASE("minhash: signatures are deterministic for a seed and differ across seeds",
          "[minhash]") {
  std::mt19937_64 rng(7);
  const auto set = RandomHashes(rng, 300);
  Signature a, b, c;
  MinHasher(64, 42).Sketch(set, &a);
  MinHasher(64, 42).Sketch(set, &b);
  MinHasher(64, 43).Sketch(set, &c);
  CHECK(a == b);
  CHECK(a != c);
  CHECK(EstimateJaccard(a, b) == 1.0);
  // Order and duplicates of the input do not matter (it is a set).
  auto shuffled = set;
  shuffled.insert(shuffled.end(), set.begin(), set.begin() + 50);
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  Signature d;
  MinHasher(64, 42).Sketch(shuffled, &d);
  CHECK(d == a);
}

TEST_CASE("minhash: an empty set gives the all-max signature", "[minhash]") {
  Signature s{1, 2, 3};
  MinHasher(16, 1).Sketch({}, &s);
  REQUIRE(s.size() == 16);
  for (uint32_t v : s) CHECK(v == UINT32_MAX);
  // It matches another empty document and nothing else.
  Signature e, x;
  MinHasher(16, 1).Sketch({}, &e);
  const std::vector<uint64_t> one{123456789};
  MinHasher(16, 1).Sketch(one, &x);
  CHECK(EstimateJaccard(s, e) == 1.0);
  CHECK(EstimateJaccard(s, x) == 0.0);
}

TEST_CASE("minhash: EstimateJaccard is the share of equal positions", "[minhash]") {
  CHECK(EstimateJaccard({1, 2, 3, 4}, {1, 2, 3, 4}) == 1.0);
  CHECK(EstimateJaccard({1, 2, 3, 4}, {1, 9, 3, 9}) == 0.5);
  CHECK(EstimateJaccard({1, 2, 3, 4}, {5, 6, 7, 8}) == 0.0);
  CHECK(EstimateJaccard({1, 2, 3, 4}, {1, 2, 3}) == 0.0);  // different lengths
  CHECK(EstimateJaccard({}, {}) == 0.0);
  // Disjoint random sets estimate near 0.
  std::mt19937_64 rng(8);
  Signature a, b;
  const MinHasher mh(128, 9);
  mh.Sketch(RandomHashes(rng, 500), &a);
  mh.Sketch(RandomHashes(rng, 500), &b);
  CHECK(EstimateJaccard(a, b) <= 0.05);
}

// ---------------------------------------------------------------------------------------------
// LSH

TEST_CASE("lsh: CandidateProbability and LshThreshold follow the banding formulas", "[lsh]") {
  CHECK(CandidateProbability(0.0, 32, 4) == Approx(0.0));
  CHECK(CandidateProbability(1.0, 32, 4) == Approx(1.0));
  CHECK(CandidateProbability(0.5, 32, 4) == Approx(1.0 - std::pow(1.0 - 0.0625, 32)));
  CHECK(CandidateProbability(0.6, 16, 8) == Approx(1.0 - std::pow(1.0 - std::pow(0.6, 8), 16)));
  // Monotone in s.
  double prev = -1;
  for (int i = 0; i <= 20; ++i) {
    const double p = CandidateProbability(i / 20.0, 32, 4);
    CHECK(p >= prev);
    prev = p;
  }
  CHECK(LshThreshold(32, 4) == Approx(std::pow(1.0 / 32, 0.25)));
  CHECK(LshThreshold(32, 4) == Approx(0.42).margin(0.005));  // as options.h states
  CHECK(LshThreshold(16, 8) == Approx(std::pow(1.0 / 16, 1.0 / 8)));
  CHECK(LshThreshold(1, 1) == Approx(1.0));
}

TEST_CASE("lsh: BandKeys gives one key per band and needs bands x rows values", "[lsh]") {
  std::mt19937_64 rng(10);
  Signature sig;
  MinHasher(128, 3).Sketch(RandomHashes(rng, 100), &sig);
  std::vector<BandKey> keys;
  BandKeys(sig, 32, 4, 77, &keys);
  REQUIRE(keys.size() == 32);
  for (uint32_t b = 0; b < 32; ++b) CHECK(keys[b].band == b);
  std::vector<BandKey> again;
  BandKeys(sig, 32, 4, 77, &again);
  for (size_t i = 0; i < keys.size(); ++i) CHECK(again[i].key == keys[i].key);
  // Another seed changes the keys.
  BandKeys(sig, 32, 4, 78, &again);
  CHECK(again[0].key != keys[0].key);
  // A change in one row changes only that band's key.
  Signature changed = sig;
  changed[9] ^= 1;  // band 2 of 4-row bands
  BandKeys(changed, 32, 4, 77, &again);
  for (uint32_t b = 0; b < 32; ++b) {
    if (b == 2) CHECK(again[b].key != keys[b].key);
    else CHECK(again[b].key == keys[b].key);
  }
  // Equal rows in different bands give different keys (the band is mixed into the seed).
  Signature flat(128, 5);
  BandKeys(flat, 32, 4, 77, &again);
  CHECK(again[0].key != again[1].key);
  // Too few values: no keys.
  BandKeys(sig, 33, 4, 77, &again);
  CHECK(again.empty());
  BandKeys(sig, 16, 8, 77, &again);
  CHECK(again.size() == 16);
}

TEST_CASE("lsh: measured candidate rate matches CandidateProbability",
          "[lsh][statistical]") {
  // 300 pairs per similarity; the binomial standard error is at most sqrt(0.25 / 300) = 0.029,
  // so the stated tolerance of 0.08 is about 2.8 standard errors.
  const MinHasher mh(128, 0xabcdef);
  struct Shape {
    uint32_t bands, rows;
  };
  std::mt19937_64 rng(987654321);
  for (const double s : {0.2, 0.4, 0.6, 0.8}) {
    const size_t common = static_cast<size_t>(std::lround(200 * s));  // union of 200
    const size_t only = (200 - common) / 2;
    REQUIRE(static_cast<double>(common) / (common + 2 * only) == Approx(s));
    int shared[2] = {0, 0};
    const Shape shapes[2] = {{32, 4}, {16, 8}};
    const int kPairs = 300;
    for (int pair = 0; pair < kPairs; ++pair) {
      std::vector<uint64_t> a, b;
      MakePair(rng, common, only, &a, &b);
      Signature sa, sb;
      mh.Sketch(a, &sa);
      mh.Sketch(b, &sb);
      for (int i = 0; i < 2; ++i) {
        std::vector<BandKey> ka, kb;
        BandKeys(sa, shapes[i].bands, shapes[i].rows, 5, &ka);
        BandKeys(sb, shapes[i].bands, shapes[i].rows, 5, &kb);
        shared[i] += ShareBand(ka, kb);
      }
    }
    for (int i = 0; i < 2; ++i) {
      const double measured = static_cast<double>(shared[i]) / kPairs;
      const double theory = CandidateProbability(s, shapes[i].bands, shapes[i].rows);
      INFO("s=" << s << " bands=" << shapes[i].bands << " rows=" << shapes[i].rows
                << " measured=" << measured << " theory=" << theory);
      CHECK(std::abs(measured - theory) <= 0.08);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Winnowing

TEST_CASE("winnow: gap between fingerprints never exceeds window", "[winnow]") {
  std::mt19937_64 rng(100);
  for (uint32_t w : {1u, 2u, 4u, 8u, 16u}) {
    const auto h = RandomHashes(rng, 5000);
    std::vector<Fingerprint> fps;
    Winnow(h, w, &fps);
    REQUIRE_FALSE(fps.empty());
    INFO("w=" << w);
    CHECK(fps.front().position < w);
    CHECK(fps.back().position >= h.size() - w);
    bool ok = true;
    for (size_t i = 1; i < fps.size(); ++i) {
      ok &= fps[i].position > fps[i - 1].position;
      ok &= fps[i].position - fps[i - 1].position <= w;
    }
    CHECK(ok);
    for (const auto& f : fps) CHECK(f.hash == h[f.position]);
  }
}

TEST_CASE("winnow: every window of w hashes contains a selected position", "[winnow]") {
  std::mt19937_64 rng(101);
  for (uint32_t w : {3u, 4u, 7u}) {
    // Small value range: many ties.
    std::vector<uint64_t> h(2000);
    for (auto& x : h) x = rng() % 16;
    std::vector<Fingerprint> fps;
    Winnow(h, w, &fps);
    std::vector<bool> selected(h.size(), false);
    for (const auto& f : fps) selected[f.position] = true;
    size_t missing = 0, wrong_min = 0;
    for (size_t start = 0; start + w <= h.size(); ++start) {
      // The rightmost minimum of the window is selected.
      size_t best = start;
      for (size_t i = start; i < start + w; ++i) {
        if (h[i] <= h[best]) best = i;
      }
      missing += !selected[best];
      bool any = false;
      for (size_t i = start; i < start + w; ++i) any |= selected[i];
      wrong_min += !any;
    }
    INFO("w=" << w);
    CHECK(missing == 0);
    CHECK(wrong_min == 0);
  }
}

TEST_CASE("winnow: density is about 2/(w+1) on random hashes", "[winnow][statistical]") {
  // 20000 random hashes; the stated tolerance is ±15% of 2/(w+1).
  std::mt19937_64 rng(102);
  for (uint32_t w : {4u, 8u, 16u}) {
    const auto h = RandomHashes(rng, 20000);
    std::vector<Fingerprint> fps;
    Winnow(h, w, &fps);
    const double density = static_cast<double>(fps.size()) / h.size();
    const double expected = 2.0 / (w + 1);
    INFO("w=" << w << " density=" << density << " expected=" << expected);
    CHECK(density >= expected * 0.85);
    CHECK(density <= expected * 1.15);
  }
}

TEST_CASE("winnow: a shared run of w + k - 1 tokens always shares a fingerprint",
          "[winnow][property]") {
  const uint32_t k = 4, w = 4;
  std::mt19937_64 rng(103);
  int failures = 0;
  for (int trial = 0; trial < 200; ++trial) {
    const auto run = RandomHashes(rng, w + k - 1);
    auto a = RandomHashes(rng, 10 + rng() % 60);
    auto b = RandomHashes(rng, 10 + rng() % 60);
    a.insert(a.begin() + static_cast<long>(rng() % (a.size() + 1)), run.begin(), run.end());
    b.insert(b.begin() + static_cast<long>(rng() % (b.size() + 1)), run.begin(), run.end());
    std::vector<uint64_t> ga, gb;
    HashKGrams(a, k, 11, &ga);
    HashKGrams(b, k, 11, &gb);
    std::vector<Fingerprint> fa, fb;
    Winnow(ga, w, &fa);
    Winnow(gb, w, &fb);
    std::set<uint64_t> ha;
    for (const auto& f : fa) ha.insert(f.hash);
    bool shared = false;
    for (const auto& f : fb) shared |= ha.count(f.hash) > 0;
    failures += !shared;
  }
  CHECK(failures == 0);
}

TEST_CASE("winnow: fewer than w hashes give exactly one fingerprint, the minimum",
          "[winnow]") {
  std::vector<Fingerprint> fps;
  Winnow({50, 20, 70}, 8, &fps);
  REQUIRE(fps.size() == 1);
  CHECK(fps[0].hash == 20);
  CHECK(fps[0].position == 1);
  // Ties: the rightmost minimum.
  Winnow({5, 3, 7, 3}, 8, &fps);
  REQUIRE(fps.size() == 1);
  CHECK(fps[0].position == 3);
  // Exactly w hashes: one window.
  Winnow({9, 8, 7, 6}, 4, &fps);
  REQUIRE(fps.size() == 1);
  CHECK(fps[0].position == 3);
  // One hash.
  Winnow({42}, 4, &fps);
  REQUIRE(fps.size() == 1);
  CHECK(fps[0].hash == 42);
  // None.
  Winnow({}, 4, &fps);
  CHECK(fps.empty());
}

TEST_CASE("winnow: equal hashes select the rightmost position of each window", "[winnow]") {
  std::vector<Fingerprint> fps;
  Winnow({7, 7, 7, 7, 7, 7}, 3, &fps);
  std::vector<uint32_t> pos;
  for (const auto& f : fps) pos.push_back(f.position);
  CHECK(pos == std::vector<uint32_t>{2, 3, 4, 5});
  // A falling then rising sequence records its minimum once.
  Winnow({9, 8, 1, 8, 9, 9, 9}, 3, &fps);
  pos.clear();
  for (const auto& f : fps) pos.push_back(f.position);
  CHECK(pos == std::vector<uint32_t>{2, 3, 6});
}

// ---------------------------------------------------------------------------------------------
// DocumentSketcher

TEST_CASE("sketch: DocumentSketcher fills every field consistently", "[sketch]") {
  SketchParams p;
  DocumentSketcher sketcher(p);
  Document d;
  d.name = "doc";
  d.text = "The quick brown fox jumps over the lazy dog near the quiet river bank today.";
  SketchedDocument sd;
  REQUIRE(sketcher.Sketch(d, &sd).ok());
  CHECK(sd.num_tokens == 15);
  CHECK(sd.doc.name == "doc");
  CHECK(sd.doc.text == d.text);
  CHECK(sd.signature.size() == p.num_permutations);
  CHECK(sd.band_keys.size() == p.bands);
  REQUIRE_FALSE(sd.fingerprints.empty());
  CHECK(std::is_sorted(sd.fingerprints.begin(), sd.fingerprints.end()));
  CHECK(std::adjacent_find(sd.fingerprints.begin(), sd.fingerprints.end()) ==
        sd.fingerprints.end());
  // Same words in another layout and case: same sketch, other content hash.
  Document e = d;
  e.text = "THE quick\nbrown   fox, jumps over -- the lazy dog near the quiet river bank today!";
  SketchedDocument se;
  REQUIRE(sketcher.Sketch(e, &se).ok());
  CHECK(se.signature == sd.signature);
  CHECK(se.fingerprints == sd.fingerprints);
  CHECK(se.content_hash != sd.content_hash);
  // The query-side helpers agree with Sketch.
  Tokens toks;
  REQUIRE(sketcher.TokenizerFor(Kind::kText).Tokenize(d.text, &toks).ok());
  std::vector<uint64_t> th;
  TokenHashes(toks, &th);
  Signature sig;
  sketcher.SignatureOf(th, &sig);
  CHECK(sig == sd.signature);
  std::vector<Fingerprint> fps;
  sketcher.FingerprintsOf(th, Kind::kText, &fps);
  std::set<uint64_t> from_fps;
  for (const auto& f : fps) from_fps.insert(f.hash);
  CHECK(std::vector<uint64_t>(from_fps.begin(), from_fps.end()) == sd.fingerprints);
}

TEST_CASE("sketch: a document without words has no band keys", "[sketch]") {
  DocumentSketcher sketcher{SketchParams{}};
  Document d;
  d.name = "empty";
  d.text = " ... !!! ";
  SketchedDocument sd;
  REQUIRE(sketcher.Sketch(d, &sd).ok());
  CHECK(sd.num_tokens == 0);
  CHECK(sd.band_keys.empty());
  CHECK(sd.fingerprints.empty());
}

TEST_CASE("sketch: invalid UTF-8 fails naming the offset", "[sketch]") {
  DocumentSketcher sketcher{SketchParams{}};
  Document d;
  d.name = "bad";
  d.text = "good words \xff here";
  SketchedDocument sd;
  const Status s = sketcher.Sketch(d, &sd);
  CHECK(s.code() == Status::Code::kInvalidArgument);
  CHECK(s.message().find("byte offset 11") != std::string::npos);
}
