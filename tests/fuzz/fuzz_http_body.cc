// libFuzzer target: the HTTP service's request body decoder (JSON fields and per-request
// policies) and the policy file decoder, on arbitrary bytes.
#include <simdjson.h>

#include <cstdint>
#include <string>

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
  return 0;
}
