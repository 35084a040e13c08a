// The one file compiled per image: it picks the release profile (PVM_RELEASE_HEADER, set by
// kernel/CMakeLists.txt to releases/<release>.h) and carries the requirements manifest note.
#include "release.h"

#include PVM_RELEASE_HEADER

constinit const ReleaseProfile kRelease = kProfile;

// ELF note "PVMATRIX", type 1 (kernel/README.md "Requirements manifest"): what this image
// needs from a ROM, readable without booting it (in the spirit of XEN_ELFNOTE_FEATURES).
namespace {
constexpr char kManifest[] = PVM_MANIFEST;
struct [[gnu::packed]] ManifestNote {
  uint32_t name_size = 9;  // "PVMATRIX\0"
  uint32_t desc_size = sizeof kManifest;
  uint32_t type = 1;
  char name[12] = "PVMATRIX";  // padded to 4 bytes
  char desc[(sizeof kManifest + 3) & ~3u] = {};
};
constexpr ManifestNote make_note() {
  ManifestNote n;
  for (unsigned i = 0; i < sizeof kManifest; ++i) n.desc[i] = kManifest[i];
  return n;
}
[[gnu::used, gnu::section(".note.pvmatrix"), gnu::aligned(4)]] constexpr ManifestNote kManifestNote = make_note();
}  // namespace
