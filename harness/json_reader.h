// Typed reads of a JsonText with located errors: the first failure is kept in *err as
// "file:line:col: field: message"; later reads after a failure do nothing. Shared by every
// validator of the files people write (version.json, kernel/linux descriptors).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "json_text.h"

namespace pvm {

class JsonReader {
 public:
  JsonReader(const JsonText& doc, JsonError* err) : doc_(doc), err_(err) {}

  using json = nlohmann::json;
  const json* get(const std::string& ptr, const char* type_name, bool (json::*is)() const,
                  bool required = true) {
    json::json_pointer jp(ptr);
    if (!doc_.root().contains(jp)) {
      if (required) fail(ptr, "missing required key");
      return nullptr;
    }
    const json& v = doc_.root().at(jp);
    if (!(v.*is)()) {
      fail(ptr, std::string("expected ") + type_name);
      return nullptr;
    }
    return &v;
  }
  bool string(const std::string& ptr, std::string* out, bool required = true) {
    const json* v = get(ptr, "a string", &json::is_string, required);
    if (v) *out = v->get<std::string>();
    return v || (!required && ok_);
  }
  bool fail(const std::string& ptr, std::string message) {
    if (ok_) *err_ = doc_.error_at(ptr, std::move(message));
    ok_ = false;
    return false;
  }
  bool ok() const { return ok_; }

 private:
  const JsonText& doc_;
  JsonError* err_;
  bool ok_ = true;
};

}  // namespace pvm
