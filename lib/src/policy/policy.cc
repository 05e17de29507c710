#include "doppel/policy.h"

#include <simdjson.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "doppel/format.h"
#include "doppel/streams.h"

namespace doppel {

namespace {

using simdjson::dom::element;
using simdjson::dom::object;

// The range of each number a policy sets, by its key, and where FilterOptions holds it: a policy
// file, a request's policy and the command line's flags (CheckPolicyRanges) are held to the
// same ones. max_candidates is bounded because each candidate costs one alignment: a request
// may not make a check arbitrarily slow.
struct Bound {
  std::string_view key;
  uint32_t lo, hi;
  double (*value)(const FilterOptions&);
};
constexpr Bound kBounds[] = {
    {"text.min_span_tokens", 1, 1u << 20, [](const FilterOptions& o) -> double { return o.text.min_span_tokens; }},
    {"text.redact_tokens", 1, 1u << 20, [](const FilterOptions& o) -> double { return o.text.redact_tokens; }},
    {"text.redact_containment", 0, 1, [](const FilterOptions& o) -> double { return o.text.redact_containment; }},
    {"text.block_containment", 0, 1, [](const FilterOptions& o) -> double { return o.text.block_containment; }},
    {"code.min_span_tokens", 1, 1u << 20, [](const FilterOptions& o) -> double { return o.code.min_span_tokens; }},
    {"code.redact_tokens", 1, 1u << 20, [](const FilterOptions& o) -> double { return o.code.redact_tokens; }},
    {"code.redact_containment", 0, 1, [](const FilterOptions& o) -> double { return o.code.redact_containment; }},
    {"code.block_containment", 0, 1, [](const FilterOptions& o) -> double { return o.code.block_containment; }},
    {"min_renaming", 0, 1, [](const FilterOptions& o) -> double { return o.min_renaming; }},
    {"min_renaming_evidence", 0, 1u << 20, [](const FilterOptions& o) -> double { return o.min_renaming_evidence; }},
    {"min_literal_agreement", 0, 1, [](const FilterOptions& o) -> double { return o.min_literal_agreement; }},
    {"code_evidence_df", 0, 1u << 30, [](const FilterOptions& o) -> double { return o.code_evidence_df; }},
    {"code_whole_share", 0, 1, [](const FilterOptions& o) -> double { return o.code_whole_share; }},
    {"code_whole_blocks_min_tokens", 0, 1u << 20, [](const FilterOptions& o) -> double { return o.code_whole_blocks_min_tokens; }},
    {"code_whole_df", 0, 1u << 30, [](const FilterOptions& o) -> double { return o.code_whole_df; }},
    {"code_whole_min_tokens", 0, 1u << 20, [](const FilterOptions& o) -> double { return o.code_whole_min_tokens; }},
    {"code_whole_joint_df", 0, 1u << 30, [](const FilterOptions& o) -> double { return o.code_whole_joint_df; }},
    {"code_rare_items", 0, 1u << 20, [](const FilterOptions& o) -> double { return o.code_rare_items; }},
    {"code_name_df", 0, 1u << 30, [](const FilterOptions& o) -> double { return o.code_name_df; }},
    {"code_literal_bytes", 0, 1u << 20, [](const FilterOptions& o) -> double { return o.code_literal_bytes; }},
    {"code_verbatim_names", 0, 1u << 20, [](const FilterOptions& o) -> double { return o.code_verbatim_names; }},
    {"min_renaming_short", 0, 1, [](const FilterOptions& o) -> double { return o.min_renaming_short; }},
    {"short_span_tokens", 0, 1u << 20, [](const FilterOptions& o) -> double { return o.short_span_tokens; }},
    {"max_document_frequency", 1, 1u << 30, [](const FilterOptions& o) -> double { return o.max_document_frequency; }},
    {"max_candidates", 1, 256, [](const FilterOptions& o) -> double { return o.max_candidates; }},
};

// Every key read as a number has a bound; a key without one is this program's error (Internal,
// naming it), which the policy tests, reading every key, would meet first.
const Bound* BoundOf(std::string_view key) {
  for (const Bound& b : kBounds) {
    if (b.key == key) return &b;
  }
  return nullptr;
}

Status NoBound(std::string_view key) {
  return Status::Internal("policy key \"" + std::string(key) + "\" has no range");
}

std::string RangeText(const Bound& b) {
  return "must be between " + std::to_string(b.lo) + " and " + std::to_string(b.hi);
}

class PolicyReader {
 public:
  explicit PolicyReader(std::string_view where) : where_(where) {}

