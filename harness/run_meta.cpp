#include "run_meta.h"

#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "libvirt_module.h"
#include "text_util.h"

namespace pvm {
using nlohmann::json;

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

json git_info(const std::string& root) {
  std::string rev = first_line_of("git -C " + single_quoted(root) + " rev-parse HEAD");
  if (rev.empty()) return json{{"revision", nullptr}, {"dirty", nullptr}};
  std::string dirty = first_line_of("git -C " + single_quoted(root) + " status --porcelain --untracked-files=no");
  return json{{"revision", rev}, {"dirty", !dirty.empty()}};
}

/// libvirt's client library version, from the libvirt module (libvirt_module.h); "" without it.
std::string libvirt_version() {
  std::string err;
  const LibvirtModule* module = libvirt_module(&err);
  return module ? module->version() : "";
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

json collect_run_meta(const RunMetaInputs& in) {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  utsname u{};
  uname(&u);
  std::string qemu = first_line_of(single_quoted(in.qemu_binary.empty() ? "qemu-system-i386" : in.qemu_binary) + " --version");
  std::string lv = libvirt_version();
  return json{
      {"tool", "pvmatrix"},
      {"host", host},
      {"os", fmt::format("{} {} {}", u.sysname, u.release, u.machine)},
      {"qemu_version", qemu.empty() ? json(nullptr) : json(qemu)},
      {"libvirt_version", lv.empty() ? json(nullptr) : json(lv)},
      {"git", git_info(in.root)},
      {"matrix", {{"path", in.matrix_path}, {"name", in.matrix_name}, {"sha256", in.matrix_sha256}}},
      {"argv", in.argv},
      {"backend", in.backend},
      {"parallelism", in.parallelism},
      {"retries", in.retries},
      {"timeout_s", in.timeout_s},
      {"only", in.only.empty() ? json(nullptr) : json(in.only)},
      {"shard", in.shard.empty() ? json(nullptr) : json(in.shard)},
      {"started_at", utc_now_iso8601()},
      {"started_at_ms", epoch_ms()},
      {"ended_at", nullptr},
      {"duration_ms", nullptr},
  };
}

void finish_run_meta(json* meta) {
  (*meta)["ended_at"] = utc_now_iso8601();
  // What the harness cost next to what it ran (bench/matrix_floor.py reads this).
  rusage self{}, children{};
  getrusage(RUSAGE_SELF, &self);
  getrusage(RUSAGE_CHILDREN, &children);
  auto cpu_ms = [](const rusage& r) {
    return (r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1000 + (r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1000;
  };
  (*meta)["rusage"] = {{"self_cpu_ms", cpu_ms(self)},
                       {"children_cpu_ms", cpu_ms(children)},
                       {"self_max_rss_kib", self.ru_maxrss}};
  if (meta->contains("started_at_ms") && (*meta)["started_at_ms"].is_number())
    (*meta)["duration_ms"] = epoch_ms() - (*meta)["started_at_ms"].get<int64_t>();
}

}  // namespace pvm
