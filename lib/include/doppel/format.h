// Small JSON (and HTML) writing helpers shared by the front-ends (CLI verdict lines, stats, HTTP
// bodies, the scan's report).
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace doppel {

// The length of the valid UTF-8 character at s[i] (RFC 3629: no overlong forms, no surrogates,
// nothing past U+10FFFF), or 0 when the bytes there are not one.
size_t Utf8CharLength(std::string_view s, size_t i);

// Appends `s` as a JSON string literal. Control characters are escaped and each byte that is not
// part of valid UTF-8 (a file name can hold any byte) becomes U+FFFD, so the output is always
// valid JSON in UTF-8.
void AppendJsonString(std::string* out, std::string_view s);
// Appends `s` as HTML text: markup characters (< > & ") escaped, and each byte that is not part
// of valid UTF-8 as U+FFFD, so the page is valid UTF-8 as it declares.
void AppendHtml(std::string* out, std::string_view s);
// `s` for a terminal: each control character (below U+0020 but line feed and tab, DEL, and
// U+0080-U+009F) written as \xNN, so a file name holding an escape sequence is shown, not
// obeyed by the terminal; a message of several lines keeps them.
std::string ForTerminal(std::string_view s);
// Appends `s` as standard base64 (RFC 4648, padded), unquoted.
void AppendBase64(std::string* out, std::string_view s);
// Appends a double with up to 4 decimals, as JSON.
void AppendJsonNumber(std::string* out, double v);

// Where `json` first breaks the JSON grammar and what was expected there, as "at byte N
// (line L, column C): expected X, found Y" (the line and column only when N is past a newline);
// empty when the grammar holds (a parser may still refuse it: too deep, a number out of range,
// invalid UTF-8). For error messages: it reads the input again, byte by byte.
std::string JsonSyntaxError(std::string_view json);
// What a parser's refusal of `json` should say: JsonSyntaxError's place when the grammar is
// broken, the parser's own message otherwise.
std::string DescribeJsonError(std::string_view json, std::string_view parser_message);

}  // namespace doppel
