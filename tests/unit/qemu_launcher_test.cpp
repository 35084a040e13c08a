// How the QEMU launcher starts, reads and reaps a child (harness/qemu_launcher.h), with a shell
// script standing in for QEMU: the process the harness starts (vfork + execve) gets the stdio,
// process group, signal mask and dispositions its contract says, its output and exit status come
// back, and an exec that fails is a start error, not a harness crash. The real QEMU boots are in
// tests/e2e.
#include <gtest/gtest.h>
#include <pthread.h>
#include <sys/stat.h>
#include <csignal>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "qemu_launcher.h"

namespace pvm {
namespace {

namespace fs = std::filesystem;

class FakeQemu : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("pvmatrix-launcher-" + std::to_string(getpid()));
    fs::create_directories(dir_);
    kernel_ = (dir_ / "kernel.elf").string();
    std::ofstream(kernel_) << "not booted";
  }
  void TearDown() override { fs::remove_all(dir_); }

  /// An executable file `name` holding `text`.
  std::string program(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    chmod(path.c_str(), 0755);
    return path;
  }
  CellSpec spec(const std::string& qemu) const {
    CellSpec s;
    s.kernel = "k";
    s.hv = "rom-1.0";
    s.config = "default";
    s.kernel_image = kernel_;
    s.qemu = qemu;
    s.timeout_s = 20;
    return s;
  }

  fs::path dir_;
  std::string kernel_;
};

TEST_F(FakeQemu, TheChildGetsItsOwnGroupAnEmptyMaskAndThePipes) {
  // Field 5 of /proc/PID/stat is the process group; SigBlk and SigIgn list blocked and ignored
  // signals. stdin is /dev/null.
  const std::string qemu = program("qemu", R"(#!/bin/sh
set -- $(cat /proc/$$/stat)
echo "pid=$1 pgrp=$5"
grep -E '^Sig(Blk|Ign):' /proc/$$/status
if read -r line; then echo "stdin had: $line"; else echo "stdin at EOF"; fi
echo "to stderr" >&2
exit 3
)");
  // What the harness's thread has blocked and ignored is not the child's.
  sigset_t usr1, old_mask;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &usr1, &old_mask);
  auto old_pipe = signal(SIGPIPE, SIG_IGN);
  QemuLauncher launcher;
  BootOutcome out = launcher.boot(spec(qemu));
  signal(SIGPIPE, old_pipe);
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  ASSERT_TRUE(out.start_error.empty()) << out.start_error;
  EXPECT_TRUE(out.started);
  EXPECT_EQ(out.exit_code, 3);
  EXPECT_FALSE(out.signal.has_value());
  const std::string& s = out.serial;
  const size_t pid_at = s.find("pid="), pgrp_at = s.find(" pgrp=");
  ASSERT_NE(pid_at, std::string::npos) << s;
  ASSERT_NE(pgrp_at, std::string::npos) << s;
  const std::string pid = s.substr(pid_at + 4, pgrp_at - pid_at - 4);
  const std::string pgrp = s.substr(pgrp_at + 6, s.find('\n', pgrp_at) - pgrp_at - 6);
  EXPECT_EQ(pid, pgrp) << s;
  EXPECT_NE(s.find("SigBlk:\t0000000000000000"), std::string::npos) << s;
  EXPECT_NE(s.find("SigIgn:\t0000000000000000"), std::string::npos) << s;
  EXPECT_NE(s.find("stdin at EOF"), std::string::npos) << s;
  EXPECT_EQ(out.stderr_text, "to stderr\n");
  EXPECT_EQ(out.serial_bytes, s.size());
}

TEST_F(FakeQemu, AnExecThatFailsIsAStartErrorNamingTheBinary) {
  // Executable, but neither ELF nor script: execve fails with ENOEXEC in the child.
  const std::string qemu = program("qemu-garbage", std::string("\x7f" "ELX\x01\x02", 6));
  QemuLauncher launcher;
  BootOutcome out = launcher.boot(spec(qemu));
  EXPECT_FALSE(out.started);
  EXPECT_NE(out.start_error.find(qemu), std::string::npos) << out.start_error;
  EXPECT_NE(out.start_error.find("Exec format error"), std::string::npos) << out.start_error;
}

TEST_F(FakeQemu, ASignalThatKillsQemuIsReported) {
  const std::string qemu = program("qemu-dies", "#!/bin/sh\necho before\nkill -SEGV $$\n");
  QemuLauncher launcher;
  BootOutcome out = launcher.boot(spec(qemu));
  ASSERT_TRUE(out.started) << out.start_error;
  EXPECT_EQ(out.signal, SIGSEGV);
  EXPECT_EQ(out.serial, "before\n");
}

}  // namespace
}  // namespace pvm
