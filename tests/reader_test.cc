// Tests of DocumentReader (doppel/reader.h): files, directories and (compressed) JSON Lines.
#include <zlib.h>
#include <zstd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "doppel/format.h"
#include "doppel/reader.h"
#include "doppel/streams.h"
#include "test_util.h"

using namespace doppel;
using doppel_test::Contains;
using doppel_test::EndsWith;
using doppel_test::TempDir;
using doppel_test::WriteFile;

namespace {

namespace fs = std::filesystem;

std::unique_ptr<DocumentReader> OpenReader(const std::vector<std::string>& inputs,
                                           const ReaderOptions& o = ReaderOptions()) {
  auto r = DocumentReader::Open(inputs, o);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  return std::move(r).value();
}

// One call of Next: a document, the end, or an error.
struct Step {
  enum Kind { kDoc, kEnd, kError } kind;
  Document doc;
  Status status;
};

// Reads until the end; errors are recorded and reading goes on (at most 1000 steps).
std::vector<Step> ReadAll(DocumentReader* reader) {
  std::vector<Step> steps;
  for (int i = 0; i < 1000; ++i) {
    Document d;
    auto r = reader->Next(&d);
    if (!r.ok()) {
      steps.push_back({Step::kError, {}, r.status()});
      continue;
    }
    if (!r.value()) {
      steps.push_back({Step::kEnd, {}, {}});
      return steps;
    }
    steps.push_back({Step::kDoc, std::move(d), {}});
  }
  FAIL("reader did not end within 1000 steps");
  return steps;
}

// The errors among the steps, in order.
std::vector<Status> ErrorsOf(const std::vector<Step>& steps) {
  std::vector<Status> errors;
  for (const auto& s : steps) {
    if (s.kind == Step::kError) errors.push_back(s.status);
  }
  return errors;
}

std::vector<Document> DocsOnly(const std::vector<Step>& steps) {
  std::vector<Document> out;
  for (const auto& s : steps) {
    if (s.kind == Step::kDoc) out.push_back(s.doc);
  }
  return out;
}

void WriteGzip(const std::string& path, const std::string& data) {
  gzFile f = gzopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, data.data(), static_cast<unsigned>(data.size())) ==
          static_cast<int>(data.size()));
  REQUIRE(gzclose(f) == Z_OK);
}

std::string Zstd(const std::string& data) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  const size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), 3);
  REQUIRE_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

const char* kJsonl =
    "{\"id\":\"a\",\"text\":\"first text\",\"license\":\"MIT\",\"n\":3}\n"
    "{\"id\":42,\"text\":\"second text\\nwith a newline and caf\\u00e9\",\"lang\":\"en\"}\n"
    "{\"text\":\"third text\"}\n";

void CheckJsonlDocs(const std::vector<Document>& docs, const std::string& path) {
  REQUIRE(docs.size() == 3);
  CHECK(docs[0].name == "a");
  CHECK(docs[0].text == "first text");
  CHECK(docs[0].metadata == R"({"license":"MIT","n":3})");
  CHECK(docs[0].language.empty());
  CHECK(docs[0].origin == path + ":1");
  CHECK(docs[1].name == "42");
  CHECK(docs[1].text == "second text\nwith a newline and caf\xc3\xa9");
  CHECK(docs[1].language == "en");
  CHECK(docs[1].metadata == R"({"lang":"en"})");
  CHECK(docs[2].name == path + ":3");  // no id: "<path>:<line>"
  CHECK(docs[2].text == "third text");
  CHECK(docs[2].metadata.empty());
  for (const auto& d : docs) CHECK(d.kind == Kind::kText);
}

}  // namespace

TEST_CASE("reader: a directory yields its files in sorted order named by path", "[reader]") {
  TempDir tmp;
  const std::string dir = tmp / "corpus";
  fs::create_directories(fs::path(dir) / "sub");
  WriteFile(dir + "/b.txt", "bee");
  WriteFile(dir + "/a.txt", "ay");
  WriteFile(dir + "/sub/c.txt", "sea");
  WriteFile(dir + "/z.note", "zed\n");
  auto reader = OpenReader({dir});
  CHECK(reader->total_bytes() == 2 + 3 + 3 + 4);
  const auto docs = DocsOnly(ReadAll(reader.get()));
  REQUIRE(docs.size() == 4);
  CHECK(docs[0].name == dir + "/a.txt");
  CHECK(docs[0].text == "ay");
  CHECK(docs[0].origin == docs[0].name);
  CHECK(docs[1].name == dir + "/b.txt");
  CHECK(docs[2].name == dir + "/sub/c.txt");
  CHECK(docs[2].text == "sea");
  CHECK(docs[3].name == dir + "/z.note");
  CHECK(docs[3].text == "zed\n");
  for (const auto& d : docs) {
    CHECK(d.metadata.empty());
    CHECK(d.language.empty());
  }
  CHECK(reader->counters().documents == 4);
  CHECK(reader->bytes_consumed() == reader->total_bytes());
}

TEST_CASE("reader: binary and empty files in a directory are skipped and counted", "[reader]") {
  TempDir tmp;
  const std::string dir = tmp / "corpus";
  fs::create_directory(dir);
  WriteFile(dir + "/binary.dat", std::string("GIF89a\0\0\x01\x02", 10));
  WriteFile(dir + "/empty.txt", "");
  WriteFile(dir + "/good.txt", "some good text");
  auto reader = OpenReader({dir});
  const auto steps = ReadAll(reader.get());
  const auto docs = DocsOnly(steps);
  REQUIRE(docs.size() == 1);
  CHECK(docs[0].name == dir + "/good.txt");
  for (const auto& s : steps) CHECK(s.kind != Step::kError);
  CHECK(reader->counters().skipped_binary == 1);
  CHECK(reader->counters().skipped_empty == 1);
  CHECK(reader->counters().documents == 1);
}

