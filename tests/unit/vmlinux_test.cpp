// extract_vmlinux: synthetic bzImages (a fake setup header and a tiny ELF compressed with xz,
// zstd and gzip here) extract; damaged ones give an error naming what is wrong, never a crash;
// the real Debian kernels, when present, extract to the expected ELF class.
#include "vmlinux.h"

#include <lzma.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>

#include <map>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "atomic_file.h"

#include "json_text.h"
#include "real_kernels.h"
#include "test_bytes.h"

namespace pvm {
namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;

using test::put_le;

/// A small ELF: a header of the given class followed by a compressible body.
std::string tiny_elf(bool is64, size_t body = 8192) {
  std::string e(is64 ? 64 : 52, '\0');
  e[0] = 0x7f, e[1] = 'E', e[2] = 'L', e[3] = 'F';
  e[4] = is64 ? 2 : 1;
  e[5] = 1;
  e[6] = 1;
  put_le(e, 16, 2, 2);                // ET_EXEC
  put_le(e, 18, is64 ? 62 : 3, 2);    // EM_X86_64 / EM_386
  for (size_t i = 0; i < body; ++i) e += static_cast<char>("vmlinux body "[i % 13]);
  return e;
}

std::string xz(const std::string& in) {
  std::string out(lzma_stream_buffer_bound(in.size()), '\0');
  size_t pos = 0;
  lzma_ret r = lzma_easy_buffer_encode(6, LZMA_CHECK_CRC32, nullptr, reinterpret_cast<const uint8_t*>(in.data()),
                                       in.size(), reinterpret_cast<uint8_t*>(out.data()), &pos, out.size());
  EXPECT_EQ(r, LZMA_OK);
  out.resize(pos);
  return out;
}

/// With a checksum, as the zstd tool writes by default (Linux's `zstd -22 --ultra`).
std::string zstd(const std::string& in) {
  std::string out(ZSTD_compressBound(in.size()), '\0');
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, 19);
  ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
  size_t n = ZSTD_compress2(c, out.data(), out.size(), in.data(), in.size());
  ZSTD_freeCCtx(c);
  EXPECT_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

std::string gzip(const std::string& in) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, in.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

/// Linux appends the decompressed size (le32) to the compressed kernel.
std::string with_size(std::string payload, size_t size) {
  payload.resize(payload.size() + 4);
  put_le(payload, payload.size() - 4, size, 4);
  return payload;
}

struct Layout {
  uint8_t setup_sects = 4;    ///< as stored (0 means 4)
  uint16_t version = 0x020f;
  uint32_t payload_offset = 0x1c0;
  int64_t length_delta = 0;   ///< added to payload_length as stored
  size_t tail = 64;           ///< bytes after the payload
};

std::string bzimage(const std::string& payload, const Layout& l = {}) {
  size_t setup = (static_cast<size_t>(l.setup_sects ? l.setup_sects : 4) + 1) * 512;
  std::string b(setup + l.payload_offset, '\0');
  b[0x1f1] = static_cast<char>(l.setup_sects);
  put_le(b, 0x1fe, 0xaa55, 2);
  b.replace(0x202, 4, "HdrS");
  put_le(b, 0x206, l.version, 2);
  put_le(b, 0x248, l.payload_offset, 4);
  put_le(b, 0x24c, static_cast<uint32_t>(static_cast<int64_t>(payload.size()) + l.length_delta), 4);
  b += payload;
  b += std::string(l.tail, '\xcc');
  return b;
}

TEST(Vmlinux, ExtractsEachCompression) {
  for (bool is64 : {true, false}) {
    std::string elf = tiny_elf(is64);
    struct Case {
      const char* name;
      std::string payload;
    } cases[] = {{"xz", with_size(xz(elf), elf.size())},
                 {"zstd", with_size(zstd(elf), elf.size())},
                 {"gzip", gzip(elf)}};
    for (const Case& c : cases) {
      VmlinuxResult r = extract_vmlinux(bzimage(c.payload));
      ASSERT_TRUE(r.ok()) << c.name << ": " << r.error;
      EXPECT_EQ(r.compression, c.name);
      EXPECT_EQ(r.elf, elf) << c.name;
      EXPECT_EQ(r.elf_class(), is64 ? "ELF64" : "ELF32");
    }
  }
}

TEST(Vmlinux, SetupSectsZeroMeansFourAndOtherCounts) {
  std::string elf = tiny_elf(true);
  for (uint8_t sects : {0, 1, 4, 27}) {
    Layout l;
    l.setup_sects = sects;
    l.payload_offset = 0;
    VmlinuxResult r = extract_vmlinux(bzimage(xz(elf), l));
    ASSERT_TRUE(r.ok()) << int(sects) << ": " << r.error;
    EXPECT_EQ(r.elf, elf);
  }
}

TEST(Vmlinux, NoSizeBytesAndSizeHintWrongStillWork) {
  std::string elf = tiny_elf(true, 100000);
  EXPECT_TRUE(extract_vmlinux(bzimage(xz(elf))).ok());                    // no trailing size
  EXPECT_TRUE(extract_vmlinux(bzimage(with_size(zstd(elf), 1))).ok());    // hint far too small
  EXPECT_TRUE(extract_vmlinux(bzimage(with_size(xz(elf), 0xffffffff))).ok());  // hint absurd
}

TEST(Vmlinux, NotABzImage) {
  std::string b = bzimage(xz(tiny_elf(true)));
  b.replace(0x202, 4, "HdrX");
  EXPECT_EQ(extract_vmlinux(b).error, "not a bzImage: no HdrS magic at 0x202");
  EXPECT_THAT(extract_vmlinux("").error, HasSubstr("not a bzImage: only 0 bytes"));
  EXPECT_THAT(extract_vmlinux(tiny_elf(true)).error, HasSubstr("not a bzImage"));
}

TEST(Vmlinux, TruncatedFiles) {
  std::string b = bzimage(xz(tiny_elf(true)));
  EXPECT_THAT(extract_vmlinux(b.substr(0, 0x100)).error, HasSubstr("too short for a setup header"));
  EXPECT_THAT(extract_vmlinux(b.substr(0, 0x210)).error, HasSubstr("truncated: 528 bytes"));
  EXPECT_THAT(extract_vmlinux(b.substr(0, 0x600)).error, HasSubstr("truncated: the setup code is 2560 bytes"));
  // Cut inside the payload: payload_length now points past the end.
  EXPECT_THAT(extract_vmlinux(b.substr(0, b.size() - 100)).error, HasSubstr("payload runs past the end of the file"));
}

TEST(Vmlinux, OldBootProtocol) {
  Layout l;
  l.version = 0x0206;
  EXPECT_THAT(extract_vmlinux(bzimage(xz(tiny_elf(true)), l)).error, HasSubstr("boot protocol 2.06 is older than 2.08"));
}

TEST(Vmlinux, PayloadOutOfBounds) {
  std::string p = xz(tiny_elf(true));
  Layout l;
  l.length_delta = 1000;
  l.tail = 0;
  std::string b = bzimage(p, l);
  size_t start = 5 * 512 + l.payload_offset;
  EXPECT_EQ(extract_vmlinux(b).error, "payload runs past the end of the file (offset " + std::to_string(start) +
                                          " + length " + std::to_string(p.size() + 1000) + " > size " +
                                          std::to_string(b.size()) + ")");
  // The offset alone is past the end; no wrap-around.
  std::string b2 = bzimage("", Layout{});
  put_le(b2, 0x248, 0xfffffff0, 4);
  put_le(b2, 0x24c, 0xffffffff, 4);
  EXPECT_THAT(extract_vmlinux(b2).error, HasSubstr("payload runs past the end of the file"));
}

TEST(Vmlinux, CorruptPayloads) {
  std::string elf = tiny_elf(true, 50000);
  auto corrupt = [](std::string p) {
    for (size_t i = p.size() / 3; i < p.size() / 3 + 16; ++i) p[i] = static_cast<char>(p[i] ^ 0x5a);
    return p;
  };
  EXPECT_THAT(extract_vmlinux(bzimage(corrupt(xz(elf)))).error, HasSubstr("xz payload: corrupt data (lzma error "));
  EXPECT_THAT(extract_vmlinux(bzimage(corrupt(zstd(elf)))).error, HasSubstr("zstd payload: corrupt data"));
  EXPECT_THAT(extract_vmlinux(bzimage(corrupt(gzip(elf)))).error, HasSubstr("gzip payload: corrupt data"));
}

TEST(Vmlinux, TruncatedPayloads) {
  std::string elf = tiny_elf(true, 50000);
  for (auto [name, p] : {std::pair{"xz", xz(elf)}, std::pair{"zstd", zstd(elf)}, std::pair{"gzip", gzip(elf)}}) {
    std::string cut = p.substr(0, p.size() / 2);
    VmlinuxResult r = extract_vmlinux(bzimage(cut));
    EXPECT_THAT(r.error, HasSubstr(std::string(name) + " payload: truncated")) << name;
    EXPECT_TRUE(r.elf.empty());
  }
}

TEST(Vmlinux, UnsupportedCompressionsAreNamed) {
  struct Case {
    const char* name;
    std::string magic;
  } cases[] = {{"lzma", std::string("\x5d\x00\x00\x00\x02\xff\xff", 7)},
               {"bzip2", "BZh91AY&SY"},
               {"lz4", std::string("\x02\x21\x4c\x18\x00\x00\x00", 7)},
               {"lz4", std::string("\x04\x22\x4d\x18\x64\x40\xa7", 7)},
               {"lzo", std::string("\x89LZO\x00\x0d\x0a\x1a\x0a", 9)}};
  for (const Case& c : cases) {
    VmlinuxResult r = extract_vmlinux(bzimage(c.magic + std::string(64, '\0')));
    EXPECT_EQ(r.error, std::string("payload is ") + c.name + "-compressed, which is not supported (supported: xz, zstd, gzip)");
    EXPECT_EQ(r.compression, c.name);
  }
  EXPECT_THAT(extract_vmlinux(bzimage(std::string(64, 'A'))).error,
              HasSubstr("payload compression not recognised (first bytes 41 41 41 41 41 41"));
}

TEST(Vmlinux, DecompressedNotAnElf) {
  EXPECT_THAT(extract_vmlinux(bzimage(xz("just some bytes, no ELF header"))).error,
              HasSubstr("decompressed payload is not an ELF (30 bytes starting 6a 75 73 74)"));
}

TEST(Vmlinux, OutputIsBounded) {
  std::string elf = tiny_elf(true, 300000);
  for (auto p : {xz(elf), zstd(elf), gzip(elf)}) {
    VmlinuxResult r = extract_vmlinux(bzimage(p), 100000);
    EXPECT_THAT(r.error, HasSubstr("decompressed size exceeds the limit of 100000 bytes"));
    EXPECT_TRUE(r.elf.empty());
    EXPECT_TRUE(extract_vmlinux(bzimage(p), elf.size()).ok());  // exactly at the limit is fine
  }
}

TEST(Vmlinux, RandomDamageNeverCrashes) {
  std::mt19937 rng(42);
  std::string elf = tiny_elf(true, 20000);
  for (std::string p : {with_size(xz(elf), elf.size()), with_size(zstd(elf), elf.size()), gzip(elf)}) {
    std::string good = bzimage(p);
    for (int i = 0; i < 300; ++i) {
      std::string b = good;
      int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f) {
        // Half the damage in the header fields, half anywhere.
        size_t at = (rng() % 2) ? 0x1f0 + rng() % 0x60 : rng() % b.size();
        b[at] = static_cast<char>(rng());
      }
      if (rng() % 4 == 0) b.resize(rng() % b.size());
      VmlinuxResult r = extract_vmlinux(b, 1 << 20);
      if (r.ok())
        EXPECT_EQ(r.elf.substr(0, 4), "\x7f" "ELF");
      else
        EXPECT_FALSE(r.error.empty());
    }
  }
}

