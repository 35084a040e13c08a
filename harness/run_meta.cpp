#include "run_meta.h"

#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>

#include <fmt/format.h>

#include "libvirt_module.h"
#include "text_util.h"

namespace pvm {

namespace {

/// First line of a command's stdout ("" if it cannot run). Arguments are fixed strings.
std::string first_line_of(const std::string& command) {
  std::FILE* p = popen((command + " 2>/dev/null").c_str(), "r");
  if (!p) return "";
  std::array<char, 512> buf{};
  std::string line;
  if (std::fgets(buf.data(), buf.size(), p)) line = buf.data();
  while (std::fgets(buf.data(), buf.size(), p)) {}
  pclose(p);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  return line;
}

ReportGit git_info(const std::string& root) {
  std::string rev = first_line_of("git -C " + single_quoted(root) + " rev-parse HEAD");
  if (rev.empty()) return {};
  std::string dirty = first_line_of("git -C " + single_quoted(root) + " status --porcelain --untracked-files=no");
  return ReportGit{rev, !dirty.empty()};
}

int64_t epoch_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string utc_now_iso8601() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

RunMeta collect_run_meta(const RunMetaInputs& in) {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  utsname u{};
  uname(&u);
  RunMeta m;
  m.tool = "pvmatrix";
  m.host = host;
  m.os = fmt::format("{} {} {}", u.sysname, u.release, u.machine);
  m.qemu_version = first_line_of(single_quoted(in.qemu_binary.empty() ? "qemu-system-i386" : in.qemu_binary) + " --version");
  m.libvirt_version = libvirt_client_version(PVMATRIX_LIBVIRT_LIBDIR);
  m.git = git_info(in.root);
  m.matrix = ReportMatrix{in.matrix_path, in.matrix_name, in.matrix_sha256};
  m.argv = in.argv;
  m.backend = in.backend;
  m.parallelism = in.parallelism;
  m.retries = in.retries;
  m.timeout_s = in.timeout_s;
  m.only = in.only;
  m.shard = in.shard;
  m.started_at = utc_now_iso8601();
  m.started_at_ms = epoch_ms();
  return m;
}

void finish_run_meta(RunMeta* meta) {
  meta->ended_at = utc_now_iso8601();
  // What the harness cost next to what it ran (bench/matrix_floor.py reads this).
  rusage self{}, children{};
  getrusage(RUSAGE_SELF, &self);
  getrusage(RUSAGE_CHILDREN, &children);
  auto cpu_ms = [](const rusage& r) -> int64_t {
    return (r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1000 + (r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1000;
  };
  meta->rusage = ReportRusage{cpu_ms(self), cpu_ms(children), self.ru_maxrss};
  meta->duration_ms = epoch_ms() - meta->started_at_ms;
}

}  // namespace pvm
