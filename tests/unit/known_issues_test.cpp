#include "known_issues.h"

#include <gtest/gtest.h>

namespace pvm {
namespace {

KnownIssues famous() {
  KnownIssues k;
  std::string err;
  EXPECT_TRUE(k.parse(R"({"known_issues": [
    // the famous one
    {"cells": "kernel=2.6.25/hv=rom-1.1|rom-1.12/cfg=default", "expect": "FAIL",
     "reason": "needs one-shot alarms", "link": "https://example.invalid/1"},
    {"cells": ["kernel=2.6.21/hv=rom-1.13.1", "kernel=2.6.22/hv=rom-1.13.1"], "expect": ["FAIL", "CRASH"],
     "reason": "unclamped counter"}
  ]})", "ki.json", &err)) << err;
  return k;
}

CellResult result(std::vector<Status> attempts) {
  CellResult r;
  r.spec.kernel = "2.6.25";
  r.spec.hv = "rom-1.12";
  for (Status s : attempts) r.attempts.push_back({s, 10, std::nullopt, std::nullopt, std::string(to_string(s)) + " why"});
  r.status = r.outcome = attempts.back();
  return r;
}

TEST(KnownIssues, FindsTheFirstMatchingEntry) {
  KnownIssues k = famous();
  ASSERT_EQ(k.entries().size(), 2u);
  const KnownIssue* i = k.find("2.6.25", "rom-1.12", "default");
  ASSERT_NE(i, nullptr);
  EXPECT_EQ(i->reason, "needs one-shot alarms");
  EXPECT_EQ(k.find("2.6.25", "rom-1.12", "native-timer"), nullptr);
  EXPECT_EQ(k.find("2.6.25", "rom-1.13", "default"), nullptr);
  ASSERT_NE(k.find("2.6.22", "rom-1.13.1", "native-all"), nullptr);
  EXPECT_EQ(k.find("2.6.22", "rom-1.13.1", "x")->expect.size(), 2u);
}

TEST(KnownIssues, ExpectedFailureIsXfail) {
  KnownIssues k = famous();
  CellResult r = result({Status::Fail});
  apply_expectation(k.find("2.6.25", "rom-1.12", "default"), &r);
  EXPECT_EQ(r.status, Status::Xfail);
  EXPECT_EQ(r.expected, "FAIL");
  EXPECT_EQ(r.expected_reason, "needs one-shot alarms");
  EXPECT_EQ(r.expected_link, "https://example.invalid/1");
  EXPECT_FALSE(is_unexpected_failure(r.status));
}

TEST(KnownIssues, UnexpectedPassIsXpass) {
  KnownIssues k = famous();
  CellResult r = result({Status::Pass});
  apply_expectation(k.find("2.6.25", "rom-1.12", "default"), &r);
  EXPECT_EQ(r.status, Status::Xpass);
  EXPECT_TRUE(is_unexpected_failure(r.status));
  EXPECT_NE(r.reason.find("known issue"), std::string::npos);
}

TEST(KnownIssues, ADifferentFailureStaysUnexpected) {
  KnownIssues k = famous();
  CellResult r = result({Status::Crash});
  apply_expectation(k.find("2.6.25", "rom-1.12", "default"), &r);
  EXPECT_EQ(r.status, Status::Crash);
  EXPECT_EQ(r.expected, "FAIL");
  // Infrastructure is never expected away.
  CellResult e = result({Status::Error});
  apply_expectation(k.find("2.6.25", "rom-1.12", "default"), &e);
  EXPECT_EQ(e.status, Status::Error);
}

TEST(KnownIssues, FailThenPassIsFlakyWithAttempts) {
  CellResult r = result({Status::Hang, Status::Pass});
  apply_expectation(nullptr, &r);
  EXPECT_EQ(r.status, Status::Flaky);
  EXPECT_EQ(r.attempts.size(), 2u);
  EXPECT_NE(r.reason.find("attempt 2"), std::string::npos);
  EXPECT_FALSE(is_unexpected_failure(r.status));

  CellResult plain = result({Status::Pass});
  apply_expectation(nullptr, &plain);
  EXPECT_EQ(plain.status, Status::Pass);
  EXPECT_FALSE(plain.expected);
}

TEST(KnownIssues, RetryOnlyUnexpectedFailures) {
  KnownIssues k = famous();
  const KnownIssue* i = k.find("2.6.25", "rom-1.12", "default");
  EXPECT_FALSE(should_retry(i, Status::Fail));
  EXPECT_TRUE(should_retry(i, Status::Crash));
  EXPECT_TRUE(should_retry(nullptr, Status::Fail));
  EXPECT_TRUE(should_retry(nullptr, Status::Error));
  EXPECT_FALSE(should_retry(nullptr, Status::Pass));
  EXPECT_FALSE(should_retry(nullptr, Status::Skip));
}

std::string parse_error(const std::string& text) {
  KnownIssues k;
  std::string err;
  EXPECT_FALSE(k.parse(text, "ki.json", &err)) << text;
  return err;
}

TEST(KnownIssues, BadFilesNameFileLineColumn) {
  std::string err = parse_error("{\"known_issues\": [\n {\"cells\": \"kernel=2.6.25\", \"expect\": \"FAIL\", \"reasn\": \"x\"}]}");
  EXPECT_NE(err.find("ki.json:2:"), std::string::npos) << err;
  EXPECT_NE(err.find("reasn"), std::string::npos) << err;
  err = parse_error(R"({"known_issues": [{"cells": "kernel=2.6.25", "expect": "PASS", "reason": "x"}]})");
  EXPECT_NE(err.find("FAIL, CRASH or HANG"), std::string::npos) << err;
  err = parse_error(R"({"known_issues": [{"cells": "kernel=2.6.25", "expect": "ERROR", "reason": "x"}]})");
  EXPECT_NE(err.find("FAIL, CRASH or HANG"), std::string::npos) << err;
  err = parse_error(R"({"known_issues": [{"cells": "kernal=2.6.25", "expect": "FAIL", "reason": "x"}]})");
  EXPECT_NE(err.find("unknown key 'kernal'"), std::string::npos) << err;
  err = parse_error(R"({"known_issues": [{"cells": "kernel=2.6.25", "expect": "FAIL"}]})");
  EXPECT_NE(err.find("reason"), std::string::npos) << err;
  err = parse_error(R"({"issues": []})");
  EXPECT_NE(err.find("known_issues"), std::string::npos) << err;
  err = parse_error("{\"known_issues\": [\n\n   {\"cells\": }]}");
  EXPECT_EQ(err.rfind("ki.json:3:", 0), 0u) << err;
}

TEST(KnownIssues, ShippedFileLoads) {
  KnownIssues k;
  std::string err;
  ASSERT_TRUE(k.load(std::string(PVMATRIX_SOURCE_DIR) + "/matrix/known-issues.json", &err)) << err;
  EXPECT_NE(k.find("2.6.25", "rom-1.1", "default"), nullptr);
  EXPECT_NE(k.find("2.6.25", "rom-1.12", "default"), nullptr);
  EXPECT_NE(k.find("2.6.21", "rom-1.13.1", "default"), nullptr);
  EXPECT_NE(k.find("2.6.22", "rom-1.13.1", "default"), nullptr);
  EXPECT_EQ(k.find("2.6.25", "rom-1.12", "native-timer"), nullptr);
  EXPECT_EQ(k.find("2.6.24", "rom-1.12", "default"), nullptr);
}

TEST(KnownIssues, PlainNamesMustExistGlobsNeedNot) {
  KnownIssues k;
  std::string err;
  ASSERT_TRUE(k.parse(R"({"known_issues": [
    {"cells": "kernel=2.6.25/hv=rom-1.1|rom-*/cfg=anything", "expect": "FAIL", "reason": "r"},
    {"cells": ["kernel=2.6.2?/hv=xen-4.17.7"], "expect": "CRASH", "reason": "r"}]})", "k.json", &err)) << err;
  EXPECT_TRUE(k.check_names({"2.6.25"}, {"rom-1.1", "xen-4.17.7"}, &err)) << err;
  EXPECT_FALSE(k.check_names({"2.6.25"}, {"rom-1.1"}, &err));
  EXPECT_EQ(err.rfind("k.json:3:", 0), 0u) << err;
  EXPECT_NE(err.find("hv \"xen-4.17.7\" does not exist"), std::string::npos) << err;
  EXPECT_FALSE(k.check_names({"2.6.24"}, {"rom-1.1", "xen-4.17.7"}, &err));
  EXPECT_NE(err.find("kernel \"2.6.25\""), std::string::npos) << err;
}

}  // namespace
}  // namespace pvm
