#include "corpus.h"

#include "doppel/sketch.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace doppel::bench {

namespace fs = std::filesystem;

ProseGenerator::ProseGenerator(uint64_t seed, size_t vocabulary) : rng_(seed) {
  static const char* kSyllables[] = {"ka", "lo", "mi", "ren", "ta", "sol", "ve", "dor", "an",
                                     "is", "el", "mon", "tri", "us", "pa", "ner", "qui", "za",
                                     "or", "bel", "th", "sta", "ou", "ing"};
  // One vocabulary for every seed: texts of different seeds share words and common phrases.
  std::mt19937_64 vr(0xabcdef);
  vocab_.reserve(vocabulary);
  for (size_t i = 0; i < vocabulary; ++i) {
    std::string w;
    const int n = 1 + static_cast<int>(vr() % 4);
    for (int j = 0; j < n; ++j) w += kSyllables[vr() % (sizeof(kSyllables) / sizeof(*kSyllables))];
    vocab_.push_back(w);
  }
  // Zipf with exponent 1: p(rank r) ∝ 1/r.
  cdf_.resize(vocabulary);
  double sum = 0;
  for (size_t r = 0; r < vocabulary; ++r) cdf_[r] = (sum += 1.0 / static_cast<double>(r + 1));
  for (double& c : cdf_) c /= sum;
}

std::string ProseGenerator::Word() {
  const double u = std::uniform_real_distribution<double>(0, 1)(rng_);
  const size_t r = static_cast<size_t>(std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin());
  return vocab_[std::min(r, vocab_.size() - 1)];
}

std::string ProseGenerator::Text(size_t bytes) {
  std::string out;
  size_t line = 0;
  while (out.size() < bytes) {
    const int words = 6 + static_cast<int>(rng_() % 14);
    for (int i = 0; i < words; ++i) {
      std::string w = Word();
      if (i == 0) w[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(w[0])));
      out += w;
      out += (i + 1 == words) ? ". " : (rng_() % 9 == 0 ? ", " : " ");
      if (out.size() - line > 72) {
        out.back() = '\n';
        line = out.size();
      }
    }
  }
  return out;
}

namespace {

std::string ReadMaybeGz(const fs::path& p) {
  std::string out;
  if (p.extension() == ".gz") {
    gzFile f = gzopen(p.c_str(), "rb");
    if (!f) return out;
    char buf[1 << 16];
    int n;
    while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    gzclose(f);
    return out;
  }
  return ReadWholeFile(p.string());
}

bool LooksLikeProse(const std::string& para) {
  // Mostly letters and spaces, few code-ish symbols, not indented (code in POD is indented).
  if (para.empty() || para[0] == ' ' || para[0] == '\t' || para[0] == '=') return false;
  size_t letters = 0, symbols = 0;
  for (unsigned char c : para) {
    if (std::isalpha(c) || c == ' ' || c == '\n') ++letters;
    else if (std::strchr("{}<>$@%;|\\/_=*#[]", c)) ++symbols;
    if (c >= 0x80) return false;  // keep the suite ASCII so word edits stay simple
  }
  return letters > 0.85 * para.size() && symbols < 0.02 * para.size();
}

// Plain text of a man page's roff source: comments dropped, font and character escapes
// resolved, every request line other than font requests ends a paragraph.
std::string RoffToText(const std::string& roff) {
  std::string out;
  size_t pos = 0;
  while (pos < roff.size()) {
    size_t end = roff.find('\n', pos);
    if (end == std::string::npos) end = roff.size();
    std::string line = roff.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && (line[0] == '.' || line[0] == '\'')) {
      static const char* kFont[] = {".B ", ".I ", ".BR ", ".IR ", ".RB ", ".RI ", ".BI ", ".IB ", ".SM "};
      bool font = false;
      for (const char* f : kFont) {
        if (line.rfind(f, 0) == 0) {
          line = line.substr(std::strlen(f));
          font = true;
          break;
        }
      }
      if (!font) {
        out += "\n\n";
        continue;
      }
      line.erase(std::remove(line.begin(), line.end(), '"'), line.end());
    }
    std::string clean;
    for (size_t i = 0; i < line.size(); ++i) {
      if (line[i] != '\\') {
        clean += line[i];
        continue;
      }
      if (i + 1 >= line.size()) break;
      const char c = line[i + 1];
      if (c == 'f') {  // \fB, \f(CW, \f[...]
        i += (i + 2 < line.size() && line[i + 2] == '(') ? 4 : (i + 2 < line.size() && line[i + 2] == '[') ? line.find(']', i) - i : 2;
      } else if (c == '-') {
        clean += '-';
        ++i;
      } else if (c == '(') {
        const std::string code = line.substr(i + 2, 2);
        clean += code == "aq" ? "'" : (code == "lq" || code == "rq") ? "\"" : code == "em" ? "--" : " ";
        i += 3;
      } else if (c == 'e') {
        clean += '\\';
        ++i;
      } else {
        ++i;  // \& \| \^ and the like: drop
      }
    }
    out += clean;
    out += '\n';
  }
  return out;
}

}  // namespace

