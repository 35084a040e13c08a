// The history store (harness/history_store.h) on SQLite, and on PostgreSQL when
// PVMATRIX_TEST_POSTGRES names a server (tests/e2e/test_history.py starts a throwaway cluster
// and runs these tests again against it).
#include "history_store.h"
#include "report_model.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "sql_connection.h"

namespace pvm {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

json cell(const std::string& kernel, const std::string& hv, const std::string& status) {
  json c = {{"id", "kernel=" + kernel + "/hv=" + hv + "/cfg=default"},
            {"kernel", kernel}, {"hv", hv}, {"config", "default"}, {"status", status},
            {"stage", status == "PASS" ? "shutdown" : "timer"},
            {"binding", {{"cpu", "rom"}, {"timer", status == "PASS" ? "rom" : "native"}}},
            {"probes", json::array()}, {"reason", status == "PASS" ? "" : "probe time.oneshot failed"},
            {"expected_reason", ""}, {"duration_ms", 150}, {"attempts", json::array({json::object()})}};
  if (status != "PASS") c["probes"].push_back({{"id", "time.oneshot"}, {"status", "fail"}, {"detail", "refused"}});
  return c;
}

// A report of `matrix` started at `ms`, on `revision`, with the given cells.
json report(const std::string& matrix, int64_t ms, const std::string& revision, std::vector<json> cells,
            bool complete = true, const std::string& shard = "") {
  return {{"schema", "pvmatrix-report"}, {"schema_version", 1}, {"complete", complete},
          {"meta", {{"host", "test"}, {"matrix", {{"name", matrix}, {"sha256", "abc"}}},
                    {"git", {{"revision", revision}, {"dirty", false}}},
                    {"started_at", "2026-01-01T00:00:00Z"}, {"started_at_ms", ms},
                    {"shard", shard.empty() ? json(nullptr) : json(shard)}}},
          {"summary", {{"total", cells.size()}, {"unexpected", 0}, {"by_status", {{"PASS", 1}}}}},
          {"cells", cells}};
}

// Each test gets an empty store: a fresh SQLite file, or the PostgreSQL database emptied.
class HistoryStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgresql") {
      const char* uri = std::getenv("PVMATRIX_TEST_POSTGRES");
      if (!uri || !*uri) GTEST_SKIP() << "PVMATRIX_TEST_POSTGRES not set (tests/e2e/test_history.py sets it)";
      location_ = uri;
      std::string err;
      auto db = open_postgres(location_, &err);
      ASSERT_TRUE(db) << err;
      ASSERT_TRUE(db->exec("DROP TABLE IF EXISTS results, runs, input_sets, pvmatrix_schema", {}, nullptr, &err)) << err;
    } else {
      static std::atomic<int> n{0};
      dir_ = fs::temp_directory_path() / ("pvm-history-test-" + std::to_string(getpid()) + "-" + std::to_string(n++));
      fs::remove_all(dir_);
      fs::create_directories(dir_);
      location_ = (dir_ / "history.sqlite").string();
    }
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  std::unique_ptr<HistoryStore> open(bool create = true) {
    std::string err;
    HistoryOpenError why;
    auto store = HistoryStore::open(location_, create, &err, &why);
    EXPECT_TRUE(store) << err;
    return store;
  }
  std::unique_ptr<SqlConnection> raw() {
    std::string err;
    auto db = GetParam() == "postgresql" ? open_postgres(location_, &err) : open_sqlite(location_, false, &err);
    EXPECT_TRUE(db) << err;
    return db;
  }
  int64_t count(const std::string& table) {
    std::vector<SqlRow> rows;
    std::string err;
    EXPECT_TRUE(raw()->exec("SELECT COUNT(*) FROM " + table, {}, &rows, &err)) << err;
    return std::stoll(*rows.at(0).at(0));
  }

  fs::path dir_;
  std::string location_;
};

TEST_P(HistoryStoreTest, CreatesTheSchemaAtTheCurrentVersion) {
  auto store = open();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->schema_version(), kHistorySchemaVersion);
  EXPECT_EQ(count("runs"), 0);
  store.reset();
  EXPECT_EQ(open()->schema_version(), kHistorySchemaVersion);  // reopening migrates nothing
}