TEST_CASE("reader: a file named and also in a directory named is read where it is named, in either order",
          "[reader]") {
  TempDir tmp;
  const std::string dir = tmp / "corpus";
  fs::create_directory(dir);
  WriteFile(dir + "/empty.txt", "");
  WriteFile(dir + "/good.txt", "some good text");
  for (const auto& inputs : {std::vector<std::string>{dir, dir + "/empty.txt"},
                             std::vector<std::string>{dir + "/empty.txt", dir}}) {
    INFO(inputs[0] << " then " << inputs[1]);
    auto reader = OpenReader(inputs);
    const auto steps = ReadAll(reader.get());
    size_t errors = 0;
    for (const auto& s : steps) {
      if (s.kind != Step::kError) continue;
      ++errors;
      CHECK(Contains(s.status.message(), dir + "/empty.txt"));
    }
    CHECK(errors == 1);  // named, an empty file is refused (it was passed over when its directory came first)
    CHECK(DocsOnly(steps).size() == 1);
    CHECK(reader->counters().skipped_empty == 0);
    CHECK(reader->counters().skipped_repeated == 1);
  }
}

TEST_CASE("reader: an explicit binary or empty file is an error naming the path", "[reader]") {
  TempDir tmp;
  const std::string bin = tmp / "image.bin";
  const std::string empty = tmp / "empty.txt";
  const std::string good = tmp / "good.txt";
  WriteFile(bin, std::string("abc\0def", 7));
  WriteFile(empty, "");
  WriteFile(good, "fine");
  auto reader = OpenReader({bin, empty, good});
  const auto steps = ReadAll(reader.get());
  REQUIRE(steps.size() == 4);
  REQUIRE(steps[0].kind == Step::kError);
  CHECK(steps[0].status.code() == Status::Code::kInvalidArgument);
  CHECK(Contains(steps[0].status.message(), bin));
  CHECK(Contains(steps[0].status.message(), "offset 3"));
  REQUIRE(steps[1].kind == Step::kError);
  CHECK(steps[1].status.code() == Status::Code::kInvalidArgument);
  CHECK(Contains(steps[1].status.message(), empty));
  // Reading goes on after the errors.
  REQUIRE(steps[2].kind == Step::kDoc);
  CHECK(steps[2].doc.name == good);
  CHECK(steps[3].kind == Step::kEnd);
}

TEST_CASE("reader: a missing input is NotFound at Open naming it", "[reader]") {
  TempDir tmp;
  const std::string missing = tmp / "nope.jsonl";
  WriteFile(tmp / "ok.txt", "ok");
  auto r = DocumentReader::Open({tmp / "ok.txt", missing}, ReaderOptions());
  CHECK(r.status().code() == Status::Code::kNotFound);
  CHECK(Contains(r.status().message(), missing));
}

TEST_CASE("reader: JSONL plain, gzip and zstd give the same documents", "[reader]") {
  TempDir tmp;
  const std::string plain = tmp / "docs.jsonl";
  const std::string gz = tmp / "docs.jsonl.gz";
  const std::string zst = tmp / "docs.jsonl.zst";
  const std::string nd = tmp / "docs.ndjson";
  WriteFile(plain, kJsonl);
  WriteGzip(gz, kJsonl);
  WriteFile(zst, Zstd(kJsonl));
  WriteFile(nd, kJsonl);
  for (const std::string& path : {plain, gz, zst, nd}) {
    INFO(path);
    auto reader = OpenReader({path});
    const auto steps = ReadAll(reader.get());
    for (const auto& s : steps) CHECK(s.kind != Step::kError);
    CheckJsonlDocs(DocsOnly(steps), path);
    CHECK(reader->counters().documents == 3);
    CHECK(reader->total_bytes() == fs::file_size(path));
  }
  // A compressed input is smaller on disk than its contents.
  CHECK(fs::file_size(zst) < std::string(kJsonl).size());
}

TEST_CASE("reader: a malformed line is an error naming file and line and reading continues",
          "[reader]") {
  TempDir tmp;
  const std::string path = tmp / "file.jsonl";
  WriteFile(path,
            "{\"id\":\"one\",\"text\":\"first\"}\n"
            "{\"id\":\"two\",\"text\":\"unterminated}\n"
            "{\"id\":\"three\",\"text\":\"third\"}\n"
            "[1,2,3]\n"
            "{\"id\":\"five\",\"text\":\"fifth\"}\n");
  auto reader = OpenReader({path});
  const auto steps = ReadAll(reader.get());
  REQUIRE(steps.size() == 6);
  REQUIRE(steps[0].kind == Step::kDoc);
  CHECK(steps[0].doc.name == "one");
  REQUIRE(steps[1].kind == Step::kError);
  CHECK(steps[1].status.code() == Status::Code::kInvalidArgument);
  CHECK(Contains(steps[1].status.message(), "file.jsonl:2"));
  CHECK(Contains(steps[1].status.message(),
                 "at byte 33: expected the closing '\"' of a string, found the end of the input"));
  REQUIRE(steps[2].kind == Step::kDoc);
  CHECK(steps[2].doc.name == "three");
  CHECK(steps[2].doc.origin == path + ":3");
  REQUIRE(steps[3].kind == Step::kError);
  CHECK(Contains(steps[3].status.message(), "file.jsonl:4"));  // not an object
  REQUIRE(steps[4].kind == Step::kDoc);
  CHECK(steps[4].doc.name == "five");
  CHECK(steps[5].kind == Step::kEnd);
}

// An error step whose message names `where` (file:line) and says `what`.
void CheckLineError(const Step& step, const std::string& where, const std::string& what) {
  REQUIRE(step.kind == Step::kError);
  INFO(step.status.message());
  CHECK(Contains(step.status.message(), where));
  CHECK(Contains(step.status.message(), what));
}

