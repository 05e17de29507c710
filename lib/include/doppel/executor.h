// Executors of offline jobs split into tasks (dedup, sharded builds, scans): the tasks are
// ordinary command lines of the same binary with a task's flags added, run one after another in
// this process or submitted as Slurm jobs (sbatch arrays with afterok dependencies).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "doppel/status.h"

namespace doppel {

struct ExecutorOptions {
  std::string executor = "local";  // "local" or "slurm"
  uint32_t tasks = 1;
  // Slurm: passed to sbatch when set. Each task also gets --threads equal to cpus_per_task.
  std::string partition, time_limit, mem;
  uint32_t cpus_per_task = 0;
  bool no_wait = false;  // submit and return
};

// Single-quotes `s` for the shell.
std::string ShellQuote(std::string_view s);

// The arguments after the subcommand (argv[2...]) without the executor's own flags (--executor,
// --tasks, the Slurm options, --stage, --rank, --world) and the flags (with a value) in
// `also_drop`: what decides what a run computes.
std::vector<std::string> RunArgs(int argc, char** argv, const std::vector<std::string>& also_drop = {});

// Runs `command` through the shell; its standard output without the trailing newline.
// Unavailable (with the output) when it exits non-zero.
Result<std::string> Capture(const std::string& command);

// Submits the tasks of one run as Slurm jobs running this binary with the run's arguments,
// logging to LOGS/<name>[-<array index>].log, working in the current directory.
class SlurmJobs {
 public:
  // `own_flags` (each with a value) are the submitting command's, not the tasks' (scan's
  // --fail-on judges the merged run; a task exiting 1 would fail its job).
  SlurmJobs(const ExecutorOptions& options, std::string logs, int argc, char** argv,
            std::vector<std::string> own_flags = {});
  // Creates the log directory.
  Status Prepare() const;
  // One job (array_size 0) or an array of tasks 0..array_size-1 ("$SLURM_ARRAY_TASK_ID" in
  // `task_args` is the task's index), after job `after` succeeded when given (a failed one
  // cancels it); `wait` blocks until the job ends. Returns the job id.
  Result<std::string> Submit(const std::string& name, uint32_t array_size, const std::string& after, bool wait,
                             const std::string& task_args) const;
  const std::string& logs() const { return logs_; }
  // Returns when job `id` (all its array tasks) has left the queue.
  Status WaitFor(const std::string& id) const;

 private:
  std::string logs_, prefix_;
  int argc_;
  char** argv_;
  uint32_t cpus_;
  std::vector<std::string> drop_;  // flags the tasks do not get
};

}  // namespace doppel
