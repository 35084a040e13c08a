// libFuzzer target: matrix files and known-issue files as people write them (json_text.h
// plus matrix.h / known_issues.h validation). Any input must end in a value or an error
// message naming the file; nothing may crash, hang or leak.
#include <cstddef>
#include <cstdint>
#include <string>

#include "json_text.h"
#include "known_issues.h"
#include "matrix.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  static const pvm::MatrixUniverse universe{
      {"2.6.20", "2.6.21", "2.6.22", "2.6.24", "2.6.25", "fixture-pass"},
      {"rom-1.0", "rom-1.1", "rom-1.12", "rom-1.13", "rom-1.13.1", "rom-2.0"}};
  // known_issues paths resolve against the matrix's directory: a directory that does not exist.
  const std::string path = "/nonexistent-pvmatrix-fuzz/m.json";

  pvm::Matrix m;
  std::string err;
  bool ok = pvm::parse_matrix(text, path, universe, &m, &err);
  if (!ok && err.find(path) == std::string::npos) __builtin_trap();
  if (ok && m.cells.empty()) __builtin_trap();

  pvm::KnownIssues known;
  err.clear();
  if (!known.parse(text, path, &err) && err.find(path) == std::string::npos) __builtin_trap();
  for (const auto& issue : known.entries()) (void)issue.cells.size();
  (void)known.find("2.6.25", "rom-1.12", "default");

  pvm::JsonError jerr;
  if (auto doc = pvm::JsonText::parse(text, path, &jerr)) (void)doc->error_at("/a/0/b", "x");
  return 0;
}