std::vector<Paragraph> LoadRealProse(size_t min_words, size_t max_paragraphs) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const char* root : {"/usr/share/perl", "/usr/lib/x86_64-linux-gnu/perl", "/usr/share/perl5",
                           "/usr/share/doc"}) {
    for (auto it = fs::recursive_directory_iterator(root, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (!it->is_regular_file(ec) || it->is_symlink(ec)) continue;
      const std::string name = it->path().filename().string();
      const bool pod = it->path().extension() == ".pod";
      const bool doc = name.rfind("README", 0) == 0 || name.rfind("NEWS", 0) == 0 ||
                       name.rfind("FAQ", 0) == 0;
      if (pod || doc) files.push_back(it->path());
    }
  }
  for (const char* section : {"/usr/share/man/man1", "/usr/share/man/man3", "/usr/share/man/man5",
                              "/usr/share/man/man7", "/usr/share/man/man8"}) {
    for (auto it = fs::directory_iterator(section, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
      // gcloud's ~14,000 pages are generated from a few templates: a held-out page is then a
      // near copy of protected ones, not new text, so the family is left out.
      if (it->path().filename().string().rfind("gcloud", 0) == 0) continue;
      if (it->is_regular_file(ec) && !it->is_symlink(ec)) files.push_back(it->path());
    }
  }
  std::sort(files.begin(), files.end());
  std::vector<Paragraph> out;
  for (const auto& f : files) {
    std::string text = ReadMaybeGz(f);
    if (f.string().rfind("/usr/share/man/", 0) == 0) text = RoffToText(text);
    size_t pos = 0;
    while (pos < text.size() && out.size() < max_paragraphs) {
      size_t end = text.find("\n\n", pos);
      if (end == std::string::npos) end = text.size();
      std::string para = text.substr(pos, end - pos);
      pos = end + 2;
      if (!LooksLikeProse(para)) continue;
      if (SplitWords(para).size() < min_words) continue;
      out.push_back({f.string(), para});
    }
  }
  return out;
}

Result<std::shared_ptr<Index>> BuildBenchIndex(const std::string& dir, std::vector<Document> docs) {
  IndexOptions io;
  io.create_if_missing = true;
  io.bulk_load = true;
  DOPPEL_ASSIGN_OR_RETURN(std::unique_ptr<Index> index, Index::Open(dir, io));
  DocumentSketcher sk(index->params());
  std::vector<SketchedDocument> batch;
  WriteSummary ws;
  for (auto& d : docs) {
    const std::string name = d.name;
    batch.emplace_back();
    DOPPEL_RETURN_IF_ERROR(sk.Sketch(std::move(d), &batch.back()).WithContext(name));
    if (batch.size() == 512) {
      DOPPEL_RETURN_IF_ERROR(index->Write(&batch, &ws));
      batch.clear();
    }
  }
  DOPPEL_RETURN_IF_ERROR(index->Write(&batch, &ws));
  DOPPEL_RETURN_IF_ERROR(index->Flush());
  return std::shared_ptr<Index>(std::move(index));
}

std::vector<std::string> SplitWords(const std::string& text) {
  std::vector<std::string> w;
  std::istringstream ss(text);
  std::string t;
  while (ss >> t) w.push_back(t);
  return w;
}

std::string JoinWords(const std::vector<std::string>& words, size_t begin, size_t end) {
  std::string out;
  for (size_t i = begin; i < end && i < words.size(); ++i) {
    if (i > begin) out += ' ';
    out += words[i];
  }
  return out;
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace doppel::bench