  Status Error(std::string_view key, std::string_view what) const {
    return Status::InvalidArgument(std::string(where_) + ": policy key \"" + std::string(key) +
                                   "\": " + std::string(what));
  }

  Status Uint(element e, std::string_view key, uint32_t* out) const {
    const Bound* b = BoundOf(key);
    if (b == nullptr) return NoBound(key);
    int64_t v = 0;
    if (e.get_int64().get(v)) return Error(key, "expected an integer");
    if (v < int64_t{b->lo} || v > int64_t{b->hi}) return Error(key, RangeText(*b));
    *out = static_cast<uint32_t>(v);
    return Status::OK();
  }

  Status Share(element e, std::string_view key, double* out) const {
    const Bound* b = BoundOf(key);
    if (b == nullptr) return NoBound(key);
    double v = 0;
    if (e.get_double().get(v)) {
      int64_t i = 0;
      if (e.get_int64().get(i)) return Error(key, "expected a number");
      v = static_cast<double>(i);
    }
    if (!(v >= b->lo && v <= b->hi)) return Error(key, RangeText(*b));
    *out = v;
    return Status::OK();
  }

  Status Bool(element e, std::string_view key, bool* out) const {
    if (e.get_bool().get(*out)) return Error(key, "expected true or false");
    return Status::OK();
  }

  Status Text(element e, std::string_view key, size_t max_bytes, std::string* out) const {
    std::string_view v;
    if (e.get_string().get(v)) return Error(key, "expected a string");
    if (v.size() > max_bytes) return Error(key, "longer than " + std::to_string(max_bytes) + " bytes");
    out->assign(v);
    return Status::OK();
  }

  Status Thresholds(element e, std::string_view kind, doppel::Thresholds* t) const {
    object o;
    if (e.get_object().get(o)) return Error(kind, "expected an object");
    for (auto field : o) {
      const std::string key = std::string(kind) + "." + std::string(field.key);
      if (field.key == "min_span_tokens") {
        DOPPEL_RETURN_IF_ERROR(Uint(field.value, key, &t->min_span_tokens));
      } else if (field.key == "redact_tokens") {
        DOPPEL_RETURN_IF_ERROR(Uint(field.value, key, &t->redact_tokens));
      } else if (field.key == "redact_containment") {
        DOPPEL_RETURN_IF_ERROR(Share(field.value, key, &t->redact_containment));
      } else if (field.key == "block_containment") {
        DOPPEL_RETURN_IF_ERROR(Share(field.value, key, &t->block_containment));
      } else {
        return Error(key, "unknown key");
      }
    }
    return Status::OK();
  }

  Status Actions(element e, std::array<Action, 4>* actions) const {
    object o;
    if (e.get_object().get(o)) return Error("actions", "expected an object of severity: action");
    for (auto field : o) {
      const std::string key = "actions." + std::string(field.key);
      auto severity = ParseAction(field.key);
      if (!severity.ok()) return Error(key, "unknown severity (allow, annotate, redact, block)");
      std::string_view name;
      if (field.value.get_string().get(name)) return Error(key, "expected an action name");
      auto action = ParseAction(name);
      if (!action.ok()) return Error(key, "unknown action \"" + std::string(name) + "\"");
      (*actions)[static_cast<size_t>(*severity)] = *action;
    }
    return Status::OK();
  }

