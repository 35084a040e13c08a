// The newc cpio packer behind mkcpio (kernel/linux/agent/cpio.h): entry syntax, exact bytes,
// determinism, and the checks that keep an archive unpackable by the kernel.
#include "../../kernel/linux/agent/cpio.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using pvm::cpio::Entry;
using pvm::cpio::Kind;

Entry parsed(const std::string& spec) {
  Entry e;
  std::string why = pvm::cpio::parse_entry(spec, e);
  EXPECT_EQ(why, "") << spec;
  return e;
}

std::string error_of(const std::string& spec) {
  Entry e;
  return pvm::cpio::parse_entry(spec, e);
}

// A newc reader for the round trip: name -> (mode, filesize, rdevmajor, rdevminor, data).
struct Read {
  std::string name;
  uint32_t ino, mode, uid, gid, nlink, mtime, rmajor, rminor;
  std::string data;
};

uint32_t hex8(const std::string& s, size_t at) { return static_cast<uint32_t>(std::stoul(s.substr(at, 8), nullptr, 16)); }

std::vector<Read> unpack(const std::string& a) {
  std::vector<Read> out;
  size_t at = 0;
  for (;;) {
    EXPECT_LE(at + 110, a.size());
    if (at + 110 > a.size()) break;
    EXPECT_EQ(a.substr(at, 6), "070701");
    Read r;
    r.ino = hex8(a, at + 6);
    r.mode = hex8(a, at + 14);
    r.uid = hex8(a, at + 22);
    r.gid = hex8(a, at + 30);
    r.nlink = hex8(a, at + 38);
    r.mtime = hex8(a, at + 46);
    uint32_t size = hex8(a, at + 54);
    r.rmajor = hex8(a, at + 78);
    r.rminor = hex8(a, at + 86);
    uint32_t namesize = hex8(a, at + 94);
    r.name = a.substr(at + 110, namesize - 1);
    EXPECT_EQ(a[at + 110 + namesize - 1], '\0');
    at = (at + 110 + namesize + 3) & ~size_t(3);
    r.data = a.substr(at, size);
    at = (at + size + 3) & ~size_t(3);
    if (r.name == "TRAILER!!!") break;
    out.push_back(r);
  }
  EXPECT_EQ(at, a.size());
  return out;
}

std::vector<Entry> initramfs_entries() {
  std::vector<Entry> v = {parsed("dir:dev:0755"), parsed("char:dev/console:0600:5:1"), parsed("dir:proc:0555"),
                          parsed("file:init:0755:/host/path")};
  v.back().data = "hello";  // 5 bytes: padded to 8
  return v;
}

TEST(CpioEntry, ParsesTheThreeKinds) {
  Entry d = parsed("dir:dev:0755");
  EXPECT_EQ(d.kind, Kind::Dir);
  EXPECT_EQ(d.name, "dev");
  EXPECT_EQ(d.perm, 0755u);

  Entry f = parsed("file:init:755:/a/b:c");  // HOSTPATH keeps its ':'
  EXPECT_EQ(f.kind, Kind::File);
  EXPECT_EQ(f.host_path, "/a/b:c");
  EXPECT_EQ(f.perm, 0755u);

  Entry c = parsed("char:dev/console:0600:5:1");
  EXPECT_EQ(c.kind, Kind::Char);
  EXPECT_EQ(c.major, 5u);
  EXPECT_EQ(c.minor, 1u);
  EXPECT_EQ(parsed("dir:tmp:1777").perm, 01777u);
}

TEST(CpioEntry, RejectsBadEntriesWithAReason) {
  EXPECT_NE(error_of("link:a:0755").find("unknown entry kind"), std::string::npos);
  EXPECT_NE(error_of("dir:dev").find("dir:NAME:MODE"), std::string::npos);
  EXPECT_NE(error_of("dir:dev:0755:x").find("dir:NAME:MODE"), std::string::npos);
  EXPECT_NE(error_of("char:c:0600:5").find("char:NAME:MODE:MAJOR:MINOR"), std::string::npos);
  EXPECT_NE(error_of("char:c:0600:5:1:2").find("char:NAME:MODE:MAJOR:MINOR"), std::string::npos);
  EXPECT_NE(error_of("file:init:0755").find("file:NAME:MODE:HOSTPATH"), std::string::npos);
  EXPECT_NE(error_of("file:init:0755:").find("HOSTPATH"), std::string::npos);
  EXPECT_NE(error_of("dir:dev:0758").find("MODE"), std::string::npos);
  EXPECT_NE(error_of("dir:dev:17777").find("MODE"), std::string::npos);
  EXPECT_NE(error_of("dir:dev:").find("MODE"), std::string::npos);
  EXPECT_NE(error_of("dir:/dev:0755").find("relative"), std::string::npos);
  EXPECT_NE(error_of("dir::0755").find("empty name"), std::string::npos);
  EXPECT_NE(error_of("dir:a//b:0755").find("empty path component"), std::string::npos);
  EXPECT_NE(error_of("dir:a/:0755").find("empty path component"), std::string::npos);
  EXPECT_NE(error_of("dir:a/../b:0755").find("'..'"), std::string::npos);
  EXPECT_NE(error_of("char:c:0600:4096:1").find("MAJOR"), std::string::npos);
  EXPECT_NE(error_of("char:c:0600:5:x").find("MINOR"), std::string::npos);
}