TEST_P(HistoryStoreTest, RecordingTheSameReportTwiceChangesNothing) {
  auto store = open();
  ASSERT_TRUE(store);
  json r = report("smoke", 1000, "aaaa", {cell("2.6.25", "rom-1.12", "FAIL"), cell("2.6.24", "rom-1.12", "PASS")});
  int64_t first = 0, second = 0;
  bool already = true;
  std::string err;
  ASSERT_TRUE(store->record(r, "run", &first, &already, &err)) << err;
  EXPECT_FALSE(already);
  r["meta"]["history"] = {{"run", first}};  // a report annotated by its run is still the same run
  r["cells"][0]["history"] = {{"kind", "regressed"}};
  ASSERT_TRUE(store->record(r, "again.json", &second, &already, &err)) << err;
  EXPECT_TRUE(already);
  EXPECT_EQ(first, second);
  EXPECT_EQ(count("runs"), 1);
  EXPECT_EQ(count("results"), 2);
}

TEST_P(HistoryStoreTest, TimelinesAreInRunOrderAndStopAtTheRunAsked) {
  auto store = open();
  ASSERT_TRUE(store);
  std::string err;
  std::vector<int64_t> ids;
  const char* statuses[] = {"PASS", "PASS", "FAIL", "FAIL"};
  for (int i = 0; i < 4; ++i) {
    int64_t id = 0;
    bool already = false;
    ASSERT_TRUE(store->record(report("nightly", 1000 + i, "rev" + std::to_string(i), {cell("2.6.25", "rom-1.12", statuses[i])}),
                              "run", &id, &already, &err)) << err;
    ids.push_back(id);
  }
  int64_t other = 0;
  bool already = false;
  ASSERT_TRUE(store->record(report("smoke", 5000, "x", {cell("2.6.25", "rom-1.12", "PASS")}), "run", &other, &already, &err));

  std::map<std::string, std::vector<HistoryEntry>> t;
  ASSERT_TRUE(store->timelines("nightly", ids[2], &t, &err)) << err;
  const auto& entries = t["kernel=2.6.25/hv=rom-1.12/cfg=default"];
  ASSERT_EQ(entries.size(), 3u);  // up to the third run, other matrices left out
  EXPECT_EQ(entries[0].run, ids[0]);
  EXPECT_EQ(entries[2].status, "FAIL");
  std::vector<HistoryResult> results;  // the CLI's timeline carries the revisions
  ASSERT_TRUE(store->results("nightly", &results, &err)) << err;
  ASSERT_EQ(results.size(), 4u);
  EXPECT_EQ(results[2].entry.revision, "rev2");
  EXPECT_EQ(results[2].reason, "probe time.oneshot failed");
  HistoryWords w = history_words(entries);
  EXPECT_EQ(w.kind, HistoryKind::Regressed);
  EXPECT_EQ(w.first_failed_run, ids[2]);
  EXPECT_EQ(w.last_pass_run, ids[1]);

  std::vector<HistoryRun> runs;
  ASSERT_TRUE(store->runs("", 0, &runs, &err)) << err;
  ASSERT_EQ(runs.size(), 5u);
  EXPECT_EQ(runs[0].id, other);  // newest first
  EXPECT_EQ(runs[0].matrix, "smoke");
  runs.clear();
  ASSERT_TRUE(store->runs("nightly", 2, &runs, &err));
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].id, ids[3]);
}

TEST_P(HistoryStoreTest, OnlyTheRecentRunsAreReadButLongStreaksStayExact) {
  auto store = open();
  ASSERT_TRUE(store);
  std::string err;
  const int kRuns = static_cast<int>(kHistoryDepth) + 5;
  int64_t last = 0;
  for (int i = 0; i < kRuns; ++i) {
    bool already = false;
    ASSERT_TRUE(store->record(report("nightly", 1000 + i, "r", {cell("never", "hv", "FAIL"), cell("always", "hv", "PASS"),
                                                             cell("broke", "hv", i < 2 ? "PASS" : "CRASH")}),
                              "run", &last, &already, &err)) << err;
  }
  std::map<std::string, std::vector<HistoryEntry>> t;
  std::set<std::string> cut;
  ASSERT_TRUE(store->timelines("nightly", last, &t, &err, &cut)) << err;
  const std::string never = "kernel=never/hv=hv/cfg=default", always = "kernel=always/hv=hv/cfg=default",
                    broke = "kernel=broke/hv=hv/cfg=default";
  EXPECT_EQ(t[always].size(), kHistoryDepth);  // the recent runs only...
  EXPECT_EQ(cut, std::set<std::string>{always});
  EXPECT_EQ(history_words(t[always], kHistoryWindow, true).text, fmt::format("passing for {}+ runs", kHistoryDepth));
  EXPECT_EQ(t[never].size(), static_cast<size_t>(kRuns));  // ... but all of a cell that never worked in them
  EXPECT_EQ(history_words(t[never]).kind, HistoryKind::NeverPassed);
  ASSERT_EQ(t[broke].size(), static_cast<size_t>(kRuns));
  HistoryWords w = history_words(t[broke]);
  EXPECT_EQ(w.failing_for, kRuns - 2);
  EXPECT_EQ(w.last_pass_run, t[broke][1].run);
  std::map<std::string, std::vector<HistoryEntry>> all;
  ASSERT_TRUE(store->timelines("nightly", last, &all, &err, nullptr, 0)) << err;
  EXPECT_EQ(all[always].size(), static_cast<size_t>(kRuns));
}

