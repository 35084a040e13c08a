// The report model (harness/report_model.h, harness/cell_record.h): the record `run` writes and
// reads back on --resume, and the lenient readers of a report.json, including one that is not
// quite one (an older pvmatrix, a hand-edited file).
#include "report_model.h"
#include "cell_record.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace pvm {
namespace {
using nlohmann::json;

TEST(ReportModel, ACellsAttemptsAndPredictionAreRead) {
  const json cell = {
      {"id", "kernel=2.6.25/hv=rom-1.12/cfg=default"},
      {"status", "FAIL"},
      {"attempts", json::array({{{"status", "FAIL"}, {"duration_ms", 900}, {"cpu_ms", 700}, {"starved_ms", 150}},
                                {{"status", "FAIL"}, {"duration_ms", 800}}})},
      {"predicted", {{"status", "FAIL"}, {"probe", "time.oneshot"}, {"reason", "r"}, {"binding", {{"timer", "rom"}}}}},
      {"probes", json::array({{{"id", "cpu.cpuid"}, {"status", "pass"}},
                              {{"id", "time.oneshot"}, {"status", "fail"}, {"detail", "refused"}}})},
  };
  const ReportCell c = read_report_cell(cell);
  ASSERT_EQ(c.attempts.size(), 2u);
  EXPECT_EQ(c.attempts[0].cpu_ms, 700u);
  EXPECT_EQ(c.attempts[0].starved_ms, 150u);
  EXPECT_EQ(c.attempts[1].duration_ms, 800u);
  EXPECT_FALSE(c.attempts[1].cpu_ms.has_value());  // not measured: absent, not 0
  ASSERT_TRUE(c.predicted.has_value());
  EXPECT_EQ(c.predicted->status, "FAIL");
  EXPECT_EQ(c.predicted->probe, "time.oneshot");
  ASSERT_TRUE(c.predicted->binding.has_value());
  EXPECT_EQ(c.predicted->binding->at("timer"), "rom");
  EXPECT_EQ(c.failed_probe, "time.oneshot");
  EXPECT_EQ(c.failed_probe_detail, "refused");
  EXPECT_TRUE(c.workarounds.empty());
  json with = cell;
  with["workarounds"] = json::array({{{"mask", "pv.native=timer"}, {"status", "PASS"}}, "not one"});
  const ReportCell w = read_report_cell(with);
  ASSERT_EQ(w.workarounds.size(), 1u);  // what is not a workaround object is not read as one
  EXPECT_EQ(w.workarounds[0].mask, "pv.native=timer");
  EXPECT_EQ(json(w.workarounds[0]), with["workarounds"][0]);
}

TEST(ReportModel, AnUnpredictableCellStillCarriesItsPrediction) {
  const ReportCell c = read_report_cell({{"id", "x"}, {"predicted", {{"status", nullptr}, {"reason", "no manifest"}}}});
  ASSERT_TRUE(c.predicted.has_value());
  EXPECT_FALSE(c.predicted->status.has_value());
  EXPECT_EQ(c.predicted->reason, "no manifest");
  EXPECT_FALSE(read_report_cell({{"id", "x"}}).predicted.has_value());
}

TEST(ReportModel, TheHeaderReadsMetaSummaryAndFindings) {
  const json report = {
      {"complete", false},
      {"meta",
       {{"host", "ci-1"},
        {"qemu_version", "QEMU emulator version 7.2"},
        {"started_at", "2026-12-02T10:00:00Z"},
        {"started_at_ms", 1764669600000},
        {"ended_at", "2026-12-02T10:20:00Z"},
        {"shard", "2/3"},
        {"only", nullptr},
        {"matrix", {{"path", "matrix/nightly.json"}, {"name", "nightly"}, {"sha256", "abc"}}},
        {"git", {{"revision", "0123456789abcdef"}, {"dirty", nullptr}}},
        {"history", {{"recorded", true}, {"run", 12}, {"store", "out/history.sqlite"}}},
        {"cache", {{"hits", 3}, {"boots", 2}}}}},
      {"summary",
       {{"total", 5},
        {"unexpected", 1},
        {"by_status", {{"PASS", 4}, {"FAIL", 1}}},
        {"host", {{"attempts", 5}, {"wall_ms", 1000}, {"qemu_cpu_ms", 800}, {"starved_ms", 250}, {"starved_fraction", 0.25}}}}},
      {"findings", json::array({{{"id", "a"}, {"kind", "status"}, {"predicted", "PASS"}, {"observed", "FAIL"},
                                 {"detail", "d"}}})},
  };
  const ReportHeader h = read_report_header(report);
  EXPECT_EQ(h.complete, false);
  EXPECT_EQ(h.meta.host, "ci-1");
  EXPECT_EQ(h.meta.started_at_ms, 1764669600000);
  EXPECT_EQ(h.meta.ended_at, "2026-12-02T10:20:00Z");
  EXPECT_EQ(h.meta.shard, "2/3");
  EXPECT_EQ(h.meta.only, "");  // null: every cell
  EXPECT_EQ(h.total, 5);
  ASSERT_TRUE(h.meta.matrix.has_value());
  EXPECT_EQ(h.meta.matrix->path, "matrix/nightly.json");
  EXPECT_EQ(h.meta.matrix->sha256, "abc");
  ASSERT_TRUE(h.meta.git.has_value());
  EXPECT_EQ(h.meta.git->revision, "0123456789abcdef");
  EXPECT_FALSE(h.meta.git->dirty.has_value());  // null outside a git checkout
  ASSERT_TRUE(h.meta.history.has_value());
  EXPECT_TRUE(h.meta.history->recorded);
  EXPECT_EQ(h.meta.history->run, 12);
  ASSERT_TRUE(h.meta.cache.has_value());
  EXPECT_EQ(h.meta.cache->hits, 3);
  EXPECT_EQ(h.meta.cache->boots, 2);
  EXPECT_EQ(h.unexpected, 1);
  // In the report's order (JSON objects are written with sorted keys).
  ASSERT_EQ(h.by_status.size(), 2u);
  EXPECT_EQ(h.by_status[0], (std::pair<std::string, int>{"FAIL", 1}));
  ASSERT_TRUE(h.host_pressure.has_value());
  EXPECT_EQ(h.host_pressure->qemu_cpu_ms, 800u);
  EXPECT_DOUBLE_EQ(h.host_pressure->starved_fraction, 0.25);
  ASSERT_EQ(h.findings.size(), 1u);
  EXPECT_EQ(h.findings[0].observed, "FAIL");
}

TEST(ReportModel, AHeaderThatIsNotQuiteOneReadsAsAbsentNeverThrows) {
  // An older pvmatrix: no cache counts, no history, no host pressure.
  ReportHeader h = read_report_header({{"meta", {{"matrix", {{"name", "m"}}}}}, {"summary", {{"unexpected", 0}}}});
  EXPECT_FALSE(h.complete.has_value());
  ASSERT_TRUE(h.meta.matrix.has_value());
  EXPECT_FALSE(h.meta.matrix->sha256.has_value());
  EXPECT_FALSE(h.meta.cache.has_value());
  EXPECT_FALSE(h.meta.history.has_value());
  EXPECT_FALSE(h.host_pressure.has_value());
  EXPECT_FALSE(h.total.has_value());
  EXPECT_EQ(h.meta.started_at_ms, 0);
  // Half a cache record, a negative count, mistyped fields: absent, not zero and not a throw.
  EXPECT_FALSE(read_report_header({{"meta", {{"cache", {{"hits", 3}}}}}}).meta.cache.has_value());
  EXPECT_FALSE(read_report_header({{"meta", {{"cache", {{"hits", -1}, {"boots", 2}}}}}}).meta.cache.has_value());
  h = read_report_header({{"complete", "yes"}, {"meta", {{"matrix", "nightly"}, {"git", 7}}}, {"findings", 3}});
  EXPECT_FALSE(h.complete.has_value());
  EXPECT_FALSE(h.meta.matrix.has_value());
  EXPECT_FALSE(h.meta.git.has_value());
  EXPECT_TRUE(h.findings.empty());
  EXPECT_NO_THROW(read_report_header(json::array()));
  EXPECT_NO_THROW(read_report_header(nullptr));
  // A revision that is not text is no revision (the store keeps it NULL, as outside git).
  h = read_report_header({{"meta", {{"git", {{"revision", 7}, {"dirty", false}}}}}});
  ASSERT_TRUE(h.meta.git.has_value());
  EXPECT_FALSE(h.meta.git->revision.has_value());
  EXPECT_EQ(h.meta.git->dirty, false);
}

TEST(ReportModel, MetaHistoryIsWrittenAsItIsRead) {
  for (const ReportHistory& written : {ReportHistory{true, 41, "out/history.sqlite", "", 10},
                                       ReportHistory{false, std::nullopt, "out/h.sqlite", "database is locked", 10}}) {
    const json j = written;
    EXPECT_EQ(j["run"].is_null(), !written.recorded);
    EXPECT_EQ(j["error"].is_null(), written.recorded);  // null, not "", when recorded
    const auto read = read_report_header(json{{"meta", {{"history", j}}}}).meta.history;
    ASSERT_TRUE(read.has_value());
    EXPECT_EQ(read->recorded, written.recorded);
    EXPECT_EQ(read->run, written.run);
    EXPECT_EQ(read->store, written.store);
    EXPECT_EQ(read->error, written.error);
    EXPECT_EQ(read->window, written.window);
  }
}

TEST(ReportModel, RunMetaIsReadBackAsItWasWritten) {
  RunMeta m;
  m.tool = "pvmatrix";
  m.host = "ci-1";
  m.os = "Linux 6.1.0 x86_64";
  m.qemu_version = "QEMU emulator version 7.2.0";
  m.git = ReportGit{"0123abc", true};
  m.matrix = ReportMatrix{"matrix/nightly.json", "nightly", "abc"};
  m.argv = {"pvmatrix", "run", "matrix/nightly.json"};
  m.backend = "qemu";
  m.parallelism = 2;
  m.retries = 1;
  m.timeout_s = 120.5;
  m.shard = "1/2";
  m.started_at = "2026-12-07T10:00:00Z";
  m.started_at_ms = 1796637600000;
  m.ended_at = "2026-12-07T10:05:00Z";
  m.duration_ms = 300000;
  m.rusage = ReportRusage{1200, 90000, 40000};
  m.resumed_from = "out/nightly/report.json";
  m.cache = ReportCacheCounts{3, 2};
  m.history = ReportHistory{true, 12, "out/history.sqlite", "", 10};
  m.merged_from = std::vector<ReportSource>{{"a/report.json", "ci-1", "1/2", true, 98}, {"b/report.json", "", "", false, 0}};
  const json written = m;
  // Text the model holds as "" is written as null, never as "" (the schema's contract).
  EXPECT_TRUE(written["libvirt_version"].is_null());
  EXPECT_TRUE(written["only"].is_null());
  EXPECT_TRUE(written["merged_from"][1]["host"].is_null());
  const RunMeta read = read_run_meta(written);
  EXPECT_EQ(json(read), written);  // every field survives the round trip
  EXPECT_EQ(read.git->dirty, true);
  EXPECT_EQ(read.rusage->children_cpu_ms, 90000);
  ASSERT_EQ(read.merged_from->size(), 2u);
  EXPECT_EQ((*read.merged_from)[0].cells, 98u);

  // A run without the optional parts writes none of them: no cache, history, resume or merge.
  RunMeta plain;
  plain.started_at_ms = 5;
  const json p = plain;
  for (const char* absent : {"cache", "history", "resumed_from", "merged_from", "rusage", "git", "matrix"})
    EXPECT_FALSE(p.contains(absent)) << absent;
  EXPECT_TRUE(p["duration_ms"].is_null());
  EXPECT_TRUE(p["ended_at"].is_null());
}

TEST(ReportModel, AxesAreReadBackAsTheyWereWrittenAndAMalformedOneReadsEmpty) {
  const ReportAxes axes{{"2.6.24", "2.6.25"}, {"rom-1.12"}, {{"default", "", std::nullopt, std::nullopt},
                                                            {"big", "mem=1G", 1024, std::string("pc")}}};
  const json written = axes;
  EXPECT_FALSE(written["configs"][0].contains("memory_mib"));  // not set: absent, not null
  EXPECT_EQ(written["configs"][1]["memory_mib"], 1024);
  EXPECT_EQ(read_report_axes(json{{"axes", written}}), axes);
  const ReportAxes bad = read_report_axes(json{{"axes", {{"kernels", "2.6.24"}, {"configs", {1, {{"name", "x"}}}}}}});
  EXPECT_TRUE(bad.kernels.empty());
  ASSERT_EQ(bad.configs.size(), 1u);  // the one that is an object
  EXPECT_EQ(bad.configs[0].name, "x");
  EXPECT_TRUE(read_report_axes(json::array()).configs.empty());
}

TEST(ReportModel, AnnotationsLandWhereTheReadersLook) {
  json report = {{"cells", json::array({{{"id", "a"}, {"log", "logs/a.log"}}, 7, {{"id", "b"}, {"log", "/abs/b.log"}}})}};
  std::vector<std::string> seen;
  for_each_report_cell(&report, [&](json& cell, const std::string& id) {
    seen.push_back(id);
    rebase_cell_log(&cell, "extra");
    set_cell_verdict(&cell, "REGRESSION", id == "a" ? std::vector<Workaround>{{"pv.native=timer", "PASS"}}
                                                    : std::vector<Workaround>{});
  });
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b"}));  // the non-object is skipped
  const ReportCell a = read_report_cell(report["cells"][0]), b = read_report_cell(report["cells"][2]);
  EXPECT_EQ(a.log, "extra/logs/a.log");
  EXPECT_EQ(b.log, "/abs/b.log");  // absolute: where it is
  EXPECT_EQ(a.verdict, "REGRESSION");
  ASSERT_EQ(a.workarounds.size(), 1u);
  EXPECT_EQ(a.workarounds[0].status, "PASS");
  EXPECT_FALSE(report["cells"][2].contains("workarounds"));  // none tried: absent
  set_report_history(&report, ReportHistory{true, 3, "h.sqlite", "", 10});
  EXPECT_EQ(read_report_header(report).meta.history->run, 3);
}

TEST(ReportModel, CellsAndMetaAreFoundOnlyWhereAReportHasThem) {
  const json report = {{"meta", {{"host", "h"}}}, {"cells", json::array({{{"id", "a"}}})}};
  ASSERT_NE(report_cells(report), nullptr);
  EXPECT_EQ(report_cells(report)->size(), 1u);
  EXPECT_EQ(report_meta(report).value("host", ""), "h");
  EXPECT_EQ(report_cells(json{{"cells", 3}}), nullptr);
  EXPECT_EQ(report_cells(json::array()), nullptr);
  EXPECT_TRUE(report_meta(json{{"meta", "x"}}).empty());
  EXPECT_TRUE(report_meta(nullptr).is_object());
}

}  // namespace
}  // namespace pvm