TEST(CpioPack, WritesNewcBytes) {
  std::string a;
  size_t bad = 99;
  ASSERT_EQ(pvm::cpio::pack(initramfs_entries(), a, bad), "");
  // First header, field by field: ino 1, dir 0755, uid 0, gid 0, nlink 2, mtime 0, size 0,
  // dev 0:0, rdev 0:0, namesize 4 ("dev\0"), check 0; then "dev\0" (110 + 4 = 114 -> pad to 116).
  EXPECT_EQ(a.substr(0, 110),
            "070701"
            "00000001"
            "000041ED"
            "00000000"
            "00000000"
            "00000002"
            "00000000"
            "00000000"
            "00000000"
            "00000000"
            "00000000"
            "00000000"
            "00000004"
            "00000000");
  EXPECT_EQ(a.substr(110, 6), std::string("dev\0\0\0", 6));
  EXPECT_EQ(a.size() % 4, 0u);
  EXPECT_NE(a.find(std::string("TRAILER!!!\0", 11)), std::string::npos);

  std::vector<Read> r = unpack(a);
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[1].name, "dev/console");
  EXPECT_EQ(r[1].mode, 020600u);
  EXPECT_EQ(r[1].rmajor, 5u);
  EXPECT_EQ(r[1].rminor, 1u);
  EXPECT_EQ(r[1].nlink, 1u);
  EXPECT_EQ(r[3].name, "init");
  EXPECT_EQ(r[3].mode, 0100755u);
  EXPECT_EQ(r[3].data, "hello");
  for (size_t i = 0; i < r.size(); ++i) {
    EXPECT_EQ(r[i].ino, i + 1);
    EXPECT_EQ(r[i].uid, 0u);
    EXPECT_EQ(r[i].gid, 0u);
    EXPECT_EQ(r[i].mtime, 0u);
  }
}

TEST(CpioPack, SameEntriesSameBytes) {
  std::string a, b;
  size_t bad;
  ASSERT_EQ(pvm::cpio::pack(initramfs_entries(), a, bad), "");
  ASSERT_EQ(pvm::cpio::pack(initramfs_entries(), b, bad), "");
  EXPECT_EQ(a, b);
}

TEST(CpioPack, EmptyArchiveIsJustTheTrailer) {
  std::string a;
  size_t bad;
  ASSERT_EQ(pvm::cpio::pack({}, a, bad), "");
  EXPECT_EQ(a.size(), 124u);  // 110 + "TRAILER!!!\0" (11) = 121 -> 124
  EXPECT_TRUE(unpack(a).empty());
}

TEST(CpioPack, RejectsDuplicatesAndMissingParents) {
  std::string a;
  size_t bad = 99;
  std::vector<Entry> dup = {parsed("dir:dev:0755"), parsed("dir:proc:0555"), parsed("dir:dev:0700")};
  EXPECT_NE(pvm::cpio::pack(dup, a, bad).find("duplicate name 'dev'"), std::string::npos);
  EXPECT_EQ(bad, 2u);

  std::vector<Entry> orphan = {parsed("dir:proc:0555"), parsed("char:dev/console:0600:5:1")};
  EXPECT_NE(pvm::cpio::pack(orphan, a, bad).find("parent directory 'dev'"), std::string::npos);
  EXPECT_EQ(bad, 1u);

  // A file is not a parent directory.
  std::vector<Entry> file_parent = {parsed("file:dev:0644:/x"), parsed("char:dev/console:0600:5:1")};
  EXPECT_NE(pvm::cpio::pack(file_parent, a, bad).find("parent directory"), std::string::npos);
  EXPECT_EQ(bad, 1u);
}

}  // namespace