TEST_CASE("reader: a missing or non-string text field is an error naming the line",
          "[reader]") {
  TempDir tmp;
  const std::string path = tmp / "file.jsonl";
  WriteFile(path,
            "{\"id\":\"x\",\"body\":\"no text field\"}\n"
            "{\"id\":\"y\",\"text\":5}\n"
            "{\"id\":true,\"text\":\"bad id\"}\n"
            "{\"id\":\"z\",\"text\":\"good\"}\n");
  auto reader = OpenReader({path});
  const auto steps = ReadAll(reader.get());
  REQUIRE(steps.size() == 5);
  CheckLineError(steps[0], "file.jsonl:1", "\"text\" missing");
  CheckLineError(steps[1], "file.jsonl:2", "not a string");
  CheckLineError(steps[2], "file.jsonl:3", "\"id\"");
  REQUIRE(steps[3].kind == Step::kDoc);
  CHECK(steps[3].doc.name == "z");
  CHECK(steps[4].kind == Step::kEnd);
}

TEST_CASE("reader: a byte order mark before the first line is not part of it, and an id of null is no id",
          "[reader]") {
  TempDir tmp;
  const std::string path = tmp / "bom.jsonl";
  WriteFile(path, "\xEF\xBB\xBF{\"id\":\"first\",\"text\":\"after the mark\"}\n"
                  "{\"id\":null,\"text\":\"no id\"}\n"
                  "\xEF\xBB\xBF{\"id\":\"third\",\"text\":\"a mark inside the file is bad JSON\"}\n"
                  "{\"id\":[1],\"text\":\"a list is no id\"}\n");
  auto reader = OpenReader({path}, ReaderOptions());
  const auto steps = ReadAll(reader.get());
  const auto docs = DocsOnly(steps);
  REQUIRE(docs.size() == 2);
  CHECK(docs[0].name == "first");
  CHECK(docs[0].text == "after the mark");
  CHECK(docs[1].name == path + ":2");
  const auto errors = ErrorsOf(steps);
  REQUIRE(errors.size() == 2);
  CHECK(Contains(errors[0].message(), "bom.jsonl:3"));
  CHECK(Contains(errors[1].message(), "bom.jsonl:4"));
  CHECK(Contains(errors[1].message(), "not a string, number or null"));
}

TEST_CASE("reader: custom text and id fields", "[reader]") {
  TempDir tmp;
  const std::string path = tmp / "custom.jsonl";
  WriteFile(path, "{\"key\":\"k1\",\"content\":\"hello there\",\"text\":\"other\",\"id\":\"ignored\"}\n");
  ReaderOptions o;
  o.text_field = "content";
  o.id_field = "key";
  auto reader = OpenReader({path}, o);
  const auto docs = DocsOnly(ReadAll(reader.get()));
  REQUIRE(docs.size() == 1);
  CHECK(docs[0].text == "hello there");
  CHECK(docs[0].name == "k1");
  CHECK(docs[0].metadata == R"({"text":"other","id":"ignored"})");
  // With the default options the same line uses "text" and "id".
  auto plain = OpenReader({path});
  const auto d2 = DocsOnly(ReadAll(plain.get()));
  REQUIRE(d2.size() == 1);
  CHECK(d2[0].text == "other");
  CHECK(d2[0].name == "ignored");
}

TEST_CASE("reader: a line over max_document_bytes is ResourceExhausted and the next is read",
          "[reader]") {
  TempDir tmp;
  const std::string path = tmp / "long.jsonl";
  const std::string long_line = "{\"id\":\"big\",\"text\":\"" + std::string(500, 'x') + "\"}";
  WriteFile(path, "{\"id\":\"small\",\"text\":\"short\"}\n" + long_line +
                      "\n{\"id\":\"after\",\"text\":\"still read\"}\n" + long_line);
  ReaderOptions o;
  o.max_document_bytes = 100;
  auto reader = OpenReader({path}, o);
  const auto steps = ReadAll(reader.get());
  REQUIRE(steps.size() >= 4);
  REQUIRE(steps[0].kind == Step::kDoc);
  CHECK(steps[0].doc.name == "small");
  REQUIRE(steps[1].kind == Step::kError);
  CHECK(steps[1].status.code() == Status::Code::kResourceExhausted);
  CHECK(Contains(steps[1].status.message(), "long.jsonl:2"));
  CHECK(Contains(steps[1].status.message(), "limit of 100 bytes (--max-document-bytes)"));
  REQUIRE(steps[2].kind == Step::kDoc);
  CHECK(steps[2].doc.name == "after");
  // The over-long last line, without a final newline, is refused too.
  REQUIRE(steps[3].kind == Step::kError);
  CHECK(steps[3].status.code() == Status::Code::kResourceExhausted);
  CHECK(Contains(steps[3].status.message(), "long.jsonl:4"));
  CHECK(DocsOnly(steps).size() == 2);
  CHECK(steps.back().kind == Step::kEnd);
}

TEST_CASE("reader: an explicit file over max_document_bytes is ResourceExhausted", "[reader]") {
  TempDir tmp;
  const std::string path = tmp / "big.txt";
  WriteFile(path, std::string(2000, 'a'));
  ReaderOptions o;
  o.max_document_bytes = 1000;
  auto reader = OpenReader({path}, o);
  Document d;
  auto r = reader->Next(&d);
  CHECK(r.status().code() == Status::Code::kResourceExhausted);
  CHECK(Contains(r.status().message(), path));
  CHECK(Contains(r.status().message(), "limit of 1000 (--max-document-bytes)"));
}

TEST_CASE("reader: a truncated zstd file is an error naming it", "[reader]") {
  TempDir tmp;
  const std::string path = tmp / "cut.jsonl.zst";
  std::string data;
  for (int i = 0; i < 200; ++i) {
    data += "{\"id\":\"d" + std::to_string(i) + "\",\"text\":\"document number " +
            std::to_string(i * 7919) + "\"}\n";
  }
  const std::string z = Zstd(data);
  REQUIRE(z.size() > 40);
  WriteFile(path, z.substr(0, z.size() / 2));
  auto reader = OpenReader({path});
  const auto steps = ReadAll(reader.get());
  size_t errors = 0;
  for (const auto& s : steps) {
    if (s.kind != Step::kError) continue;
    ++errors;
    CHECK(Contains(s.status.message(), "cut.jsonl.zst"));
    CHECK(Contains(s.status.message(), "zstd"));
  }
  CHECK(errors == 1);
  CHECK(DocsOnly(steps).size() < 200);
  CHECK(steps.back().kind == Step::kEnd);
}

