// QEMU, exec'd directly (fork + execve) in its own process group, killed if the harness dies. The argv is the fastest
// correct one measured on QEMU 7.2 (see docs in the commit and bench/): every option here is
// for isolation or determinism and costs nothing measurable on microvm.
#include "qemu_launcher.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "boot_budget.h"
#include "linux_release.h"
#include "protocol.h"

extern char** environ;

namespace pvm {

namespace {

/// Starts argv[0] with stdin /dev/null, stdout and stderr the pipes' write ends, in a process
/// group of its own (the timeout kills all of it), default signal dispositions and an empty
/// mask, and SIGKILL as its parent-death signal: a harness killed with SIGKILL leaves no QEMU
/// behind (the signal follows the forking thread, which waits for this QEMU in boot()). 0 with
/// `*pid`, else the errno of what failed (exec's included).
/// posix_spawn cannot set a parent-death signal, hence vfork, as posix_spawn does it: the child
/// borrows this thread's memory until it execs or exits (this thread waits meanwhile), so no
/// page table is copied, and it says why it failed in `child_errno`. It calls only
/// async-signal-safe functions, with every signal blocked until the dispositions are reset (it
/// has its own copy of them), and never returns.
int start_child(char* const argv[], int out_fd, int err_fd, pid_t* pid) {
  sigset_t none, all, old;
  sigemptyset(&none);
  sigfillset(&all);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  const pid_t parent = getpid();
  volatile int child_errno = 0;
  pthread_sigmask(SIG_SETMASK, &all, &old);  // no handler of ours runs in the child
  const pid_t child = vfork();
  if (child == 0) {
    auto fail = [&] {
      child_errno = errno ? errno : EINVAL;
      _exit(127);
    };
    if (setpgid(0, 0) != 0 || prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail();
    if (getppid() != parent) _exit(127);  // the harness is already gone
    const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0 ||
        dup2(err_fd, STDERR_FILENO) < 0)
      fail();
    for (int sig = 1; sig < NSIG; ++sig) sigaction(sig, &dfl, nullptr);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execve(argv[0], argv, environ);
    fail();
  }
  const int fork_errno = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (child < 0) return fork_errno;
  if (child_errno != 0) {  // the child has exited
    waitpid(child, nullptr, 0);
    return child_errno;
  }
  *pid = child;
  return 0;
}

using Clock = std::chrono::steady_clock;

/// The serial pipe's capacity asked for: output piles up there between the reader's wakeups.
constexpr int kSerialPipeSize = 1 << 20;

/// QemuOpts values double their commas.
std::string opt_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    out += c;
    if (c == ',') out += ',';
  }
  return out;
}

/// "" if `path` is a readable regular file, else why not.
std::string check_file(const std::string& what, const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return fmt::format("{} {}: {}", what, path, std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return fmt::format("{} {}: not a regular file", what, path);
  if (access(path.c_str(), R_OK) != 0) return fmt::format("{} {}: {}", what, path, std::strerror(errno));
  return {};
}

/// Appends what `fd` has to `buf`, keeping at most `limit` bytes; false at EOF or error. Reads
/// what the pipe holds now (until a read comes back short): QEMU writes serial output a byte per
/// write(), so reading on until the pipe is empty races the writer, a byte or two a read.
/// `to_the_end`: until EOF or the pipe is empty (QEMU has gone).
bool drain(int fd, std::string& buf, size_t limit, uint64_t& total, bool& truncated, bool to_the_end = false) {
  char chunk[65536];
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n > 0) {
      total += static_cast<uint64_t>(n);
      size_t room = buf.size() < limit ? limit - buf.size() : 0;
      buf.append(chunk, std::min(room, static_cast<size_t>(n)));
      if (static_cast<size_t>(n) > room) truncated = true;
      if (!to_the_end && static_cast<size_t>(n) < sizeof chunk) return true;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    return false;  // EOF or error
  }
}

