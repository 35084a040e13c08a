#include "verdicts.h"
#include "workarounds.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace pvm {
namespace {

using nlohmann::json;

json binding(const std::string& timer = "rom") {
  return {{"cpu", "rom"}, {"irq", "rom"}, {"mmu", "rom"}, {"timer", timer}, {"lazy", "rom"}};
}

json cell(const std::string& id, const std::string& status, json bind = binding()) {
  json c = {{"id", id}, {"kernel", "2.6.25"}, {"hv", "rom-1.12"}, {"config", "default"},
            {"status", status}, {"binding", bind}, {"stage", "shutdown"}, {"probes", json::array()},
            {"reason", ""}, {"evidence", ""}};
  return c;
}

json failing(const std::string& id, const std::string& status = "FAIL") {
  json c = cell(id, status);
  c["stage"] = "timer";
  c["probes"] = json::array({{{"id", "time.periodic"}, {"status", "pass"}, {"detail", ""}},
                             {{"id", "time.oneshot"}, {"status", "fail"}, {"detail", "SetAlarm refused one-shot"}, {"call", 68}}});
  c["reason"] = "probe time.oneshot failed: SetAlarm refused one-shot (call 68)";
  c["evidence"] = "@pvm {\"ev\":\"probe\",\"id\":\"time.oneshot\",\"status\":\"fail\"}";
  return c;
}

json report(std::vector<json> cells) { return {{"schema", "pvmatrix-report"}, {"cells", cells}}; }

constexpr const char* kId = "kernel=2.6.25/hv=rom-1.12/cfg=default";

Verdict one(const json& base_cell, const json& head_cell, CellVerdict* out = nullptr) {
  VerdictSet set;
  std::string err;
  EXPECT_TRUE(diff(report({base_cell}), report({head_cell}), &set, &err)) << err;
  EXPECT_EQ(set.cells.size(), 1u);
  if (out) *out = set.cells.at(0);
  return set.cells.at(0).verdict;
}

TEST(Verdicts, PassToFailIsARegressionWithAReadableLine) {
  CellVerdict v;
  EXPECT_EQ(one(cell(kId, "PASS"), failing(kId), &v), Verdict::Regression);
  v.workarounds = {{"pv.native=cpu", "FAIL"}, {"pv.native=timer", "PASS"}, {"pv.native=all", "PASS"}};
  EXPECT_EQ(verdict_line(v),
            "REGRESSION kernel=2.6.25/hv=rom-1.12/cfg=default: was PASS, now FAIL at stage timer "
            "(probe time.oneshot: SetAlarm refused one-shot); works around with pv.native=timer or "
            "pv.native=all [needs re-run]");
  v.needs_rerun = false;
  v.workarounds = {{"pv.native=timer", "FAIL"}};
  EXPECT_NE(verdict_line(v).find("; no workaround tried works"), std::string::npos);
}

TEST(Verdicts, EveryFailingStatusAfterAPassIsARegression) {
  for (const char* s : {"FAIL", "CRASH", "HANG", "XFAIL"})
    EXPECT_EQ(one(cell(kId, "PASS"), failing(kId, s)), Verdict::Regression) << s;
  // XPASS worked: breaking it is a regression too.
  EXPECT_EQ(one(cell(kId, "XPASS"), failing(kId, "XFAIL")), Verdict::Regression);
}

TEST(Verdicts, Fixed) {
  EXPECT_EQ(one(failing(kId), cell(kId, "PASS")), Verdict::Fixed);
  EXPECT_EQ(one(failing(kId, "XFAIL"), cell(kId, "XPASS")), Verdict::Fixed);
  EXPECT_EQ(one(failing(kId, "CRASH"), cell(kId, "FLAKY")), Verdict::Fixed);
}

TEST(Verdicts, StillFailingNotesAChangedFailure) {
  CellVerdict v;
  EXPECT_EQ(one(failing(kId, "CRASH"), failing(kId, "FAIL"), &v), Verdict::StillFailing);
  EXPECT_NE(verdict_line(v).find(", was CRASH"), std::string::npos) << verdict_line(v);
  EXPECT_EQ(one(failing(kId, "XFAIL"), failing(kId, "XFAIL")), Verdict::StillFailing);
}

TEST(Verdicts, ErrorOnEitherSideIsNeverARegression) {
  EXPECT_EQ(one(cell(kId, "PASS"), cell(kId, "ERROR")), Verdict::Error);
  EXPECT_EQ(one(cell(kId, "ERROR"), failing(kId)), Verdict::Error);
  VerdictSet set;
  std::string err;
  ASSERT_TRUE(diff(report({cell(kId, "PASS")}), report({cell(kId, "ERROR")}), &set, &err));
  EXPECT_FALSE(set.has_regression());
  EXPECT_NE(verdict_line(set.cells[0]).find("not blamed on the kernel"), std::string::npos);
}

// A group gained is reported and passes.
TEST(Verdicts, BindingChangedWhenAGroupIsGained) {
  CellVerdict v;
  EXPECT_EQ(one(cell(kId, "PASS", binding("native")), cell(kId, "PASS"), &v), Verdict::BindingChanged);
  ASSERT_EQ(v.binding_changes.size(), 1u);
  EXPECT_EQ(v.binding_changes[0], "timer: native -> rom");
  EXPECT_EQ(verdict_line(v), std::string("BINDING_CHANGED ") + kId + ": PASS, timer: native -> rom");
  EXPECT_EQ(one(cell(kId, "PASS"), cell(kId, "PASS")), Verdict::Unchanged);
}

// A kernel that silently stops using the hypervisor for a group it bound before fails the gate
// with its own verdict, naming the group (VMI's quiet "mismatched rom version" fallback).
TEST(Verdicts, BindingLostWhenAGroupFallsBackToNativeUnasked) {
  CellVerdict v;
  EXPECT_EQ(one(cell(kId, "PASS"), cell(kId, "PASS", binding("native")), &v), Verdict::BindingLost);
  EXPECT_EQ(v.lost_groups, std::vector<std::string>{"timer"});
  EXPECT_EQ(verdict_line(v).rfind("BINDING_LOST " + std::string(kId) + ": PASS but stopped using the hypervisor for timer", 0), 0u)
      << verdict_line(v);
  EXPECT_NE(verdict_line(v).find("timer: rom -> native"), std::string::npos);
  EXPECT_TRUE(v.needs_rerun);  // the gate confirms it with a boot
  VerdictSet set;
  std::string err;
  ASSERT_TRUE(diff(report({cell(kId, "PASS")}), report({cell(kId, "FLAKY", binding("native"))}), &set, &err));
  EXPECT_FALSE(set.has_regression());
  EXPECT_TRUE(set.fails());
  EXPECT_NE(render_markdown(set).find("The gate fails: 1 cell(s) that stopped using the hypervisor"), std::string::npos);
  json j = set;
  EXPECT_EQ(j["bindings_lost"], 1);
  EXPECT_EQ(j["verdicts"][0]["lost_groups"], json::array({"timer"}));
  // Xen's groups count the same: xen -> native is lost.
  json xen = binding();
  xen["irq"] = "xen";
  json native = xen;
  native["irq"] = "native";
  EXPECT_EQ(one(cell(kId, "PASS", xen), cell(kId, "PASS", native)), Verdict::BindingLost);
}

TEST(Verdicts, BindingDroppedOnRequestIsOnlyAChange) {
  json head = cell(kId, "PASS", binding("native"));
  head["cmdline"] = "quiet pv.native=mmu,timer";
  EXPECT_EQ(one(cell(kId, "PASS"), head), Verdict::BindingChanged);
  head["cmdline"] = "pv.native=all";
  EXPECT_EQ(one(cell(kId, "PASS"), head), Verdict::BindingChanged);
  head["cmdline"] = "pv.native=mmu";  // another group masked: timer was still lost
  EXPECT_EQ(one(cell(kId, "PASS"), head), Verdict::BindingLost);
  EXPECT_EQ(masked_groups("a pv.native=cpu,irq b pv.native=lazy"), (std::set<std::string>{"cpu", "irq", "lazy"}));
  EXPECT_TRUE(masked_groups("pv.nativex=cpu").empty());
}

// A cell that fails now is a REGRESSION whatever its binding: one verdict, the worse one.
TEST(Verdicts, RegressionBeatsBindingLost) {
  json head = failing(kId);
  head["binding"] = binding("native");
  EXPECT_EQ(one(cell(kId, "PASS"), head), Verdict::Regression);
}

TEST(Verdicts, NewAndGone) {
  VerdictSet set;
  std::string err;
  std::string other = "kernel=2.6.24/hv=rom-1.12/cfg=default";
  ASSERT_TRUE(diff(report({cell(kId, "PASS")}), report({cell(other, "PASS")}), &set, &err));
  ASSERT_EQ(set.cells.size(), 2u);
  EXPECT_EQ(set.find(other)->verdict, Verdict::New);
  EXPECT_EQ(set.find(kId)->verdict, Verdict::Gone);
  EXPECT_FALSE(set.has_regression());
}

TEST(Verdicts, SkipIsNotCompared) {
  EXPECT_EQ(one(cell(kId, "PASS"), cell(kId, "SKIP")), Verdict::Unchanged);
  EXPECT_EQ(one(cell(kId, "SKIP"), failing(kId)), Verdict::Unchanged);
}

TEST(Verdicts, FlakyIsFlaggedForARerun) {
  CellVerdict v;
  // Passed on a retry: works, but the gate must look again.
  EXPECT_EQ(one(cell(kId, "PASS"), cell(kId, "FLAKY"), &v), Verdict::Unchanged);
  EXPECT_TRUE(v.needs_rerun);
  EXPECT_NE(verdict_line(v).find("[FLAKY: needs re-run]"), std::string::npos);
  EXPECT_EQ(one(cell(kId, "FLAKY"), failing(kId), &v), Verdict::Regression);
  EXPECT_TRUE(v.needs_rerun);
  EXPECT_EQ(one(cell(kId, "PASS"), cell(kId, "PASS"), &v), Verdict::Unchanged);
  EXPECT_FALSE(v.needs_rerun);
}

TEST(Verdicts, ARerunConfirmsOrClearsARegression) {
  CellVerdict v;
  json base = cell(kId, "PASS");
  one(base, failing(kId), &v);
  confirm_with_rerun(&v, base, failing(kId));
  EXPECT_EQ(v.verdict, Verdict::Regression);
  EXPECT_FALSE(v.needs_rerun);
  EXPECT_EQ(v.rerun, "FAIL");

  one(base, failing(kId), &v);
  confirm_with_rerun(&v, base, cell(kId, "PASS"));
  EXPECT_EQ(v.verdict, Verdict::Unchanged);
  EXPECT_EQ(v.head->status, "FLAKY");  // failed once, then passed

  one(base, cell(kId, "FLAKY"), &v);
  confirm_with_rerun(&v, base, failing(kId));
  EXPECT_EQ(v.verdict, Verdict::Regression);
}

TEST(Verdicts, RegressionsComeFirstInTheSetAndTheSummary) {
  VerdictSet set;
  std::string err;
  std::string a = "kernel=2.6.20/hv=rom-1.0/cfg=default", b = "kernel=2.6.21/hv=rom-1.0/cfg=default";
  ASSERT_TRUE(diff(report({failing(a), cell(b, "PASS"), cell(kId, "PASS")}),
                   report({cell(a, "PASS"), cell(b, "PASS"), failing(kId)}), &set, &err));
  ASSERT_EQ(set.cells.size(), 3u);
  EXPECT_EQ(set.cells[0].id, kId);
  EXPECT_EQ(set.cells[0].verdict, Verdict::Regression);
  EXPECT_EQ(set.cells[1].verdict, Verdict::Fixed);
  std::string md = render_markdown(set);
  EXPECT_LT(md.find("REGRESSION " + std::string(kId)), md.find("FIXED " + a));
  EXPECT_NE(md.find("evidence"), std::string::npos);
  EXPECT_EQ(md.find("UNCHANGED " + b), std::string::npos);  // counted, not listed
}

TEST(Verdicts, JsonAndReportAnnotation) {
  VerdictSet set;
  std::string err;
  json head = report({failing(kId)});
  ASSERT_TRUE(diff(report({cell(kId, "PASS")}), head, &set, &err));
  set.cells[0].workarounds = {{"pv.native=timer", "PASS"}};
  json j = set;
  EXPECT_EQ(j["schema"], "pvmatrix-verdicts");
  EXPECT_EQ(j["regressions"], 1);
  EXPECT_EQ(j["verdicts"][0]["verdict"], "REGRESSION");
  EXPECT_EQ(j["verdicts"][0]["head_probe"], "time.oneshot");
  annotate_report(&head, set);
  EXPECT_EQ(head["cells"][0]["verdict"], "REGRESSION");
  EXPECT_EQ(head["cells"][0]["workarounds"][0]["mask"], "pv.native=timer");
  EXPECT_EQ(head["cells"][0]["workarounds"][0]["status"], "PASS");
  EXPECT_EQ(head["verdicts"][0]["id"], kId);
}

TEST(Verdicts, BadReportsAreRefusedNamingTheField) {
  VerdictSet set;
  std::string err;
  EXPECT_FALSE(diff(json::object(), report({}), &set, &err));
  EXPECT_NE(err.find("base: no \"cells\""), std::string::npos) << err;
  EXPECT_FALSE(diff(report({}), report({json{{"status", "PASS"}}}), &set, &err));
  EXPECT_NE(err.find("head: cells[0] has no string \"id\""), std::string::npos) << err;
  EXPECT_FALSE(diff(report({cell(kId, "PASS"), cell(kId, "PASS")}), report({}), &set, &err));
  EXPECT_NE(err.find("duplicate id"), std::string::npos) << err;
}

TEST(Verdicts, NamesRoundTrip) {
  for (auto v : {Verdict::Regression, Verdict::BindingLost, Verdict::Fixed, Verdict::StillFailing, Verdict::BindingChanged, Verdict::New,
                 Verdict::Gone, Verdict::Error, Verdict::Unchanged})
    EXPECT_EQ(verdict_from_string(to_string(v)), v);
  EXPECT_FALSE(verdict_from_string("regression"));
  EXPECT_EQ(workaround_masks().front(), "pv.native=cpu");
  EXPECT_EQ(workaround_masks().back(), "pv.native=all");
}

}  // namespace
}  // namespace pvm