TEST_CASE("reader: garbage in a zstd file is an error, not a crash", "[reader]") {
  TempDir tmp;
  const std::string path = tmp / "junk.jsonl.zst";
  WriteFile(path, "this is not zstd at all\n");
  auto reader = OpenReader({path});
  const auto steps = ReadAll(reader.get());
  REQUIRE(steps.size() == 2);
  CHECK(steps[0].kind == Step::kError);
  CHECK(Contains(steps[0].status.message(), "junk.jsonl.zst"));
  CHECK(steps[1].kind == Step::kEnd);
}

TEST_CASE("reader: blank lines are skipped but still counted for line numbers", "[reader]") {
  TempDir tmp;
  const std::string path = tmp / "blank.jsonl";
  WriteFile(path, "{\"text\":\"one\"}\n\n   \r\n{\"text\":\"four\"}\r\nnot json\n");
  auto reader = OpenReader({path});
  const auto steps = ReadAll(reader.get());
  REQUIRE(steps.size() == 4);
  REQUIRE(steps[0].kind == Step::kDoc);
  CHECK(steps[0].doc.name == path + ":1");
  REQUIRE(steps[1].kind == Step::kDoc);
  CHECK(steps[1].doc.name == path + ":4");  // CRLF line endings are accepted
  CHECK(steps[1].doc.text == "four");
  REQUIRE(steps[2].kind == Step::kError);
  CHECK(Contains(steps[2].status.message(), "blank.jsonl:5"));
  CHECK(steps[3].kind == Step::kEnd);
}

TEST_CASE("reader: several inputs are read in the order given", "[reader]") {
  TempDir tmp;
  WriteFile(tmp / "z.txt", "zzz");
  WriteFile(tmp / "a.jsonl", "{\"id\":\"j1\",\"text\":\"json one\"}\n");
  auto reader = OpenReader({tmp / "z.txt", tmp / "a.jsonl"});
  const auto docs = DocsOnly(ReadAll(reader.get()));
  REQUIRE(docs.size() == 2);
  CHECK(docs[0].name == tmp / "z.txt");
  CHECK(docs[1].name == "j1");
}

TEST_CASE("reader: IsJsonLinesPath recognizes JSON Lines names", "[reader]") {
  CHECK(IsJsonLinesPath("a.jsonl"));
  CHECK(IsJsonLinesPath("dir/a.ndjson"));
  CHECK(IsJsonLinesPath("a.jsonl.gz"));
  CHECK(IsJsonLinesPath("a.jsonl.zst"));
  CHECK(IsJsonLinesPath("a.ndjson.zst"));
  CHECK_FALSE(IsJsonLinesPath("a.json"));
  CHECK_FALSE(IsJsonLinesPath("a.txt"));
  CHECK_FALSE(IsJsonLinesPath("a.gz"));
  CHECK_FALSE(IsJsonLinesPath("a.jsonl.bz2"));
  CHECK_FALSE(IsJsonLinesPath("jsonl"));
}

TEST_CASE("reader: symbolic links inside a directory are not followed", "[reader]") {
  TempDir tmp;
  const std::string dir = tmp / "corpus";
  fs::create_directory(dir);
  WriteFile(dir + "/GPL-3", "the real license text");
  fs::create_symlink("GPL-3", dir + "/GPL");
  fs::create_directory_symlink(dir, dir + "/loop");
  auto reader = OpenReader({dir});
  const auto steps = ReadAll(reader.get());
  const auto docs = DocsOnly(steps);
  REQUIRE(docs.size() == 1);
  CHECK(docs[0].name == dir + "/GPL-3");
  for (const auto& s : steps) CHECK(s.kind != Step::kError);
}

// total_bytes() is "bytes of all inputs as stored", used with bytes_consumed() for progress and
// ETA. Open() sums directories with recursive_directory_iterator, whose is_regular_file()
// follows symbolic links, but Next() skips links inside directories, so a directory with a
// link to a file (like /usr/share/common-licenses/GPL -> GPL-3) reports more total bytes than
// are ever consumed, and progress never reaches 100%.
TEST_CASE("reader: total_bytes counts only what a directory read consumes",
          "[reader]") {
  TempDir tmp;
  const std::string dir = tmp / "corpus";
  fs::create_directory(dir);
  WriteFile(dir + "/GPL-3", "the real license text");
  fs::create_symlink("GPL-3", dir + "/GPL");
  auto reader = OpenReader({dir});
  ReadAll(reader.get());
  CHECK(reader->bytes_consumed() == reader->total_bytes());
}

TEST_CASE("reader: a truncated gzip file is an error naming it", "[reader]") {
  TempDir tmp;
  const std::string full = tmp / "full.jsonl.gz";
  const std::string path = tmp / "cut.jsonl.gz";
  std::string data;
  std::mt19937_64 rng(9);
  for (int i = 0; i < 300; ++i) {
    data += "{\"id\":\"d" + std::to_string(i) + "\",\"text\":\"" +
            doppel_test::RandomWords(rng, 20) + "\"}\n";
  }
  WriteGzip(full, data);
  const std::string gz = doppel_test::ReadFile(full);
  WriteFile(path, gz.substr(0, gz.size() / 2));
  auto reader = OpenReader({path});
  const auto steps = ReadAll(reader.get());
  size_t errors = 0;
  for (const auto& s : steps) {
    if (s.kind != Step::kError) continue;
    ++errors;
    CHECK(Contains(s.status.message(), "cut.jsonl.gz"));
  }
  CHECK(errors == 1);
  CHECK(DocsOnly(steps).size() < 300);
  CHECK(steps.back().kind == Step::kEnd);
}

