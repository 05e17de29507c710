#include "doppel/language.h"

#include <languages.h>

#include <algorithm>
#include <cctype>
#include <sstream>

#include "language_tables.h"  // generated: kLanguageTables[], kLanguageTableCount

namespace doppel {
namespace {

std::string Lower(std::string_view s) {
  std::string o(s);
  for (char& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

std::vector<std::string> Words(const std::string& v) {
  std::vector<std::string> w;
  std::istringstream ss(v);
  std::string t;
  while (ss >> t) w.push_back(t);
  return w;
}

}  // namespace

Status ParseLanguageTable(std::string_view text, Language* lang) {
  size_t line_no = 0;
  std::vector<std::string> keys;  // seen, each at most once
  while (!text.empty()) {
    ++line_no;
    const size_t nl = text.find('\n');
    std::string line(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    const size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) {
      return Status::Internal("language table line " + std::to_string(line_no) + ": no ':'");
    }
    const std::string key = line.substr(first, colon - first);
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) value.pop_back();
    const auto words = Words(value);
    const auto bad = [&](std::string_view why) {
      return Status::Internal("language table " + (lang->name.empty() ? std::string() : lang->name + " ") + "line " +
                              std::to_string(line_no) + ": '" + key + "' " + std::string(why));
    };
    if (std::find(keys.begin(), keys.end(), key) != keys.end()) return bad("given twice");
    keys.push_back(key);
    if (key == "name") lang->name = value;
    else if (key == "extensions") for (const auto& w : words) lang->extensions.push_back(Lower(w));
    else if (key == "filenames") lang->filenames = words;
    else if (key == "fences") for (const auto& w : words) lang->fences.push_back(Lower(w));
    else if (key == "identifiers") lang->identifiers.insert(words.begin(), words.end());
    else if (key == "strings") lang->strings.insert(words.begin(), words.end());
    else if (key == "numbers") lang->numbers.insert(words.begin(), words.end());
    else if (key == "comments") lang->comments.insert(words.begin(), words.end());
    else if (key == "docstrings") lang->docstrings.insert(words.begin(), words.end());
    else if (key == "imports") lang->imports.insert(words.begin(), words.end());
    else if (key == "macro_definitions") lang->macro_definitions.insert(words.begin(), words.end());
    else if (key == "macro_constants") lang->macro_constants.insert(words.begin(), words.end());
    else if (key == "string_concatenations") lang->string_concatenations.insert(words.begin(), words.end());
    else if (key == "string_interpolations") lang->string_interpolations.insert(words.begin(), words.end());
    else if (key == "word_tokens") lang->word_tokens.insert(words.begin(), words.end());
    else if (key == "lexer_leaves") lang->lexer_leaves = words;
    else if (key == "lexer_contextual") lang->lexer_contextual = words;
    else if (key == "lexer_fragments") lang->lexer_fragments = words;
    else if (key == "lexer_member_keywords") lang->lexer_member_keywords = words;
    else if (key == "lexer_imports") lang->lexer_imports = words;
    else if (key == "lexer_imports_not_before") lang->lexer_imports_not_before = words;
    else if (key == "line_comment") lang->line_comment = value;
    else if (key == "decorator") lang->decorator = value;
    else if (key == "snippet_open") lang->snippet_open = value;
    else if (key == "snippet_close") lang->snippet_close = value;
    else if (key == "block_start") lang->block_start = words;
    else if (key == "block_end") lang->block_end = words;
    else if (key == "block_start_line_first") lang->block_start_line_first = words;
    else if (key == "block_clauses") lang->block_clauses = words;
    else if (key == "block_loop_words") lang->block_loop_words = words;
    else if (key == "block_loop_separators") lang->block_loop_separators = words;
    else if (key == "superset_of") lang->superset_of = words;
    else if (key == "block_indented" || key == "lexer_signed_numbers" || key == "lexer_imports_end_at_line" ||
             key == "statements_end_with_semicolon" || key == "format_string_names") {
      if (value != "true" && value != "false") return bad("must be true or false");
      (key == "block_indented"              ? lang->block_indented
       : key == "lexer_signed_numbers"      ? lang->lexer_signed_numbers
       : key == "lexer_imports_end_at_line" ? lang->lexer_imports_end_at_line
       : key == "format_string_names"       ? lang->format_string_names
                                            : lang->statements_end_with_semicolon) = value == "true";
    }
    else if (key == "block_comment") {
      if (words.size() != 2) return bad("must be two words: how a block comment opens and closes");
      lang->block_open = words[0];
      lang->block_close = words[1];
    }
    // Build-time and documentation keys.
    else if (key != "package" && key != "source" && key != "string_content" && key != "string_delimiters") {
      return bad("unknown key");
    }
  }
  if (lang->name.empty()) return Status::Internal("language table without a name");
  return Status::OK();
}

namespace {

struct Registry {
  Status status;
  std::vector<Language> languages;
};

}  // namespace

Status SetLanguageFamilies(std::vector<Language>* languages) {
  const auto index_of = [&](std::string_view name) -> size_t {
    for (size_t i = 0; i < languages->size(); ++i) {
      if ((*languages)[i].name == name) return i;
    }
    return languages->size();
  };
  const size_t n = languages->size();
  for (Language& lang : *languages) {  // (a family of one unless the lists read whole)
    lang.family = lang.name;
    lang.family_rank = 0;
  }
  std::vector<int> ranks(n, 0);
  std::vector<size_t> root(n);
  for (size_t i = 0; i < n; ++i) root[i] = i;
  const auto find = [&](size_t i) {
    while (root[i] != i) i = root[i] = root[root[i]];
    return i;
  };
  for (size_t i = 0; i < n; ++i) {
    const Language& lang = (*languages)[i];
    std::vector<bool> read(n, false);
    std::vector<size_t> todo{i};
    int rank = 0;
    while (!todo.empty()) {
      const size_t at = todo.back();
      todo.pop_back();
      for (const std::string& smaller : (*languages)[at].superset_of) {
        const size_t s = index_of(smaller);
        if (s == n) {
          return Status::Internal("language table " + (*languages)[at].name + ": superset_of names '" + smaller +
                                  "', which no table is");
        }
        if (s == i) return Status::Internal("language table " + lang.name + ": superset_of leads back to " + lang.name);
        if (!read[s]) {
          read[s] = true;
          ++rank;
          todo.push_back(s);
          root[find(s)] = find(i);
        }
      }
    }
    ranks[i] = rank;
  }
  for (size_t i = 0; i < n; ++i) {
    (*languages)[i].family_rank = ranks[i];
    for (size_t j = 0; j < n; ++j) {
      if (find(j) == find(i) && (*languages)[j].name < (*languages)[i].family) (*languages)[i].family = (*languages)[j].name;
    }
  }
  return Status::OK();
}

namespace {

const Registry& GetRegistry() {
  static const Registry reg = [] {
    Registry r;
    size_t n = 0;
    const DoppelGrammar* grammars = doppel_grammars(&n);
    for (size_t i = 0; i < kLanguageTableCount; ++i) {
      Language lang;
      Status s = ParseLanguageTable(kLanguageTables[i], &lang);
      if (!s.ok()) {
        r.status = s;
        return r;
      }
      for (size_t g = 0; g < n; ++g) {
        if (lang.name == grammars[g].name) lang.grammar = grammars[g].language();
      }
      if (lang.grammar == nullptr) {
        r.status = Status::Internal("no grammar linked for language table " + lang.name);
        return r;
      }
      r.languages.push_back(std::move(lang));
    }
    std::sort(r.languages.begin(), r.languages.end(),
              [](const Language& a, const Language& b) { return a.name < b.name; });
    r.status = SetLanguageFamilies(&r.languages);
    return r;
  }();
  return reg;
}

}  // namespace

Result<const std::vector<Language>*> Languages() {
  const Registry& r = GetRegistry();
  if (!r.status.ok()) return r.status;
  return &r.languages;
}

const Language* LanguageByName(std::string_view name) {
  for (const auto& l : GetRegistry().languages) {
    if (l.name == name) return &l;
  }
  return nullptr;
}

const Language* LanguageByFence(std::string_view tag) {
  const std::string t = Lower(tag);
  for (const auto& l : GetRegistry().languages) {
    if (std::find(l.fences.begin(), l.fences.end(), t) != l.fences.end()) return &l;
  }
  return nullptr;
}

const Language* LanguageForPath(std::string_view path) {
  const size_t slash = path.find_last_of('/');
  const std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
  const size_t dot = base.find_last_of('.');
  const std::string ext = dot == std::string_view::npos ? "" : Lower(base.substr(dot));
  for (const auto& l : GetRegistry().languages) {
    if (std::find(l.filenames.begin(), l.filenames.end(), base) != l.filenames.end()) return &l;
    if (!ext.empty() && std::find(l.extensions.begin(), l.extensions.end(), ext) != l.extensions.end()) return &l;
  }
  return nullptr;
}

const Language* LookupLanguage(std::string_view name_or_tag) {
  if (name_or_tag.empty()) return nullptr;
  if (const Language* l = LanguageByName(Lower(name_or_tag))) return l;
  if (const Language* l = LanguageByFence(name_or_tag)) return l;
  // An extension, with or without its dot (py, .py).
  const std::string ext = name_or_tag[0] == '.' ? Lower(name_or_tag) : "." + Lower(name_or_tag);
  for (const auto& l : GetRegistry().languages) {
    if (std::find(l.extensions.begin(), l.extensions.end(), ext) != l.extensions.end()) return &l;
  }
  return nullptr;
}

namespace {

// Fence tags (and extensions) of languages read by the generic lexer, by comment syntax. A
// redacted passage of a shell script must stay a shell script.
struct Row {
  std::string_view open, close, tags;  // tags: space-separated, lower case
};
constexpr Row kGenericRows[] = {
    {"#", "",
     "sh bash zsh ksh fish shell shellscript yaml yml toml perl pl r makefile make mk dockerfile docker "
     "containerfile powershell ps1 pwsh elixir ex exs julia jl nim coffee coffeescript cmake tcl awk nix "
     "crystal cr raku gdscript starlark bzl bazel hcl terraform tf conf cfg properties graphql gql s gas"},
    {"--", "", "sql psql plsql pgsql mysql sqlite postgres postgresql tsql lua haskell hs elm ada purescript idris vhdl"},
    {";", "", "lisp cl clojure clj cljs edn scheme scm racket rkt elisp emacs-lisp el ini asm nasm masm"},
    {"%", "", "matlab octave erlang erl tex latex prolog"},
    {"//", "",
     "kotlin kt kts swift scala sc php dart zig objc objectivec objective-c groovy gradle fsharp fs d v "
     "solidity sol proto protobuf glsl hlsl verilog sv json5 jsonc less scss sass stylus"},
    {"'", "", "vb vbnet vba vbs"},
    {"!", "", "fortran f90 f95"},
    {"REM", "", "bat batch cmd"},
    {"/*", "*/", "css"},
    {"<!--", "-->", "html htm xml xhtml svg vue svelte markdown md plist xaml"},
    {"(*", "*)", "ocaml ml mli pascal delphi"},
};

// A name, fence tag or extension as the tables below hold it: lower-cased, without a leading dot.
std::string TagKey(std::string_view name_or_tag) {
  std::string tag = Lower(name_or_tag);
  if (!tag.empty() && tag[0] == '.') tag.erase(0, 1);
  return tag;
}

// The row of kGenericRows whose tags hold `tag` (a TagKey).
const Row* GenericRowOf(std::string_view tag) {
  for (const Row& row : kGenericRows) {
    for (size_t at = 0; at < row.tags.size();) {
      size_t end = row.tags.find(' ', at);
      if (end == std::string_view::npos) end = row.tags.size();
      if (row.tags.substr(at, end - at) == tag) return &row;
      at = end + 1;
    }
  }
  return nullptr;
}

}  // namespace

CommentSyntax CommentSyntaxFor(std::string_view name_or_tag) {
  if (const Language* l = LookupLanguage(name_or_tag); l != nullptr && !l->line_comment.empty()) {
    return {l->line_comment, ""};
  }
  if (const Row* row = GenericRowOf(TagKey(name_or_tag))) return {row->open, row->close};
  return {"//", ""};
}

namespace {

// Of a TagKey with no grammar here: whether kGenericRows hold it, and it is no markup whose text
// is mostly prose (which is not code).
bool GenericCodeKey(std::string_view tag) {
  static constexpr std::string_view kProse[] = {"markdown", "md", "html", "htm", "xhtml", "tex", "latex"};
  return std::find(std::begin(kProse), std::end(kProse), tag) == std::end(kProse) && GenericRowOf(tag) != nullptr;
}

bool DataFormatKey(std::string_view tag) {
  static constexpr std::string_view kData[] = {
      "json", "json5", "jsonc", "yaml", "yml", "toml", "ini", "cfg", "conf", "properties", "xml", "svg",
      "plist", "xaml", "csv", "tsv", "css", "scss", "sass", "less", "stylus", "dockerfile", "docker",
      "containerfile", "makefile", "make", "mk", "cmake", "graphql", "gql", "proto", "protobuf", "hcl",
      "terraform", "tf"};
  return std::find(std::begin(kData), std::end(kData), tag) != std::end(kData);
}

}  // namespace

bool IsGenericCodeLanguage(std::string_view name_or_tag) {
  return LookupLanguage(name_or_tag) == nullptr && GenericCodeKey(TagKey(name_or_tag));
}

bool NamesDataFormat(std::string_view name_or_tag) { return DataFormatKey(TagKey(name_or_tag)); }

bool TagNamesLanguage(std::string_view tag) {
  if (LookupLanguage(tag) != nullptr) return true;
  const std::string key = TagKey(tag);
  return GenericCodeKey(key) || DataFormatKey(key);
}

std::string CommentText(CommentSyntax comment, std::string message) {
  for (char& c : message) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
  }
  if (comment.close.empty()) return std::string(comment.open) + " " + message;
  // (Also the closing text's first two characters: JSX's `*/}` ends at `*/`.)
  for (const std::string_view cut : {comment.close, comment.open, comment.close.substr(0, 2),
                                     comment.open == "<!--" ? std::string_view("--") : ""}) {
    if (cut.size() < 2) continue;
    for (size_t at = message.find(cut); at != std::string::npos; at = message.find(cut, at + 2)) message.insert(at + 1, " ");
  }
  return std::string(comment.open) + " " + message + " " + std::string(comment.close);
}

std::string_view GrammarsVersion() { return doppel_grammars_lock_sha256(); }

bool SameLanguageFamily(std::string_view a, std::string_view b) {
  if (a.empty() || b.empty() || a == b) return true;
  const Language *la = LanguageByName(a), *lb = LanguageByName(b);
  return (la != nullptr ? std::string_view(la->family) : a) == (lb != nullptr ? std::string_view(lb->family) : b);
}


}  // namespace doppel