namespace pvm {
namespace {

TEST(CellRecordJson, WorkaroundsAndPredictionGoThereAndBack) {
  CellRecord r;
  r.result.spec.kernel = "2.6.25";
  r.result.spec.hv = "rom-1.12";
  r.result.status = r.result.outcome = Status::Xfail;
  r.result.attempts.push_back({Status::Fail, 900, 0, std::nullopt, "probe failed", 700, 5});
  r.workarounds = {{"pv.native=timer", "PASS"}, {"pv.native=all", "PASS"}};
  Prediction p;
  p.status = Status::Fail;
  p.binding = {{"timer", "rom"}};
  p.probe = "time.oneshot";
  p.reason = "SetAlarm has no one-shot mode";
  r.predicted = p;
  const nlohmann::json j = r;
  EXPECT_EQ(j["workarounds"][0]["mask"], "pv.native=timer");
  EXPECT_EQ(j["predicted"]["status"], "FAIL");
  const CellRecord back = j.get<CellRecord>();
  EXPECT_EQ(nlohmann::json(back), j);  // what run keeps on --resume is what it wrote
  ASSERT_EQ(back.workarounds.size(), 2u);
  EXPECT_EQ(back.workarounds[1].mask, "pv.native=all");
  ASSERT_TRUE(back.predicted.has_value());
  EXPECT_EQ(back.predicted->probe, "time.oneshot");
}

TEST(CellRecordJson, NoWorkaroundsAndNoPredictionWriteNoKeys) {
  CellRecord r;
  r.result.spec.kernel = "2.6.24";
  r.result.spec.hv = "rom-2.0";
  const nlohmann::json j = r;
  EXPECT_FALSE(j.contains("workarounds"));
  EXPECT_FALSE(j.contains("predicted"));
}

TEST(CellRecordJson, AMalformedCellIsAnErrorNamingTheField) {
  CellRecord r;
  r.result.spec.kernel = "2.6.24";
  r.result.spec.hv = "rom-2.0";
  nlohmann::json j = r;
  j["workarounds"] = "pv.native=timer";
  try {
    (void)j.get<CellRecord>();
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("workarounds"), std::string::npos) << e.what();
  }
  j = r;
  j["status"] = "MAYBE";
  EXPECT_THROW((void)j.get<CellRecord>(), std::runtime_error);
}

}  // namespace
}  // namespace pvm