TEST_P(HistoryStoreTest, BaselineIsTheLastCompleteRunOnTheRevisionWithItsShards) {
  auto store = open();
  ASSERT_TRUE(store);
  std::string err;
  int64_t id = 0;
  bool already = false;
  // Revision "base": two shards; revision "later": one partial run; the head itself.
  ASSERT_TRUE(store->record(report("nightly", 100, "base1111", {cell("2.6.24", "rom-1.12", "PASS")}, true, "1/2"), "run", &id, &already, &err));
  ASSERT_TRUE(store->record(report("nightly", 101, "base1111", {cell("2.6.25", "rom-1.12", "PASS")}, true, "2/2"), "run", &id, &already, &err));
  const int64_t shard2 = id;
  ASSERT_TRUE(store->record(report("nightly", 200, "later222", {cell("2.6.25", "rom-1.12", "FAIL")}, false), "run", &id, &already, &err));
  json dirty = report("nightly", 250, "dirty444", {cell("2.6.25", "rom-1.12", "FAIL")});
  dirty["meta"]["git"]["dirty"] = true;  // a work tree with changes is no revision to compare with
  ASSERT_TRUE(store->record(dirty, "run", &id, &already, &err));
  json head = report("nightly", 300, "head3333", {cell("2.6.25", "rom-1.12", "FAIL")});
  ASSERT_TRUE(store->record(head, "run", &id, &already, &err));

  HistoryBaseline base;
  ASSERT_TRUE(store->baseline("nightly", "", &head, &base, &err)) << err;
  ASSERT_EQ(base.report["cells"].size(), 2u);  // the partial run, the dirty one and the head itself are not baselines
  const ReportHeader h = read_report_header(base.report);
  ASSERT_TRUE(h.meta.history && h.meta.history->run);
  EXPECT_EQ(*h.meta.history->run, shard2);
  EXPECT_EQ(h.meta.matrix ? h.meta.matrix->name : "", "nightly");
  EXPECT_EQ(h.meta.git ? h.meta.git->revision.value_or("") : "", "base1111");
  EXPECT_NE(base.label.find("base1111"), std::string::npos) << base.label;
  for (const json& c : base.report["cells"]) EXPECT_EQ(c["status"], "PASS");
  EXPECT_EQ(base.report["cells"][0]["binding"]["timer"], "rom");

  ASSERT_TRUE(store->baseline("nightly", "base", &head, &base, &err)) << err;  // a prefix
  EXPECT_FALSE(store->baseline("nightly", "nosuchrev", &head, &base, &err));
  EXPECT_NE(err.find("no complete run of matrix nightly on revision nosuchrev"), std::string::npos) << err;
  EXPECT_FALSE(store->baseline("other", "", nullptr, &base, &err));
}

CellInputs inputs_of(const std::string& kernel_digest) {
  return CellInputs{kernel_digest, "none", "rom-digest", "none", "platform-digest", "cmdline-digest"};
}

