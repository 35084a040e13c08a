#include "libvirt_launcher.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include <fmt/format.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "boot_budget.h"
#include "libvirt_module.h"
#include "libvirt_xml.h"
#include "protocol.h"

namespace pvm {
namespace {

using Clock = std::chrono::steady_clock;

/// libvirt's default error handler prints to stderr; errors are reported through results.
void quiet_error(void*, virErrorPtr) {}

/// Lifecycle events need a running event loop; one for the process, started once, before
/// the first connection is opened (libvirt requires that order).
void ensure_event_loop() {
  static std::once_flag once;
  std::call_once(once, [] {
    virSetErrorFunc(nullptr, quiet_error);
    if (virEventRegisterDefaultImpl() < 0) return;  // then stops are found by polling
    std::thread([] {
      for (;;) virEventRunDefaultImpl();
    }).detach();
  });
}

std::string last_error() {
  const char* m = virGetLastErrorMessage();
  return m ? m : "unknown libvirt error";
}

std::string default_work_dir() {
  if (const char* d = std::getenv("PVMATRIX_LIBVIRT_DIR"); d && *d) return d;
  return "/tmp/pvmatrix-libvirt";
}

/// QEMU runs as the daemon's unprivileged user (relabelling is off so a user's build outputs
/// are never chowned), so an image in a private directory (a 0700 home or test tmp dir) would
/// be unreadable. Images are staged into the launcher's work dir, world-readable, under a name
/// that changes with the file (size and mtime); the copy lands by rename, so concurrent boots
/// of one image are safe. On a pool this dir is the connection's `dir=` (a shared path).
/// Returns the staged path, or "" with `err` set.
std::string stage_readable(const std::string& path, const std::filesystem::path& dir, std::string* err) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) { *err = fmt::format("cannot read {}: {}", path, ec.message()); return ""; }
  const auto mtime = fs::last_write_time(path, ec).time_since_epoch().count();
  const fs::path images = dir / "images";
  fs::create_directories(images, ec);
  fs::permissions(images, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                  fs::perms::others_read | fs::perms::others_exec, ec);
  const fs::path staged = images / fmt::format("{}-{}-{}", fs::path(path).filename().string(), size, mtime);
  if (fs::exists(staged, ec)) return staged.string();
  const fs::path tmp = images / fmt::format(".{}.{}.{}", staged.filename().string(), ::getpid(),
                                             std::hash<std::thread::id>{}(std::this_thread::get_id()));
  fs::copy_file(path, tmp, fs::copy_options::overwrite_existing, ec);
  if (!ec) fs::permissions(tmp, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                           fs::perms::others_read, ec);
  if (!ec) fs::rename(tmp, staged, ec);
  if (ec) {
    fs::remove(tmp, ec);
    *err = fmt::format("cannot stage {} into {}: {}", path, images.string(), ec.message());
    return "";
  }
  return staged.string();
}

/// Reads what the serial file gained since the last call; keeps the head, counts the rest,
/// and notes (BootEndWatch, as the QEMU launcher does) when a record arrived after which
/// nothing can change the classification: `done` (exit status unknowable here), `crash` or
/// `panic` (CRASH whatever follows). This backend boots reference kernels only (no console
/// banners to watch for).
class SerialTail {
 public:
  explicit SerialTail(std::string path) : path_(std::move(path)) {}
  ~SerialTail() {
    if (fd_ >= 0) ::close(fd_);
  }
  /// Returns true when bytes arrived.
  bool poll(BootOutcome& out) {
    if (fd_ < 0) {
      fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd_ < 0) return false;
    }
    bool grew = false;
    char buf[65536];
    for (;;) {
      ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n <= 0) break;
      grew = true;
      out.serial_bytes += static_cast<uint64_t>(n);
      size_t room = kSerialLimit > out.serial.size() ? kSerialLimit - out.serial.size() : 0;
      out.serial.append(buf, std::min(room, static_cast<size_t>(n)));
      if (static_cast<size_t>(n) > room) out.serial_truncated = true;
    }
    end_.follow(out.serial);
    return grew;
  }
  bool opened() const { return fd_ >= 0; }
  bool final_record() const { return end_.over(); }

 private:
  std::string path_;
  int fd_ = -1;
  BootEndWatch end_{/*console_banners=*/false};
};

