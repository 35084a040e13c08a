// The verdicts the HTML report shows (reports/verdict_view.h): computed from two reports by the
// gate's own rules, or taken from a report that carries its own.
#include "verdict_view.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cell.h"
#include "run_report.h"

namespace pvm {
namespace {
using nlohmann::json;

json cell(const char* kernel, Status status, const char* timer = "rom") {
  CellResult r;
  r.spec.kernel = kernel, r.spec.hv = "rom-1.12", r.spec.config = "default";
  r.status = r.outcome = status;
  r.binding = {{"timer", timer}};
  r.evidence = "[probe] time.oneshot";
  return json(r);
}

json report(json cells) {
  json axes = {{"kernels", json::array({"2.6.24", "2.6.25"})}, {"hypervisors", json::array({"rom-1.12"})},
               {"configs", json::array({{{"name", "default"}}})}};
  return make_report(json::object(), axes, std::move(cells), true);
}

TEST(VerdictView, ComputedByTheGatesRulesKeyedByCellWithoutEvidence) {
  json base = report(json::array({cell("2.6.24", Status::Pass), cell("2.6.25", Status::Pass)}));
  json head = report(json::array({cell("2.6.24", Status::Pass, "native"), cell("2.6.25", Status::Fail)}));
  json view = compute_verdict_view(head, base);
  EXPECT_EQ(view["kernel=2.6.25/hv=rom-1.12/cfg=default"]["verdict"], "REGRESSION");
  EXPECT_EQ(view["kernel=2.6.24/hv=rom-1.12/cfg=default"]["verdict"], "BINDING_LOST");
  for (const auto& [id, v] : view.items()) EXPECT_FALSE(v.contains("evidence")) << id;
}

TEST(VerdictView, ReportsThatCannotBeComparedGiveNoVerdicts) {
  json base = report(json::array({cell("2.6.24", Status::Pass)}));
  json head = report(json::array({cell("2.6.24", Status::Pass), cell("2.6.24", Status::Fail)}));  // duplicate id
  EXPECT_EQ(compute_verdict_view(head, base), json::object());
}

TEST(VerdictView, AReportsOwnVerdictsAreKeyedByIdOrCell) {
  json r = {{"verdicts", json::array({{{"id", "a"}, {"verdict", "FIXED"}},
                                      {{"cell", "b"}, {"verdict", "NEW"}, {"note", "kept"}},
                                      {{"id", "c"}},  // no verdict: left out
                                      "not an object"})}};
  json view = verdict_view_from_report(r);
  EXPECT_EQ(view.size(), 2u);
  EXPECT_EQ(view["a"]["verdict"], "FIXED");
  EXPECT_EQ(view["b"]["note"], "kept");
  EXPECT_TRUE(verdict_view_from_report(json{{"verdicts", nullptr}}).is_null());
}

}  // namespace
}  // namespace pvm
