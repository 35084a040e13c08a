// The requirements manifest, read from the real built kernel images (PT_NOTE), from an
// image with the note in a section only, and parse errors that name what is wrong.
#include "kernel_manifest.h"

#include <cstring>
#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

namespace pvm {
namespace {

std::string kernel_image(const std::string& release) {
  return std::string(PVMATRIX_IMAGE_DIR) + "/kernel-" + release + ".elf";
}

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

KernelManifest load(const std::string& release) {
  std::string err;
  auto m = load_kernel_manifest(kernel_image(release), &err);
  EXPECT_TRUE(m) << err;
  return m ? *m : KernelManifest{};
}

std::vector<std::string> item_texts(const std::vector<ManifestItem>& items) {
  std::vector<std::string> out;
  for (const auto& i : items) out.push_back(i.text);
  return out;
}

TEST(KernelManifest, EveryBuiltImageCarriesItsRelease) {
  for (const char* r : {"2.6.20", "2.6.21", "2.6.22", "2.6.24", "2.6.25"}) {
    KernelManifest m = load(r);
    EXPECT_EQ(m.release, r);
    EXPECT_TRUE(m.speaks(3)) << r;
    EXPECT_TRUE(m.may_bind("cpu") && m.may_bind("irq")) << r;
  }
}

TEST(KernelManifest, Release2620BindsCpuAndIrqOnly) {
  KernelManifest m = load("2.6.20");
  EXPECT_EQ(m.api_majors, std::vector<uint8_t>{3});
  EXPECT_EQ(m.groups, (std::vector<std::string>{"cpu", "irq"}));
  EXPECT_TRUE(m.features.empty());
  EXPECT_EQ(m.counter, KernelManifest::Counter::Raw);
  for (const auto& c : m.calls) EXPECT_FALSE(c.is_requirement()) << c.text;
  EXPECT_EQ(m.calls_for(3), (std::vector<uint16_t>{0, 17, 21, 29, 30, 31, 32, 33, 35, 37, 74}));
}

TEST(KernelManifest, Release2621FallsBackToPeriodicAndDoesNotClamp) {
  KernelManifest m = load("2.6.21");
  EXPECT_TRUE(m.may_bind("timer"));
  EXPECT_FALSE(m.may_bind("mmu"));
  EXPECT_EQ(item_texts(m.features), (std::vector<std::string>{"oneshot_alarm|periodic_alarm", "wallclock"}));
  EXPECT_FALSE(m.features[0].is_requirement());
  EXPECT_EQ(m.counter, KernelManifest::Counter::Raw);
}

TEST(KernelManifest, Release2625NeedsOneShotWhereverThereIsATimer) {
  KernelManifest m = load("2.6.25");
  EXPECT_EQ(m.api_majors, (std::vector<uint8_t>{3, 4}));
  EXPECT_EQ(m.groups, (std::vector<std::string>{"cpu", "irq", "mmu", "timer", "lazy"}));
  EXPECT_EQ(m.counter, KernelManifest::Counter::Clamped);
  ASSERT_GE(m.features.size(), 2u);
  EXPECT_EQ(m.features[0].text, "!get_features@4");
  EXPECT_TRUE(m.features[0].is_requirement());
  EXPECT_TRUE(m.features[0].applies_to(4));
  EXPECT_FALSE(m.features[0].applies_to(3));
  const ManifestItem& oneshot = m.features[1];
  EXPECT_EQ(oneshot.text, "!oneshot_alarm|-timer");
  ASSERT_EQ(oneshot.alternatives.size(), 2u);
  EXPECT_EQ(oneshot.alternatives[0].need, ManifestAlternative::Need::Required);
  EXPECT_EQ(oneshot.alternatives[0].name, "oneshot_alarm");
  EXPECT_EQ(oneshot.alternatives[1].need, ManifestAlternative::Need::Forbidden);
  EXPECT_EQ(oneshot.alternatives[1].name, "timer");
  // Calls: GetFeatures mandatory on 4, asked on 3; 76 only on 4.
  auto on3 = m.calls_for(3), on4 = m.calls_for(4);
  EXPECT_NE(std::find(on3.begin(), on3.end(), 75), on3.end());
  EXPECT_EQ(std::find(on3.begin(), on3.end(), 76), on3.end());
  EXPECT_NE(std::find(on4.begin(), on4.end(), 76), on4.end());
  EXPECT_TRUE(m.calls[0].is_requirement());
  EXPECT_EQ(m.calls[0].alternatives[0].call, 75);
  EXPECT_EQ(m.calls[0].alternatives[0].api_major, 4);
}

TEST(KernelManifest, Release2624DiffersFrom2625OnlyInTheTimerRule) {
  KernelManifest a = load("2.6.24"), b = load("2.6.25");
  EXPECT_EQ(item_texts(a.calls), item_texts(b.calls));
  EXPECT_EQ(a.features[1].text, "oneshot_alarm|periodic_alarm");
  EXPECT_EQ(b.features[1].text, "!oneshot_alarm|-timer");
}

TEST(KernelManifest, NoteInASectionOnlyIsFoundToo) {
  // Drop the program headers (e_phnum = 0): the reader falls back to SHT_NOTE sections.
  std::vector<uint8_t> elf = read_bytes(kernel_image("2.6.22"));
  ASSERT_GT(elf.size(), 52u);
  elf[0x2c] = elf[0x2d] = 0;
  std::string err;
  auto text = find_manifest_note(elf, &err);
  ASSERT_TRUE(text) << err;
  EXPECT_TRUE(text->starts_with("release=2.6.22;")) << *text;
}

TEST(KernelManifest, ImagesWithoutAManifestSaySo) {
  std::string err;
  EXPECT_FALSE(load_kernel_manifest(std::string(PVMATRIX_IMAGE_DIR) + "/fixture-pass.elf", &err));
  EXPECT_NE(err.find("no PVMATRIX note"), std::string::npos) << err;
  std::vector<uint8_t> junk(100, 'x');
  EXPECT_FALSE(find_manifest_note(junk, &err));
  EXPECT_EQ(err, "not an ELF file");
  std::vector<uint8_t> elf = read_bytes(kernel_image("2.6.25"));
  elf[4] = 2;  // ELFCLASS64
  EXPECT_FALSE(find_manifest_note(elf, &err));
  EXPECT_NE(err.find("32-bit"), std::string::npos) << err;
  EXPECT_FALSE(load_kernel_manifest("/nonexistent/kernel.elf", &err));
  EXPECT_NE(err.find("/nonexistent/kernel.elf"), std::string::npos);
}

TEST(KernelManifest, TruncatedImageIsAnErrorNotACrash) {
  std::vector<uint8_t> elf = read_bytes(kernel_image("2.6.25"));
  for (size_t cut : {size_t{60}, elf.size() / 2, elf.size() - 1}) {
    std::vector<uint8_t> part(elf.begin(), elf.begin() + static_cast<long>(cut));
    std::string err;
    auto text = find_manifest_note(part, &err);
    if (!text) EXPECT_FALSE(err.empty());
  }
}

TEST(KernelManifest, ParseErrorsNameTheKeyAndItem) {
  std::string err;
  const std::string ok = "release=x;api=3;groups=cpu;calls=0;features=;counter=raw";
  EXPECT_TRUE(parse_kernel_manifest(ok, &err)) << err;
  struct Case {
    std::string text, want;
  } cases[] = {
      {"release=x;api=3;groups=cpu;calls=0;features=;counter=raw;color=red", "unknown key \"color\""},
      {"release=x;api=3;groups=cpu;calls=0;features=;counter=fast", "counter: unknown value"},
      {"release=x;api=3;groups=gpu;calls=0;features=;counter=raw", "unknown op group \"gpu\""},
      {"release=x;api=3;groups=cpu;calls=0,x1;features=;counter=raw", "bad call number in \"x1\""},
      {"release=x;api=3;groups=cpu;calls=0;features=!warp;counter=raw", "unknown feature \"warp\""},
      {"release=x;api=3;groups=cpu;calls=!75@z;features=;counter=raw", "bad API major suffix"},
      {"release=x;groups=cpu;calls=0;features=;counter=raw", "missing key \"api\""},
      {"release=x;api=3;api=4;groups=cpu;calls=0;features=;counter=raw", "given twice"},
      {"release", "not key=value"},
  };
  for (const Case& c : cases) {
    err.clear();
    EXPECT_FALSE(parse_kernel_manifest(c.text, &err)) << c.text;
    EXPECT_NE(err.find(c.want), std::string::npos) << c.text << " -> " << err;
  }
}

}  // namespace
}  // namespace pvm
