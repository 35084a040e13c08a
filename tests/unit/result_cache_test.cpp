#include "result_cache.h"

#include "classify.h"
#include "json_text.h"
#include "temp_dir.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace pvm {
namespace {

namespace fs = std::filesystem;

class FakeLauncher : public Launcher {
 public:
  BootOutcome boot(const CellSpec&) override {
    ++boots;
    return outcome;
  }
  void kill_all() override {}
  std::string name() const override { return "fake"; }
  BootOutcome outcome;
  int boots = 0;
};

BootOutcome passing_boot() {
  BootOutcome o;
  o.started = true;
  o.exit_code = 1;
  o.serial = "@pvm {\"v\":1,\"ev\":\"hello\",\"kernel\":\"2.6.25\",\"build\":\"x\"}\n"
             "@pvm {\"ev\":\"done\",\"pass\":0,\"fail\":0,\"skip\":0}\n"
             "binary \xff\xfe\x01 bytes\n";
  o.serial_bytes = o.serial.size();
  o.stderr_text = "warning";
  o.duration_ms = 42;
  o.cmdline = {"qemu-system-i386", "-kernel", "k.elf"};
  o.host = "localhost";
  return o;
}

struct Fixture {
  TempDir dir;
  CellSpec spec;
  Fixture() {
    spec.kernel = "2.6.25";
    spec.hv = "rom-1.12";
    spec.kernel_image = dir.file("kernel.elf", "kernel bytes");
    spec.rom_image = dir.file("rom.rom", "rom bytes");
  }
  std::string key(const CellSpec& s, const std::string& launcher = "qemu") {
    std::string err;
    auto k = cache_key(s, launcher, &err);
    EXPECT_TRUE(k) << err;
    return k.value_or("");
  }
};

TEST(CacheKey, ChangesWithEveryInput) {
  Fixture f;
  const std::string base = f.key(f.spec);
  EXPECT_EQ(base.size(), 64u);
  EXPECT_EQ(f.key(f.spec), base);  // stable

  auto differs = [&](const char* what, auto mutate, const std::string& launcher = "qemu") {
    CellSpec s = f.spec;
    mutate(s);
    EXPECT_NE(f.key(s, launcher), base) << what;
  };
  differs("kernel bytes", [&](CellSpec& s) { s.kernel_image = f.dir.file("kernel2.elf", "kernel bytez"); });
  differs("rom bytes", [&](CellSpec& s) { s.rom_image = f.dir.file("rom2.rom", "rom bytez"); });
  differs("no rom", [](CellSpec& s) { s.rom_image = ""; });
  differs("machine", [](CellSpec& s) { s.machine = "pc"; });
  differs("cpu", [](CellSpec& s) { s.cpu = "pentium"; });
  differs("memory", [](CellSpec& s) { s.memory_mib = 128; });
  differs("extra args", [](CellSpec& s) { s.extra_qemu_args = {"-smp", "2"}; });
  differs("cmdline", [](CellSpec& s) { s.cmdline = "pv.native=timer"; });
  differs("timeout", [](CellSpec& s) { s.timeout_s = 30; });
  differs("launcher", [](CellSpec&) {}, "libvirt");
  differs("family", [](CellSpec& s) { s.family = "xen"; });
  differs("qemu binary", [](CellSpec& s) { s.qemu = "/usr/bin/qemu-system-x86_64"; });
  differs("hypervisor bytes", [&](CellSpec& s) { s.hypervisor_image = f.dir.file("xen", "xen bytes"); });
  {
    CellSpec x = f.spec, y = f.spec;
    x.hypervisor_image = y.hypervisor_image = f.dir.file("xen-a", "xen bytes");
    y.hypervisor_cmdline = "dom0=pvh console=com1";
    EXPECT_NE(f.key(x), f.key(y)) << "hypervisor cmdline";
  }
  // Length-prefixed fields: moving text between fields changes the key.
  CellSpec a = f.spec, b = f.spec;
  a.extra_qemu_args = {"-a b"};
  b.extra_qemu_args = {"-a", "b"};
  EXPECT_NE(f.key(a), f.key(b));
}

TEST(CacheKey, IgnoresNamesAndPaths) {
  Fixture f;
  const std::string base = f.key(f.spec);
  CellSpec s = f.spec;
  s.kernel = "2.6.24";
  s.hv = "rom-1.13";
  s.config = "other";
  s.kernel_image = f.dir.file("copy-of-kernel.elf", "kernel bytes");
  EXPECT_EQ(f.key(s), base);
}

TEST(CacheKey, ElfDebugSectionsDoNotCount) {
  // A minimal ELF32 with one PT_LOAD of 4 bytes at file offset 84, then trailing "debug" bytes.
  auto elf = [](const std::string& load, const std::string& trailer) {
    std::string b(84, '\0');
    b[0] = 0x7f; b[1] = 'E'; b[2] = 'L'; b[3] = 'F'; b[4] = 1; b[5] = 1; b[6] = 1;
    auto put32 = [&](size_t off, uint32_t v) { for (int i = 0; i < 4; ++i) b[off + i] = char(v >> (8 * i)); };
    auto put16 = [&](size_t off, uint16_t v) { b[off] = char(v); b[off + 1] = char(v >> 8); };
    put32(24, 0x100000);  // entry
    put32(28, 52);        // phoff
    put16(42, 32);        // phentsize
    put16(44, 1);         // phnum
    put32(52, 1);         // PT_LOAD
    put32(56, 84);        // offset
    put32(60, 0x100000);  // vaddr
    put32(64, 0x100000);  // paddr
    put32(68, uint32_t(load.size()));
    put32(72, uint32_t(load.size()));
    put32(76, 5);
    return b + load + trailer;
  };
  Fixture f;
  std::string err;
  auto d1 = image_digest(f.dir.file("a.elf", elf("code", "/build/one/kernel.cpp")), &err);
  auto d2 = image_digest(f.dir.file("b.elf", elf("code", "/other/tree/kernel.cpp")), &err);
  auto d3 = image_digest(f.dir.file("c.elf", elf("cod3", "/build/one/kernel.cpp")), &err);
  ASSERT_TRUE(d1 && d2 && d3) << err;
  EXPECT_EQ(*d1, *d2);
  EXPECT_NE(*d1, *d3);
}

TEST(CacheKey, TheKernelsBuildIdDoesNotCount) {
  // The real reference kernel: its build id (the revision it was built at) sits in its own
  // section; another build id gives the same digest, another byte of code does not.
  std::string bytes, err;
  ASSERT_TRUE(read_text_file(std::string(PVMATRIX_IMAGE_DIR) + "/kernel-2.6.25.elf", &bytes, &err)) << err;
  const std::string loaded = elf32_loaded_content(bytes);
  ASSERT_FALSE(loaded.empty());
  std::string id(".pvm_build_id");  // find the section's bytes through the section headers
  auto u32 = [&](size_t at) { uint32_t v = 0; for (int i = 0; i < 4; ++i) v |= uint32_t(uint8_t(bytes[at + i])) << (8 * i); return v; };
  auto u16 = [&](size_t at) { return uint16_t(uint8_t(bytes[at]) | uint8_t(bytes[at + 1]) << 8); };
  const size_t shoff = u32(32), shentsize = u16(46), shnum = u16(48), strings = u32(shoff + u16(50) * shentsize + 16);
  size_t id_at = 0, id_size = 0;
  for (size_t i = 0; i < shnum; ++i)
    if (bytes.compare(strings + u32(shoff + i * shentsize), id.size() + 1, id.c_str(), id.size() + 1) == 0) {
      id_at = u32(shoff + i * shentsize + 16);
      id_size = u32(shoff + i * shentsize + 20);
    }
  ASSERT_GE(id_size, 16u) << "no .pvm_build_id section in kernel-2.6.25.elf";
  std::string other = bytes;
  other.replace(id_at, 13, "g0123456789ab");
  ASSERT_NE(other, bytes);
  EXPECT_EQ(elf32_loaded_content(other), loaded);
  other = bytes;
  other[id_at - 1] = static_cast<char>(other[id_at - 1] ^ 1);  // the byte before it is the kernel's own
  EXPECT_NE(elf32_loaded_content(other), loaded);
}

TEST(CacheKey, MissingImageIsAnError) {
  Fixture f;
  CellSpec s = f.spec;
  s.kernel_image = f.dir.path() + "/nope.elf";
  std::string err;
  EXPECT_FALSE(cache_key(s, "qemu", &err));
  EXPECT_NE(err.find("nope.elf"), std::string::npos);
}

TEST(ResultCache, StoresAndLoadsExactly) {
  Fixture f;
  ResultCache cache(f.dir.path() + "/cache");
  std::string err;
  EXPECT_FALSE(cache.load(std::string(64, 'a')));
  BootOutcome o = passing_boot();
  ASSERT_TRUE(cache.store(std::string(64, 'a'), o, &err)) << err;
  auto back = cache.load(std::string(64, 'a'));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->serial, o.serial);
  EXPECT_EQ(back->exit_code, o.exit_code);
  EXPECT_EQ(back->stderr_text, o.stderr_text);
  EXPECT_EQ(back->cmdline, o.cmdline);
  EXPECT_EQ(back->duration_ms, 42u);
  // Corrupt entries are misses.
  std::ofstream(f.dir.path() + "/cache/bb/" + std::string(64, 'b') + ".json") << "{";
  EXPECT_FALSE(cache.load(std::string(64, 'b')));
}