// Cut where the writer flushed, the stream ends between two lines: every line read parses, so
// only the missing end of the gzip stream tells the file is incomplete.
TEST_CASE("reader: a gzip file cut between two lines is an error saying it is truncated", "[reader]") {
  TempDir tmp;
  const std::string full = tmp / "full.jsonl.gz";
  const std::string path = tmp / "cut.jsonl.gz";
  gzFile f = gzopen(full.c_str(), "wb");
  REQUIRE(f != nullptr);
  z_off_t cut = 0;
  for (int i = 0; i < 20; ++i) {
    const std::string line = "{\"id\":\"d" + std::to_string(i) + "\",\"text\":\"words of line " + std::to_string(i) + "\"}\n";
    REQUIRE(gzwrite(f, line.data(), static_cast<unsigned>(line.size())) == static_cast<int>(line.size()));
    REQUIRE(gzflush(f, Z_FULL_FLUSH) == Z_OK);
    if (i == 14) cut = gzoffset(f);
  }
  REQUIRE(gzclose(f) == Z_OK);
  REQUIRE(cut > 0);
  WriteFile(path, doppel_test::ReadFile(full).substr(0, static_cast<size_t>(cut)));
  auto reader = OpenReader({path});
  const auto steps = ReadAll(reader.get());
  size_t errors = 0;
  for (const auto& s : steps) {
    if (s.kind != Step::kError) continue;
    ++errors;
    CHECK(Contains(s.status.message(), "cut.jsonl.gz"));
    CHECK(Contains(s.status.message(), "truncated"));
  }
  CHECK(errors == 1);
  CHECK(DocsOnly(steps).size() == 15);  // every line before the cut is read
}

TEST_CASE("reader: gzip members are read one after another, and bytes after one that are not gzip are an error",
          "[reader]") {
  // Concatenated gzip files are one stream (gzip -d reads them so); zero padding after the last
  // member is allowed; anything else after a member (a second member whose header was damaged)
  // would otherwise lose every line after the first member without a word.
  TempDir tmp;
  auto lines = [](int from, int to) {
    std::string data;
    for (int i = from; i < to; ++i) data += "{\"id\":\"d" + std::to_string(i) + "\",\"text\":\"words of line " + std::to_string(i) + "\"}\n";
    return data;
  };
  WriteGzip(tmp / "a.gz", lines(0, 3));
  WriteGzip(tmp / "b.gz", lines(3, 6));
  const std::string a = doppel_test::ReadFile(tmp / "a.gz"), b = doppel_test::ReadFile(tmp / "b.gz");
  struct Case {
    std::string name, bytes;
    size_t docs;
    std::string error;  // empty: none
  };
  std::string damaged = b;
  damaged[0] = 'X';
  damaged[1] = 'X';
  for (const Case& c : {Case{"two.jsonl.gz", a + b, 6, ""}, Case{"padded.jsonl.gz", a + b + std::string(512, '\0'), 6, ""},
                        Case{"damaged.jsonl.gz", a + damaged, 3, "bytes after the end of gzip member 1 (at compressed byte " +
                                                                    std::to_string(a.size()) + ") are not gzip"},
                        Case{"garbage.jsonl.gz", a + b + "trailing", 6, "are not gzip"},
                        Case{"padded-garbage.jsonl.gz", a + std::string(8, '\0') + b, 3, "are not gzip"},
                        Case{"other-magic.jsonl.gz", a + "\x1f" + "XYZ", 3, "are not gzip"},
                        Case{"empty.jsonl.gz", "", 0, "not in gzip format (an empty file)"},
                        Case{"not-gzip.jsonl.gz", "\x1f{\"id\":1}", 0, "not in gzip format"}}) {
    INFO(c.name);
    WriteFile(tmp / c.name, c.bytes);
    auto reader = OpenReader({tmp / c.name});
    const auto steps = ReadAll(reader.get());
    const auto errors = ErrorsOf(steps);
    for (const Status& e : errors) {
      INFO(e.ToString());
      CHECK(Contains(e.message(), c.name));
      CHECK(Contains(e.message(), c.error));
    }
    CHECK(errors.size() == (c.error.empty() ? 0 : 1));
    CHECK(DocsOnly(steps).size() == c.docs);
  }
}

TEST_CASE("reader: the lines before damage inside a gzip stream are read before its error", "[reader]") {
  TempDir tmp;
  std::string data;
  std::mt19937_64 rng(11);
  for (int i = 0; i < 800; ++i) {
    data += "{\"id\":\"d" + std::to_string(i) + "\",\"text\":\"" + doppel_test::RandomWords(rng, 160) + "\"}\n";
  }
  WriteGzip(tmp / "full.jsonl.gz", data);
  std::string gz = doppel_test::ReadFile(tmp / "full.jsonl.gz");
  REQUIRE(gz.size() > 4 * 65536);  // the damage comes after more than two reads of 64 KiB
  for (size_t i = 0; i < 16; ++i) gz[gz.size() * 3 / 4 + i] ^= 0x5a;
  WriteFile(tmp / "bad.jsonl.gz", gz);
  auto reader = OpenReader({tmp / "bad.jsonl.gz"});
  const auto steps = ReadAll(reader.get());
  const auto errors = ErrorsOf(steps);
  for (const Status& e : errors) {
    INFO(e.ToString());
    CHECK(Contains(e.message(), "bad.jsonl.gz"));
  }
  CHECK(!errors.empty());
  // Damage three quarters in: well over half of the lines come before it.
  CHECK(DocsOnly(steps).size() > 400);
  CHECK(DocsOnly(steps).size() < 800);
}

TEST_CASE("reader: a .gz file that is not gzip is an error", "[reader]") {
  TempDir tmp;
  const std::string path = tmp / "plain.jsonl.gz";
  WriteFile(path, "{\"id\":\"a\",\"text\":\"plain words\"}\n");
  auto reader = OpenReader({path});
  const auto steps = ReadAll(reader.get());
  size_t errors = 0;
  for (const auto& s : steps) {
    if (s.kind != Step::kError) continue;
    ++errors;
    CHECK(Contains(s.status.message(), "plain.jsonl.gz"));
    CHECK(Contains(s.status.message(), "not in gzip format"));
  }
  CHECK(errors == 1);
  CHECK(DocsOnly(steps).empty());
}

