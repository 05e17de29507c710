#include "doppel/executor.h"

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>
#include <filesystem>
#include <utility>

namespace doppel {

namespace fs = std::filesystem;

namespace {

// Flags that choose how a run is executed, not what it computes: dropped when the command line
// is handed to the tasks. The bool says whether the flag takes a value.
constexpr std::pair<std::string_view, bool> kExecutorFlags[] = {
    {"--executor", true}, {"--tasks", true}, {"--partition", true}, {"--time", true}, {"--mem", true},
    {"--cpus-per-task", true}, {"--no-wait", false}, {"--stage", true}, {"--rank", true}, {"--world", true}};

// Whether argv[*i] is `flag` (then also skips its value when it takes one) or `flag=value`.
bool TakeFlag(int argc, char** argv, int* i, std::string_view flag, bool takes_value) {
  const std::string_view a = argv[*i];
  if (a == flag) {
    if (takes_value && *i + 1 < argc) ++*i;
    return true;
  }
  return takes_value && a.size() > flag.size() && a.substr(0, flag.size()) == flag && a[flag.size()] == '=';
}

}  // namespace

std::string ShellQuote(std::string_view s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::vector<std::string> RunArgs(int argc, char** argv, const std::vector<std::string>& also_drop) {
  std::vector<std::string> out;
  for (int i = 2; i < argc; ++i) {
    bool skip = false;
    for (const auto& [flag, takes_value] : kExecutorFlags) skip = skip || TakeFlag(argc, argv, &i, flag, takes_value);
    for (const auto& flag : also_drop) skip = skip || TakeFlag(argc, argv, &i, flag, true);
    if (!skip) out.emplace_back(argv[i]);
  }
  return out;
}

// The command line of one task: this binary, the subcommand, the run's arguments, then the
// task's own.
static std::string TaskCommand(int argc, char** argv, const std::string& task, const std::vector<std::string>& drop) {
  char self[4096];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  std::string cmd = ShellQuote(n > 0 ? std::string(self, static_cast<size_t>(n)) : std::string(argv[0]));
  cmd += " " + ShellQuote(argv[1]);
  for (const auto& a : RunArgs(argc, argv, drop)) cmd += " " + ShellQuote(a);
  return cmd + " " + task;
}

// Runs `command` through the shell and returns its standard output (trailing newline dropped).
Result<std::string> Capture(const std::string& command) {
  std::FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return Status::IOError("cannot run " + command);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = ::pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  if (status != 0) {
    return Status::Unavailable("'" + command + "' failed (exit " + std::to_string(WEXITSTATUS(status)) + ")" +
                               (out.empty() ? "" : ": " + out));
  }
  return out;
}

SlurmJobs::SlurmJobs(const ExecutorOptions& x, std::string logs, int argc, char** argv,
                     std::vector<std::string> own_flags)
    : logs_(std::move(logs)), argc_(argc), argv_(argv), cpus_(x.cpus_per_task), drop_(std::move(own_flags)) {
  // A task uses the CPUs it was given (Slurm's task/none plugin does not confine it).
  if (cpus_ > 0) drop_.push_back("--threads");
  prefix_ = "sbatch --parsable --kill-on-invalid-dep=yes --chdir=" + ShellQuote(fs::current_path().string());
  if (!x.partition.empty()) prefix_ += " --partition=" + ShellQuote(x.partition);
  if (!x.time_limit.empty()) prefix_ += " --time=" + ShellQuote(x.time_limit);
  if (!x.mem.empty()) prefix_ += " --mem=" + ShellQuote(x.mem);
  if (x.cpus_per_task > 0) prefix_ += " --cpus-per-task=" + std::to_string(x.cpus_per_task);
}

Status SlurmJobs::Prepare() const {
  std::error_code ec;
  fs::create_directories(logs_, ec);
  return ec ? Status::IOError(logs_ + ": " + ec.message()) : Status::OK();
}

Result<std::string> SlurmJobs::Submit(const std::string& name, uint32_t array_size, const std::string& after,
                                      bool wait, const std::string& task_args) const {
  std::string cmd = prefix_ + " --job-name=" + ShellQuote("doppel-" + name);
  if (array_size > 0) cmd += " --array=0-" + std::to_string(array_size - 1);
  if (!after.empty()) cmd += " --dependency=afterok:" + after;
  cmd += " --output=" + ShellQuote(logs_ + "/" + name + (array_size > 0 ? "-%a" : "") + ".log");
  const std::string threads = cpus_ > 0 ? " --threads " + std::to_string(cpus_) : "";
  cmd += " --wrap=" + ShellQuote("exec " + TaskCommand(argc_, argv_, task_args + threads, drop_));
  DOPPEL_ASSIGN_OR_RETURN(std::string out, Capture(cmd + " 2>&1"));
  const std::string id = out.substr(out.find_last_of('\n') + 1);
  if (wait) DOPPEL_RETURN_IF_ERROR(WaitFor(id));
  return id;
}

Status SlurmJobs::WaitFor(const std::string& id) const {
  // `sbatch --wait` polls with a growing interval (up to half a minute late); squeue every half
  // second ends within a second of the job. A job no longer listed (or no longer known) is over.
  for (;;) {
    auto listed = Capture("squeue --noheader --format=%i --jobs=" + ShellQuote(id) + " 2>/dev/null");
    if (!listed.ok() || listed->empty()) return Status::OK();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

}  // namespace doppel