/// One domain this launcher runs: what the event callback and kill_all tell boot().
struct Run {
  std::mutex mu;
  std::condition_variable cv;
  bool stopped = false;      ///< libvirt says the domain stopped
  bool interrupted = false;  ///< kill_all() destroyed it
  bool retiring = false;     ///< boot() has its answer; the domain is left to stop by itself
  std::string resume_failure;  ///< why the paused domain could not be resumed
};

/// The domain XML of `spec` (its images staged as world-readable copies beside the serial file;
/// the report keeps the user's paths), also written to `xml_path` for a human to reproduce the
/// boot. "" with *err when an image cannot be staged.
std::string write_domain(const CellSpec& spec, const LibvirtDomainOptions& dopts, const std::string& xml_path,
                         std::string* err) {
  const std::filesystem::path dir = std::filesystem::path(xml_path).parent_path();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  std::filesystem::remove(dopts.serial_path, ec);
  CellSpec staged = spec;
  for (std::string* image : {&staged.kernel_image, &staged.rom_image}) {
    if (image->empty()) continue;
    *image = stage_readable(*image, dir, err);
    if (image->empty()) return "";
  }
  const std::string xml = domain_xml(staged, dopts);
  std::ofstream(xml_path, std::ios::trunc) << xml;  // the boot does not depend on it
  return xml;
}

/// Starts the domain paused, then resumes it: a guest that finishes within microseconds would
/// otherwise stop while libvirt still sets the domain up, and the create call would wait for
/// QEMU to be reaped and then fail. The resume runs on a thread of its own (when the guest stops
/// within microseconds of `cont`, the call returns only once libvirt has seen QEMU reaped,
/// seconds here) and leaves a failure in `run`. Null when the domain cannot be created.
virDomainPtr start_domain(virConnectPtr conn, const std::string& xml, const std::shared_ptr<Run>& run) {
  virDomainPtr dom = virDomainCreateXML(conn, xml.c_str(), VIR_DOMAIN_START_AUTODESTROY | VIR_DOMAIN_START_PAUSED);
  if (!dom) return nullptr;
  virDomainRef(dom);
  std::thread([dom, run] {
    std::string failure;
    if (virDomainResume(dom) < 0) {
      const std::string why = last_error();
      int state = 0;
      if (virDomainGetState(dom, &state, nullptr, 0) == 0 && state == VIR_DOMAIN_PAUSED) failure = why;
    }
    virDomainFree(dom);
    std::lock_guard lock(run->mu);
    run->resume_failure = failure;
    run->cv.notify_all();
  }).detach();
  return dom;
}

