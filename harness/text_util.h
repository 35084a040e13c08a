// Small text helpers every layer uses, written once.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pvm {

/// `parts` with `sep` between each two ("a, b, c"; "" for none).
std::string join(const std::vector<std::string>& parts, std::string_view sep);

/// `s` without leading and trailing spaces, tabs, carriage returns and newlines.
std::string trim(std::string_view s);

/// `s` in single quotes, one word for any POSIX shell ("it's" -> 'it'\''s').
std::string single_quoted(std::string_view s);

/// `s` as a person would type it: as is when it holds only plain characters (letters, digits,
/// - _ . / = : , + @ %), else single_quoted(s).
std::string shell_word(std::string_view s);

/// A command line for a human to reproduce `argv`: its shell_words joined by spaces ("" for none).
std::string shell_quote(const std::vector<std::string>& argv);

}  // namespace pvm