/// The inputs a boot of `spec` reads, checked before anything starts: "" or why one is missing.
std::string missing_input(const CellSpec& spec, const std::string& qemu) {
  if (access(qemu.c_str(), X_OK) != 0) return fmt::format("QEMU binary {}: {}", qemu, std::strerror(errno));
  const std::pair<const char*, const std::string*> files[] = {
      {"Xen binary", spec.family == "xen" ? &spec.hypervisor_image : nullptr},
      {"kernel image", &spec.kernel_image},
      {"initramfs", spec.initrd.empty() ? nullptr : &spec.initrd},
      {"ROM image", spec.rom_image.empty() ? nullptr : &spec.rom_image}};
  for (const auto& [what, path] : files)
    if (path)
      if (auto e = check_file(what, *path); !e.empty()) return e;
  return {};
}

}  // namespace

uint64_t serial_coalesce_ns(uint64_t age_ns, uint64_t got_bytes, uint64_t elapsed_ns, uint64_t pipe_bytes,
                            bool before_records) {
  uint64_t wait = std::clamp<uint64_t>(age_ns / 5, 1'000'000, before_records ? 1'000'000'000 : 200'000'000);
  if (got_bytes > 0 && elapsed_ns > 0) {
    // At the rate it has just come, the output fills a quarter of the pipe in this long.
    const long double quarter = static_cast<long double>(pipe_bytes / 4) * elapsed_ns / got_bytes;
    if (quarter < wait) wait = std::max<uint64_t>(static_cast<uint64_t>(quarter), 1'000'000);
  }
  return wait;
}

QemuLauncher::QemuLauncher(std::string qemu) : qemu_(std::move(qemu)) {}

QemuLauncher::~QemuLauncher() { kill_all(); }

std::vector<std::string> QemuLauncher::argv(const CellSpec& spec) const {
  // The platform, the same for every family.
  std::vector<std::string> a{
      spec.qemu.empty() ? qemu_ : spec.qemu,
      "-machine", spec.machine,
      "-cpu", spec.cpu,
      "-m", std::to_string(spec.memory_mib),
      "-nodefaults", "-no-user-config", "-no-reboot",
      "-display", "none",
      "-sandbox", "on",
      "-accel", "tcg",
      // With -nodefaults there is no serial backend; -serial stdio gives microvm's (and pc's)
      // COM1 one, on our stdout pipe.
      "-serial", "stdio",
      "-monitor", "none",
      // Guest time counts instructions: deterministic, independent of host load.
      "-icount", "shift=" + std::to_string(spec.icount_shift) + ",sleep=off",
      // The RTC on the same virtual clock, from a fixed date: the wall clock a guest (or Xen)
      // reads is the same every boot.
      "-rtc", std::string("base=") + kGuestRtcBase + ",clock=vm",
  };
  const bool real = spec.kernel_family == "linux";
  // A real kernel's command line: the console the harness reads and determinism first, then the config's.
  std::string kernel_cmdline = real ? linux_base_cmdline(spec.family == "xen") : std::string();
  if (!spec.cmdline.empty()) kernel_cmdline += (kernel_cmdline.empty() ? "" : " ") + spec.cmdline;
  if (spec.family == "xen") {
    // Xen is the multiboot kernel; the kernel is its first module, with its command line after
    // the path (QEMU's -initrd "file args"), and becomes dom0 (PVH or PV, as Xen's command line
    // says); a real kernel's initramfs (the guest agent) is the second module. No
    // isa-debug-exit status can reach us through Xen (it halts), so the boot ends on the
    // records (boot()).
    std::string module = spec.kernel_image;
    if (!kernel_cmdline.empty()) module += " " + kernel_cmdline;
    std::string modules = opt_escape(module);
    if (!spec.initrd.empty()) modules += "," + opt_escape(spec.initrd);
    a.insert(a.end(), {"-kernel", spec.hypervisor_image, "-append", spec.hypervisor_cmdline, "-initrd", modules});
  } else if (real) {
    // A real kernel on bare QEMU: its vmlinux through the PVH entry (QEMU reads the ELF note),
    // the guest agent as the initramfs. It powers off through ACPI: QEMU exits 0.
    a.insert(a.end(), {"-kernel", spec.kernel_image, "-initrd", spec.initrd, "-append", kernel_cmdline});
  } else {
    a.insert(a.end(), {"-device", "isa-debug-exit,iobase=0xf4,iosize=4",
                       "-kernel", spec.kernel_image});
    if (!spec.cmdline.empty()) a.insert(a.end(), {"-append", spec.cmdline});
    if (!spec.rom_image.empty())
      a.insert(a.end(), {"-fw_cfg", "name=opt/pvmatrix/rom,file=" + opt_escape(spec.rom_image)});
  }
  a.insert(a.end(), spec.extra_qemu_args.begin(), spec.extra_qemu_args.end());
  return a;
}

BootOutcome QemuLauncher::boot(const CellSpec& spec) {
  BootOutcome out;
  out.cmdline = argv(spec);
  out.host = "localhost";
  const auto start = Clock::now();
  // Through Xen, or from a real kernel (no isa-debug-exit: it powers off through ACPI, and
  // panic=-1 makes a panic a reset, QEMU exits 0 either way), the status says nothing: the
  // records decide.
  const bool watch = spec.family == "xen" || spec.kernel_family == "linux";
  if (watch) out.exit_status_known = false;
  out.start_error = missing_input(spec, out.cmdline.front());
  if (!out.start_error.empty()) return out;
  Child child;
  if (!spawn(&out, &child)) return out;
  BootBudget budget(child.pid, spec.timeout_s);
  read_until_over(child, watch, budget, &out);
  reap(child, budget, &out);
  out.duration_ms = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
  budget.finish(&out);
  return out;
}

bool QemuLauncher::spawn(BootOutcome* out, Child* child) {
  int serial_pipe[2], err_pipe[2];
  if (pipe2(serial_pipe, O_CLOEXEC) != 0) {
    out->start_error = fmt::format("pipe: {}", std::strerror(errno));
    return false;
  }
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    out->start_error = fmt::format("pipe: {}", std::strerror(errno));
    close(serial_pipe[0]), close(serial_pipe[1]);
    return false;
  }
  std::vector<char*> args;
  for (auto& s : out->cmdline) args.push_back(s.data());
  args.push_back(nullptr);
  int rc = 0;
  {
    // Under the lock: kill_all() either sees this QEMU or stops it from starting.
    std::lock_guard lock(mu_);
    if (interrupted_) {
      rc = -1;
    } else {
      rc = start_child(args.data(), serial_pipe[1], err_pipe[1], &child->pid);
      if (rc == 0) live_.insert(child->pid);
    }
  }
  close(serial_pipe[1]);
  close(err_pipe[1]);
  if (rc != 0) {
    close(serial_pipe[0]), close(err_pipe[0]);
    if (rc == -1) out->started = out->interrupted = true;
    else out->start_error = fmt::format("QEMU binary {}: {}", out->cmdline.front(), std::strerror(rc));
    return false;
  }
  out->started = true;
  child->serial = serial_pipe[0];
  child->err = err_pipe[0];
  fcntl(child->serial, F_SETFL, O_NONBLOCK);
  fcntl(child->err, F_SETFL, O_NONBLOCK);
  fcntl(child->serial, F_SETPIPE_SZ, kSerialPipeSize);  // best effort: the default is 64 KiB
  const int pipe_size = fcntl(child->serial, F_GETPIPE_SZ);
  child->serial_pipe = pipe_size > 0 ? static_cast<size_t>(pipe_size) : 65536;
  child->pidfd = static_cast<int>(syscall(SYS_pidfd_open, child->pid, 0));
  return true;
}

