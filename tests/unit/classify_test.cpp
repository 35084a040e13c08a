// Every classification rule of docs/contracts.md, in order, with hand-made boot outcomes.
#include "classify.h"

#include <csignal>

#include <gtest/gtest.h>

namespace pvm {
namespace {

const std::string kHello = "@pvm {\"v\":1,\"ev\":\"hello\",\"kernel\":\"2.6.25\",\"build\":\"b\",\"cmdline\":\"\"}\n";
const std::string kHv =
    "@pvm {\"ev\":\"hv\",\"family\":\"rom\",\"name\":\"rom-1.12\",\"api\":\"3.2\",\"features\":[\"timer\"],"
    "\"binding\":{\"cpu\":\"rom\",\"irq\":\"rom\",\"mmu\":\"rom\",\"timer\":\"rom\",\"lazy\":\"rom\"}}\n";
const std::string kPassProbe = "@pvm {\"ev\":\"probe\",\"id\":\"cpu.cpuid\",\"status\":\"pass\"}\n";
const std::string kFailProbe =
    "@pvm {\"ev\":\"probe\",\"id\":\"time.oneshot\",\"status\":\"fail\",\"detail\":\"SetAlarm refused one-shot (-38)\",\"call\":68}\n";
const std::string kDonePass = "@pvm {\"ev\":\"done\",\"pass\":1,\"fail\":0,\"skip\":0}\n";
const std::string kDoneFail = "@pvm {\"ev\":\"done\",\"pass\":1,\"fail\":1,\"skip\":0}\n";
const std::string kCrash =
    "@pvm {\"ev\":\"crash\",\"vector\":14,\"eip\":\"0x0010a3f2\",\"error\":\"0x2\",\"cr2\":\"0x0\",\"detail\":\"page fault\"}\n";

CellSpec spec() {
  CellSpec s;
  s.kernel = "2.6.25";
  s.hv = "rom-1.12";
  s.timeout_s = 5;
  return s;
}

/// A boot that started and exited with `exit_code` after printing `serial`.
BootOutcome exited(const std::string& serial, std::optional<int> exit_code) {
  BootOutcome b;
  b.started = true;
  b.serial = serial;
  b.exit_code = exit_code;
  b.duration_ms = 42;
  b.cmdline = {"qemu", "-kernel", "k"};
  b.host = "localhost";
  return b;
}

CellResult run(const BootOutcome& b) { return classify(spec(), b); }

TEST(Classify, Rule1NotStartedIsErrorNamingThePath) {
  BootOutcome b;
  b.start_error = "QEMU binary /nonexistent: No such file or directory";
  CellResult r = run(b);
  EXPECT_EQ(r.status, Status::Error);
  EXPECT_EQ(r.outcome, Status::Error);
  EXPECT_NE(r.reason.find("/nonexistent"), std::string::npos);
}

// Family xen, rule 3b: Xen refusing the kernel is a named Xen panic, not QEMU's warning on stderr.
TEST(Classify, Rule3bXenPanicIsCrashNamingXensReason) {
  CellSpec s = spec();
  s.family = "xen";
  s.hv = "xen-4.17.7";
  BootOutcome b = exited(
      "(XEN) *** Building a PVH Dom0 ***\n"
      "(XEN) ERROR: Will only load images built for the generic loader or with PHYS32_ENTRY set\n"
      "(XEN) Failed to load Dom0 kernel\n"
      "(XEN) \n"
      "(XEN) ****************************************\n"
      "(XEN) Panic on CPU 0:\n"
      "(XEN) Could not construct domain 0\n"
      "(XEN) ****************************************\n"
      "(XEN) Manual reset required ('noreboot' specified)\n",
      std::nullopt);
  b.exit_status_known = false;
  b.stderr_text = "qemu-system-x86_64: warning: icount sleep disabled and no active timers\n";
  CellResult r = classify(s, b);
  EXPECT_EQ(r.status, Status::Crash) << r.reason;
  EXPECT_EQ(r.reason.rfind("Xen panic: Could not construct domain 0 (", 0), 0u) << r.reason;
  EXPECT_NE(r.reason.find("PHYS32_ENTRY"), std::string::npos) << r.reason;
  EXPECT_NE(r.reason.find("the kernel never ran"), std::string::npos) << r.reason;
  EXPECT_NE(r.evidence.find("Panic on CPU 0"), std::string::npos) << r.evidence;
  // The same text from a rom cell is guest output, not a hypervisor panic.
  EXPECT_NE(run(b).reason.rfind("Xen panic", 0), 0u);
}

TEST(Classify, Rule2InterruptedIsError) {
  BootOutcome b = exited(kHello + kCrash, std::nullopt);
  b.interrupted = true;
  CellResult r = run(b);
  EXPECT_EQ(r.status, Status::Error);
  EXPECT_EQ(r.reason, "interrupted");
}

TEST(Classify, Rule3ForeignSignalIsErrorNotTheGuests) {
  BootOutcome b = exited(kHello + kCrash, std::nullopt);
  b.signal = SIGKILL;
  CellResult r = run(b);
  EXPECT_EQ(r.status, Status::Error);
  EXPECT_EQ(r.reason, "host killed QEMU with SIGKILL");
  EXPECT_EQ(r.attempts.at(0).signal, SIGKILL);
}

TEST(Classify, Rule4CrashRecordIsCrashWithTheRecordAsEvidence) {
  CellResult r = run(exited(kHello + "line before\n" + kCrash, 5));
  EXPECT_EQ(r.status, Status::Crash);
  EXPECT_NE(r.reason.find("vector 14"), std::string::npos);
  EXPECT_NE(r.evidence.find("line before"), std::string::npos);
  EXPECT_NE(r.evidence.find("\"crash\""), std::string::npos);
}

TEST(Classify, Rule4PanicEvenAfterDone) {
  CellResult r = run(exited(kHello + kPassProbe + kDonePass + "@pvm {\"ev\":\"panic\",\"detail\":\"late\"}\n", 1));
  EXPECT_EQ(r.status, Status::Crash);
  EXPECT_NE(r.reason.find("panic"), std::string::npos);
}

TEST(Classify, Rule4BeatsTimeout) {
  BootOutcome b = exited(kHello + kCrash, std::nullopt);
  b.timed_out = true;
  EXPECT_EQ(run(b).status, Status::Crash);
}

TEST(Classify, Rule5TimeoutWithoutDoneIsHangWithTheLastLines) {
  BootOutcome b = exited(kHello + "@pvm {\"ev\":\"stage\",\"name\":\"timer\",\"status\":\"ok\"}\nwaiting for tick\n",
                         std::nullopt);
  b.timed_out = true;
  CellResult r = run(b);
  EXPECT_EQ(r.status, Status::Hang);
  EXPECT_EQ(r.stage, "timer");
  EXPECT_NE(r.evidence.find("waiting for tick"), std::string::npos);
}

std::string stage_rec(const std::string& name, const std::string& status) {
  return "@pvm {\"ev\":\"stage\",\"name\":\"" + name + "\",\"status\":\"" + status + "\"}\n";
}

// A stage record is written when its stage ends: the stage that hangs is the one that began
// and did not end, not the one before it; the probe is the last one that finished there.
TEST(Classify, HangNamesTheRunningStageAndItsLastProbe) {
  std::string serial = kHello + stage_rec("mmu", "begin") + stage_rec("mmu", "ok") + stage_rec("timer", "begin") +
                       "@pvm {\"ev\":\"probe\",\"id\":\"time.periodic\",\"status\":\"pass\"}\n";
  BootOutcome b = exited(serial, std::nullopt);
  b.timed_out = true;
  CellResult r = run(b);
  EXPECT_EQ(r.status, Status::Hang);
  EXPECT_EQ(r.stage, "timer");
  EXPECT_NE(r.reason.find("in stage timer after probe time.periodic"), std::string::npos) << r.reason;
  ASSERT_EQ(r.stages.size(), 1u);  // only ended stages are listed
  EXPECT_EQ(r.stages[0].name, "mmu");
}

TEST(Classify, CrashBeforeTheRunningStagesFirstProbeNamesNoProbe) {
  std::string serial = kHello + kPassProbe + stage_rec("cpu", "ok") + stage_rec("irq", "begin") + kCrash;
  CellResult r = run(exited(serial, 5));
  EXPECT_EQ(r.status, Status::Crash);
  EXPECT_EQ(r.stage, "irq");
  EXPECT_NE(r.reason.find(", in stage irq"), std::string::npos) << r.reason;
  EXPECT_EQ(r.reason.find("after probe"), std::string::npos) << r.reason;  // cpu.cpuid belongs to cpu
}

// The running stage wins over an earlier failed one: the crash happened later.
TEST(Classify, RunningStageBeatsAnEarlierFailedStage) {
  std::string serial = kHello + stage_rec("timer", "begin") + kFailProbe + stage_rec("timer", "fail") +
                       stage_rec("shutdown", "begin") + kCrash;
  CellResult r = run(exited(serial, 5));
  EXPECT_EQ(r.stage, "shutdown");
}

TEST(Classify, KernelsWithoutBeginRecordsKeepTheLastStage) {
  BootOutcome b = exited(kHello + stage_rec("timer", "ok"), std::nullopt);
  b.timed_out = true;
  CellResult r = run(b);
  EXPECT_EQ(r.stage, "timer");
  EXPECT_NE(r.reason.find(", last stage timer"), std::string::npos) << r.reason;
}

TEST(Classify, Rule5TimeoutAfterDoneWithKnowableExitIsHang) {
  BootOutcome b = exited(kHello + kPassProbe + kDonePass, std::nullopt);
  b.timed_out = true;
  CellResult r = run(b);
  EXPECT_EQ(r.status, Status::Hang);
  EXPECT_NE(r.reason.find("after done"), std::string::npos);
}

TEST(Classify, Rule5TimeoutAfterDoneWithUnknowableExitUsesRecords) {
  BootOutcome b = exited(kHello + kPassProbe + kDonePass, std::nullopt);
  b.timed_out = true;
  b.exit_status_known = false;
  EXPECT_EQ(run(b).status, Status::Pass);
  b.serial = kHello + kPassProbe + kFailProbe + kDoneFail;
  EXPECT_EQ(run(b).status, Status::Fail);
}

TEST(Classify, Rule6NoHelloAndStderrIsError) {
  BootOutcome b = exited("", 1);
  b.stderr_text = "qemu-system-i386: -kernel k: Error loading uncompressed kernel without PVH ELF Note\n";
  CellResult r = run(b);
  EXPECT_EQ(r.status, Status::Error);
  EXPECT_NE(r.reason.find("could not start the guest"), std::string::npos);
  EXPECT_NE(r.evidence.find("PVH"), std::string::npos);
}

TEST(Classify, Rule6DoesNotApplyOnceTheGuestSpoke) {
  BootOutcome b = exited(kHello, 1);
  b.stderr_text = "some warning\n";
  EXPECT_EQ(run(b).status, Status::Crash);
}

TEST(Classify, Rule7ExitWithoutDoneIsCrash) {
  CellResult r = run(exited(kHello + kPassProbe, 1));
  EXPECT_EQ(r.status, Status::Crash);
  EXPECT_NE(r.reason.find("exited without done"), std::string::npos);
}

TEST(Classify, Rule7ExitZeroIsATripleFault) {
  CellResult r = run(exited(kHello, 0));
  EXPECT_EQ(r.status, Status::Crash);
  EXPECT_NE(r.reason.find("triple fault"), std::string::npos);
}

TEST(Classify, Rule7NoOutputAtAllAndNoStderrIsCrash) {
  CellResult r = run(exited("", 0));
  EXPECT_EQ(r.status, Status::Crash);
  EXPECT_NE(r.evidence.find("no serial output"), std::string::npos);
}

TEST(Classify, Rule8DoneCountsDisagreeWithProbes) {
  CellResult r = run(exited(kHello + kDonePass, 1));
  EXPECT_EQ(r.status, Status::Crash);
  EXPECT_NE(r.reason.find("probe records say pass=0"), std::string::npos);
}

TEST(Classify, Rule8ExitStatusDisagreesWithDone) {
  EXPECT_EQ(run(exited(kHello + kPassProbe + kDonePass, 3)).status, Status::Crash);
  EXPECT_EQ(run(exited(kHello + kPassProbe + kFailProbe + kDoneFail, 1)).status, Status::Crash);
  EXPECT_EQ(run(exited(kHello + kPassProbe + kDonePass, std::nullopt)).status, Status::Crash);
}

TEST(Classify, Rule8RecordsAfterDone) {
  CellResult r = run(exited(kHello + kPassProbe + kDonePass + kFailProbe, 1));
  EXPECT_EQ(r.status, Status::Crash);
  EXPECT_NE(r.reason.find("after done"), std::string::npos);
  EXPECT_NE(r.reason.find("time.oneshot"), std::string::npos);
}

TEST(Classify, Rule9FailNamesTheFirstFailingProbeAndCall) {
  std::string stage = "@pvm {\"ev\":\"stage\",\"name\":\"timer\",\"status\":\"fail\"}\n";
  std::string later = "@pvm {\"ev\":\"stage\",\"name\":\"shutdown\",\"status\":\"ok\"}\n";
  CellResult r = run(exited(kHello + kHv + kPassProbe + stage + kFailProbe + later + kDoneFail, 3));
  EXPECT_EQ(r.status, Status::Fail);
  EXPECT_EQ(r.reason, "probe time.oneshot failed: SetAlarm refused one-shot (-38) (call 68)");
  EXPECT_EQ(r.stage, "timer");  // the failing stage, not the last one
  EXPECT_NE(r.evidence.find("time.oneshot"), std::string::npos);
  EXPECT_EQ(r.binding.at("timer"), "rom");
  EXPECT_EQ(r.hv_api, "3.2");
  ASSERT_EQ(r.attempts.size(), 1u);
  EXPECT_EQ(r.attempts[0].exit_code, 3);
  EXPECT_EQ(r.attempts[0].status, Status::Fail);
}

TEST(Classify, Rule9PassFillsTheCell) {
  std::string serial = kHello + kHv + "@pvm {\"ev\":\"stage\",\"name\":\"boot\",\"status\":\"ok\"}\n" +
                       "@pvm {\"ev\":\"stage\",\"name\":\"shutdown\",\"status\":\"ok\"}\n" + kPassProbe + kDonePass;
  CellResult r = run(exited(serial, 1));
  EXPECT_EQ(r.status, Status::Pass);
  EXPECT_EQ(r.stage, "shutdown");
  EXPECT_EQ(r.stages.size(), 2u);
  EXPECT_EQ(r.probes.size(), 1u);
  EXPECT_EQ(r.kernel_build, "b");
  EXPECT_EQ(r.binding.size(), 5u);
  EXPECT_EQ(r.duration_ms, 42u);
  EXPECT_EQ(r.qemu_cmdline.size(), 3u);
  EXPECT_EQ(r.host, "localhost");
}

TEST(Classify, RefusedRomIsRecorded) {
  std::string hv = "@pvm {\"ev\":\"hv\",\"family\":\"rom\",\"refused\":\"bad checksum (sum 0x3c)\",\"binding\":"
                   "{\"cpu\":\"native\",\"irq\":\"native\",\"mmu\":\"native\",\"timer\":\"native\",\"lazy\":\"native\"}}\n";
  CellResult r = run(exited(kHello + hv + kPassProbe + kDonePass, 1));
  EXPECT_EQ(r.status, Status::Pass);
  EXPECT_EQ(r.hv_refused, "bad checksum (sum 0x3c)");
  EXPECT_EQ(r.binding.at("cpu"), "native");
}

TEST(Classify, MalformedLinesDoNotChangeTheOutcomeButAreNoted) {
  CellResult r = run(exited(kHello + "@pvm {oops\n" + kPassProbe + kDonePass, 1));
  EXPECT_EQ(r.status, Status::Pass);
  EXPECT_NE(r.evidence.find("1 malformed"), std::string::npos);
}

TEST(Classify, EvidenceIsBounded) {
  std::string serial = kHello;
  for (int i = 0; i < 5000; ++i) serial += "noise line " + std::to_string(i) + "\n";
  BootOutcome b = exited(serial + std::string(100000, 'z') + "\n", std::nullopt);
  b.timed_out = true;
  CellResult r = run(b);
  EXPECT_EQ(r.status, Status::Hang);
  EXPECT_LE(r.evidence.size(), kEvidenceLimit + 256);
}

}  // namespace
}  // namespace pvm

namespace pvm {
namespace {

TEST(Classify, ExitWithoutDoneAfterTheSerialLimitSaysDoneMayBeBeyondIt) {
  BootOutcome b = exited(kHello + "flood\n", 1);
  b.serial_truncated = true;
  b.serial_bytes = 5u << 20;
  CellResult r = run(b);
  EXPECT_EQ(r.status, Status::Crash);
  EXPECT_NE(r.reason.find("serial output cut"), std::string::npos);
  EXPECT_NE(r.evidence.find("serial output cut"), std::string::npos);
}

}  // namespace
}  // namespace pvm
