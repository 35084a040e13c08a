#include "probes/probe.h"

#include "pv/xen.h"

#include "lib/record.h"

namespace probes {
namespace {

constinit Tally totals;

void emit(const char* id, const char* status, const char* detail, int call) {
  Record r("probe");
  r.str("id", id).str("status", status).str("detail", detail);
  if (call != kNoCall && !xen::active()) r.num("call", call);  // ROM call numbers; under Xen the ops are hypercalls
  r.emit();
}

}  // namespace

const Tally& tally() { return totals; }

Stage::Stage(const char* name) : name_(name) { Record("stage").str("name", name).str("status", "begin").emit(); }

void Stage::pass(const char* id, const char* detail) {
  ++totals.pass;
  emit(id, "pass", detail, kNoCall);
}

void Stage::fail(const char* id, const char* detail, int call) {
  ++totals.fail;
  failed_ = true;
  emit(id, "fail", detail, call);
}

void Stage::skip(const char* id, const char* reason) {
  ++totals.skip;
  emit(id, "skip", reason, kNoCall);
}

void Stage::finish(const char* detail, const char* status) {
  Record r("stage");
  r.str("name", name_).str("status", failed_ ? "fail" : status);
  if (detail && *detail) r.str("detail", detail);
  r.emit();
}

}  // namespace probes
