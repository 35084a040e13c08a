// The status table (cell.h kStatuses): every status once, what each means, and what reads it.
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cell.h"

namespace pvm {
namespace {

constexpr Status kAll[] = {Status::Pass,  Status::Fail,  Status::Crash, Status::Hang, Status::Error,
                           Status::Skip,  Status::Xfail, Status::Xpass, Status::Flaky};

TEST(StatusTable, EveryStatusOnceInTheEnumsOrder) {
  ASSERT_EQ(std::size(kStatuses), std::size(kAll));
  std::set<std::string> names;
  for (size_t i = 0; i < std::size(kAll); ++i) {
    EXPECT_EQ(kStatuses[i].status, kAll[i]);
    EXPECT_EQ(&info(kAll[i]), &kStatuses[i]);
    EXPECT_TRUE(names.insert(kStatuses[i].name).second) << kStatuses[i].name;
  }
}

TEST(StatusTable, NamesAsReportsSpellThem) {
  EXPECT_STREQ(to_string(Status::Pass), "PASS");
  EXPECT_STREQ(to_string(Status::Xfail), "XFAIL");
  EXPECT_STREQ(to_string(Status::Flaky), "FLAKY");
  for (Status s : kAll) EXPECT_EQ(status_from_string(to_string(s)), s);
  EXPECT_EQ(status_from_string("pass"), std::nullopt);
  EXPECT_EQ(status_from_string(""), std::nullopt);
}

// The meanings docs/contracts.md gives (and run's exit code, the gate and report.js rely on).
TEST(StatusTable, WhatEachStatusMeans) {
  std::set<Status> works, unexpected, broken;
  for (Status s : kAll) {
    if (pvm::works(s)) works.insert(s);
    if (is_unexpected_failure(s)) unexpected.insert(s);
    if (info(s).broken) broken.insert(s);
  }
  EXPECT_EQ(works, (std::set<Status>{Status::Pass, Status::Xpass, Status::Flaky}));
  EXPECT_EQ(unexpected, (std::set<Status>{Status::Fail, Status::Crash, Status::Hang, Status::Error, Status::Xpass}));
  EXPECT_EQ(broken, (std::set<Status>{Status::Fail, Status::Crash, Status::Hang, Status::Xfail}));
}

TEST(StatusTable, AsJsonForTheCliAndTheHtmlReport) {
  nlohmann::json t = status_table_json();
  ASSERT_EQ(t.size(), std::size(kStatuses));
  EXPECT_EQ(t[0], (nlohmann::json{{"name", "PASS"}, {"works", true}, {"unexpected", false}, {"broken", false}}));
  EXPECT_EQ(t[4], (nlohmann::json{{"name", "ERROR"}, {"works", false}, {"unexpected", true}, {"broken", false}}));
  EXPECT_EQ(t[7], (nlohmann::json{{"name", "XPASS"}, {"works", true}, {"unexpected", true}, {"broken", false}}));
}

}  // namespace
}  // namespace pvm
