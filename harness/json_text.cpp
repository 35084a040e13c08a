#include "json_text.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unordered_set>

#include <nlohmann/json.hpp>

namespace pvm {

TextPosition text_position(std::string_view text, size_t offset) {
  TextPosition pos;
  if (offset > text.size()) offset = text.size();
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++pos.line;
      pos.column = 1;
    } else {
      ++pos.column;
    }
  }
  return pos;
}

std::string JsonError::to_string() const {
  std::string s = file;
  if (line > 0) s += ":" + std::to_string(line) + ":" + std::to_string(column);
  s += ": ";
  if (!field.empty()) s += field + ": ";
  return s + message;
}

std::string field_name(std::string_view pointer) {
  std::string out;
  size_t i = 0;
  while (i < pointer.size()) {
    if (pointer[i] != '/') break;
    size_t end = pointer.find('/', i + 1);
    if (end == std::string_view::npos) end = pointer.size();
    std::string token;
    for (size_t k = i + 1; k < end; ++k) {
      if (pointer[k] == '~' && k + 1 < end) {
        token += pointer[k + 1] == '1' ? '/' : '~';
        ++k;
      } else {
        token += pointer[k];
      }
    }
    bool index = !token.empty() && token.find_first_not_of("0123456789") == std::string::npos;
    if (index) {
      out += "[" + token + "]";
    } else {
      if (!out.empty()) out += ".";
      out += token;
    }
    i = end;
  }
  return out;
}

namespace {

/// Files people write are shallow; deeper nesting is refused (it would only cost stack and memory).
constexpr int kMaxDepth = 64;

// Walks text that nlohmann already accepted, recording where each value (or its key) starts.
// Only the structure matters here: scalars are skipped, strings are decoded for keys. It also
// finds what nlohmann accepts silently but a person never means: duplicate keys (the last one
// would win) and absurd nesting.
class OffsetScanner {
 public:
  OffsetScanner(std::string_view text, std::unordered_map<std::string, size_t>* out)
      : text_(text), out_(out) {}

  /// Scans the document; false if it has a problem (see problem()).
  bool run() {
    if (text_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;  // a UTF-8 BOM, which nlohmann skips too
    skip_space();
    value("", pos_);
    return problem_.empty();
  }
  /// What is wrong, and the byte offset it is about.
  const std::string& problem() const { return problem_; }
  size_t problem_offset() const { return problem_at_; }

 private:
  void skip_space() {
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        ++pos_;
      } else if (c == '/' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '/') {
        while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
      } else if (c == '/' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '*') {
        size_t end = text_.find("*/", pos_ + 2);
        pos_ = end == std::string_view::npos ? text_.size() : end + 2;
      } else {
        break;
      }
    }
  }

  std::string string_token() {
    std::string s;
    ++pos_;  // opening quote
    while (pos_ < text_.size() && text_[pos_] != '"') {
      if (text_[pos_] == '\\' && pos_ + 1 < text_.size()) {
        char e = text_[pos_ + 1];
        switch (e) {
          case 'n': s += '\n'; break;
          case 't': s += '\t'; break;
          case 'r': s += '\r'; break;
          case 'b': s += '\b'; break;
          case 'f': s += '\f'; break;
          case 'u': s += "\\u"; break;  // rare in keys; kept raw
          default: s += e; break;
        }
        pos_ += 2;
      } else {
        s += text_[pos_++];
      }
    }
    ++pos_;  // closing quote
    return s;
  }

  static std::string escape(const std::string& key) {
    std::string out;
    for (char c : key) {
      if (c == '~') out += "~0";
      else if (c == '/') out += "~1";
      else out += c;
    }
    return out;
  }

  void fail(size_t at, std::string what) {
    if (problem_.empty()) problem_ = std::move(what), problem_at_ = at;
    pos_ = text_.size();  // stop scanning
  }

  void value(const std::string& pointer, size_t where) {
    if (!out_->count(pointer)) (*out_)[pointer] = where;
    if (pos_ >= text_.size()) return;
    char c = text_[pos_];
    if ((c == '{' || c == '[') && ++depth_ > kMaxDepth)
      return fail(pos_, "nested too deeply (more than " + std::to_string(kMaxDepth) + " levels)");
    if (c == '{') {
      ++pos_;
      skip_space();
      std::unordered_set<std::string> keys;
      while (pos_ < text_.size() && text_[pos_] != '}') {
        size_t key_at = pos_;
        if (text_[pos_] != '"') return fail(pos_, "unexpected character in an object");
        std::string key = string_token();
        if (!keys.insert(key).second) return fail(key_at, "duplicate key \"" + key + "\"");
        skip_space();
        ++pos_;  // ':'
        skip_space();
        value(pointer + "/" + escape(key), key_at);
        skip_space();
        if (pos_ < text_.size() && text_[pos_] == ',') ++pos_;
        skip_space();
      }
      ++pos_;
      --depth_;
    } else if (c == '[') {
      ++pos_;
      skip_space();
      size_t index = 0;
      while (pos_ < text_.size() && text_[pos_] != ']') {
        const size_t before = pos_;
        value(pointer + "/" + std::to_string(index++), pos_);
        if (pos_ == before) return fail(pos_, "unexpected character in an array");  // never loop in place
        skip_space();
        if (pos_ < text_.size() && text_[pos_] == ',') ++pos_;
        skip_space();
      }
      ++pos_;
      --depth_;
    } else if (c == '"') {
      string_token();
    } else {
      while (pos_ < text_.size() && std::string_view(",]} \t\r\n/").find(text_[pos_]) ==
                                        std::string_view::npos)
        ++pos_;
    }
  }

