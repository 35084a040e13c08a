#include "json_text.h"

#include <fstream>
#include <sstream>

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

// Walks text that nlohmann already accepted, recording where each value (or its key) starts.
// Only the structure matters here: scalars are skipped, strings are decoded for keys.
class OffsetScanner {
 public:
  OffsetScanner(std::string_view text, std::unordered_map<std::string, size_t>* out)
      : text_(text), out_(out) {}

  void run() {
    skip_space();
    value("", pos_);
  }

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

  void value(const std::string& pointer, size_t where) {
    if (!out_->count(pointer)) (*out_)[pointer] = where;
    if (pos_ >= text_.size()) return;
    char c = text_[pos_];
    if (c == '{') {
      ++pos_;
      skip_space();
      while (pos_ < text_.size() && text_[pos_] != '}') {
        size_t key_at = pos_;
        std::string key = string_token();
        skip_space();
        ++pos_;  // ':'
        skip_space();
        value(pointer + "/" + escape(key), key_at);
        skip_space();
        if (pos_ < text_.size() && text_[pos_] == ',') ++pos_;
        skip_space();
      }
      ++pos_;
    } else if (c == '[') {
      ++pos_;
      skip_space();
      size_t index = 0;
      while (pos_ < text_.size() && text_[pos_] != ']') {
        value(pointer + "/" + std::to_string(index++), pos_);
        skip_space();
        if (pos_ < text_.size() && text_[pos_] == ',') ++pos_;
        skip_space();
      }
      ++pos_;
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
};

}  // namespace

std::optional<JsonText> JsonText::parse(std::string text, std::string file, JsonError* err) {
  JsonText doc;
  doc.file_ = std::move(file);
  doc.text_ = std::move(text);
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
  }
  OffsetScanner(doc.text_, &doc.offsets_).run();
  return doc;
}

std::optional<JsonText> JsonText::read_file(const std::string& path, JsonError* err) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *err = JsonError{path, 0, 0, "", "cannot read file"};
    return std::nullopt;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse(ss.str(), path, err);
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