TEST_P(HistoryStoreTest, InputsAreKeptOncePerSetAndComeBackWithTheBaseline) {
  auto store = open();
  ASSERT_TRUE(store);
  std::string err;
  int64_t id = 0;
  bool already = false;
  json a = cell("2.6.24", "rom-1.12", "PASS"), b = cell("2.6.25", "rom-1.12", "FAIL");
  std::map<std::string, CellInputs> inputs{{a["id"], inputs_of("k24")}, {b["id"], inputs_of("k25")}};
  ASSERT_TRUE(store->record(report("nightly", 100, "base1111", {a, b}), "run", &id, &already, &err, &inputs)) << err;
  EXPECT_EQ(count("input_sets"), 2);
  // The next night, 2.6.25's image changed: one new set; 2.6.24's is the one already kept.
  inputs[b["id"]] = inputs_of("k25-new");
  ASSERT_TRUE(store->record(report("nightly", 200, "next2222", {a, b}), "run", &id, &already, &err, &inputs)) << err;
  EXPECT_EQ(count("input_sets"), 3);
  // An imported report has no inputs: its cells come back without them.
  ASSERT_TRUE(store->record(report("nightly", 300, "imported", {a}), "old/report.json", &id, &already, &err)) << err;

  HistoryBaseline base;
  ASSERT_TRUE(store->baseline("nightly", "base1111", nullptr, &base, &err)) << err;
  ASSERT_EQ(base.report["cells"].size(), 2u);
  ASSERT_EQ(base.inputs.size(), 2u);
  for (const json& c : base.report["cells"]) {
    ASSERT_TRUE(base.inputs.count(c["id"])) << c.dump();
    EXPECT_EQ(base.inputs.at(c["id"]).kernel, c["kernel"] == "2.6.24" ? "k24" : "k25");
    EXPECT_EQ(base.inputs.at(c["id"]).platform, "platform-digest");
    EXPECT_FALSE(c.contains("inputs")) << "the inputs are typed, beside the cells";
  }
  ASSERT_TRUE(store->baseline("nightly", "next2222", nullptr, &base, &err)) << err;
  EXPECT_EQ(base.inputs.at(b["id"]).kernel, "k25-new");
  HistoryBaseline imported;
  ASSERT_TRUE(store->baseline("nightly", "imported", nullptr, &imported, &err)) << err;
  EXPECT_EQ(imported.report["cells"].size(), 1u);
  EXPECT_TRUE(imported.inputs.empty());
}

TEST_P(HistoryStoreTest, AVersionOneStoreMigratesForwardKeepingItsRuns) {
  std::string err;
  int64_t id = 0;
  bool already = false;
  {
    auto store = open();
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->record(report("nightly", 100, "old11111", {cell("2.6.24", "rom-1.12", "PASS")}), "run", &id,
                              &already, &err))
        << err;
  }
  // Back to version 1's shape: what a store written before the inputs looks like.
  auto db = raw();
  for (const char* sql : {"DROP TABLE input_sets", "ALTER TABLE results DROP COLUMN inputs",
                          "DELETE FROM pvmatrix_schema WHERE version > 1"})
    ASSERT_TRUE(db->exec(sql, {}, nullptr, &err)) << sql << ": " << err;
  db.reset();
  auto store = open();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->schema_version(), kHistorySchemaVersion);
  HistoryBaseline base;
  ASSERT_TRUE(store->baseline("nightly", "old", nullptr, &base, &err)) << err;
  EXPECT_EQ(base.report["cells"][0]["status"], "PASS");
  EXPECT_TRUE(base.inputs.empty());
  json c = cell("2.6.24", "rom-1.12", "FAIL");
  std::map<std::string, CellInputs> inputs{{c["id"], inputs_of("k")}};
  ASSERT_TRUE(store->record(report("nightly", 200, "new22222", {c}), "run", &id, &already, &err, &inputs)) << err;
  HistoryBaseline next;
  ASSERT_TRUE(store->baseline("nightly", "new", nullptr, &next, &err)) << err;
  EXPECT_EQ(next.inputs.at(c["id"]).kernel, "k");
}

TEST_P(HistoryStoreTest, ARunThatCannotBeWrittenLeavesNothing) {
  auto store = open();
  ASSERT_TRUE(store);
  json bad = report("nightly", 1, "r", {cell("2.6.25", "rom-1.12", "PASS"), json{{"id", "no status"}}});
  int64_t id = 0;
  bool already = false;
  std::string err;
  EXPECT_FALSE(store->record(bad, "run", &id, &already, &err));
  EXPECT_NE(err.find("cells[1]"), std::string::npos) << err;
  EXPECT_EQ(count("runs"), 0);
  EXPECT_EQ(count("results"), 0);
}

TEST_P(HistoryStoreTest, ANewerSchemaIsRefusedAndLeftUntouched) {
  ASSERT_TRUE(open());
  std::string err;
  ASSERT_TRUE(raw()->exec("INSERT INTO pvmatrix_schema (version) VALUES (7)", {}, nullptr, &err)) << err;
  HistoryOpenError why = HistoryOpenError::None;
  auto store = HistoryStore::open(location_, true, &err, &why);
  EXPECT_FALSE(store);
  EXPECT_EQ(why, HistoryOpenError::NewerSchema);
  EXPECT_NE(err.find("schema version 7"), std::string::npos) << err;
  EXPECT_NE(err.find(fmt::format("(version {})", kHistorySchemaVersion)), std::string::npos) << err;
  EXPECT_EQ(count("pvmatrix_schema"), kHistorySchemaVersion + 1);
  EXPECT_EQ(count("runs"), 0);
}