/// The pid of the QEMU that runs domain `name`, when the daemon of `uri` runs on this host and
/// says so in its pid file (qemu:///system: /run/libvirt/qemu/NAME.pid; qemu:///session: under
/// $XDG_RUNTIME_DIR), and that process's command line names the domain; -1 otherwise (a remote
/// host: its budget is wall-clock time).
pid_t local_qemu_pid(const std::string& uri, const std::string& name) {
  std::string pidfile;
  if (uri == "qemu:///system" || uri == "qemu+unix:///system") {
    pidfile = "/run/libvirt/qemu/" + name + ".pid";
  } else if (uri == "qemu:///session" || uri == "qemu+unix:///session") {
    const char* runtime = std::getenv("XDG_RUNTIME_DIR");
    if (!runtime || !*runtime) return -1;
    pidfile = std::string(runtime) + "/libvirt/qemu/run/" + name + ".pid";
  } else {
    return -1;
  }
  long pid = -1;
  if (!(std::ifstream(pidfile) >> pid) || pid <= 1) return -1;
  std::ifstream cmdline("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  const std::string args((std::istreambuf_iterator<char>(cmdline)), std::istreambuf_iterator<char>());
  if (args.find("guest=" + name) == std::string::npos) return -1;  // not (or no longer) that QEMU
  return static_cast<pid_t>(pid);
}

/// Follows a started domain until it stops (true), or its answer is in and it has been quiet
/// for `grace_s`, or its budget is spent, or kill_all() interrupts it, or it could not be
/// resumed (false; *out says which).
bool wait_for_end(Run& run, SerialTail& tail, virDomainPtr dom, BootBudget& budget, double grace_s,
                  const std::string& uri, const std::string& name, BootOutcome* out) {
  const auto grace = std::chrono::duration<double>(grace_s);
  auto last_growth = Clock::now();
  auto next_state_poll = Clock::now() + std::chrono::seconds(2);
  for (;;) {
    bool stopped, interrupted;
    std::string resume_failure;
    {
      std::unique_lock lock(run.mu);
      run.cv.wait_for(lock, std::chrono::milliseconds(10),
                      [&] { return run.stopped || run.interrupted || !run.resume_failure.empty(); });
      stopped = run.stopped;
      interrupted = run.interrupted;
      resume_failure = run.resume_failure;
    }
    if (!resume_failure.empty()) {
      out->started = false;
      out->start_error = fmt::format("libvirt {}: cannot resume domain {}: {}", uri, name, resume_failure);
      return false;
    }
    const auto now = Clock::now();
    if (tail.poll(*out)) last_growth = now;
    if (stopped) return true;
    if (interrupted) return out->interrupted = true, false;
    if (budget.exhausted(out)) return false;
    // The guest said `done` (or crashed) and has been quiet since: its exit status is
    // unknowable here, so waiting for libvirt to notice QEMU's exit (seconds where zombies
    // are reaped late) would add nothing the records do not already say.
    if (tail.final_record() && now - last_growth >= grace) return false;
    // In case an event was lost. Not once the guest has given its answer: while libvirt
    // tears down a domain whose QEMU exited, every call on it blocks until the reap.
    if (!tail.final_record() && now >= next_state_poll) {
      next_state_poll = now + std::chrono::seconds(2);
      int state = 0;
      if (virDomainGetState(dom, &state, nullptr, 0) < 0 || state == VIR_DOMAIN_SHUTOFF) return true;
    }
  }
}

}  // namespace

struct LibvirtLauncher::Impl {
  std::string uri;
  std::mutex mu;
  virConnectPtr conn = nullptr;
  int callback_id = -1;
  bool killed = false;
  std::map<std::string, std::shared_ptr<Run>> runs;  ///< by domain name

  // A boot returns as soon as it has its answer; the domain is retired by a thread of its
  // own. A guest that shut itself down is left to libvirt (destroying a domain whose QEMU
  // already exited waits for the reap, seconds here, and holds up other domains' creation
  // on that daemon meanwhile); a live one is destroyed.
  std::mutex retire_mu;
  std::condition_variable retire_cv;
  size_t retiring = 0;  ///< domains still being retired

  /// Retires `dom`: waits until it stops by itself or until `destroy_at`, then destroys it
  /// if it still runs. Takes over `dom` and the registration of `name`.
  void retire(virDomainPtr dom, std::string name, std::shared_ptr<Run> run, Clock::time_point destroy_at) {
    {
      std::lock_guard lock(retire_mu);
      ++retiring;
    }
    {
      std::lock_guard lock(run->mu);
      run->retiring = true;
    }
    std::thread([this, dom, name = std::move(name), run = std::move(run), destroy_at] {
      bool stopped;
      {
        std::unique_lock lock(run->mu);
        run->cv.wait_until(lock, destroy_at, [&] { return run->stopped || run->interrupted; });
        stopped = run->stopped;
      }
      if (!stopped) virDomainDestroy(dom);  // also when the event was lost: harmless
      virDomainFree(dom);
      {
        std::lock_guard lock(mu);
        runs.erase(name);
      }
      std::lock_guard lock(retire_mu);
      --retiring;
      retire_cv.notify_all();
    }).detach();
  }

