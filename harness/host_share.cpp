#include "host_share.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace pvm {

namespace {

/// "<on-cpu ns> <run-queue wait ns> <slices>" from an open schedstat file (read from its start).
bool read_schedstat(int fd, uint64_t* cpu, uint64_t* wait) {
  char buf[128];
  ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return false;
  buf[n] = 0;
  char* end = nullptr;
  unsigned long long c = std::strtoull(buf, &end, 10);
  if (end == buf) return false;
  char* end2 = nullptr;
  unsigned long long w = std::strtoull(end, &end2, 10);
  if (end2 == end) return false;
  *cpu = c;
  *wait = w;
  return true;
}

}  // namespace

ThreadShares read_thread_shares(pid_t pid) { return ThreadSharesReader(pid).read(); }

ThreadSharesReader::~ThreadSharesReader() {
  close_all();
  if (task_dir_ >= 0) close(task_dir_);
}

void ThreadSharesReader::close_all() {
  for (const auto& [tid, fd] : fds_) close(fd);
  fds_.clear();
}

uint64_t ThreadSharesReader::task_links() {
  if (task_dir_ < 0) {
    const std::string dir = "/proc/" + std::to_string(pid_) + "/task";
    task_dir_ = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (task_dir_ < 0) return 0;
  }
  struct stat st {};
  return fstat(task_dir_, &st) == 0 ? static_cast<uint64_t>(st.st_nlink) : 0;
}

void ThreadSharesReader::rescan() {
  close_all();
  // The count first: a thread born while the directory is read makes the next read rescan again.
  links_ = task_links();
  const std::string dir = "/proc/" + std::to_string(pid_) + "/task";
  DIR* d = opendir(dir.c_str());
  if (!d) return;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    int fd = open((dir + "/" + e->d_name + "/schedstat").c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) fds_[static_cast<pid_t>(std::atoi(e->d_name))] = fd;
  }
  closedir(d);
}

ThreadShares ThreadSharesReader::read() {
  if (links_ == 0 || task_links() != links_) rescan();
  ThreadShares s;
  for (int attempt = 0; attempt < 2; ++attempt) {
    s = ThreadShares{};
    bool gone = false;
    for (const auto& [tid, fd] : fds_) {
      uint64_t cpu = 0, wait = 0;
      if (!read_schedstat(fd, &cpu, &wait)) {
        gone = true;
        continue;
      }
      s.cpu_ns += cpu;
      s.wait_ns[tid] = wait;
    }
    if (!gone || attempt == 1) break;
    rescan();
  }
  s.ok = !s.wait_ns.empty();
  return s;
}

void ProgressMeter::start(uint64_t now_ns, const ThreadShares& first) {
  start_ns_ = last_ns_ = now_ns;
  progress_ns_ = 0;
  wait_ = first.wait_ns;
  cpu_ns_ = first.ok ? first.cpu_ns : 0;
  measured_ = first.ok;
}

void ProgressMeter::sample(uint64_t now_ns, const ThreadShares& s) {
  if (now_ns <= last_ns_) return;
  uint64_t wall = now_ns - last_ns_;
  uint64_t waited = 0;
  if (s.ok) {
    for (const auto& [tid, w] : s.wait_ns) {
      auto it = wait_.find(tid);
      uint64_t before = it == wait_.end() ? 0 : it->second;  // a new thread: all its waiting is new
      if (w > before) waited = std::max(waited, w - before);
    }
    wait_ = s.wait_ns;
    cpu_ns_ = std::max(cpu_ns_, s.cpu_ns);  // a thread that exited takes its share with it
  } else {
    measured_ = false;
  }
  progress_ns_ += wall - std::min(wall, waited);
  last_ns_ = now_ns;
}

}  // namespace pvm
