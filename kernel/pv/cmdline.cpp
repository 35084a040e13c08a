#include "pv/cmdline.h"

#include "lib/string.h"
#include "pv/pvops.h"

namespace pv {
namespace {

constexpr const char kNativeKey[] = "pv.native=";
constexpr size_t kNativeKeyLength = sizeof kNativeKey - 1;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n'; }

void parse_native(const char* list, size_t n, CommandLine& out) {
  size_t start = 0;
  while (start <= n) {
    size_t end = start;
    while (end < n && list[end] != ',') ++end;
    const char* name = list + start;
    size_t len = end - start;
    if (len > 0) {
      bool known = false;
      if (str_eq_n(name, len, "all")) {
        out.native_groups = (1u << kGroupCount) - 1;
        known = true;
      }
      for (int g = 0; g < kGroupCount && !known; ++g) {
        if (str_eq_n(name, len, kGroupNames[g])) {
          out.native_groups |= 1u << g;
          known = true;
        }
      }
      if (!known) {
        size_t used = strlen(out.unknown);
        if (used && used + 1 < sizeof out.unknown) out.unknown[used++] = ',';
        for (size_t i = 0; i < len && used + 1 < sizeof out.unknown; ++i) out.unknown[used++] = name[i];
        out.unknown[used] = '\0';
      }
    }
    start = end + 1;
  }
}

}  // namespace

void parse_command_line(const char* cmdline, CommandLine& out) {
  if (!cmdline) return;
  const char* p = cmdline;
  while (is_space(*p)) ++p;
  while (*p && !is_space(*p)) ++p;  // the image path
  while (is_space(*p)) ++p;
  str_copy(out.args, sizeof out.args, p);
  // Trim trailing blanks so "cmdline" in the hello record is exactly what -append gave.
  for (size_t n = strlen(out.args); n && is_space(out.args[n - 1]); --n) out.args[n - 1] = '\0';

  for (const char* t = out.args; *t;) {
    while (is_space(*t)) ++t;
    const char* end = t;
    while (*end && !is_space(*end)) ++end;
    size_t len = static_cast<size_t>(end - t);
    if (len >= kNativeKeyLength && memcmp(t, kNativeKey, kNativeKeyLength) == 0)
      parse_native(t + kNativeKeyLength, len - kNativeKeyLength, out);
    t = end;
  }
}

}  // namespace pv
