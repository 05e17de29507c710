// libFuzzer target: the HTTP service's request body decoder (JSON fields and per-request
// policies) and the policy file decoder, on arbitrary bytes; and JsonSyntaxError against
// simdjson: JSON simdjson accepts has no syntax error, and JSON it refuses for its grammar
// (not for its depth, a number's range or its UTF-8) has one.
#include <simdjson.h>

#include <cstdint>
#include <string>

#include "doppel/format.h"
#include "doppel/policy.h"
#include "server.h"

using namespace doppel;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  static simdjson::dom::parser parser;
  CheckBody b;
  (void)DecodeCheckBody(body, FilterOptions(), (size % 2) == 0, &parser, &b);
  FilterOptions o;
  (void)ApplyPolicyJson(body, "fuzz", &o);

  simdjson::dom::element e;
  const auto err = parser.parse(body).get(e);
  const bool found = !JsonSyntaxError(body).empty();
  if (!err && found) __builtin_trap();
  switch (err) {
    case simdjson::TAPE_ERROR:
    case simdjson::STRING_ERROR:
    case simdjson::T_ATOM_ERROR:
    case simdjson::F_ATOM_ERROR:
    case simdjson::N_ATOM_ERROR:
    case simdjson::UNCLOSED_STRING:
    case simdjson::UNESCAPED_CHARS:
    case simdjson::EMPTY:
      if (!found) __builtin_trap();
      break;
    default: break;
  }
  return 0;
}
