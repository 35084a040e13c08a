// Reading the JSON files people write (matrix, known issues, version.json): `//` comments
// allowed, and every error located as file:line:col plus the field it is about.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include <nlohmann/json_fwd.hpp>

namespace pvm {

/// A 1-based line and column in a text.
struct TextPosition {
  int line = 1;
  int column = 1;
};

/// Maps a byte offset in `text` to its 1-based line:column (offsets past the end map to the end).
TextPosition text_position(std::string_view text, size_t offset);

/// An error in a JSON file. line/column are 0 when unknown (e.g. the file cannot be read).
struct JsonError {
  std::string file;     ///< path as given
  int line = 0;
  int column = 0;
  std::string field;    ///< "calls[3].reloc", "" for the whole document
  std::string message;  ///< what is wrong, one line

  /// "file:line:col: field: message" (parts that are unknown are left out).
  std::string to_string() const;
};

/// A parsed JSON document that remembers where each value came from, so that a validator
/// can report "file:line:col: field: message" after parsing.
class JsonText {
 public:
  /// Parses `text` (`//` and `/* */` comments allowed); on a syntax error sets *err with its line.
  static std::optional<JsonText> parse(std::string text, std::string file, JsonError* err);
  /// Reads and parses a file; on failure sets *err (unreadable file, or syntax error).
  static std::optional<JsonText> read_file(const std::string& path, JsonError* err);

  const nlohmann::json& root() const { return *root_; }
  const std::string& file() const { return file_; }

  /// An error about the value at JSON pointer `pointer` ("/calls/3/reloc"), located at its key
  /// (object members) or at the value (array elements); the field reads "calls[3].reloc".
  JsonError error_at(std::string_view pointer, std::string message) const;

  /// Checks that the object at `pointer` has only keys in `allowed`; the first unknown key
  /// becomes *err ("unknown key \"x\"") and the result is false.
  bool check_keys(std::string_view pointer, std::initializer_list<std::string_view> allowed,
                  JsonError* err) const;

 private:
  JsonText() = default;
  std::string file_;
  std::string text_;
  std::shared_ptr<const nlohmann::json> root_;
  std::unordered_map<std::string, size_t> offsets_;  ///< JSON pointer -> byte offset of key/value
};

/// Reads a whole file, bytes as they are; false with `*err` = cannot_read(path, errno).
bool read_text_file(const std::string& path, std::string* out, std::string* err);
/// "<path>: cannot read: <reason>": what every reader of a file says when it cannot.
std::string cannot_read(const std::string& path, int errnum);

/// "/calls/3/reloc" -> "calls[3].reloc" (what error messages call a field).
std::string field_name(std::string_view pointer);

}  // namespace pvm
