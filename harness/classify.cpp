// The ordered classification rules of docs/contracts.md. Each rule is one block below, in
// order; the first that matches decides status, reason and evidence.
#include "classify.h"

#include <csignal>
#include <cstring>

#include <fmt/format.h>

#include "host_share.h"

namespace pvm {

namespace {

/// QEMU's exit status for a guest exit code written to isa-debug-exit.
constexpr int debug_exit_status(int code) { return (code << 1) | 1; }

std::string signal_name(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

/// Lines [first, last] of the log, cut from the front to about kEvidenceLimit bytes.
std::string excerpt(const ParsedSerial& s, size_t first, size_t last) {
  if (s.lines.empty() || first > last) return {};
  if (last >= s.lines.size()) last = s.lines.size() - 1;
  std::string out;
  size_t begin = last + 1;
  size_t bytes = 0;
  while (begin > first) {
    size_t n = s.lines[begin - 1].text.size() + 1;
    if (bytes + n > kEvidenceLimit && begin <= last) break;
    bytes += n;
    --begin;
  }
  if (begin > first) out += fmt::format("[... {} earlier lines]\n", begin - first);
  for (size_t i = begin; i <= last; ++i) {
    const std::string& t = s.lines[i].text;
    out += t.size() > kEvidenceLimit ? cap_field(t, kEvidenceLimit) : t;
    out += '\n';
  }
  return out;
}

/// The last lines of the log (for hangs and exits without done).
std::string tail(const ParsedSerial& s, size_t max_lines = 40) {
  if (s.lines.empty()) return "(no serial output)\n";
  size_t last = s.lines.size() - 1;
  return excerpt(s, last + 1 > max_lines ? last + 1 - max_lines : 0, last);
}

/// A record line and the lines before it.
std::string around(const ParsedSerial& s, size_t line, size_t before = 20) {
  return excerpt(s, line > before ? line - before : 0, line);
}

/// A reason is one line: guest text in it (a probe's detail) cannot start a line of its own,
/// e.g. a forged "@pvm" record in a report, a status line or a Markdown summary.
std::string one_line(std::string_view text) {
  std::string out;
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (u < 0x20 || u == 0x7f) out += fmt::format("\\x{:02x}", u);
    else out += c;
  }
  return out;
}

std::string first_line(const std::string& text) {
  size_t nl = text.find('\n');
  return cap_field(text.substr(0, nl), 512);
}

/// The stage a report shows: the stage that was running when the boot ended (a `begin` with
/// no end: a CRASH or HANG happened there), else the first stage that failed, else the last
/// reached (a kernel without begin records).
std::string reported_stage(const ParsedSerial& s) {
  if (!s.running_stage.empty()) return s.running_stage;
  for (const auto& st : s.stages)
    if (st.status == "fail") return st.name;
  return s.stages.empty() ? std::string() : s.stages.back().name;
}

/// Where a boot that ended early was, for its reason: ", in stage timer after probe
/// time.periodic" (the running stage and its last finished probe, as the serial shows them),
/// ", last stage mmu" (a kernel without begin records), "" (no stage record at all).
std::string where_it_ended(const ParsedSerial& s, const std::string& stage) {
  if (!s.running_stage.empty()) {
    std::string out = ", in stage " + s.running_stage;
    if (s.probes.size() > s.running_since_probe) out += " after probe " + s.probes.back().id;
    return out;
  }
  return stage.empty() ? std::string() : ", last stage " + stage;
}

/// Line of the n-th well-formed probe record before done.
std::optional<size_t> probe_line(const ParsedSerial& s, size_t n) {
  for (const auto& r : s.records) {
    if (r.kind != RecordKind::Probe || r.after_done) continue;
    if (n-- == 0) return r.line;
  }
  return std::nullopt;
}

std::string exit_text(const BootOutcome& b) {
  if (!b.exit_status_known) return "exit status unknown";
  if (b.exit_code) return fmt::format("exit status {}", *b.exit_code);
  return "no exit status";
}

/// Family xen: Xen's panic banner. Xen prints a row of '*', "Panic on CPU n:", the message
/// and another row of '*'; the lines just before the banner usually say why.
struct XenPanic {
  std::string message;  ///< "Could not construct domain 0"
  std::string cause;    ///< up to three Xen lines before the banner, "; "-joined
  size_t line = 0;      ///< the message's line
};

std::optional<XenPanic> find_xen_panic(const ParsedSerial& s) {
  auto text = [&](size_t i) { return strip_console_prefixes(s.lines[i].text); };
  for (size_t i = 0; i < s.lines.size(); ++i) {
    if (text(i).rfind("Panic on CPU", 0) != 0) continue;
    XenPanic p;
    for (size_t j = i + 1; j < s.lines.size() && j < i + 8; ++j) {
      std::string_view t = text(j);
      if (t.empty() || t.find_first_not_of('*') == std::string_view::npos) break;
      if (!p.message.empty()) p.message += " ";
      p.message += t;
      if (p.line == 0) p.line = j;
    }
    std::vector<std::string> before;
    for (size_t j = i; j-- > 0 && before.size() < 3;) {
      std::string_view t = text(j);
      if (t.empty() || t.find_first_not_of('*') == std::string_view::npos) continue;
      if (t.rfind("@pvm", 0) == 0) break;  // the guest's own lines are not Xen's reasons
      before.insert(before.begin(), std::string(t));
    }
    for (const auto& b : before) p.cause += (p.cause.empty() ? "" : "; ") + b;
    if (p.line == 0) p.line = i;
    return p;
  }
  return std::nullopt;
}

/// A line of a real kernel's log without the console prefixes and Linux's "[    1.234567] " time.
std::string_view kernel_text(std::string_view line) {
  std::string_view t = strip_console_prefixes(line);
  while (!t.empty() && t.back() == '\r') t.remove_suffix(1);  // hvc0 lines end "\r\r\n"
  if (!t.empty() && t.front() == '[') {
    size_t close = t.find("] ");
    if (close != std::string_view::npos && close < 20 &&
        t.substr(1, close - 1).find_first_not_of(" 0123456789.") == std::string_view::npos)
      t.remove_prefix(close + 2);
  }
  return t;
}

bool starts(std::string_view t, std::string_view p) { return t.rfind(p, 0) == 0; }

/// What Linux printed when it died: an oops (BUG:, Oops:, general protection fault, kernel
/// BUG at) and/or the panic itself, with the lines that say where.
struct LinuxDeath {
  std::string panic;        ///< "Attempted to kill init! exitcode=0x0000000b" ("" for an oops only)
  std::string oops;         ///< the first BUG:/Oops:/general protection line ("" for a plain panic)
  std::string where;        ///< "RIP: 0010:foo+0x12/0x40" (or EIP:), the first after the oops
  std::string warning;      ///< the first "WARNING: file:line at fn" before it ("" if none)
  size_t warning_line = 0;  ///< its line
  size_t first = 0, last = 0;  ///< lines [first, last] of the story
};

std::optional<LinuxDeath> find_linux_death(const ParsedSerial& s) {
  std::optional<LinuxDeath> d;
  for (size_t i = 0; i < s.lines.size(); ++i) {
    std::string_view t = kernel_text(s.lines[i].text);
    bool oops = starts(t, "BUG: ") || starts(t, "Oops: ") || starts(t, "general protection fault") ||
                starts(t, "kernel BUG at ") || starts(t, "Unable to handle kernel");
    bool panic = starts(t, "Kernel panic - not syncing: ");
    if (!oops && !panic) continue;
    if (!d) {
      d = LinuxDeath{};
      d->first = i;
    }
    d->last = i;
    if (oops && d->oops.empty()) d->oops = cap_field(t, 300);
    if (panic) {
      d->panic = cap_field(t.substr(std::string_view("Kernel panic - not syncing: ").size()), 300);
      break;
    }
  }
  if (!d) return d;
  for (size_t i = d->first; i <= d->last; ++i) {
    std::string_view t = kernel_text(s.lines[i].text);
    if (starts(t, "RIP: ") || starts(t, "EIP: ")) {
      d->where = cap_field(t, 200);
      break;
    }
  }
  // A kernel that warned before it died ("Tainted: G W"): the first warning is often the cause.
  for (size_t i = 0; i < d->first; ++i) {
    std::string_view t = kernel_text(s.lines[i].text);
    if (!starts(t, "WARNING: ")) continue;
    size_t cpu = t.find(", CPU#");
    d->warning = cap_field(t.substr(0, cpu == std::string_view::npos ? t.size() : cpu), 200);
    d->warning_line = i;
    break;
  }
  return d;
}

/// The lines of a Linux death that say why: the oops and panic lines, where it happened, which
/// task, the first frames of the call trace; each line as the log has it.
std::string linux_death_evidence(const ParsedSerial& s, const LinuxDeath& d) {
  std::string out;
  if (!d.warning.empty()) {  // the warning, the line before it (what the kernel complained of), its RIP
    size_t from = d.warning_line > 0 ? d.warning_line - 1 : 0;
    for (size_t i = from; i < d.first && i < d.warning_line + 8; ++i) {
      std::string_view t = kernel_text(s.lines[i].text);
      if (i <= d.warning_line || starts(t, "RIP: ") || starts(t, "EIP: ")) out += cap_field(s.lines[i].text, 512) + "\n";
    }
    out += "[...]\n";
  }
  size_t first = d.first > 3 ? d.first - 3 : 0;
  int frames = -1;
  for (size_t i = first; i <= d.last && out.size() < kEvidenceLimit; ++i) {
    std::string_view t = kernel_text(s.lines[i].text);
    bool keep = i < d.first || i == d.last || starts(t, "BUG: ") || starts(t, "Oops: ") ||
                starts(t, "general protection") || starts(t, "kernel BUG at") || starts(t, "Unable to handle") ||
                starts(t, "RIP: ") || starts(t, "EIP: ") || starts(t, "CPU: ") || starts(t, "Comm: ") ||
                starts(t, "Kernel panic") || starts(t, "#PF: ") || starts(t, "Modules linked in");
    if (starts(t, "Call Trace:")) frames = 0, keep = true;
    else if (frames >= 0 && frames < 8 && t.find('+') != std::string_view::npos) ++frames, keep = true;
    if (keep) out += cap_field(s.lines[i].text, 512) + "\n";
  }
  return out;
}

/// Family xen: Xen's report that dom0 died ("Hardware Dom0 crashed"), with the Xen lines just
/// before it (domain_crash callers, the faulting state).
struct Dom0Crash {
  std::string cause;  ///< up to three Xen lines before, "; "-joined
  size_t line = 0;
};

std::optional<Dom0Crash> find_dom0_crash(const ParsedSerial& s) {
  for (size_t i = 0; i < s.lines.size(); ++i) {
    if (s.lines[i].text.find("Hardware Dom0 crashed") == std::string::npos) continue;
    Dom0Crash c;
    c.line = i;
    std::vector<std::string> before;
    for (size_t j = i; j-- > 0 && before.size() < 3;) {
      const std::string& raw = s.lines[j].text;
      if (raw.rfind("(XEN) ", 0) != 0) continue;
      std::string_view t = strip_console_prefixes(raw);
      if (t.empty() || t.find_first_not_of("*-= ") == std::string_view::npos) continue;
      before.insert(before.begin(), cap_field(t, 200));
    }
    for (const auto& b : before) c.cause += (c.cause.empty() ? "" : "; ") + b;
    return c;
  }
  return std::nullopt;
}

}  // namespace

CellResult classify(const CellSpec& spec, const BootOutcome& boot, const ParsedSerial& serial) {
  CellResult r;
  r.spec = spec;
  r.duration_ms = boot.duration_ms;
  r.qemu_cmdline = boot.cmdline;
  r.host = boot.host;
  if (serial.hello) r.kernel_build = serial.hello->build;
  if (serial.hv) {
    r.binding = serial.hv->binding;
    r.hv_api = serial.hv->api;
    r.hv_features = serial.hv->features;
    r.hv_refused = serial.hv->refused;
  }
  r.stages = serial.stages;
  r.probes = serial.probes;
  r.stage = reported_stage(serial);
  const std::string where = where_it_ended(serial, r.stage);

  auto decide = [&](Status status, std::string reason, std::string evidence) {
    r.status = r.outcome = status;
    r.reason = one_line(reason);
    r.evidence = std::move(evidence);
  };

  const bool has_done = serial.done.has_value();
  const std::optional<XenPanic> xen_panic =
      spec.family == "xen" && !serial.crash ? find_xen_panic(serial) : std::nullopt;
  if (!boot.started) {
    // 1. The launcher could not start the guest.
    decide(Status::Error, "could not start: " + first_line(boot.start_error), cap_field(boot.start_error, kEvidenceLimit));
  } else if (boot.interrupted) {
    // 2. We killed it because the run was interrupted.
    decide(Status::Error, "interrupted", tail(serial));
  } else if (boot.host_limit) {
    // 2b. The host starved QEMU so long that the wall-clock safety limit ended the boot: nothing
    // is known about the guest, and it is not blamed.
    std::string reason = fmt::format("host too slow: the boot was stopped after {:.0f} s of wall time ({:.0f}x its {:.0f} s budget)",
                                     boot.duration_ms / 1000.0, kWallSafetyFactor, spec.timeout_s);
    if (boot.starved_ms && boot.duration_ms)
      reason += fmt::format(", {:.0f}% of it waiting for a CPU", 100.0 * *boot.starved_ms / boot.duration_ms);
    reason += where;
    decide(Status::Error, reason, tail(serial));
  } else if (boot.signal) {
    // 3. Something else killed QEMU: the host, never the guest's fault.
    decide(Status::Error, "host killed QEMU with " + signal_name(*boot.signal),
           tail(serial) + (boot.stderr_text.empty() ? "" : "--- stderr ---\n" + cap_field(boot.stderr_text, 1024)));
  } else if (xen_panic) {
    // 3b. Family xen: the hypervisor panicked (before the guest ran, or under it).
    std::string reason = "Xen panic: " + xen_panic->message;
    if (!xen_panic->cause.empty()) reason += " (" + xen_panic->cause + ")";
    if (!serial.hello) reason += "; the kernel never ran";
    else reason += where;
    decide(Status::Crash, cap_field(reason, 1024), around(serial, xen_panic->line, 12));
  } else if (auto death = spec.kernel_family == "linux" && !serial.crash ? find_linux_death(serial) : std::nullopt) {
    // 3c. A real kernel died: Linux's panic, or an oops (the task it killed may be the agent,
    // or the boot goes on limping: either way the kernel broke).
    std::string reason = death->panic.empty() ? "Linux oops: " + death->oops : "Linux panic: " + death->panic;
    if (!death->panic.empty() && !death->oops.empty()) reason += " (" + death->oops + ")";
    if (!death->where.empty()) reason += ", " + death->where;
    if (!death->warning.empty()) reason += "; after " + death->warning;
    if (!serial.hello) reason += "; before the guest agent ran";
    else reason += where;
    decide(Status::Crash, cap_field(reason, 1024), linux_death_evidence(serial, *death));
  } else if (auto dom0 = spec.family == "xen" && !serial.crash && !has_done ? find_dom0_crash(serial) : std::nullopt) {
    // 3d. Xen says its dom0 crashed (e.g. a PV dom0 that faulted before its console was up).
    std::string reason = "Xen: dom0 crashed";
    if (!dom0->cause.empty()) reason += " (" + dom0->cause + ")";
    if (!serial.hello) reason += "; the kernel never reached its init";
    else reason += where;
    decide(Status::Crash, cap_field(reason, 1024), around(serial, dom0->line, 15));
  } else if (serial.crash) {
    // 4. The guest said it died.
    const CrashRecord& c = *serial.crash;
    std::string what = c.panic ? "panic" : "crash";
    std::string reason = c.panic ? "kernel panic" : "guest crash";
    if (c.vector) reason += fmt::format(": vector {}", *c.vector);
    if (!c.eip.empty()) reason += " at eip " + c.eip;
    if (!c.detail.empty()) reason += (c.vector || !c.eip.empty() ? " (" + c.detail + ")" : ": " + c.detail);
    reason += where;
    decide(Status::Crash, cap_field(reason, 512), around(serial, *serial.crash_line));
  } else if (boot.timed_out && (!has_done || boot.exit_status_known)) {
    // 5. No progress before the timeout (a done without exit, when the exit is knowable, is a hang too).
    std::string reason = has_done ? fmt::format("timed out after done ({:.0f} s): the guest did not shut down", spec.timeout_s)
                                  : fmt::format("timed out after {:.0f} s of guest time without done", spec.timeout_s);
    reason += where;
    if (spec.kernel_family == "linux" && !serial.hello) {
      // A real kernel that never reached the agent: where did it stop?
      for (size_t i = serial.lines.size(); i-- > 0;)
        if (std::string_view t = kernel_text(serial.lines[i].text); !t.empty()) {
          reason += "; the guest agent never spoke, the last console line: " + cap_field(t, 200);
          break;
        }
    }
    decide(Status::Hang, reason, tail(serial));
  } else if (!serial.hello && !has_done && !boot.stderr_text.empty()) {
    // 6. QEMU itself complained before the guest said anything.
    decide(Status::Error, "QEMU could not start the guest: " + first_line(boot.stderr_text),
           cap_field(boot.stderr_text, kEvidenceLimit));
  } else if (!has_done) {
    // 7. The guest went away without saying done.
    std::string reason = "exited without done";
    if (boot.exit_status_known && boot.exit_code == 0)
      reason += " (exit status 0: a reset under -no-reboot, i.e. a triple fault)";
    else
      reason += " (" + exit_text(boot) + ")";
    reason += where;
    if (boot.serial_truncated)
      reason += fmt::format("; serial output cut at {} of {} bytes, done may lie beyond", boot.serial.size(), boot.serial_bytes);
    decide(Status::Crash, reason, tail(serial));
  } else {
    const DoneRecord& d = *serial.done;
    int pass = 0, fail = 0, skip = 0;
    for (const auto& p : serial.probes) (p.status == "pass" ? pass : p.status == "fail" ? fail : skip)++;
    std::string done_evidence = around(serial, *serial.done_line, 5);
    int want_exit = debug_exit_status(d.fail == 0 ? 0 : 1);
    if (d.pass != pass || d.fail != fail || d.skip != skip) {
      // 8a. done disagrees with the probe records.
      decide(Status::Crash,
             fmt::format("done says pass={} fail={} skip={} but the probe records say pass={} fail={} skip={}", d.pass,
                         d.fail, d.skip, pass, fail, skip),
             done_evidence);
    } else if (boot.exit_status_known && boot.exit_code != want_exit) {
      // 8b. the exit status disagrees with done.
      decide(Status::Crash,
             fmt::format("done says fail={} (exit status {} expected) but QEMU exited with {}", d.fail, want_exit,
                         boot.exit_code ? std::to_string(*boot.exit_code) : std::string("no status")),
             done_evidence);
    } else if (serial.after_done > 0) {
      // 8c. the guest kept talking after done.
      decide(Status::Crash, fmt::format("{} record(s) after done, first: {}", serial.after_done, serial.first_after_done),
             excerpt(serial, *serial.done_line, serial.lines.size() - 1));
    } else if (d.fail > 0) {
      // 9. A clean boot with failing probes.
      size_t i = 0;
      while (serial.probes[i].status != "fail") ++i;
      const Probe& p = serial.probes[i];
      std::string reason = "probe " + p.id + " failed";
      if (!p.detail.empty()) reason += ": " + p.detail;
      if (p.call) reason += fmt::format(" (call {})", *p.call);
      if (d.fail > 1) reason += fmt::format(" (+{} more)", d.fail - 1);
      auto line = probe_line(serial, i);
      decide(Status::Fail, cap_field(reason, 1024), line ? around(serial, *line, 5) : done_evidence);
    } else {
      decide(Status::Pass, fmt::format("done: pass={} fail=0 skip={}", d.pass, d.skip), done_evidence);
    }
  }

  if (serial.malformed > 0 && !r.evidence.empty())
    r.evidence += fmt::format("[harness: {} malformed @pvm line(s) ignored]\n", serial.malformed);
  if (boot.serial_truncated && !r.evidence.empty())
    r.evidence += fmt::format("[harness: serial output cut, {} bytes in all]\n", boot.serial_bytes);

  Attempt a;
  a.status = r.outcome;
  a.duration_ms = boot.duration_ms;
  a.exit_code = boot.exit_status_known ? boot.exit_code : std::nullopt;
  a.signal = boot.signal;
  a.reason = r.reason;
  a.cpu_ms = boot.cpu_ms;
  a.starved_ms = boot.starved_ms;
  r.attempts.push_back(std::move(a));
  return r;
}

CellResult classify(const CellSpec& spec, const BootOutcome& boot) {
  return classify(spec, boot, parse_serial(boot.serial));
}

}  // namespace pvm
