#include "text_util.h"

#include <cctype>

namespace pvm {

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

std::string trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n";
  const size_t b = s.find_first_not_of(kSpace);
  if (b == std::string_view::npos) return "";
  return std::string(s.substr(b, s.find_last_not_of(kSpace) - b + 1));
}

std::string single_quoted(std::string_view s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string_view("'\\''") : std::string_view(&c, 1);
  return q + "'";
}

std::string shell_word(std::string_view s) {
  bool plain = !s.empty();
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || std::string_view("-_./=:,+@%").find(c) != std::string_view::npos))
      plain = false;
  return plain ? std::string(s) : single_quoted(s);
}

std::string shell_quote(const std::vector<std::string>& argv) {
  std::vector<std::string> words;
  words.reserve(argv.size());
  for (const std::string& arg : argv) words.push_back(shell_word(arg));
  return join(words, " ");
}

}  // namespace pvm
