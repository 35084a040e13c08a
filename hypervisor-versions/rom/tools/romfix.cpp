// romfix: objcopy'd ROM binary -> a finished image: padded to 512-byte blocks, rom_length
// set, checksum_adjust chosen so the byte sum is 0, then verified with the same parser the
// harness uses (and, with --check, against the version.json it was built from).
// With --corrupt it then damages the image on purpose, for the kernel's refusal tests.
//   romfix [--check <version-dir>] [--corrupt checksum|truncate|api9] <in.bin> <out.rom>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "hypervisor_version.h"
#include "rom_image.h"

namespace {

int fail(const std::string& msg) {
  std::fprintf(stderr, "romfix: %s\n", msg.c_str());
  return 1;
}

void fix_checksum(std::vector<uint8_t>& img) {
  auto* h = reinterpret_cast<pvrom::RomHeader*>(img.data());
  h->checksum_adjust = 0;
  uint8_t sum = 0;
  for (uint8_t b : img) sum = static_cast<uint8_t>(sum + b);
  h->checksum_adjust = static_cast<uint8_t>(-sum);
}

}  // namespace

int main(int argc, char** argv) {
  std::string check_dir, corrupt, in_path, out_path;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--check" && i + 1 < argc) check_dir = argv[++i];
    else if (a == "--corrupt" && i + 1 < argc) corrupt = argv[++i];
    else if (in_path.empty()) in_path = a;
    else if (out_path.empty()) out_path = a;
    else return fail("usage: romfix [--check <version-dir>] [--corrupt checksum|truncate|api9] <in.bin> <out.rom>");
  }
  if (out_path.empty()) return fail("usage: romfix [--check <version-dir>] [--corrupt checksum|truncate|api9] <in.bin> <out.rom>");
  if (!corrupt.empty() && corrupt != "checksum" && corrupt != "truncate" && corrupt != "api9")
    return fail("unknown --corrupt kind \"" + corrupt + "\" (checksum, truncate, api9)");

  std::ifstream in(in_path, std::ios::binary);
  if (!in) return fail(in_path + ": cannot read");
  std::vector<uint8_t> img((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (img.size() < sizeof(pvrom::RomHeader)) return fail(in_path + ": smaller than a header");
  img.resize((img.size() + 511) / 512 * 512, 0);
  if (img.size() > pvrom::kMaxImageSize)
    return fail(in_path + ": " + std::to_string(img.size()) + " bytes, more than kMaxImageSize");
  reinterpret_cast<pvrom::RomHeader*>(img.data())->rom_length = static_cast<uint8_t>(img.size() / 512);
  fix_checksum(img);

  std::string err;
  auto rom = pvm::parse_rom_image(img, &err);
  if (!rom) return fail(in_path + ": the finished image does not validate: " + err);
  if (!check_dir.empty()) {
    pvm::JsonError jerr;
    auto v = pvm::load_hypervisor_version(check_dir, &jerr);
    if (!v) return fail(jerr.to_string());
    auto diffs = pvm::check_rom_matches_version(*rom, *v);
    for (const auto& d : diffs) std::fprintf(stderr, "romfix: %s: %s\n", v->path.c_str(), d.c_str());
    if (!diffs.empty()) return fail(in_path + ": the ROM disagrees with its version.json");
  }

  if (corrupt == "checksum") {
    img.back() = static_cast<uint8_t>(img.back() + 0x3c);  // a padding byte: only the sum changes
  } else if (corrupt == "truncate") {
    img.resize(img.size() - 512 / 2);  // half a block short: the length check fails
  } else if (corrupt == "api9") {
    reinterpret_cast<pvrom::RomHeader*>(img.data())->api_major = 9;
    fix_checksum(img);  // only the API check fails
  }
  if (!corrupt.empty() && pvm::parse_rom_image(img, &err))
    return fail("--corrupt " + corrupt + " left a valid image");

  std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(img.data()), static_cast<std::streamsize>(img.size()));
  if (!out) return fail(out_path + ": cannot write");
  return 0;
}
