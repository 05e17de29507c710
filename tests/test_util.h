// Helpers shared by the doppel tests: temporary directories, files, documents, and running the
// command-line tools.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "doppel/document.h"
#include "doppel/index.h"
#include "doppel/sketch.h"
#include "doppel/status.h"

namespace doppel_test {

namespace fs = std::filesystem;

// A fresh directory under the system temp directory, removed with everything in it on scope exit.
class TempDir {
 public:
  TempDir() {
    static std::atomic<unsigned> counter{0};
    std::random_device rd;
    const fs::path base = fs::temp_directory_path();
    for (int attempt = 0; attempt < 100; ++attempt) {
      fs::path p = base / ("doppel-test-" + std::to_string(::getpid()) + "-" +
                           std::to_string(counter++) + "-" + std::to_string(rd() % 1000000));
      std::error_code ec;
      if (fs::create_directory(p, ec) && !ec) {
        path_ = p;
        return;
      }
    }
    throw std::runtime_error("cannot create a temporary directory");
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }
  std::string str() const { return path_.string(); }
  // A path inside the directory (not created).
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

inline void WriteFile(const std::string& path, std::string_view contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error("cannot write " + path);
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A Go file-loading helper whose names all end in `n`: one code shape, many spellings (common
// code and its renamed copies in the tests).
inline std::string GoLoadHelper(const std::string& n, const std::string& message = "open %s: %w") {
  return "func load" + n + "(path" + n + " string) ([]byte, error) {\n\tf" + n + ", err := os.Open(path" + n +
         ")\n\tif err != nil {\n\t\treturn nil, fmt.Errorf(\"" + message + "\", path" + n + ", err)\n\t}\n\tdefer f" +
         n + ".Close()\n\treturn io.ReadAll(f" + n + ")\n}\n";
}

inline bool Contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

inline bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

inline doppel::Document MakeDoc(std::string name, std::string text, std::string metadata = "") {
  doppel::Document d;
  d.name = std::move(name);
  d.text = std::move(text);
  d.metadata = std::move(metadata);
  d.origin = d.name;
  return d;
}

// Sketches `docs` with `params`; throws on a sketch error (tests pass valid UTF-8).
inline std::vector<doppel::SketchedDocument> SketchAll(const doppel::SketchParams& params,
                                                       std::vector<doppel::Document> docs) {
  doppel::DocumentSketcher sketcher(params);
  std::vector<doppel::SketchedDocument> out(docs.size());
  for (size_t i = 0; i < docs.size(); ++i) {
    doppel::Status s = sketcher.Sketch(std::move(docs[i]), &out[i]);
    if (!s.ok()) throw std::runtime_error("sketch failed: " + s.ToString());
  }
  return out;
}

// Deterministic pseudo-random English-like words (lowercase letters), for bulk text.
inline std::string RandomWords(std::mt19937_64& rng, size_t n) {
  static const char* kSyll[] = {"ka", "lo", "mi", "ra", "te", "su", "no", "vi", "pe", "do",
                                "ga", "fu", "ze", "bo", "ny", "qua", "rin", "tol", "mek", "sa"};
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    if (i) out += ' ';
    const size_t syll = 2 + rng() % 3;
    for (size_t j = 0; j < syll; ++j) out += kSyll[rng() % 20];
  }
  return out;
}

struct CommandResult {
  int exit_code = -1;  // WEXITSTATUS, or -1 when the process did not exit normally
  std::string out;     // stdout
  std::string err;     // stderr
};

// A command's exit code and output, for INFO messages.
inline std::string Describe(const CommandResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout: " + r.out + "\nstderr: " + r.err;
}

// Runs `command` through the shell, capturing stdout and (through a temp file) stderr.
inline CommandResult Run(const std::string& command) {
  TempDir tmp;
  const std::string err_path = tmp / "stderr.txt";
  const std::string full = command + " 2>'" + err_path + "'";
  CommandResult r;
  std::FILE* p = ::popen(full.c_str(), "r");
  if (p == nullptr) throw std::runtime_error("popen failed for " + command);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int status = ::pclose(p);
  r.exit_code = (status != -1 && WIFEXITED(status)) ? WEXITSTATUS(status) : -1;
  std::error_code ec;
  if (fs::exists(err_path, ec)) r.err = ReadFile(err_path);
  return r;
}

// Runs `fn` in a forked child process and reports whether the child exited normally with
// status 0. For code that may abort (a sanitizer report) without ending the test run; `fn` may
// call _exit with another status to report a failed expectation.
inline bool ExitsCleanly(const std::function<void()>& fn) {
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    try {
      fn();
    } catch (...) {
      ::_exit(4);  // never return into the test runner from the child
    }
    ::_exit(0);
  }
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return false;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// Starts `command` through the shell with its output discarded, sends it SIGKILL after `delay`,
// and reports whether the signal ended it (false: it had already exited).
inline bool RunKilledAfter(const std::string& command, std::chrono::microseconds delay) {
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    const std::string exec = "exec " + command + " >/dev/null 2>&1";
    ::execl("/bin/sh", "sh", "-c", exec.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  std::this_thread::sleep_for(delay);
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

// The wall time of a command that runs to completion, and its result.
inline std::pair<CommandResult, std::chrono::microseconds> RunTimed(const std::string& command) {
  const auto t0 = std::chrono::steady_clock::now();
  CommandResult r = Run(command);
  return {r, std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)};
}

// Single-quotes a string for the shell.
inline std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'') q += "'\\''";
    else q += c;
  }
  q += "'";
  return q;
}

// Splits on '\n', dropping one trailing empty piece.
inline std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < s.size()) {
    const size_t nl = s.find('\n', start);
    if (nl == std::string::npos) {
      out.push_back(s.substr(start));
      break;
    }
    out.push_back(s.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

}  // namespace doppel_test
