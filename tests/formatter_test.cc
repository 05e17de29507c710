// Integration: real C code present after configure (the scanners of the pinned tree-sitter
// grammars) is indexed; functions copied from it, renamed consistently and reformatted by a real
// formatter (clang-format, from Debian), then embedded in new code, must be found and localized.
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "doppel/filter.h"
#include "doppel/index.h"
#include "test_util.h"

using namespace doppel;
using doppel_test::TempDir;
namespace fs = std::filesystem;

namespace {

struct Function {
  std::string file;
  std::string text;
  uint32_t first_line, last_line;  // in the file
};

// Top-level C functions of 10–30 lines: a line at column 0 that ends with '{' and holds '(',
// through the next line that is exactly "}".
std::vector<Function> ExtractFunctions(const std::string& file) {
  const auto lines = doppel_test::Lines(doppel_test::ReadFile(file));
  std::vector<Function> out;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& l = lines[i];
    if (l.empty() || l[0] == ' ' || l[0] == '#' || l.back() != '{' || l.find('(') == std::string::npos) continue;
    size_t j = i + 1;
    while (j < lines.size() && lines[j] != "}") ++j;
    if (j >= lines.size()) break;
    const size_t n = j - i + 1;
    if (n >= 10 && n <= 30) {
      Function f{file, "", static_cast<uint32_t>(i + 1), static_cast<uint32_t>(j + 1)};
      for (size_t k = i; k <= j; ++k) f.text += lines[k] + "\n";
      out.push_back(f);
    }
    i = j;
  }
  return out;
}

// Renames every plain lower-case identifier (not a keyword, not a *_t type) consistently.
std::string RenameAll(const std::string& code) {
  static const std::set<std::string> kKeep = {
      "if", "else", "for", "while", "do", "return", "static", "inline", "const", "struct",
      "enum", "union", "switch", "case", "default", "break", "continue", "sizeof", "void", "int",
      "char", "bool", "true", "false", "unsigned", "signed", "long", "short", "float", "double",
      "typedef", "goto", "extern", "volatile", "register", "define", "include", "ifdef", "ifndef", "endif"};
  std::map<std::string, std::string> names;
  std::string out;
  size_t i = 0;
  while (i < code.size()) {
    const char c = code[i];
    if (code.compare(i, 2, "//") == 0 || code.compare(i, 2, "/*") == 0) {  // copy a comment
      const bool line = code[i + 1] == '/';
      size_t j = line ? code.find('\n', i) : code.find("*/", i + 2);
      j = j == std::string::npos ? code.size() : (line ? j : j + 2);
      out += code.substr(i, j - i);
      i = j;
    } else if (c == '"' || c == '\'') {  // copy a string or character literal with its escapes
      size_t j = i + 1;
      while (j < code.size() && code[j] != c) j += code[j] == '\\' ? 2 : 1;
      out += code.substr(i, j + 1 - i);
      i = j + 1;
    } else if (std::islower(static_cast<unsigned char>(c)) || c == '_') {
      size_t j = i;
      while (j < code.size() && (std::isalnum(static_cast<unsigned char>(code[j])) || code[j] == '_')) ++j;
      const std::string w = code.substr(i, j - i);
      const bool prev_ident = i > 0 && (std::isalnum(static_cast<unsigned char>(code[i - 1])) || code[i - 1] == '_');
      if (prev_ident || kKeep.count(w) || (w.size() > 2 && w.substr(w.size() - 2) == "_t") ||
          std::any_of(w.begin(), w.end(), [](char ch) { return std::isupper(static_cast<unsigned char>(ch)); })) {
        out += w;
      } else {
        out += names.try_emplace(w, "renamed_" + std::to_string(names.size())).first->second;
      }
      i = j;
    } else {
      out += c;
      ++i;
    }
  }
  return out;
}

// Indexes the C files as code documents named by their paths; the filter over them.
Result<std::unique_ptr<Filter>> IndexC(const std::vector<std::string>& files, const std::string& dir) {
  IndexOptions io;
  io.create_if_missing = true;
  auto index = Index::Open(dir, io);
  REQUIRE(index.ok());
  std::vector<Document> docs;
  for (const auto& f : files) {
    docs.push_back(doppel_test::MakeDoc(f, doppel_test::ReadFile(f)));
    docs.back().kind = Kind::kCode;
    docs.back().language = "c";
  }
  auto batch = doppel_test::SketchAll((*index)->params(), std::move(docs));
  WriteSummary ws;
  REQUIRE((*index)->Write(&batch, &ws).ok());
  index->reset();
  return Filter::Open(dir, FilterOptions{});
}

