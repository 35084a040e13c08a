#include "run_report.h"

#include <cstdio>
#include <fstream>
#include <functional>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cell.h"

namespace pvm {
namespace {
using nlohmann::json;

json cell(const std::string& k, const std::string& hv, Status s, const std::string& evidence = "") {
  CellResult r;
  r.spec.kernel = k;
  r.spec.hv = hv;
  r.status = s;
  r.outcome = s == Status::Xfail ? Status::Fail : s == Status::Xpass || s == Status::Flaky ? Status::Pass : s;
  if (s == Status::Xfail || s == Status::Xpass) {
    r.expected = "FAIL";
    r.expected_reason = "needs one-shot";
  }
  r.reason = std::string("why ") + to_string(s);
  r.evidence = evidence;
  r.attempts.push_back({r.outcome, 5, 3, std::nullopt, r.reason});
  r.binding = {{"cpu", "rom"}, {"timer", "native"}};
  return json(r);
}

json axes() {
  return {{"kernels", {"2.6.24", "2.6.25"}},
          {"hypervisors", {"rom-1.12", "rom-2.0"}},
          {"configs", {{{"name", "default"}, {"cmdline", ""}}}}};
}

json meta(const std::string& sha = std::string(64, 'a')) {
  return {{"host", "h"}, {"qemu_version", "QEMU 7.2"}, {"libvirt_version", nullptr},
          {"git", {{"revision", "abc"}, {"dirty", false}}},
          {"matrix", {{"path", "matrix/smoke.json"}, {"name", "smoke"}, {"sha256", sha}}},
          {"started_at", "2026-01-01T00:00:00Z"}, {"ended_at", "2026-01-01T00:01:00Z"}};
}

TEST(Report, SummarizesByStatusKernelAndHv) {
  json cells = json::array({cell("2.6.24", "rom-1.12", Status::Pass), cell("2.6.25", "rom-1.12", Status::Xfail),
                            cell("2.6.25", "rom-2.0", Status::Crash)});
  json r = make_report(meta(), axes(), cells, true);
  EXPECT_EQ(r["schema"], "pvmatrix-report");
  EXPECT_EQ(r["schema_version"], 1);
  EXPECT_EQ(r["summary"]["total"], 3);
  EXPECT_EQ(r["summary"]["unexpected"], 1);
  EXPECT_EQ(r["summary"]["by_status"]["PASS"], 1);
  EXPECT_EQ(r["summary"]["by_status"]["HANG"], 0);  // every status present
  EXPECT_EQ(r["summary"]["by_kernel"]["2.6.25"]["XFAIL"], 1);
  EXPECT_EQ(r["summary"]["by_hv"]["rom-1.12"]["PASS"], 1);
  EXPECT_TRUE(r["verdicts"].is_null());
}

TEST(Report, AMalformedCellIsALocatedErrorNotACrash) {
  const std::string path = ::testing::TempDir() + "/pvm-malformed-report.json";
  auto read_with = [&](const std::function<void(json&)>& spoil) {
    json r = make_report(meta(), axes(), json::array({cell("2.6.24", "rom-1.12", Status::Pass),
                                                      cell("2.6.25", "rom-1.12", Status::Fail)}), true);
    spoil(r["cells"][1]);
    std::ofstream(path) << r.dump();
    json out;
    std::string err;
    EXPECT_FALSE(read_report(path, &out, &err));
    return err;
  };
  EXPECT_EQ(read_with([](json& c) { c["binding"]["timer"] = 5; }),
            path + ": cells[1] (kernel=2.6.25/hv=rom-1.12/cfg=default): field \"binding.timer\" must be a string");
  EXPECT_EQ(read_with([](json& c) { c.erase("status"); }),
            path + ": cells[1] (kernel=2.6.25/hv=rom-1.12/cfg=default): field \"status\" must be a string");
  EXPECT_EQ(read_with([](json& c) { c = 7; }), path + ": cells[1]: not an object");
  EXPECT_EQ(read_with([](json& c) { c["id"] = nullptr; }), path + ": cells[1]: field \"id\" must be a string");
  // A status this pvmatrix does not know is read (and counted unexpected), not refused.
  json r = make_report(meta(), axes(), json::array({cell("2.6.24", "rom-1.12", Status::Pass)}), true);
  r["cells"][0]["status"] = "FROM_THE_FUTURE";
  std::ofstream(path) << r.dump();
  json out;
  std::string err;
  EXPECT_TRUE(read_report(path, &out, &err)) << err;
  std::remove(path.c_str());
}

TEST(Report, MergeShardsInMatrixOrder) {
  json a = make_report(meta(), axes(), json::array({cell("2.6.25", "rom-1.12", Status::Xfail)}), true);
  json b = make_report(meta(), axes(),
                       json::array({cell("2.6.24", "rom-1.12", Status::Pass), cell("2.6.25", "rom-2.0", Status::Pass)}),
                       false);
  json m;
  std::string err;
  ASSERT_TRUE(merge_reports({a, b}, {"a.json", "b.json"}, &m, &err)) << err;
  ASSERT_EQ(m["cells"].size(), 3u);
  EXPECT_EQ(m["cells"][0]["id"], "kernel=2.6.24/hv=rom-1.12/cfg=default");
  EXPECT_EQ(m["cells"][1]["id"], "kernel=2.6.25/hv=rom-1.12/cfg=default");
  EXPECT_EQ(m["summary"]["total"], 3);
  EXPECT_FALSE(m["complete"].get<bool>());  // one shard was partial
  EXPECT_EQ(m["meta"]["merged_from"].size(), 2u);
}

TEST(Report, MergeConflictsAreErrors) {
  json a = make_report(meta(), axes(), json::array({cell("2.6.25", "rom-1.12", Status::Xfail)}), true);
  json dup = make_report(meta(), axes(), json::array({cell("2.6.25", "rom-1.12", Status::Pass)}), true);
  json other = make_report(meta(std::string(64, 'b')), axes(), json::array(), true);
  json m;
  std::string err;
  EXPECT_FALSE(merge_reports({a, dup}, {"a.json", "b.json"}, &m, &err));
  EXPECT_NE(err.find("kernel=2.6.25/hv=rom-1.12/cfg=default is in both a.json and b.json"), std::string::npos) << err;
  EXPECT_FALSE(merge_reports({a, other}, {"a.json", "c.json"}, &m, &err));
  EXPECT_NE(err.find("different matrix"), std::string::npos) << err;
  EXPECT_FALSE(merge_reports({}, {}, &m, &err));
}

TEST(Report, JunitHasOneTestcasePerCellAndEscapesGuestText) {
  std::string hostile = "<script>&\x01\x1b[31m\xff\xfe]]></failure>";
  json r = make_report(meta(), axes(),
                       json::array({cell("2.6.24", "rom-1.12", Status::Pass), cell("2.6.25", "rom-1.12", Status::Fail, hostile),
                                    cell("2.6.25", "rom-2.0", Status::Error), cell("2.6.24", "rom-2.0", Status::Xfail)}),
                       true);
  std::string xml, err;
  ASSERT_TRUE(make_junit_report()->render(r, &xml, &err));
  auto count = [&](const std::string& needle) {
    size_t n = 0;
    for (size_t at = xml.find(needle); at != std::string::npos; at = xml.find(needle, at + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count("<testcase "), 4u);
  EXPECT_EQ(count("<testsuite "), 2u);
  EXPECT_EQ(count("<failure "), 1u);
  EXPECT_EQ(count("<error "), 1u);
  EXPECT_EQ(count("<skipped "), 1u);
  EXPECT_NE(xml.find("classname=\"kernel-2.6.25\""), std::string::npos);
  EXPECT_NE(xml.find("&lt;script&gt;&amp;"), std::string::npos);
  EXPECT_EQ(xml.find("<script>"), std::string::npos);
  EXPECT_EQ(xml.find('\x01'), std::string::npos);
  EXPECT_EQ(xml.find('\x1b'), std::string::npos);
  EXPECT_EQ(xml.find("\xff"), std::string::npos);
  EXPECT_NE(xml.find("name=\"attempts\" value=\"1\""), std::string::npos);
  EXPECT_NE(xml.find("name=\"binding\" value=\"cpu=rom,timer=native\""), std::string::npos);
}

TEST(Report, SummaryPutsUnexpectedFirstWithEvidenceAndReproduce) {
  json r = make_report(meta(), axes(),
                       json::array({cell("2.6.24", "rom-1.12", Status::Pass), cell("2.6.25", "rom-1.12", Status::Xfail),
                                    cell("2.6.25", "rom-2.0", Status::Crash, "page fault ```\nline2")}),
                       true);
  std::string md, err;
  ASSERT_TRUE(make_summary_report()->render(r, &md, &err));
  size_t unexpected = md.find("## Unexpected results (1)");
  size_t crash = md.find("### CRASH `kernel=2.6.25/hv=rom-2.0/cfg=default`");
  size_t known = md.find("## Known issues");
  size_t counts = md.find("## Counts");
  ASSERT_NE(unexpected, std::string::npos) << md;
  ASSERT_NE(crash, std::string::npos) << md;
  EXPECT_LT(unexpected, crash);
  EXPECT_LT(crash, known);
  EXPECT_LT(known, counts);
  EXPECT_NE(md.find("pvmatrix run 'matrix/smoke.json' --only 'kernel=2.6.25/hv=rom-2.0/cfg=default'"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("````text\npage fault ```"), std::string::npos) << md;  // fence outlasts the evidence
  EXPECT_NE(md.find("kernel=2.6.25/hv=rom-1.12/cfg=default`: FAIL (why XFAIL) — known"), std::string::npos) << md;
}

TEST(Report, JsonWriterSurvivesInvalidUtf8) {
  json r = make_report(meta(), axes(), json::array({cell("2.6.25", "rom-2.0", Status::Crash, "bad \xff\xfe bytes")}), true);
  std::string text, err;
  ASSERT_TRUE(make_json_report()->render(r, &text, &err)) << err;
  json parsed;
  EXPECT_NO_THROW(parsed = json::parse(text));
}

}  // namespace
}  // namespace pvm
