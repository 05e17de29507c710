// Policy: the judging half of FilterOptions (thresholds per kind, the action for each severity,
// the marker and block texts) read from JSON, so a service can load a policy file and each
// request may carry its own overrides.
//
// A policy is one JSON object; every key is optional and overrides the options it is applied to:
//   {
//     "text": {"min_span_tokens": 12, "redact_tokens": 30,
//              "redact_containment": 0.5, "block_containment": 0.8},
//     "code": {"min_span_tokens": 20, "redact_tokens": 25,
//              "redact_containment": 0.5, "block_containment": 0.8},
//     "min_renaming": 0.8,             // share of consistently renamed names for code to count
//     "min_renaming_evidence": 0,      // repeated-name occurrences a code span must rest on
//     "code_evidence_df": 2,           // code tokens weigh min(1, this / fingerprint df)
//     "min_literal_agreement": 0.5,    // share of aligned code literals that must agree
//     "code_whole_share": 0.8,         // a code span covering this share of its block is whole
//     "code_whole_df": 16,             // ... and its tokens weigh min(1, this / fingerprint df)
//     "code_whole_min_tokens": 12,     // a whole block under code.min_span_tokens (0: never)
//     "code_whole_joint_df": 1,        // a whole block whose fingerprints at most this many
//                                      // documents hold all together: full weight (0: off)
//     "code_rare_items": 2,            // names/strings of the source few documents use: full weight
//     "code_name_df": 8,               // ... "few": at most this many protected code documents
//     "code_literal_bytes": 16,        // ... strings of at least this many bytes
//     "code_verbatim_names": 3,        // a whole block with this many names none renamed:
//                                      // one rare item is enough (0: off)
//     "min_renaming_short": 0.95,      // min_renaming of code spans under short_span_tokens
//     "short_span_tokens": 40,
//     "max_document_frequency": 512,   // fingerprints in more documents are boilerplate
//     "max_candidates": 12,            // documents aligned per answer (1..256)
//     "actions": {"annotate": "annotate", "redact": "block"},  // severity -> action
//     "redact_marker": "[redacted: similar to {source}]",       // {source} = the source's name
//     "block_message": "[blocked: this answer reproduces protected content]",
//     "annotate_message": "[note: this answer resembles {sources}]"  // "" leaves it unchanged
//   }
// Unknown keys, wrong types and out-of-range values are errors naming the key, so a typo never
// silently leaves a default in force. Thread-safety: pure functions.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "doppel/options.h"
#include "doppel/status.h"

namespace doppel {

// Applies the policy in `json` to `*options`. On error `*options` may be partly changed; apply
// to a copy when that matters. `where` names the input in errors ("policy.json", "request").
Status ApplyPolicyJson(std::string_view json, std::string_view where, FilterOptions* options);

// Checks every number a policy sets against the range a policy file is held to, naming the
// first one out of range (a NaN too) as `name_of(key)` does with its policy key (for the
// command line: its flag). For options set otherwise than by a policy.
Status CheckPolicyRanges(const FilterOptions& options, const std::function<std::string(std::string_view key)>& name_of);

// Reads a policy file and applies it to a copy of `base`.
Result<FilterOptions> LoadPolicyFile(const std::string& path, const FilterOptions& base);

// Parses an action name ("allow", "annotate", "redact", "block").
Result<Action> ParseAction(std::string_view name);

}  // namespace doppel