TEST_P(HistoryStoreTest, ConcurrentWritersNeverLoseARun) {
  ASSERT_TRUE(open());
  constexpr int kWriters = 2, kRuns = 10, kCells = 30;
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      std::string err;
      HistoryOpenError why;
      auto store = HistoryStore::open(location_, true, &err, &why);  // its own connection, like another process
      if (!store) return void(++failures);
      for (int r = 0; r < kRuns; ++r) {
        std::vector<json> cells;
        for (int c = 0; c < kCells; ++c) cells.push_back(cell("k" + std::to_string(c), "hv", "PASS"));
        int64_t id = 0;
        bool already = false;
        if (!store->record(report("nightly", w * 1000 + r, "r", cells, true, std::to_string(w + 1) + "/2"), "run", &id,
                           &already, &err))
          ++failures;
      }
    });
  }
  for (auto& t : writers) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(count("runs"), kWriters * kRuns);
  EXPECT_EQ(count("results"), kWriters * kRuns * kCells);
}

// Two runs that share a store nobody has created yet (two shards started together): both open
// it, both record. Repeated, because the window is the first moments of the file's life.
TEST_P(HistoryStoreTest, WritersCreatingTheStoreAtOnceBothRecord) {
  for (int round = 0; round < 40; ++round) {
    if (GetParam() == "postgresql") {
      SetUp();
    } else {
      for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(location_ + suffix);
    }
    std::atomic<int> waiting{2}, failures{0};
    std::vector<std::thread> writers;
    std::vector<std::string> errors(2);
    for (int w = 0; w < 2; ++w) {
      writers.emplace_back([&, w] {
        --waiting;
        while (waiting.load() > 0) std::this_thread::yield();  // both open at the same moment
        HistoryOpenError why;
        auto store = HistoryStore::open(location_, true, &errors[w], &why);
        int64_t id = 0;
        bool already = false;
        if (!store || !store->record(report("nightly", round * 10 + w, "r", {cell("k", "hv", "PASS")}, true,
                                            std::to_string(w + 1) + "/2"),
                                     "run", &id, &already, &errors[w]))
          ++failures;
      });
    }
    for (auto& t : writers) t.join();
    ASSERT_EQ(failures.load(), 0) << "round " << round << ": " << errors[0] << " | " << errors[1];
    ASSERT_EQ(count("runs"), 2) << "round " << round;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, HistoryStoreTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

TEST(HistoryStoreSqlite, ACorruptFileFailsWithSqlitesReason) {
  fs::path path = fs::temp_directory_path() / ("pvm-history-corrupt-" + std::to_string(getpid()) + ".sqlite");
  {
    std::ofstream out(path, std::ios::binary);
    out << std::string(4096, 'x');
  }
  std::string err;
  HistoryOpenError why = HistoryOpenError::None;
  EXPECT_FALSE(HistoryStore::open(path.string(), true, &err, &why));
  EXPECT_EQ(why, HistoryOpenError::Unavailable);
  EXPECT_NE(err.find("file is not a database"), std::string::npos) << err;
  EXPECT_NE(err.find(path.string()), std::string::npos) << err;
  fs::remove(path);
}

TEST(HistoryStoreSqlite, AMissingStoreIsNotCreatedForReading) {
  fs::path path = fs::temp_directory_path() / ("pvm-history-missing-" + std::to_string(getpid()) + ".sqlite");
  std::string err;
  HistoryOpenError why;
  EXPECT_FALSE(HistoryStore::open(path.string(), false, &err, &why));
  EXPECT_FALSE(fs::exists(path));
  EXPECT_NE(err.find("no such file"), std::string::npos) << err;
}

TEST(HistoryStoreLocation, DefaultIsBesideTheOutputDirectory) {
  ::unsetenv("PVMATRIX_HISTORY");
  EXPECT_EQ(default_history_location("out/nightly"), "out/history.sqlite");
  EXPECT_EQ(default_history_location("out/nightly/"), "out/history.sqlite");
  EXPECT_EQ(default_history_location("here"), "history.sqlite");
  ::setenv("PVMATRIX_HISTORY", "/srv/h.sqlite", 1);
  EXPECT_EQ(default_history_location("out/nightly"), "/srv/h.sqlite");
  ::unsetenv("PVMATRIX_HISTORY");
}

TEST(HistoryStoreLocation, DisplayHidesAPassword) {
  EXPECT_EQ(HistoryStore::display("postgresql://ci:secret@db.example/pvm"), "postgresql://ci@db.example/pvm");
  EXPECT_EQ(HistoryStore::display("postgresql:///pvm?host=/tmp"), "postgresql:///pvm?host=/tmp");
  EXPECT_EQ(HistoryStore::display("sqlite:out/h.sqlite"), "out/h.sqlite");
}

}  // namespace
}  // namespace pvm