  /// Registers a domain's run before the domain exists (a fast guest may stop before CreateXML
  /// returns); false once kill_all() was called.
  bool enroll(const std::string& name, std::shared_ptr<Run> run) {
    std::lock_guard lock(mu);
    if (killed) return false;
    runs[name] = std::move(run);
    return true;
  }
  void unenroll(const std::string& name) {
    std::lock_guard lock(mu);
    runs.erase(name);
  }

  /// Waits until every retired domain is gone.
  void wait_retired() {
    std::unique_lock lock(retire_mu);
    retire_cv.wait(lock, [&] { return retiring == 0; });
  }

  static int on_lifecycle(virConnectPtr, virDomainPtr dom, int event, int, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    const char* name = virDomainGetName(dom);
    if (!name) return 0;
    std::shared_ptr<Run> run;
    {
      std::lock_guard lock(self->mu);
      auto it = self->runs.find(name);
      if (it == self->runs.end()) return 0;
      run = it->second;
    }
    std::lock_guard lock(run->mu);
    if (event == VIR_DOMAIN_EVENT_STOPPED) {
      run->stopped = true;
    }
    run->cv.notify_all();
    return 0;
  }

  /// A referenced connection (the caller virConnectClose()s it), reopened if it died.
  virConnectPtr connection(std::string* err) {
    std::lock_guard lock(mu);
    if (conn && virConnectIsAlive(conn) != 1) {
      if (callback_id >= 0) virConnectDomainEventDeregisterAny(conn, callback_id);
      callback_id = -1;
      virConnectClose(conn);
      conn = nullptr;
    }
    if (!conn) {
      ensure_event_loop();
      conn = virConnectOpen(uri.c_str());
      if (!conn) {
        *err = fmt::format("cannot connect to libvirt at {}: {}", uri, last_error());
        return nullptr;
      }
      // Keepalive notices a dead daemon; AUTODESTROY domains die with the connection.
      virConnectSetKeepAlive(conn, 5, 3);
      callback_id = virConnectDomainEventRegisterAny(
          conn, nullptr, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
          VIR_DOMAIN_EVENT_CALLBACK(&Impl::on_lifecycle), this, nullptr);
    }
    virConnectRef(conn);
    return conn;
  }

  ~Impl() {
    wait_retired();
    if (conn) {
      if (callback_id >= 0) virConnectDomainEventDeregisterAny(conn, callback_id);
      virConnectClose(conn);
    }
  }
};

LibvirtLauncher::LibvirtLauncher(LibvirtLauncherOptions options)
    : options_(std::move(options)), impl_(std::make_unique<Impl>()) {
  if (options_.work_dir.empty()) options_.work_dir = default_work_dir();
  impl_->uri = options_.uri;
}

LibvirtLauncher::~LibvirtLauncher() { stop_all(StopMode::LetFinishedStop); }

unsigned LibvirtLauncher::host_cpus() {
  std::string err;
  virConnectPtr conn = impl_->connection(&err);
  if (!conn) return 0;
  virNodeInfo info{};
  unsigned cpus = virNodeGetInfo(conn, &info) == 0 ? info.cpus : 0;
  virConnectClose(conn);
  return cpus;
}