TEST_CASE("reader: a lang naming a programming language makes a code document", "[reader]") {
  TempDir tmp;
  const std::string path = tmp / "code.jsonl";
  WriteFile(path,
            "{\"id\":\"p\",\"text\":\"def f(x):\\n    return x\\n\",\"lang\":\"python\"}\n"
            "{\"id\":\"g\",\"text\":\"x = 1\",\"kind\":\"code\"}\n"
            "{\"id\":\"t\",\"text\":\"plain words\",\"kind\":\"text\"}\n"
            "{\"id\":\"b\",\"text\":\"x\",\"kind\":\"poetry\"}\n"
            "{\"id\":\"k\",\"text\":\"fun f(x: Int) = x\",\"lang\":\"kotlin\"}\n"
            "{\"id\":\"m\",\"text\":\"# Title\",\"lang\":\"markdown\"}\n"
            "{\"id\":\"e\",\"text\":\"words\",\"lang\":\"en\"}\n"
            "{\"id\":\"pl\",\"text\":\"słowa\",\"lang\":\"pl\"}\n"
            "{\"id\":\"sv\",\"text\":\"ord\",\"lang\":\"sv\"}\n"
            "{\"id\":\"kt\",\"text\":\"words\",\"lang\":\"kotlin\",\"kind\":\"text\"}\n"
            "{\"id\":\"u\",\"text\":\"fn f() {}\",\"path\":\"src/util.rs\"}\n"
            "{\"text\":\"x = 1\",\"max_stars_repo_path\":\"a/b.py\",\"path\":\"a/b.go\"}\n"
            "{\"id\":\"r\",\"text\":\"# Read me\",\"path\":\"README.md\"}\n"
            "{\"id\":\"n\",\"text\":\"words\",\"path\":\"x.py\",\"kind\":\"text\"}\n"
            "{\"id\":\"h\",\"text\":\"words\",\"path\":\"x.py\",\"lang\":\"en\"}\n");
  auto reader = OpenReader({path});
  const auto steps = ReadAll(reader.get());
  REQUIRE(steps.size() == 16);
  // A language without a grammar here (kotlin) is code for the generic lexer, as a check reads
  // it; Markdown, a human language, two letters ("pl" and "sv" are also tags of Perl and
  // Verilog) and "kind": "text" stay prose.
  const std::vector<std::pair<size_t, Kind>> kinds = {{0, Kind::kCode}, {1, Kind::kCode}, {2, Kind::kText},
                                                      {4, Kind::kCode}, {5, Kind::kText}, {6, Kind::kText},
                                                      {7, Kind::kText}, {8, Kind::kText}, {9, Kind::kText},
                                                      {10, Kind::kText}, {11, Kind::kText}, {12, Kind::kText},
                                                      {13, Kind::kText}, {14, Kind::kText}};
  for (const auto& [i, kind] : kinds) {
    INFO("line " << i + 1);
    REQUIRE(steps[i].kind == Step::kDoc);
    CHECK(steps[i].doc.kind == kind);
  }
  CHECK(steps[0].doc.language == "python");
  CHECK(steps[4].doc.language == "kotlin");
  REQUIRE(steps[3].kind == Step::kError);
  CHECK(Contains(steps[3].status.message(), "code.jsonl:4"));
  CHECK(steps[15].kind == Step::kEnd);
  // A path names the language only from the field named for it (--path-field): "kind": "text"
  // and a human language still keep a line prose, and so does a path of no grammar's extension.
  ReaderOptions by_path;
  by_path.path_field = "path";
  auto paths = OpenReader({path}, by_path);
  const auto read = ReadAll(paths.get());
  REQUIRE(read.size() == 16);
  CHECK(read[10].doc.kind == Kind::kCode);
  CHECK(read[10].doc.language == "rust");
  CHECK(read[11].doc.language == "go");
  for (size_t i : {12, 13, 14}) {
    INFO("line " << i + 1);
    CHECK(read[i].doc.kind == Kind::kText);
  }
  CHECK(read[0].doc.language == "python");  // a lang is taken before a path
  // As a lang, a path that is not a string or is given twice is an error of its line; null is none.
  const std::string odd = tmp / "odd.jsonl";
  WriteFile(odd,
            "{\"id\":\"a\",\"text\":\"x = 1\",\"path\":5}\n"
            "{\"id\":\"b\",\"text\":\"x = 1\",\"path\":\"a.py\",\"path\":\"b.go\"}\n"
            "{\"id\":\"c\",\"text\":\"x = 1\",\"path\":null}\n");
  auto odd_reader = OpenReader({odd}, by_path);
  const auto odd_steps = ReadAll(odd_reader.get());
  REQUIRE(odd_steps.size() == 4);
  REQUIRE(odd_steps[0].kind == Step::kError);
  CHECK(Contains(odd_steps[0].status.message(), "odd.jsonl:1"));
  CHECK(Contains(odd_steps[0].status.message(), "path field \"path\" is not a string"));
  REQUIRE(odd_steps[1].kind == Step::kError);
  CHECK(Contains(odd_steps[1].status.message(), "\"path\" is given twice"));
  REQUIRE(odd_steps[2].kind == Step::kDoc);
  CHECK(odd_steps[2].doc.kind == Kind::kText);
}

TEST_CASE("reader: a lang or kind that is not a string is an error naming its line", "[reader]") {
  TempDir tmp;
  const std::string path = tmp / "typed.jsonl";
  WriteFile(path,
            "{\"id\":\"a\",\"text\":\"x = 1\",\"lang\":123}\n"
            "{\"id\":\"b\",\"text\":\"x = 1\",\"language\":[\"python\"]}\n"
            "{\"id\":\"c\",\"text\":\"x = 1\",\"kind\":5}\n"
            "{\"id\":\"d\",\"text\":\"plain words\",\"lang\":null,\"kind\":null}\n");
  auto reader = OpenReader({path});
  const auto steps = ReadAll(reader.get());
  REQUIRE(steps.size() == 5);
  CheckLineError(steps[0], "typed.jsonl:1", "field \"lang\" is not a string");
  CheckLineError(steps[1], "typed.jsonl:2", "field \"language\" is not a string");
  CheckLineError(steps[2], "typed.jsonl:3", "field \"kind\" must be");
  REQUIRE(steps[3].kind == Step::kDoc);
  CHECK(steps[3].doc.kind == Kind::kText);
  CHECK(steps[4].kind == Step::kEnd);
}