 private:
  std::string_view where_;
};

}  // namespace

Result<Action> ParseAction(std::string_view name) {
  for (Action a : {Action::kAllow, Action::kAnnotate, Action::kRedact, Action::kBlock}) {
    if (ActionName(a) == name) return a;
  }
  return Status::InvalidArgument("unknown action \"" + std::string(name) + "\"");
}

namespace {

// A key given twice in one object of the policy (at any depth) is refused: which one would
// count is a guess (JSON leaves it open; readers differ).
Status RefuseRepeatedKeys(element e, const std::string& path, std::string_view where) {
  if (e.is_array()) {
    for (element v : e.get_array()) DOPPEL_RETURN_IF_ERROR(RefuseRepeatedKeys(v, path, where));
    return Status::OK();
  }
  if (!e.is_object()) return Status::OK();
  std::vector<std::string_view> keys;
  for (auto field : e.get_object()) {
    const std::string key = path.empty() ? std::string(field.key) : path + "." + std::string(field.key);
    if (std::find(keys.begin(), keys.end(), field.key) != keys.end()) {
      return Status::InvalidArgument(std::string(where) + ": policy key \"" + key + "\" is given twice");
    }
    keys.push_back(field.key);
    DOPPEL_RETURN_IF_ERROR(RefuseRepeatedKeys(field.value, key, where));
  }
  return Status::OK();
}

}  // namespace

Status ApplyPolicyJson(std::string_view json, std::string_view where, FilterOptions* options) {
  simdjson::dom::parser parser;
  element root;
  std::string scratch;
  if (auto err = ParseJson(&parser, json, &root, &scratch); err) {
    return Status::InvalidArgument(std::string(where) + ": policy is not valid JSON (" +
                                   DescribeJsonError(json, simdjson::error_message(err)) + ")");
  }
  object o;
  if (root.get_object().get(o)) {
    return Status::InvalidArgument(std::string(where) + ": policy must be a JSON object");
  }
  DOPPEL_RETURN_IF_ERROR(RefuseRepeatedKeys(root, "", where));
  PolicyReader r(where);
  for (auto field : o) {
    const std::string_view key = field.key;
    if (key == "text") {
      DOPPEL_RETURN_IF_ERROR(r.Thresholds(field.value, key, &options->text));
    } else if (key == "code") {
      DOPPEL_RETURN_IF_ERROR(r.Thresholds(field.value, key, &options->code));
    } else if (key == "min_renaming") {
      DOPPEL_RETURN_IF_ERROR(r.Share(field.value, key, &options->min_renaming));
    } else if (key == "min_renaming_evidence") {
      DOPPEL_RETURN_IF_ERROR(r.Uint(field.value, key, &options->min_renaming_evidence));
    } else if (key == "min_literal_agreement") {
      DOPPEL_RETURN_IF_ERROR(r.Share(field.value, key, &options->min_literal_agreement));
    } else if (key == "code_evidence_df") {
      DOPPEL_RETURN_IF_ERROR(r.Uint(field.value, key, &options->code_evidence_df));
    } else if (key == "code_whole_share") {
      DOPPEL_RETURN_IF_ERROR(r.Share(field.value, key, &options->code_whole_share));
    } else if (key == "code_whole_blocks") {
      DOPPEL_RETURN_IF_ERROR(r.Bool(field.value, key, &options->code_whole_blocks));
    } else if (key == "prose_in_code") {
      DOPPEL_RETURN_IF_ERROR(r.Bool(field.value, key, &options->prose_in_code));
    } else if (key == "bare_code") {
      DOPPEL_RETURN_IF_ERROR(r.Bool(field.value, key, &options->bare_code));
    } else if (key == "json_strings") {
      DOPPEL_RETURN_IF_ERROR(r.Bool(field.value, key, &options->json_strings));
    } else if (key == "diff_code") {
      DOPPEL_RETURN_IF_ERROR(r.Bool(field.value, key, &options->diff_code));
    } else if (key == "code_whole_blocks_min_tokens") {
      DOPPEL_RETURN_IF_ERROR(r.Uint(field.value, key, &options->code_whole_blocks_min_tokens));
    } else if (key == "code_whole_df") {
      DOPPEL_RETURN_IF_ERROR(r.Uint(field.value, key, &options->code_whole_df));
    } else if (key == "code_whole_min_tokens") {
      DOPPEL_RETURN_IF_ERROR(r.Uint(field.value, key, &options->code_whole_min_tokens));
    } else if (key == "code_whole_joint_df") {
      DOPPEL_RETURN_IF_ERROR(r.Uint(field.value, key, &options->code_whole_joint_df));
    } else if (key == "code_rare_items") {
      DOPPEL_RETURN_IF_ERROR(r.Uint(field.value, key, &options->code_rare_items));
    } else if (key == "code_name_df") {
      DOPPEL_RETURN_IF_ERROR(r.Uint(field.value, key, &options->code_name_df));
    } else if (key == "code_literal_bytes") {
      DOPPEL_RETURN_IF_ERROR(r.Uint(field.value, key, &options->code_literal_bytes));
    } else if (key == "code_verbatim_names") {
      DOPPEL_RETURN_IF_ERROR(r.Uint(field.value, key, &options->code_verbatim_names));
    } else if (key == "min_renaming_short") {
      DOPPEL_RETURN_IF_ERROR(r.Share(field.value, key, &options->min_renaming_short));
    } else if (key == "short_span_tokens") {
      DOPPEL_RETURN_IF_ERROR(r.Uint(field.value, key, &options->short_span_tokens));
    } else if (key == "max_document_frequency") {
      DOPPEL_RETURN_IF_ERROR(r.Uint(field.value, key, &options->max_document_frequency));
    } else if (key == "max_candidates") {
      DOPPEL_RETURN_IF_ERROR(r.Uint(field.value, key, &options->max_candidates));
    } else if (key == "actions") {
      DOPPEL_RETURN_IF_ERROR(r.Actions(field.value, &options->actions));
    } else if (key == "redact_marker") {
      DOPPEL_RETURN_IF_ERROR(r.Text(field.value, key, 1024, &options->redact_marker));
      if (options->redact_marker.find_first_of("\r\n") != std::string::npos) {
        return r.Error(key, "must be one line (it becomes a comment in redacted code)");
      }
    } else if (key == "block_message") {
      DOPPEL_RETURN_IF_ERROR(r.Text(field.value, key, 64 * 1024, &options->block_message));
    } else if (key == "annotate_message") {
      DOPPEL_RETURN_IF_ERROR(r.Text(field.value, key, 1024, &options->annotate_message));
      if (options->annotate_message.find_first_of("\r\n") != std::string::npos) {
        return r.Error(key, "must be one line (it becomes a comment in annotated code)");
      }
    } else {
      return r.Error(key, "unknown key");
    }
  }
  return Status::OK();
}

Status CheckPolicyRanges(const FilterOptions& options, const std::function<std::string(std::string_view)>& name_of) {
  for (const Bound& b : kBounds) {
    const double v = b.value(options);
    if (!(v >= b.lo && v <= b.hi)) {
      char given[32];
      std::snprintf(given, sizeof given, "%g", v);
      return Status::InvalidArgument(name_of(b.key) + " " + RangeText(b) + " (not " + given + ")");
    }
  }
  return Status::OK();
}

Result<FilterOptions> LoadPolicyFile(const std::string& path, const FilterOptions& base) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return Status::InvalidArgument(path + ": a policy file is a JSON file, not a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) return CannotOpen(path + ": cannot open policy file", errno);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Status::IOError(path + ": cannot read policy file");
  FilterOptions options = base;
  DOPPEL_RETURN_IF_ERROR(ApplyPolicyJson(ss.str(), path, &options));
  return options;
}

}  // namespace doppel