std::string ClangFormat(const std::string& code, const TempDir& tmp) {
  const std::string in = tmp / "in.c";
  doppel_test::WriteFile(in, code);
  const auto r = doppel_test::Run("clang-format --style='{BasedOnStyle: WebKit, IndentWidth: 3, ColumnLimit: 60}' " +
                                  doppel_test::Quote(in));
  REQUIRE(r.exit_code == 0);
  return r.out;
}

}  // namespace

TEST_CASE("formatter: renamed and clang-formatted C functions are found and localized", "[code][integration]") {
  REQUIRE(doppel_test::Run("clang-format --version").exit_code == 0);
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(DOPPEL_GRAMMARS_SRC)) {
    if (e.path().filename() == "scanner.c") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  REQUIRE(files.size() >= 6);

  TempDir tmp;
  auto filter = IndexC(files, tmp / "idx");
  REQUIRE(filter.ok());

  const std::string novel_before =
      "#include <stdio.h>\n\nstatic int parse_flags(int argc, char **argv) {\n  int verbose = 0;\n"
      "  for (int i = 1; i < argc; i++) {\n    if (argv[i][0] == '-' && argv[i][1] == 'v') verbose++;\n"
      "  }\n  return verbose;\n}\n\n";
  const std::string novel_after =
      "\nint main(int argc, char **argv) {\n  int v = parse_flags(argc, argv);\n"
      "  printf(\"verbosity %d\\n\", v);\n  return v > 3 ? 1 : 0;\n}\n";

  size_t tried = 0, found = 0, localized = 0;
  for (const auto& file : files) {
    for (const auto& fn : ExtractFunctions(file)) {
      if (tried >= 12) break;
      ++tried;
      const std::string copy = ClangFormat(RenameAll(fn.text), tmp);
      const std::string code = novel_before + copy + novel_after;
      const std::string answer = "Here is the code:\n\n```c\n" + code + "```\n";
      // Lines of the copy inside the answer (the fence line is line 3, code starts on line 4).
      const uint32_t before_lines = static_cast<uint32_t>(std::count(novel_before.begin(), novel_before.end(), '\n'));
      const uint32_t copy_lines = static_cast<uint32_t>(std::count(copy.begin(), copy.end(), '\n'));
      const uint32_t true_first = 4 + before_lines, true_last = true_first + copy_lines - 1;
      auto v = (*filter)->Check(answer);
      REQUIRE(v.ok());
      INFO(file << " lines " << fn.first_line << "-" << fn.last_line << "\n" << copy);
      bool hit = false;
      uint32_t qf = UINT32_MAX, ql = 0;
      // The span of the renamed copy: from this file, a consistent renaming, overlapping the true
      // lines most (other spans may match a common idiom elsewhere, or look-alike code with a
      // low renaming score).
      int best_overlap = 0;
      for (const auto& s : v->spans) {
        if (s.source_name != file || s.renaming < 0.9) continue;
        const int overlap = static_cast<int>(std::min(s.query.last_line, true_last)) -
                            static_cast<int>(std::max(s.query.first_line, true_first)) + 1;
        if (overlap <= best_overlap) continue;
        best_overlap = overlap;
        hit = true;
        qf = s.query.first_line;
        ql = s.query.last_line;
      }
      std::string spans;
      for (const auto& s : v->spans) {
        spans += s.source_name + " q" + std::to_string(s.query.first_line) + "-" + std::to_string(s.query.last_line) +
                 " s" + std::to_string(s.source.first_line) + "-" + std::to_string(s.source.last_line) +
                 " renaming " + std::to_string(s.renaming) + "\n";
      }
      INFO("true lines " << true_first << "-" << true_last << ", action " << ActionName(v->action) << ", spans:\n" << spans);
      CHECK(hit);
      const bool flagged = v->action == Action::kRedact || v->action == Action::kBlock;
      found += hit && flagged;
      if (hit) {
        const double inter = std::max<int>(0, static_cast<int>(std::min(ql, true_last)) - static_cast<int>(std::max(qf, true_first)) + 1);
        const double uni = std::max(ql, true_last) - std::min(qf, true_first) + 1;
        CHECK(inter / uni >= 0.8);
        localized += inter / uni >= 0.8;
      }
    }
  }
  REQUIRE(tried >= 8);
  CHECK(found == tried);
  CHECK(localized == tried);
}

