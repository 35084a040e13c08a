// Probe and stage records. A probe reads like a sentence:
//   stage.report("irq.save_restore", flags_ok, detail);
// Every result is one "probe" record; a stage ends with one "stage" record whose status is
// "fail" when any of its probes failed.
#pragma once

#include <stdint.h>

namespace probes {

struct Tally {
  int pass = 0, fail = 0, skip = 0;
};

/// The running totals for the "done" record.
const Tally& tally();

/// No ROM call to blame.
inline constexpr int kNoCall = -1;

class Stage {
 public:
  /// Emits the stage's `begin` record: a CRASH or HANG is then placed in the stage that was
  /// running, not the one before it (a stage's own record is written when it ends).
  explicit Stage(const char* name);
  void pass(const char* id, const char* detail);
  /// A failed probe; `call` names the ROM call to blame ("call" field), kNoCall for none.
  void fail(const char* id, const char* detail, int call = kNoCall);
  void skip(const char* id, const char* reason);
  void report(const char* id, bool ok, const char* detail, int call = kNoCall) {
    ok ? pass(id, detail) : fail(id, detail, call);
  }
  /// Emits the stage record: "fail" if a probe failed, else `status` ("ok" or "skip").
  void finish(const char* detail = nullptr, const char* status = "ok");
  bool failed() const { return failed_; }

 private:
  const char* name_;
  bool failed_ = false;
};

// One function per stage, one file per group of probes.
void run_cpu(Stage& s);    // probes/cpu.cpp
void run_irq(Stage& s);    // probes/irq.cpp
void run_mmu(Stage& s);    // probes/mmu.cpp
void run_timer(Stage& s);  // probes/timer.cpp

}  // namespace probes