void QemuLauncher::Child::await_exit(std::chrono::milliseconds wait) const {
  if (pidfd < 0) {
    std::this_thread::sleep_for(std::min(wait, std::chrono::milliseconds(1)));
    return;
  }
  pollfd fd = {pidfd, POLLIN, 0};
  while (poll(&fd, 1, static_cast<int>(wait.count())) < 0 && errno == EINTR) {}
}

void QemuLauncher::read_until_over(Child& child, bool watch, BootBudget& budget, BootOutcome* out) {
  // Xen's and Linux's end banners count too (they halt or reset rather than exit).
  BootEndWatch end(/*console_banners=*/true);
  bool serial_open = true, err_open = true;
  auto drain_serial = [&](bool to_the_end = false) {
    return drain(child.serial, out->serial, kSerialLimit, out->serial_bytes, out->serial_truncated, to_the_end);
  };
  auto drain_err = [&](bool to_the_end = false) {
    return drain(child.err, out->stderr_text, kStderrLimit, child.err_total, child.err_truncated, to_the_end);
  };
  // The last drain of the serial pipe: when, what it got, and how long that had taken to come.
  uint64_t last_read = monotonic_ns(), last_got = 0, last_elapsed = 0;
  // Read until both pipes close, or the deadline.
  while (serial_open || err_open) {
    if (budget.exhausted(out)) {
      child.kill_group();
      break;
    }
    pollfd fds[2] = {{serial_open ? child.serial : -1, POLLIN, 0}, {err_open ? child.err : -1, POLLIN, 0}};
    // Nothing to read: sleep until the budget's next sample (kill_all() closes the pipes).
    int n = poll(fds, 2, static_cast<int>(budget.until_next_sample().count()));
    if (n < 0 && errno != EINTR) break;
    if (interrupted_) {
      out->interrupted = true;
      break;
    }
    if (n <= 0) continue;
    // QEMU writes the guest's serial output a byte per write(). Output has begun to come: sleep
    // while the rest of the burst piles up in the pipe (QEMU is never slowed), then take it in
    // one read. Waking for each byte cost ~1,500 wakeups and ~4 ms of harness CPU per boot;
    // reading the first bytes before the sleep, one wakeup more per burst. The end of a boot is
    // noticed at most this much later; QEMU's exit ends the sleep.
    if (fds[0].revents == POLLIN) {
      const uint64_t pile_up = serial_coalesce_ns(budget.age_ns(), last_got, last_elapsed, child.serial_pipe,
                                                  watch && !end.records_begun());
      // A sample that falls due meanwhile ends the wait: a HANG is seen no later for it.
      child.await_exit(std::min(std::chrono::milliseconds(pile_up / 1'000'000), budget.until_next_sample()));
    }
    if (fds[0].revents) {
      const uint64_t before = out->serial_bytes;
      serial_open = drain_serial();
      const uint64_t now = monotonic_ns();
      last_got = out->serial_bytes - before, last_elapsed = now - last_read, last_read = now;
    }
    if (fds[1].revents) err_open = drain_err();
    if (watch) end.follow(out->serial);
    if (watch && end.over()) {
      // Xen halts rather than exits: the boot is over, QEMU is killed by us (not a signal
      // from the host), and the classifier works from the records (exit_status_known=false).
      // Let a `done` shutdown's trailing output arrive first.
      if (end.done()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (serial_open) drain_serial(true);
      child.kill_group();
      break;
    }
  }
  // Take what is left in the pipes (the kill may leave buffered output behind).
  if (serial_open) drain_serial(true);
  if (err_open) drain_err(true);
  close(child.serial);
  close(child.err);
  if (child.err_truncated) out->stderr_text += fmt::format("\n[stderr cut: {} bytes in all]\n", child.err_total);
}

void QemuLauncher::reap(Child& child, BootBudget& budget, BootOutcome* out) {
  const pid_t pid = child.pid;
  // Wait for the exit without reaping (WNOWAIT), so kill_all() never signals a recycled pid.
  for (;;) {
    siginfo_t info{};
    int w = waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT);
    if (w == 0 && info.si_pid == pid) break;
    if (w != 0 && errno != EINTR) break;
    if (!child.killed && budget.exhausted(out)) child.kill_group();
    if (interrupted_ && !out->interrupted) out->interrupted = true;
    child.await_exit(budget.until_next_sample());  // kill_all() ends it too: QEMU exits
  }
  if (child.pidfd >= 0) close(child.pidfd);
  // The last interval, while the zombie's leader still has its totals (a reaped pid has none).
  budget.last_sample();
  // The leader is a zombie now, so its group id cannot be recycled: anything QEMU left in
  // its group goes too, before the reap.
  kill(-pid, SIGKILL);
  {
    std::lock_guard lock(mu_);
    live_.erase(pid);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  if (interrupted_ && WIFSIGNALED(status)) out->interrupted = true;
  if (WIFEXITED(status)) {
    out->exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status) && !child.killed && !out->interrupted) {
    out->signal = WTERMSIG(status);
  }
}

void QemuLauncher::kill_all() {
  std::lock_guard lock(mu_);
  interrupted_ = true;
  for (pid_t pid : live_) kill(-pid, SIGKILL);
}

}  // namespace pvm
