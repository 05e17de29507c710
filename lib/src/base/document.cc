#include "doppel/document.h"

namespace doppel {

std::string_view KindName(Kind kind) { return kind == Kind::kCode ? "code" : "text"; }

}  // namespace doppel
