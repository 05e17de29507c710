# Embeds grammars/languages/*.lang into a generated C++ header (build tree only), so the binary
# carries its normalization tables and needs no data files at run time.
file(GLOB _tables "${TABLE_DIR}/*.lang")
list(SORT _tables)
set(_out "// Generated from grammars/languages/*.lang at build time; do not edit.\n#pragma once\n#include <cstddef>\nnamespace doppel {\ninline constexpr const char* kLanguageTables[] = {\n")
foreach(_t ${_tables})
  file(READ "${_t}" _content)
  string(APPEND _out "R\"doppeltable(${_content})doppeltable\",\n")
endforeach()
list(LENGTH _tables _n)
string(APPEND _out "};\ninline constexpr size_t kLanguageTableCount = ${_n};\n}  // namespace doppel\n")
file(WRITE "${OUT}.tmp" "${_out}")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different "${OUT}.tmp" "${OUT}")