TEST_CASE("formatter: renamed and clang-formatted C macros are found and localized", "[code][integration]") {
  REQUIRE(doppel_test::Run("clang-format --version").exit_code == 0);
  // A header of function-like macros, indexed beside the grammars' scanners. A macro's body is one
  // leaf in the grammar: read as tokens, its renamed parameters and re-aligned backslashes give
  // its source's fingerprints.
  const std::string macros =
      "#define VEC_INIT(vec) \\\n"
      "  do { (vec)->data = NULL; (vec)->size = 0; (vec)->capacity = 0; } while (0)\n"
      "\n"
      "#define VEC_GROW(vec, extra)                                                   \\\n"
      "  do {                                                                         \\\n"
      "    size_t needed = (vec)->size + (extra);                                     \\\n"
      "    if (needed > (vec)->capacity) {                                            \\\n"
      "      size_t next = (vec)->capacity ? (vec)->capacity * 2 : 8;                 \\\n"
      "      while (next < needed) next *= 2;                                         \\\n"
      "      (vec)->data = realloc((vec)->data, next * sizeof(*(vec)->data));         \\\n"
      "      (vec)->capacity = next;                                                  \\\n"
      "    }                                                                          \\\n"
      "  } while (0)\n"
      "\n"
      "#define VEC_PUSH(vec, item)                                                    \\\n"
      "  do {                                                                         \\\n"
      "    VEC_GROW(vec, 1);                                                          \\\n"
      "    (vec)->data[(vec)->size++] = (item);                                       \\\n"
      "  } while (0)\n"
      "\n"
      "#define VEC_POP(vec) ((vec)->data[--(vec)->size])\n";
  TempDir tmp;
  const std::string header = tmp / "vec.h";
  doppel_test::WriteFile(header, "#ifndef VEC_H\n#define VEC_H\n\n#include <stdlib.h>\n\n" + macros + "\n#endif\n");
  std::vector<std::string> files{header};
  for (const auto& e : fs::recursive_directory_iterator(DOPPEL_GRAMMARS_SRC)) {
    if (e.path().filename() == "scanner.c") files.push_back(e.path().string());
  }
  auto filter = IndexC(files, tmp / "idx");
  REQUIRE(filter.ok());

  const std::string copy = ClangFormat(RenameAll(macros), tmp);
  REQUIRE(copy.find("renamed_") != std::string::npos);  // parameters renamed
  REQUIRE(copy.find("(vec)") == std::string::npos);
  const std::string before = "#include <stdlib.h>\n\nstruct ints {\n  int *data;\n  size_t size, capacity;\n};\n\n";
  const std::string after = "\nstatic int sum(const struct ints *v) {\n  int s = 0;\n  for (size_t i = 0; i < v->size; i++) s += v->data[i];\n"
                            "  return s;\n}\n";
  const std::string answer = "```c\n" + before + copy + after + "```\n";
  const uint32_t true_first = 2 + static_cast<uint32_t>(std::count(before.begin(), before.end(), '\n'));
  const uint32_t true_last = true_first + static_cast<uint32_t>(std::count(copy.begin(), copy.end(), '\n')) - 1;
  auto v = (*filter)->Check(answer);
  REQUIRE(v.ok());
  std::string spans;
  bool localized = false;
  for (const auto& s : v->spans) {
    spans += s.source_name + " q" + std::to_string(s.query.first_line) + "-" + std::to_string(s.query.last_line) + " renaming " +
             std::to_string(s.renaming) + "\n";
    if (s.source_name != header || s.renaming < 0.9) continue;
    const double inter = std::max<int>(0, static_cast<int>(std::min(s.query.last_line, true_last)) -
                                              static_cast<int>(std::max(s.query.first_line, true_first)) + 1);
    const double uni = std::max(s.query.last_line, true_last) - std::min(s.query.first_line, true_first) + 1;
    localized |= inter / uni >= 0.8;
  }
  INFO(copy << "true lines " << true_first << "-" << true_last << ", action " << ActionName(v->action) << ", spans:\n" << spans);
  CHECK((v->action == Action::kRedact || v->action == Action::kBlock));
  CHECK(localized);
}
