// libFuzzer target: the serial protocol parser and the classifier on untrusted guest output.
// The input is split at an arbitrary point and fed as two chunks (lines straddle chunks), then
// classified as a boot that exited with the status the first byte picks.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "classify.h"
#include "protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t cut = size ? data[0] % (size + 1) : 0;
  pvm::SerialParser parser;
  parser.feed(text.substr(0, cut));
  parser.feed(text.substr(cut));
  pvm::ParsedSerial serial = parser.finish();
  if (serial.lines.empty() && size > 0 && text.find('\n') != std::string_view::npos) __builtin_trap();

  pvm::CellSpec spec;
  spec.kernel = "2.6.25";
  spec.hv = "rom-1.12";
  spec.config = "default";
  spec.timeout_s = 1;
  pvm::BootOutcome boot;
  boot.started = true;
  boot.exit_code = size ? (data[size - 1] & 7) : 1;
  boot.timed_out = size > 1 && data[1] == 'T';
  boot.serial = std::string(text);
  pvm::CellResult r = pvm::classify(spec, boot, serial);
  if (r.attempts.size() != 1) __builtin_trap();
  (void)pvm::cap_field(text, size / 2);
  return 0;
}