TEST_CASE("reader: a text given as a JSON object or array is its JSON text, minified", "[reader]") {
  TempDir tmp;
  const std::string path = tmp / "structured.jsonl";
  WriteFile(path,
            "{\"id\":\"a\",\"text\":{ \"role\" : \"assistant\", \"content\" : \"Hi there\", \"n\" : [1, 2] }}\n"
            "{\"id\":\"b\",\"text\":[ \"one two\" , {\"k\": null} ]}\n"
            "{\"id\":\"c\",\"text\":true}\n");
  auto reader = OpenReader({path});
  const auto steps = ReadAll(reader.get());
  REQUIRE(steps.size() == 4);
  REQUIRE(steps[0].kind == Step::kDoc);
  CHECK(steps[0].doc.text == R"({"role":"assistant","content":"Hi there","n":[1,2]})");
  REQUIRE(steps[1].kind == Step::kDoc);
  CHECK(steps[1].doc.text == R"(["one two",{"k":null}])");
  CheckLineError(steps[2], "structured.jsonl:3", "field \"text\" is not a string, an object or an array");
  CHECK(steps[3].kind == Step::kEnd);
}

TEST_CASE("reader: a text or id or language or kind field given twice is an error naming its line", "[reader]") {
  TempDir tmp;
  const std::string path = tmp / "twice.jsonl";
  WriteFile(path,
            "{\"id\":\"a\",\"text\":\"first words\",\"text\":\"other words\"}\n"
            "{\"id\":\"b\",\"text\":\"some words\",\"id\":\"c\"}\n"
            "{\"id\":\"d\",\"text\":\"more words\",\"tag\":1,\"tag\":2}\n"
            "{\"id\":\"e\",\"text\":\"x = 1\",\"lang\":\"python\",\"language\":\"go\"}\n"
            "{\"id\":\"f\",\"text\":\"x = 1\",\"kind\":\"code\",\"kind\":\"text\"}\n");
  auto reader = OpenReader({path});
  const auto steps = ReadAll(reader.get());
  REQUIRE(steps.size() == 6);
  CheckLineError(steps[0], "twice.jsonl:1", "field \"text\" is given twice");
  CheckLineError(steps[1], "twice.jsonl:2", "field \"id\" is given twice");
  REQUIRE(steps[2].kind == Step::kDoc);  // other fields are metadata, kept as they come
  CHECK(steps[2].doc.name == "d");
  CheckLineError(steps[3], "twice.jsonl:4", "\"lang\" and \"language\" are one field");
  CheckLineError(steps[4], "twice.jsonl:5", "field \"kind\" is given twice");
  CHECK(steps[5].kind == Step::kEnd);
}

TEST_CASE("json: a syntax error is named by its byte and what was expected there", "[reader][json]") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "at byte 0: expected a JSON value, found the end of the input"},
      {"{\"a\":1,}", "at byte 7: expected a string key in double quotes, found '}'"},
      {"{\"a\" 1}", "at byte 5: expected ':' after the key, found '1'"},
      {"[1 2]", "at byte 3: expected ',' or ']', found '2'"},
      {"{\"a\":tru}", "at byte 8: expected \"true\", found '}'"},
      {"{\"a\":01}", "at byte 6: expected ',' or '}', found '1'"},
      {"{\"a\":-}", "at byte 6: expected a digit, found '}'"},
      {"[1.e5]", "at byte 3: expected a digit after the decimal point, found 'e'"},
      {"{\"a\":\"\\x\"}", "at byte 7: expected an escape"},
      {"[\"\\udc00\"]", "at byte 2: expected no lone surrogate"},
      {"[\"\\ud83dx\"]", "at byte 8: expected the low half of a surrogate pair"},
      {"[\"a\x01\"]", "at byte 3: expected a character escaped in a string"},
      {"{} x", "at byte 3: expected the end of the input after the JSON value, found 'x'"},
      {"['a']", "at byte 1: expected a JSON value, found \"'\""},
      {"{\n  \"a\": 1\n  \"b\": 2\n}", "at byte 13 (line 3, column 3): expected ',' or '}', found '\"'"},
      {"[\xff]", "at byte 1: expected a JSON value, found byte 0xFF"},
      // Well formed, but out of range of what the parser reads a number as.
      {"{\"x\":1e400}", "at byte 5: expected a number that a 64-bit integer or a double can hold, found 1e400"},
      {"[0.5,10e308]", "at byte 5: expected a number that a 64-bit integer or a double can hold, found 10e308"},
      {"[-1e99999999999999999999]", "at byte 1: expected a number that a 64-bit integer or a double can hold"},
      {"[1e9223372036854775807]", "at byte 1: expected a number that a 64-bit integer or a double can hold"},
      {"[-2e308]", "at byte 1: expected a number that a 64-bit integer or a double can hold, found -2e308"},
  };
  for (const auto& [json, expected] : cases) {
    INFO(json);
    CHECK(Contains(JsonSyntaxError(json), expected));
  }
  // Valid JSON has no syntax error, and nesting deeper than any parser's limit costs no stack.
  for (const std::string json : {"{\"a\":[1,2,{\"b\":null}],\"c\":-1.5E+3,\"d\":\"\\ud83d\\ude00\\n\"}", "[]", " \"x\" ",
                                 "[true,false,null,0,-0.25e-2,{}]", "[18446744073709551615,-9223372036854775808]",
                                 "[1.7e308,1e-400,-4.9e-324,0.001e309,0.0000001e-400,1e-99999999999999999999,0.001e-9223372036854775807]",
                                 // (integers past 64 bits: ParseJson reads them as their digits)
                                 "[123456789012345678901234567890,-9223372036854775809]"}) {
    INFO(json);
    CHECK(JsonSyntaxError(json).empty());
  }
  CHECK(JsonSyntaxError(std::string(1000000, '[')) ==
        "at byte 1000000: expected a JSON value, found the end of the input");
  CHECK(JsonSyntaxError(std::string(500000, '[') + std::string(500000, ']')).empty());
  // Valid JSON that the parser refuses for its depth: the error says where the nesting passes
  // the parser's limit (simdjson's message names no place).
  const std::string deep = "{\"a\": " + std::string(2000, '[') + std::string(2000, ']') + "}";
  CHECK(DescribeJsonError(deep, "too deep") ==
        "at byte 1029: objects and arrays nested more than 1024 deep, deeper than the JSON reader goes");
  CHECK(DescribeJsonError("[1,", "cut short") == JsonSyntaxError("[1,"));
}

