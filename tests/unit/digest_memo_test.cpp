// Digesting the images a run boots without reading them again and again: SHA-256 fed in pieces,
// files mapped rather than read, and the memo of large files' digests kept between runs.
#include "digest_memo.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "mapped_file.h"
#include "sha256.h"
#include "temp_dir.h"

namespace pvm {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

TEST(Sha256, FedInPiecesItIsTheDigestOfTheWhole) {
  std::string data;
  for (int i = 0; i < 300; ++i) data += static_cast<char>(i * 7 + 3);
  // Every length across the padding's edges (55, 56, 63, 64 bytes), split at every point.
  for (size_t len : {0u, 1u, 55u, 56u, 57u, 63u, 64u, 65u, 119u, 120u, 128u, 300u}) {
    const std::string whole = sha256_hex(std::string_view(data).substr(0, len));
    for (size_t cut = 0; cut <= len; cut += (len > 70 ? 13 : 1)) {
      Sha256 s;
      s.update(std::string_view(data).substr(0, cut));
      s.update(std::string_view(data).substr(cut, len - cut));
      ASSERT_EQ(s.hex(), whole) << "length " << len << " cut at " << cut;
    }
  }
  Sha256 abc;
  for (char c : std::string("abc")) abc.update(std::string_view(&c, 1));
  EXPECT_EQ(abc.hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(MappedFile, ItsBytesAreTheFilesAndAMissingFileSaysSoAsReadingItWould) {
  TempDir dir;
  const std::string text(70'000, 'x');
  auto f = MappedFile::open(dir.file("a", text + "end"), nullptr);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->bytes(), text + "end");
  auto empty = MappedFile::open(dir.file("empty", ""), nullptr);
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->bytes().empty());
  std::string err;
  EXPECT_FALSE(MappedFile::open(dir.path() + "/missing", &err));
  EXPECT_EQ(err, dir.path() + "/missing: cannot read: No such file or directory");
  // Moved, it still holds the mapping; the moved-from one holds nothing.
  MappedFile moved(std::move(*f));
  EXPECT_EQ(moved.bytes().substr(70'000), "end");
}

/// A file and its stamp.
struct Aged {
  std::string path;
  FileStamp stamp;
};

Aged file_in(const TempDir& dir, const std::string& name, const std::string& bytes) {
  Aged a{dir.file(name, bytes), {}};
  EXPECT_TRUE(file_stamp(a.path, &a.stamp));
  return a;
}

/// A kernel file, and a memo in the same directory that remembers its digest "d1" ten seconds
/// after the file's last change.
class Remembered : public ::testing::Test {
 protected:
  void SetUp() override { DigestMemoFile(memo).remember("image", k.path, k.stamp, "d1", later); }
  TempDir dir;
  const Aged k = file_in(dir, "vmlinux", "kernel bytes");
  const int64_t later = std::max(k.stamp.mtime_ns, k.stamp.ctime_ns) + 10 * kSecond;
  const std::string memo = dir.path() + "/digests.tsv";
};

TEST_F(Remembered, ADigestIsFoundByTheNextRunWhileTheFileIsUnchanged) {
  DigestMemoFile next(memo);  // another run: from the file
  EXPECT_EQ(next.find("image", k.path, k.stamp), "d1");
  EXPECT_FALSE(next.find("file", k.path, k.stamp));  // another kind of digest of the same file
  FileStamp other = k.stamp;
  other.size += 1;
  EXPECT_FALSE(next.find("image", k.path, other));
  other = k.stamp;
  other.ctime_ns += 1;  // rewritten in place, same size and mtime: the change time moved
  EXPECT_FALSE(next.find("image", k.path, other));
}

TEST(DigestMemoFile, AFileChangedInTheLastTwoSecondsIsNotRemembered) {
  TempDir dir;
  const Aged k = file_in(dir, "vmlinux", "kernel bytes");
  const std::string memo = dir.path() + "/digests.tsv";
  const int64_t changed = std::max(k.stamp.mtime_ns, k.stamp.ctime_ns);
  DigestMemoFile(memo).remember("image", k.path, k.stamp, "d1", changed + kSecond);
  EXPECT_FALSE(DigestMemoFile(memo).find("image", k.path, k.stamp));
  DigestMemoFile(memo).remember("image", k.path, k.stamp, "d1", changed + 2 * kSecond);
  EXPECT_EQ(DigestMemoFile(memo).find("image", k.path, k.stamp), "d1");
}

TEST(DigestMemoFile, EntriesOfFilesThatChangedOrWentAreDroppedWhenItIsWritten) {
  TempDir dir;
  const Aged a = file_in(dir, "a", "aaa"), b = file_in(dir, "b", "bbb"), c = file_in(dir, "c", "ccc");
  const int64_t later = std::max({a.stamp.ctime_ns, b.stamp.ctime_ns, c.stamp.ctime_ns}) + 10 * kSecond;
  const std::string memo = dir.path() + "/digests.tsv";
  {
    DigestMemoFile m(memo);
    m.remember("file", a.path, a.stamp, "da", later);
    m.remember("file", b.path, b.stamp, "db", later);
  }
  std::filesystem::remove(a.path);
  DigestMemoFile(memo).remember("file", c.path, c.stamp, "dc", later);
  std::ifstream in(memo);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text.find(a.path), std::string::npos) << text;
  EXPECT_NE(text.find(b.path), std::string::npos) << text;
  EXPECT_NE(text.find(c.path), std::string::npos) << text;
}

TEST_F(Remembered, ADamagedMemoIsReadAsFarAsItMakesSenseAndNoDirectoryIsCreated) {
  {
    std::ofstream out(memo, std::ios::app);
    out << "garbage line\n" << "d2\timage\tx\t1\t2\t3\t4\t/elsewhere\n";
  }
  EXPECT_EQ(DigestMemoFile(memo).find("image", k.path, k.stamp), "d1");
  {
    std::ofstream out(memo);
    out << "pvmatrix digests 99\n";
  }
  EXPECT_FALSE(DigestMemoFile(memo).find("image", k.path, k.stamp));  // another format: none of it
  const std::string nowhere = dir.path() + "/no/such/dir/digests.tsv";
  DigestMemoFile(nowhere).remember("image", k.path, k.stamp, "d1", later);
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/no"));
}

}  // namespace
}  // namespace pvm