BootOutcome LibvirtLauncher::boot(const CellSpec& spec) {
  BootOutcome out;
  out.host = options_.uri;
  out.exit_status_known = false;  // isa-debug-exit's status does not survive libvirt
  const auto t0 = Clock::now();
  auto finish = [&]() -> BootOutcome {
    out.duration_ms = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count());
    return std::move(out);
  };

  // Unique per process, across every launcher of a pool (names also key cgroups and logs).
  static std::atomic<unsigned> counter{0};
  LibvirtDomainOptions dopts;
  dopts.name = fmt::format("pvm-{}-{}", ::getpid(), ++counter);
  const std::string& name = dopts.name;
  const std::filesystem::path dir = options_.work_dir;
  dopts.serial_path = (dir / (name + ".serial")).string();
  dopts.emulator = options_.emulator;
  const std::string xml_path = (dir / (name + ".xml")).string();
  out.cmdline = {"virsh", "-c", options_.uri, "create", xml_path};
  std::string err;
  const std::string xml = write_domain(spec, dopts, xml_path, &err);
  if (xml.empty()) return out.start_error = err, finish();

  auto run = std::make_shared<Run>();
  if (!impl_->enroll(name, run)) {
    out.interrupted = true;
    out.start_error = "interrupted before start";
    return finish();
  }
  virConnectPtr conn = impl_->connection(&err);
  if (!conn) {
    out.start_error = err;
    impl_->unenroll(name);
    return finish();
  }
  SerialTail tail(dopts.serial_path);
  virDomainPtr dom = start_domain(conn, xml, run);
  if (!dom) {
    out.start_error = fmt::format("libvirt {}: cannot start domain {}: {}", options_.uri, name, last_error());
    impl_->unenroll(name);
    virConnectClose(conn);
    return finish();
  }
  out.started = true;
  // The budget starts with the guest, not with the daemon (a fresh daemon probes QEMU first).
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(spec.timeout_s));
  // The budget counts the time the guest could run when its QEMU is on this host (boot_budget.h).
  BootBudget budget(local_qemu_pid(options_.uri, name), spec.timeout_s);
  const bool stopped = wait_for_end(*run, tail, dom, budget, options_.done_grace_s, options_.uri, name, &out);
  budget.last_sample();
  budget.finish(&out);
  tail.poll(out);
  if (!tail.opened())
    out.stderr_text += fmt::format(
        "libvirt: serial file {} is not readable here; the work dir must be shared with the "
        "libvirt host at the same path\n", dopts.serial_path);
  // After a final record the guest normally stops by itself at once: it gets until the
  // cell's deadline to do so. On a timeout or interrupt it is destroyed now.
  const bool ended_early = !stopped && !out.timed_out && !out.interrupted && out.started;
  if (stopped) {
    virDomainFree(dom);
    impl_->unenroll(name);
  } else {
    impl_->retire(dom, name, run, ended_early ? deadline : Clock::now());
  }
  virConnectClose(conn);
  std::error_code ec;
  std::filesystem::remove(dopts.serial_path, ec);
  return finish();
}

void LibvirtLauncher::kill_all() { stop_all(StopMode::DestroyAll); }

void LibvirtLauncher::stop_all(StopMode mode) {
  std::vector<std::pair<std::string, std::shared_ptr<Run>>> runs;
  virConnectPtr conn = nullptr;
  {
    std::lock_guard lock(impl_->mu);
    impl_->killed = true;
    runs.assign(impl_->runs.begin(), impl_->runs.end());
    if (impl_->conn) {
      conn = impl_->conn;
      virConnectRef(conn);
    }
  }
  // Destroyed here too, all at once (each waits for its QEMU to be reaped), so no domain
  // of ours is left when kill_all returns.
  std::vector<std::thread> destroyers;
  for (auto& [name, run] : runs) {
    {
      std::lock_guard lock(run->mu);
      // Destroying a domain whose QEMU already exited holds up the daemon until the reap:
      // at a normal end, domains that gave their answer are left to stop by themselves.
      if (mode == StopMode::LetFinishedStop && run->retiring) continue;
      run->interrupted = true;
      run->cv.notify_all();
    }
    if (!conn) continue;
    destroyers.emplace_back([conn, name = name] {
      if (virDomainPtr dom = virDomainLookupByName(conn, name.c_str())) {
        virDomainDestroy(dom);
        virDomainFree(dom);
      }
    });
  }
  for (auto& t : destroyers) t.join();
  if (conn) virConnectClose(conn);
  impl_->wait_retired();
}