TEST(Vmlinux, FileVersionWritesAtomicallyAndOnlyOnSuccess) {
  fs::path dir = fs::temp_directory_path() / ("pvm-vmlinux-test-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::string elf = tiny_elf(false);
  std::string good = (dir / "good.bz").string(), bad = (dir / "bad.bz").string();
  std::string out = (dir / "sub" / "vmlinux").string();
  std::string err;
  ASSERT_TRUE(write_file_atomically(good, bzimage(zstd(elf)), &err)) << err;
  ASSERT_TRUE(write_file_atomically(bad, "garbage", &err)) << err;

  VmlinuxResult r = extract_vmlinux_file(bad, out);
  EXPECT_EQ(r.error, bad + ": not a bzImage: only 7 bytes, too short for a setup header (HdrS magic at 0x202)");
  EXPECT_FALSE(fs::exists(out));
  r = extract_vmlinux_file((dir / "missing").string(), out);
  EXPECT_THAT(r.error, HasSubstr("cannot read"));

  r = extract_vmlinux_file(good, out);
  ASSERT_TRUE(r.ok()) << r.error;
  std::string written;
  ASSERT_TRUE(read_text_file(out, &written, &err));
  EXPECT_EQ(written, elf);
  for (const auto& e : fs::directory_iterator(dir / "sub")) EXPECT_EQ(e.path().filename(), "vmlinux");  // no temp left
  fs::remove_all(dir);
}

// The real Debian kernels fetched by scripts/fetch.sh into the download cache; skipped when absent.
TEST(Vmlinux, RealKernels) {
  // The payload compression of each shipped release (Debian's kernel configs).
  const std::map<std::string, std::string> compression = {
      {"linux-6.1", "xz"}, {"linux-6.1-686-pae", "xz"}, {"linux-6.12", "zstd"}, {"linux-7.2", "zstd"}};
  auto kernels = test::cached_real_kernels();
  for (const auto& k : kernels) {
    std::string bytes, err;
    ASSERT_TRUE(read_text_file(k.bzimage, &bytes, &err)) << err;
    auto t0 = std::chrono::steady_clock::now();
    VmlinuxResult r = extract_vmlinux(bytes);
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_TRUE(r.ok()) << k.bzimage << ": " << r.error;
    if (auto it = compression.find(k.release.name); it != compression.end())
      EXPECT_EQ(r.compression, it->second) << k.bzimage;
    EXPECT_EQ(r.elf_class(), k.release.package.architecture == "i386" ? "ELF32" : "ELF64") << k.bzimage;
    std::printf("  %s: %s payload, %zu -> %zu bytes, %s, %.0f ms\n", k.release.name.c_str(), r.compression.c_str(),
                bytes.size(), r.elf.size(), r.elf_class().c_str(), ms);
  }
  if (kernels.empty()) GTEST_SKIP() << "no real kernel in the download cache (scripts/fetch.sh)";
}

}  // namespace
}  // namespace pvm