  std::string_view text_;
  std::unordered_map<std::string, size_t>* out_;
  size_t pos_ = 0;
  int depth_ = 0;
  std::string problem_;
  size_t problem_at_ = 0;
};

}  // namespace

std::optional<JsonText> JsonText::parse(std::string text, std::string file, JsonError* err) {
  JsonText doc;
  doc.file_ = std::move(file);
  doc.text_ = std::move(text);
  // nlohmann reads a NUL byte as the end of input (even inside a // comment), so the rest of
  // the file would be silently ignored: no text file people write holds one.
  if (size_t nul = doc.text_.find('\0'); nul != std::string::npos) {
    TextPosition pos = text_position(doc.text_, nul);
    *err = JsonError{doc.file_, pos.line, pos.column, "", "invalid JSON: a NUL byte (not a text file?)"};
    return std::nullopt;
  }
  try {
    doc.root_ = std::make_shared<const nlohmann::json>(
        nlohmann::json::parse(doc.text_, nullptr, /*allow_exceptions=*/true,
                              /*ignore_comments=*/true));
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte is 1-based: the position of the character that could not be read.
    size_t offset = e.byte > 0 ? e.byte - 1 : 0;
    TextPosition pos = text_position(doc.text_, offset);
    std::string what = e.what();
    // "[json.exception.parse_error.101] parse error at line 3, column 5: syntax error ..." -> the tail.
    size_t colon = what.find(": ", what.find("parse error"));
    if (colon != std::string::npos) what = what.substr(colon + 2);
    *err = JsonError{doc.file_, pos.line, pos.column, "", "invalid JSON: " + what};
    return std::nullopt;
  } catch (const nlohmann::json::exception& e) {
    // Not a syntax error but still the text's fault, e.g. "number overflow parsing '1e400'"
    // (out_of_range, which carries no position): point at the quoted token if it is found.
    std::string what = e.what();
    size_t open = what.find('\''), close = open == std::string::npos ? open : what.find('\'', open + 1);
    size_t at = close == std::string::npos ? std::string::npos : doc.text_.find(what.substr(open + 1, close - open - 1));
    TextPosition pos = text_position(doc.text_, at == std::string::npos ? 0 : at);
    if (size_t bracket = what.find("] "); bracket != std::string::npos) what = what.substr(bracket + 2);
    *err = JsonError{doc.file_, pos.line, pos.column, "", "invalid JSON: " + what};
    return std::nullopt;
  }
  OffsetScanner scanner(doc.text_, &doc.offsets_);
  if (!scanner.run()) {
    TextPosition pos = text_position(doc.text_, scanner.problem_offset());
    *err = JsonError{doc.file_, pos.line, pos.column, "", scanner.problem()};
    return std::nullopt;
  }
  return doc;
}

std::string cannot_read(const std::string& path, int errnum) {
  return path + ": cannot read: " + std::strerror(errnum);
}

bool read_text_file(const std::string& path, std::string* out, std::string* err) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *err = cannot_read(path, errno);
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

std::optional<JsonText> JsonText::read_file(const std::string& path, JsonError* err) {
  std::string text, why;
  if (!read_text_file(path, &text, &why)) {
    *err = JsonError{path, 0, 0, "", "cannot read file"};
    return std::nullopt;
  }
  return parse(std::move(text), path, err);
}

JsonError JsonText::error_at(std::string_view pointer, std::string message) const {
  JsonError e{file_, 0, 0, field_name(pointer), std::move(message)};
  // Fall back to the closest enclosing value we know the position of.
  std::string p(pointer);
  while (true) {
    auto it = offsets_.find(p);
    if (it != offsets_.end()) {
      TextPosition pos = text_position(text_, it->second);
      e.line = pos.line;
      e.column = pos.column;
      break;
    }
    if (p.empty()) break;
    p.resize(p.rfind('/'));
  }
  return e;
}

bool JsonText::check_keys(std::string_view pointer,
                          std::initializer_list<std::string_view> allowed, JsonError* err) const {
  const nlohmann::json& obj = root_->at(nlohmann::json::json_pointer(std::string(pointer)));
  if (!obj.is_object()) return true;
  for (const auto& [key, value] : obj.items()) {
    bool known = false;
    for (std::string_view a : allowed) known = known || a == key;
    if (!known) {
      std::string escaped;
      for (char c : key) escaped += c == '~' ? std::string("~0") : c == '/' ? std::string("~1") : std::string(1, c);
      *err = error_at(std::string(pointer) + "/" + escaped, "unknown key \"" + key + "\"");
      return false;
    }
  }
  return true;
}

}  // namespace pvm
