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

}  // namespace pvm
