// `pvmatrix cell --kernel R --hv V`: boots one cell through run_cell (the code path every
// cell of `run` takes) and says what happened, for a person or (--json) as the cell object.
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "launcher_factory.h"
#include "op_group.h"
#include "preamble.h"
#include "predict.h"
#include "qemu_launcher.h"
#include "run_cell.h"
#include "text_util.h"
#include "world.h"

namespace pvm::cli {
namespace {

struct CellOptions {
  std::string kernel, hv, cmdline, config, dom0;
  double timeout_s = 10.0;
  std::string rom, qemu, log;
  WorldFlags world;
  std::string backend = "qemu";
  std::vector<std::string> connect;
  bool json = false;
};

/// Guest text is untrusted: control characters other than newline and tab are shown as \xNN.
std::string printable(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '\n' || c == '\t' || (c >= 0x20 && c != 0x7f)) out += static_cast<char>(c);
    else out += fmt::format("\\x{:02x}", c);
  }
  return out;
}

std::string indent(const std::string& text, const char* prefix) {
  std::string out;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    out += prefix + text.substr(start, nl - start) + "\n";
    start = nl + 1;
  }
  return out;
}

std::string reproduce_cell(const CellOptions& o, const CellSpec& spec) {
  std::vector<std::string> argv{"pvmatrix", "cell", "--kernel", o.kernel, "--hv", o.hv};
  if (!spec.cmdline.empty()) argv.insert(argv.end(), {"--cmdline", spec.cmdline});
  if (!o.config.empty()) argv.insert(argv.end(), {"--config", o.config});
  if (!o.dom0.empty()) argv.insert(argv.end(), {"--dom0", o.dom0});
  if (!o.rom.empty()) argv.insert(argv.end(), {"--rom", o.rom});
  if (!o.qemu.empty()) argv.insert(argv.end(), {"--qemu", o.qemu});
  return shell_quote(argv);
}

void print_human(const CellOptions& o, const CellResult& r, const World& world) {
  std::string out = fmt::format("{}: {} ({} ms)\n", r.spec.id(), to_string(r.status), r.duration_ms);
  out += fmt::format("  reason:    {}\n", printable(r.reason));
  if (!r.stage.empty()) out += fmt::format("  stage:     {}\n", printable(r.stage));
  const HypervisorVersion* v = world.find_version(r.spec.hv);
  for (const auto& p : r.probes) {
    if (p.status != "fail") continue;
    out += fmt::format("  probe:     {} failed", printable(p.id));
    if (!p.detail.empty()) out += ": " + printable(p.detail);
    if (p.call) {
      const char* name = v ? call_name(static_cast<uint16_t>(*p.call), v->api_major) : nullptr;
      out += fmt::format(" (call {}{})", *p.call, name ? std::string(" ") + name : "");
    }
    out += "\n";
  }
  if (!r.binding.empty()) {
    std::string b;
    for (const char* g : kOpGroups)
      if (auto it = r.binding.find(g); it != r.binding.end()) b += fmt::format("{}={} ", g, printable(it->second));
    for (const auto& [g, value] : r.binding)
      if (!op_group_from_name(g)) b += printable(g + "=" + value) + " ";
    out += "  binding:   " + b + "\n";
  }
  if (!r.hv_api.empty()) out += fmt::format("  hv api:    {}\n", printable(r.hv_api));
  if (!r.hv_refused.empty()) out += fmt::format("  refused:   the kernel refused the ROM: {}\n", printable(r.hv_refused));
  if (!r.log_path.empty()) out += fmt::format("  log:       {}\n", r.log_path);
  if (r.status == Status::Fail)
    for (const auto& p : r.probes)
      if (const char* g = p.status == "fail" && p.call && *p.call >= 0 && *p.call <= 0xffff
                              ? group_of_call(static_cast<uint16_t>(*p.call)) : nullptr;
          g && r.spec.cmdline.empty()) {
        out += fmt::format("  workaround: try --cmdline pv.native={} (keeps that op group native)\n", g);
        break;
      }
  out += fmt::format("  reproduce: {}\n", reproduce_cell(o, r.spec));
  if (!r.qemu_cmdline.empty()) out += fmt::format("  qemu:      {}\n", shell_quote(r.qemu_cmdline));
  if (r.status != Status::Pass && !r.evidence.empty()) out += "  evidence:\n" + indent(printable(r.evidence), "    | ");
  std::fputs(out.c_str(), stdout);
}

