// The one file compiled per image: it picks the release profile (PVM_RELEASE_HEADER, set by
// kernel/CMakeLists.txt to releases/<release>.h) and derives the requirements manifest note
// from it at compile time, so the note cannot drift from what the kernel does.
#include <pvrom/abi.h>

#include <initializer_list>

#include "release.h"

#include PVM_RELEASE_HEADER

#if PVM_XEN_BACKEND
#include "arch/xen_notes.h"
#endif
static_assert(kProfile.xen_backend == PVM_XEN_BACKEND);

constinit const ReleaseProfile kRelease = kProfile;

namespace {

/// A constexpr string builder with a fixed capacity.
struct Manifest {
  char text[512] = {};
  unsigned length = 0;
  constexpr Manifest& add(const char* s) {
    while (*s) text[length++] = *s++;
    return *this;
  }
  constexpr Manifest& add(unsigned n) {
    char digits[10] = {};
    int count = 0;
    do digits[count++] = static_cast<char>('0' + n % 10), n /= 10;
    while (n);
    while (count) text[length++] = digits[--count];
    return *this;
  }
  constexpr Manifest& item(bool& first, const char* s) {
    if (!first) add(",");
    first = false;
    return add(s);
  }
  constexpr Manifest& call(bool& first, unsigned number, const char* prefix = "", int only_major = -1) {
    if (!first) add(",");
    first = false;
    add(prefix).add(number);
    if (only_major >= 0) add("@").add(static_cast<unsigned>(only_major));
    return *this;
  }
};

/// kernel/README.md "Requirements manifest" describes the grammar.
constexpr Manifest make_manifest(const ReleaseProfile& p) {
  Manifest m;
  m.add("release=").add(p.name);
  bool first = true;
  m.add(";api=");
  for (unsigned major = 0; major < 32; ++major)
    if (p.api_majors & api_major_bit(major)) {
      if (!first) m.add(",");
      first = false;
      m.add(major);
    }
  const bool api4 = p.api_majors & api_major_bit(4);

  m.add(";groups=");
  first = true;
  m.item(first, "cpu").item(first, "irq");
  if (p.binds_mmu) m.item(first, "mmu");
  if (p.binds_timer) m.item(first, "timer");
  if (p.binds_lazy) m.item(first, "lazy");

  m.add(";calls=");
  first = true;
  if (api4) m.call(first, pvrom::kCallGetFeatures, "!", 4);
  if (p.asks_features) m.call(first, pvrom::kCallGetFeatures, "", 3);
  for (unsigned c : {pvrom::kCallCpuid, pvrom::kCallSetCR3, pvrom::kCallGetCR3, pvrom::kCallEnableInterrupts,
                     pvrom::kCallDisableInterrupts, pvrom::kCallGetInterruptMask, pvrom::kCallSetInterruptMask,
                     pvrom::kCallIret, pvrom::kCallHalt, pvrom::kCallShutdown})
    m.call(first, c);
  if (p.binds_mmu)
    for (unsigned c : {pvrom::kCallSetPxE, pvrom::kCallInvalPage, pvrom::kCallFlushTLB}) m.call(first, c);
  if (p.binds_timer) {
    for (unsigned c : {pvrom::kCallGetCycleFrequency, pvrom::kCallGetCycleCounter, pvrom::kCallSetAlarm,
                       pvrom::kCallCancelAlarm, pvrom::kCallGetWallclockTime})
      m.call(first, c);
    if (api4) m.call(first, pvrom::kCallGetCycleCounter4, "", 4);
  }
  if (p.binds_lazy) m.call(first, pvrom::kCallSetLazyMode);
  m.call(first, pvrom::kCallSafeHalt);

  m.add(";features=");
  first = true;
  if (api4) m.item(first, "!get_features@4");
  if (p.binds_timer) {
    if (p.periodic_fallback)
      m.item(first, "oneshot_alarm|periodic_alarm");
    else
      m.item(first, "!oneshot_alarm|-timer");  // one-shot wherever there are timer calls
    m.item(first, "wallclock");
  }
  if (p.binds_mmu) m.item(first, "mmu");
  if (p.binds_lazy) m.item(first, "lazy_mmu").item(first, "lazy_defers");

  m.add(";counter=").add(p.clamps_counter ? "clamped" : "raw");
  m.add(";xen=").add(p.xen_backend ? "pvh" : "none");
  m.text[m.length] = '\0';
  return m;
}

constexpr Manifest kManifest = make_manifest(kProfile);

// ELF note "PVMATRIX", type 1, in the spirit of Xen's XEN_ELFNOTE_FEATURES: what this image
// needs from a ROM, readable by host tools without booting it (readelf -n shows it).
constexpr unsigned kDescSize = kManifest.length + 1;  // with the NUL

struct [[gnu::packed]] ManifestNote {
  uint32_t name_size;
  uint32_t desc_size;
  uint32_t type;
  char name[12];                      // "PVMATRIX\0", padded to 4 bytes
  char desc[(kDescSize + 3) & ~3u];   // NUL-terminated text, padded to 4 bytes
};

constexpr ManifestNote make_note() {
  ManifestNote n{};
  n.name_size = 9;
  n.desc_size = kDescSize;
  n.type = 1;
  const char name[] = "PVMATRIX";
  for (unsigned i = 0; i < sizeof name; ++i) n.name[i] = name[i];
  for (unsigned i = 0; i < kManifest.length; ++i) n.desc[i] = kManifest.text[i];
  return n;
}

}  // namespace

[[gnu::used, gnu::section(".note.pvmatrix"), gnu::aligned(4)]] constinit const ManifestNote kManifestNote = make_note();