// ---- the pool -------------------------------------------------------------------------

LibvirtPool::LibvirtPool(const std::vector<LibvirtConnectSpec>& connects, const std::string& emulator) {
  for (const auto& c : connects) {
    LibvirtLauncherOptions o;
    o.uri = c.uri;
    o.emulator = emulator;
    o.work_dir = c.work_dir;
    Member m;
    m.launcher = std::make_unique<LibvirtLauncher>(o);
    m.jobs = c.jobs ? c.jobs : std::max(1u, m.launcher->host_cpus());
    members_.push_back(std::move(m));
  }
}

size_t LibvirtPool::capacity() const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& m : members_) n += m.jobs;
  return n;
}

BootOutcome LibvirtPool::boot(const CellSpec& spec) {
  Member* chosen = nullptr;
  {
    std::unique_lock lock(mu_);
    auto pick = [&]() -> Member* {
      Member* best = nullptr;
      for (auto& m : members_) {
        if (m.busy >= m.jobs) continue;
        // Most free slots first (relative to size), so every host gets work early.
        if (!best || (m.jobs - m.busy) * best->jobs > (best->jobs - best->busy) * m.jobs) best = &m;
      }
      return best;
    };
    slot_freed_.wait(lock, [&] { return killed_ || (chosen = pick()) != nullptr; });
    if (killed_) {
      BootOutcome out;
      out.interrupted = true;
      out.exit_status_known = false;
      out.start_error = "interrupted before start";
      return out;
    }
    ++chosen->busy;
  }
  BootOutcome out = chosen->launcher->boot(spec);
  {
    std::lock_guard lock(mu_);
    --chosen->busy;
  }
  slot_freed_.notify_one();
  return out;
}

void LibvirtPool::kill_all() {
  {
    std::lock_guard lock(mu_);
    killed_ = true;
  }
  slot_freed_.notify_all();
  for (auto& m : members_) m.launcher->kill_all();
}

// ---- the module's entry (libvirt_module.h) --------------------------------------------

namespace {

std::unique_ptr<Launcher> make_libvirt_launcher(const std::vector<std::string>& connect, const std::string& emulator,
                                                std::string* err) {
  std::vector<LibvirtConnectSpec> specs;
  for (const auto& text : connect) {
    LibvirtConnectSpec s;
    if (!parse_connect_spec(text, &s, err)) return nullptr;
    specs.push_back(std::move(s));
  }
  if (specs.empty()) specs.push_back({"qemu:///system", 0, ""});
  // One connection without a job limit needs no pool: the scheduler's -j decides.
  if (specs.size() == 1 && specs[0].jobs == 0) {
    LibvirtLauncherOptions lo;
    lo.uri = specs[0].uri;
    lo.emulator = emulator;
    lo.work_dir = specs[0].work_dir;
    return std::make_unique<LibvirtLauncher>(lo);
  }
  return std::make_unique<LibvirtPool>(specs, emulator);
}

std::string libvirt_client_version() {
  unsigned long v = 0;
  if (virGetVersion(&v, nullptr, nullptr) != 0) return "";
  return fmt::format("{}.{}.{}", v / 1000000, (v / 1000) % 1000, v % 1000);
}

const LibvirtModule kModule{kLibvirtModuleAbi, sizeof(LibvirtModule), make_libvirt_launcher, libvirt_client_version};

}  // namespace

}  // namespace pvm

extern "C" __attribute__((visibility("default"))) const pvm::LibvirtModule* pvmatrix_libvirt_module() {
  return &pvm::kModule;
}
