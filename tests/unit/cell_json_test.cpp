// The cell object: status names, ids, to_json/from_json round trip, errors naming the field.
#include "cell.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "run_cell.h"
#include "text_util.h"

namespace pvm {
namespace {

using nlohmann::json;

CellResult sample() {
  CellResult c;
  c.spec.kernel = "2.6.25";
  c.spec.hv = "rom-1.12";
  c.spec.config = "pv.native-timer";
  c.spec.cmdline = "pv.native=timer";
  c.status = Status::Xfail;
  c.outcome = Status::Fail;
  c.expected = "FAIL";
  c.expected_reason = "no one-shot";
  c.expected_link = "https://example.org/1";
  c.binding = {{"cpu", "rom"}, {"timer", "native"}};
  c.hv_api = "3.2";
  c.hv_features = {"timer", "mmu"};
  c.hv_refused = "";
  c.kernel_build = "abc";
  c.stage = "timer";
  c.stages = {{"boot", "ok", ""}, {"timer", "fail", "no clock"}};
  c.probes = {{"time.oneshot", "fail", "SetAlarm refused", 68}, {"cpu.cpuid", "pass", "", std::nullopt}};
  c.duration_ms = 41;
  c.attempts = {{Status::Fail, 41, 3, std::nullopt, "probe failed"}, {Status::Error, 5, std::nullopt, 9, "killed"}};
  c.reason = "probe time.oneshot failed";
  c.evidence = "line\n\x01weird";
  c.log_path = "logs/x.log";
  c.qemu_cmdline = {"/usr/libexec/qemu-system-i386", "-append", "pv.native=timer x"};
  c.host = "localhost";
  c.backend = "qemu";
  return c;
}

TEST(CellJson, StatusNamesRoundTrip) {
  for (Status s : {Status::Pass, Status::Fail, Status::Crash, Status::Hang, Status::Error, Status::Skip,
                   Status::Xfail, Status::Xpass, Status::Flaky})
    EXPECT_EQ(status_from_string(to_string(s)), s);
  EXPECT_FALSE(status_from_string("pass"));
  EXPECT_FALSE(status_from_string(""));
  EXPECT_TRUE(is_unexpected_failure(Status::Xpass));
  EXPECT_FALSE(is_unexpected_failure(Status::Xfail));
  EXPECT_FALSE(is_unexpected_failure(Status::Flaky));
}

TEST(CellJson, Id) { EXPECT_EQ(sample().spec.id(), "kernel=2.6.25/hv=rom-1.12/cfg=pv.native-timer"); }

TEST(CellJson, WritesTheContractFields) {
  json j = sample();
  EXPECT_EQ(j["id"], "kernel=2.6.25/hv=rom-1.12/cfg=pv.native-timer");
  EXPECT_EQ(j["status"], "XFAIL");
  EXPECT_EQ(j["outcome"], "FAIL");
  EXPECT_EQ(j["probes"][0]["call"], 68);
  EXPECT_TRUE(j["probes"][1]["call"].is_null());
  EXPECT_TRUE(j["attempts"][0]["signal"].is_null());
  EXPECT_EQ(j["log"], "logs/x.log");
  EXPECT_EQ(j["reproduce"], "/usr/libexec/qemu-system-i386 -append 'pv.native=timer x'");
  for (const char* key : {"expected_reason", "expected_link", "hv_api", "hv_features", "hv_refused", "kernel_build",
                          "stage", "stages", "duration_ms", "reason", "evidence", "qemu_cmdline", "host", "backend"})
    EXPECT_TRUE(j.contains(key)) << key;
  CellResult none;
  none.spec.kernel = "k";
  none.spec.hv = "h";
  EXPECT_TRUE(json(none)["expected"].is_null());
}

TEST(CellJson, RoundTrips) {
  json j = sample();
  CellResult back = j.get<CellResult>();
  EXPECT_EQ(json(back), j);
  EXPECT_EQ(back.attempts[1].signal, 9);
  EXPECT_EQ(back.probes[0].call, 68);
  EXPECT_EQ(back.expected, "FAIL");
}

void expect_error_naming(json j, const std::string& field) {
  try {
    (void)j.get<CellResult>();
    FAIL() << "accepted bad " << field;
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("\"" + field + "\""), std::string::npos) << e.what();
  }
}

TEST(CellJson, BadFieldsAreNamed) {
  json good = sample();
  json j = good;
  j.erase("kernel");
  expect_error_naming(j, "kernel");
  j = good, j["status"] = "pass";
  expect_error_naming(j, "status");
  j = good, j["outcome"] = 3;
  expect_error_naming(j, "outcome");
  j = good, j["expected"] = "MAYBE";
  expect_error_naming(j, "expected");
  j = good, j["binding"]["cpu"] = 1;
  expect_error_naming(j, "binding.cpu");
  j = good, j["probes"][0]["call"] = "68";
  expect_error_naming(j, "probes[0].call");
  j = good, j["probes"][1].erase("id");
  expect_error_naming(j, "probes[1].id");
  j = good, j["attempts"][0]["status"] = "NOPE";
  expect_error_naming(j, "attempts[0].status");
  j = good, j["duration_ms"] = -1;
  expect_error_naming(j, "duration_ms");
  j = good, j["qemu_cmdline"][1] = 7;
  expect_error_naming(j, "qemu_cmdline[1]");
  j = good, j["id"] = "kernel=x/hv=y/cfg=z";
  expect_error_naming(j, "id");
  EXPECT_THROW((void)json::array().get<CellResult>(), std::runtime_error);
}

TEST(CellJson, ShellQuote) {
  EXPECT_EQ(shell_quote({"a", "b c", "it's", ""}), "a 'b c' 'it'\\''s' ''");
  EXPECT_EQ(shell_word("kernel=2.6.25/hv=rom-1.12"), "kernel=2.6.25/hv=rom-1.12");
  EXPECT_EQ(shell_word("a*"), "'a*'");
  // Always quoted: what the harness hands to popen and what summary.md prints to copy.
  EXPECT_EQ(single_quoted("plain"), "'plain'");
  EXPECT_EQ(single_quoted("it's"), "'it'\\''s'");
}

}  // namespace
}  // namespace pvm
