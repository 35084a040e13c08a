#include "atomic_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace pvm {
namespace {
namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class AtomicFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("pvm-atomic-" + std::to_string(getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::add);
    fs::remove_all(dir_);
  }
  fs::path dir_;
};

TEST_F(AtomicFileTest, WritesAndReplaces) {
  std::string err;
  fs::path p = dir_ / "sub" / "report.json";
  ASSERT_TRUE(write_file_atomically(p.string(), "one", &err)) << err;
  EXPECT_EQ(slurp(p), "one");
  ASSERT_TRUE(write_file_atomically(p.string(), "two", &err)) << err;
  EXPECT_EQ(slurp(p), "two");
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(p.parent_path())) (void)e, ++files;
  EXPECT_EQ(files, 1u);  // no temporary file left behind
}

TEST_F(AtomicFileTest, FailureLeavesTheOldFileIntactAndSaysWhy) {
  if (geteuid() == 0) {
    // root ignores directory permissions: make the rename fail instead, with a directory
    // standing where the temp file would be renamed to... a non-empty one.
    fs::path target = dir_ / "report.json";
    fs::create_directories(target / "occupied");
    std::string err;
    EXPECT_FALSE(write_file_atomically(target.string(), "new", &err));
    EXPECT_NE(err.find("cannot write " + target.string()), std::string::npos) << err;
    EXPECT_TRUE(fs::is_directory(target / "occupied"));
    size_t files = 0;
    for (const auto& e : fs::directory_iterator(dir_)) (void)e, ++files;
    EXPECT_EQ(files, 1u);  // the temporary file was removed
    return;
  }
  fs::path p = dir_ / "report.json";
  std::string err;
  ASSERT_TRUE(write_file_atomically(p.string(), "old", &err));
  fs::permissions(dir_, fs::perms::owner_read | fs::perms::owner_exec);
  EXPECT_FALSE(write_file_atomically(p.string(), "new", &err));
  EXPECT_NE(err.find("cannot write"), std::string::npos) << err;
  EXPECT_EQ(slurp(p), "old");
}

TEST_F(AtomicFileTest, UncreatableDirectoryIsAClearError) {
  fs::path file = dir_ / "plain";
  std::ofstream(file) << "x";
  std::string err;
  EXPECT_FALSE(write_file_atomically((file / "report.json").string(), "x", &err));
  EXPECT_NE(err.find("cannot create"), std::string::npos) << err;
}

}  // namespace
}  // namespace pvm