TEST(CachingLauncher, BootsOnceThenHits) {
  Fixture f;
  ResultCache cache(f.dir.path() + "/cache");
  FakeLauncher fake;
  fake.outcome = passing_boot();
  CachingLauncher cached(fake, cache);
  EXPECT_EQ(cached.name(), "fake");
  auto first = cached.boot(f.spec);
  auto second = cached.boot(f.spec);
  EXPECT_EQ(fake.boots, 1);
  EXPECT_EQ(cached.boots(), 1u);
  EXPECT_EQ(cached.hits(), 1u);
  EXPECT_EQ(second.serial, first.serial);
  // Another command line is another cell: a miss.
  CellSpec other = f.spec;
  other.cmdline = "pv.native=timer";
  cached.boot(other);
  EXPECT_EQ(fake.boots, 2);
  // A new launcher over the same directory (a second run) hits.
  FakeLauncher fake2;
  CachingLauncher again(fake2, cache);
  again.boot(f.spec);
  EXPECT_EQ(fake2.boots, 0);
  EXPECT_EQ(again.hits(), 1u);
}

TEST(CachingLauncher, NeverCachesInfrastructureErrors) {
  Fixture f;
  ResultCache cache(f.dir.path() + "/cache");
  FakeLauncher fake;
  fake.outcome.started = false;
  fake.outcome.start_error = "qemu-system-i386: not found";
  CachingLauncher cached(fake, cache);
  cached.boot(f.spec);
  cached.boot(f.spec);
  EXPECT_EQ(fake.boots, 2);
  EXPECT_EQ(cached.hits(), 0u);
}