TEST_CASE("json: integers past 64 bits, and numbers past a double, are read as their digits, in a JSON line's fields too",
          "[reader][json]") {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::string scratch;
  REQUIRE(ParseJson(&parser, "{\"n\":123456789012345678901234567890,\"s\":\"12345678901234567890123\",\"m\":-9223372036854775809}",
                    &root, &scratch) == simdjson::SUCCESS);
  CHECK(root["n"].get_string().value() == "123456789012345678901234567890");  // every digit kept
  CHECK(root["m"].get_string().value() == "-9223372036854775809");
  CHECK(root["s"].get_string().value() == "12345678901234567890123");  // strings as they are
  CHECK(ParseJson(&parser, "[1,2", &root, &scratch) != simdjson::SUCCESS);
  REQUIRE(ParseJson(&parser, "[1" + std::string(400, '0') + "]", &root, &scratch) == simdjson::SUCCESS);  // past a double
  CHECK(root.at(0).get_string().value().size() == 401);
  // A number past a double's range too: a line whose metadata holds one is no malformed line.
  REQUIRE(ParseJson(&parser, "[1e400,-2.5E+999,0.5,1e-400]", &root, &scratch) == simdjson::SUCCESS);
  CHECK(root.at(0).get_string().value() == "1e400");
  CHECK(root.at(1).get_string().value() == "-2.5E+999");
  CHECK(root.at(2).get_double().value() == 0.5);
  CHECK(root.at(3).get_double().value() == 0);  // (under a double's range: 0, as the parser reads it)
  Document doc;
  REQUIRE(ParseJsonLineDocument("{\"id\":\"x\",\"text\":\"some words\",\"meta\":123456789012345678901234567890}",
                                ReaderOptions(), "big.jsonl:1", &parser, &doc)
              .ok());
  CHECK(doc.name == "x");
  CHECK(doc.text == "some words");
  CHECK(Contains(doc.metadata, "\"meta\":\"123456789012345678901234567890\""));
  // Two ids that differ past a double's digits stay two names.
  Document a, b;
  REQUIRE(ParseJsonLineDocument("{\"id\":123456789012345678901,\"text\":\"a\"}", ReaderOptions(), "x", &parser, &a).ok());
  REQUIRE(ParseJsonLineDocument("{\"id\":123456789012345678902,\"text\":\"b\"}", ReaderOptions(), "x", &parser, &b).ok());
  CHECK(a.name == "123456789012345678901");
  CHECK(b.name == "123456789012345678902");
  // A priority past 64 bits is still a number (dedup --priority-field).
  double priority = 0;
  REQUIRE(ParseJsonLineDocument("{\"id\":\"p\",\"text\":\"c\",\"p\":123456789012345678901234}", ReaderOptions(), "x",
                                &parser, &a, "p", &priority)
              .ok());
  CHECK(priority == Approx(1.2345678901234568e23));
  CHECK_FALSE(ParseJsonLineDocument("{\"id\":\"p\",\"text\":\"c\",\"p\":\"12\"}", ReaderOptions(), "x", &parser, &a, "p",
                                    &priority)
                  .ok());  // (a string stays no number)
}

TEST_CASE("json: base64 as RFC 4648 writes it", "[reader][json]") {
  const auto b64 = [](std::string_view s) {
    std::string out;
    AppendBase64(&out, s);
    return out;
  };
  CHECK(b64("").empty());
  CHECK(b64("f") == "Zg==");
  CHECK(b64("fo") == "Zm8=");
  CHECK(b64("foo") == "Zm9v");
  CHECK(b64("foob") == "Zm9vYg==");
  CHECK(b64("fooba") == "Zm9vYmE=");
  CHECK(b64("foobar") == "Zm9vYmFy");
  CHECK(b64(std::string_view("\xff\xfe\x00", 3)) == "//4A");
}

TEST_CASE("json: strings are written as valid UTF-8 whatever bytes they hold", "[reader][json]") {
  const auto quoted = [](std::string_view s) {
    std::string out;
    AppendJsonString(&out, s);
    return out;
  };
  const std::string kBad = "\xEF\xBF\xBD";  // U+FFFD
  CHECK(quoted("caf\xC3\xA9 \xF0\x9F\x98\x80 \"q\"\n") == "\"caf\xC3\xA9 \xF0\x9F\x98\x80 \\\"q\\\"\\n\"");
  CHECK(quoted("caf\xE9.txt") == "\"caf" + kBad + ".txt\"");                  // Latin-1
  CHECK(quoted("\xC0\xAF") == "\"" + kBad + kBad + "\"");                      // overlong '/'
  CHECK(quoted("\xED\xA0\x80") == "\"" + kBad + kBad + kBad + "\"");          // a surrogate
  CHECK(quoted("\xF4\x90\x80\x80") == "\"" + kBad + kBad + kBad + kBad + "\"");  // past U+10FFFF
  CHECK(quoted("ab\xE2\x82") == "\"ab" + kBad + kBad + "\"");                  // cut at the end
  CHECK(quoted("\xE2\x82\xAC\x80") == "\"\xE2\x82\xAC" + kBad + "\"");      // a stray continuation
}