int run_cell_command(const CellOptions& o) {
  std::string err;
  auto world = o.world.load(&err);
  if (!world) return command_error("cell", err);
  CellConfig config;
  config.name = o.config;
  config.cmdline = o.cmdline;
  config.timeout_s = o.timeout_s;
  if (!o.dom0.empty()) config.dom0 = o.dom0;
  auto spec = world->make_spec(o.kernel, o.hv, config, &err);
  if (!spec) return command_error("cell", err);
  if (!o.rom.empty()) spec->rom_image = o.rom;

  LauncherOptions lo;
  lo.backend = o.backend;
  lo.qemu_binary = o.qemu;
  lo.connect = o.connect;
  auto launcher = make_launcher(lo, &err);
  if (!launcher) return command_error("cell", err);
  // QEMU runs in its own process group, so Ctrl-C reaches only us: a watcher thread takes
  // SIGINT/SIGTERM and kills the guest, and the cell ends as ERROR "interrupted".
  static std::atomic<int> caught{0};
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  std::shared_ptr<Launcher> shared(std::move(launcher));
  // The watcher only borrows it: the launcher must be destroyed when the cell ends (the
  // libvirt one waits there for its domain to be gone).
  std::thread([stop, weak = std::weak_ptr<Launcher>(shared)] {
    int sig = 0;
    if (sigwait(&stop, &sig) == 0) {
      caught = sig;
      if (auto l = weak.lock()) l->kill_all();
    }
  }).detach();

  RunCellOptions ro;
  ro.log_file = o.log;
  CellResult r = run_cell(*shared, *spec, ro);
  if (o.json) {
    std::string text = nlohmann::json(r).dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
    std::fputs((text + "\n").c_str(), stdout);
  } else {
    print_human(o, r, *world);
  }
  if (caught) return 128 + caught;
  switch (r.status) {
    case Status::Pass:
    case Status::Skip:
      return kExitOk;
    case Status::Error:
      return kExitUsage;
    default:
      return kExitFailure;
  }
}

void setup_cell(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<CellOptions>();
  CLI::App* sub = app.add_subcommand("cell", "Boot one cell (kernel release x hypervisor version x config) and classify it");
  sub->footer(
      "Exit status: 0 PASS, 1 the guest failed (FAIL, CRASH, HANG), 2 usage or infrastructure error (ERROR).\n"
      "Example: pvmatrix cell --kernel 2.6.25 --hv rom-1.12 --cmdline pv.native=timer");
  sub->add_option("--kernel", o->kernel, "Kernel release, e.g. 2.6.25 (or a test guest, fixture-<name>)")->required();
  sub->add_option("--hv", o->hv, "Hypervisor version, e.g. rom-1.12")->required();
  sub->add_option("--cmdline", o->cmdline, "Kernel command line, e.g. pv.native=timer");
  sub->add_option("--dom0", o->dom0, "On a Xen column: build dom0 as pvh or pv (Xen's dom0=)")
      ->check(CLI::IsMember({"pvh", "pv"}));
  sub->add_option("--config", o->config, "Config name for the cell id (default: derived from --cmdline, else 'default')");
  sub->add_option("--timeout", o->timeout_s, "Seconds before the boot counts as a HANG")->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_option("--rom", o->rom, "Boot with this ROM image instead of the version's (e.g. a corrupt one)");
  sub->add_option("--qemu", o->qemu, std::string("QEMU binary (default ") + kDefaultQemu + ")");
  sub->add_option("--backend", o->backend, "qemu or libvirt")->capture_default_str();
  sub->add_option("--connect", o->connect, "libvirt connection URI (with --backend libvirt)");
  sub->add_option("--log", o->log, "Write the serial log to this file");
  sub->add_flag("--json", o->json, "Print the cell object (DESIGN §6) instead of a summary");
  o->world.add_to(sub);
  sub->callback([o, &exit_code] { exit_code = run_cell_command(*o); });
}

const Registrar registrar("cell", setup_cell);

}  // namespace
}  // namespace pvm::cli