// A hang may be the host's doing: it is never a baseline without a fresh boot, neither when
// this pvmatrix booted it nor when an older one stored it.
TEST(CachingLauncher, NeverServesAHang) {
  Fixture f;
  f.spec.timeout_s = 1;
  ResultCache cache(f.dir.path() + "/cache");
  FakeLauncher fake;
  fake.outcome = passing_boot();
  fake.outcome.serial = "@pvm {\"v\":1,\"ev\":\"hello\",\"kernel\":\"2.6.25\",\"build\":\"x\",\"cmdline\":\"\"}\n";
  fake.outcome.exit_code.reset();
  fake.outcome.timed_out = true;
  ASSERT_EQ(classify(f.spec, fake.outcome).outcome, Status::Hang);
  CachingLauncher cached(fake, cache);
  cached.boot(f.spec);
  cached.boot(f.spec);
  EXPECT_EQ(fake.boots, 2);
  EXPECT_EQ(cached.hits(), 0u);
  // An entry an older pvmatrix wrote for the same inputs is booted again, not served.
  std::string err;
  ASSERT_TRUE(cache.store(f.key(f.spec, "fake"), fake.outcome, &err)) << err;
  cached.boot(f.spec);
  EXPECT_EQ(fake.boots, 3);
  EXPECT_EQ(cached.hits(), 0u);
}

TEST(CachingLauncher, UnreadableImageBootsUncached) {
  Fixture f;
  ResultCache cache(f.dir.path() + "/cache");
  FakeLauncher fake;
  fake.outcome = passing_boot();
  CachingLauncher cached(fake, cache);
  CellSpec s = f.spec;
  s.kernel_image = f.dir.path() + "/missing.elf";
  cached.boot(s);
  cached.boot(s);
  EXPECT_EQ(fake.boots, 2);
}

}  // namespace
}  // namespace pvm
