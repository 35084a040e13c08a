// The ROM call table (pvrom/calls.h): one row per call and meaning, read by every party.
#include <set>
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "hypervisor_version.h"
#include "pvrom/calls.h"

namespace {

using pvrom::OpGroup;

TEST(CallTable, OneRowPerNumberAndApi) {
  std::set<std::pair<int, int>> seen;
  for (const auto& c : pvrom::kCalls) {
    ASSERT_LE(c.first_api, c.last_api) << c.name;
    for (int api = c.first_api; api <= c.last_api; ++api)
      EXPECT_TRUE(seen.insert({c.number, api}).second) << c.number << " twice in API " << api;
  }
}

TEST(CallTable, NamesFollowTheApi) {
  EXPECT_STREQ(pvrom::find_call(pvrom::kCallCpuid, 3)->name, "Cpuid");
  EXPECT_STREQ(pvrom::find_call(pvrom::kCallIret, 4)->name, "Iret");
  EXPECT_STREQ(pvrom::find_call(pvrom::kCallGetCycleCounter, 3)->name, "GetCycleCounter");
  EXPECT_STREQ(pvrom::find_call(pvrom::kCallGetCycleCounter, 4)->name, "GetNsSinceInit");
  EXPECT_STREQ(pvrom::find_call(pvrom::kCallGetCycleCounter4, 4)->name, "GetCycleCounter");
  EXPECT_EQ(pvrom::find_call(pvrom::kCallGetCycleCounter4, 3), nullptr);
  EXPECT_EQ(pvrom::find_call(pvrom::kCallHalt, 4), nullptr);            // removed in API 4
  EXPECT_EQ(pvrom::find_call(pvrom::kCallGetWallclockTime, 4), nullptr);
  EXPECT_STREQ(pvrom::find_call(pvrom::kCallSafeHalt, 3)->name, "SafeHalt");
  EXPECT_EQ(pvrom::find_call(pvrom::kCallCpuid, 2), nullptr);
  EXPECT_EQ(pvrom::find_call(1, 3), nullptr);
}

TEST(CallTable, CallNameReadsTheTable) {
  for (const auto& c : pvrom::kCalls)
    for (int api = c.first_api; api <= c.last_api; ++api)
      EXPECT_STREQ(pvm::call_name(c.number, static_cast<uint8_t>(api)), c.name);
  EXPECT_EQ(pvm::call_name(pvrom::kCallCpuid, 5), nullptr);
}

TEST(CallTable, GroupsAreTheSameUnderEveryApi) {
  for (const auto& c : pvrom::kCalls) EXPECT_EQ(pvrom::call_group(c.number), c.group) << c.name;
  EXPECT_EQ(pvrom::call_group(pvrom::kCallIret), OpGroup::kCpu);
  EXPECT_EQ(pvrom::call_group(pvrom::kCallSafeHalt), OpGroup::kIrq);
  EXPECT_EQ(pvrom::call_group(pvrom::kCallGetCycleCounter4), OpGroup::kTimer);
  EXPECT_EQ(pvrom::call_group(pvrom::kCallSetLazyMode), OpGroup::kLazy);
  EXPECT_EQ(pvrom::call_group(pvrom::kCallGetFeatures), OpGroup::kNone);
  EXPECT_EQ(pvrom::call_group(1), OpGroup::kNone);
}

TEST(CallTable, OpGroupNames) {
  EXPECT_STREQ(pvrom::op_group_name(OpGroup::kCpu), "cpu");
  EXPECT_STREQ(pvrom::op_group_name(OpGroup::kLazy), "lazy");
  EXPECT_EQ(pvrom::op_group_name(OpGroup::kNone), nullptr);
}

TEST(CallTable, EveryRowHasAnEntrySymbol) {
  for (const auto& c : pvrom::kCalls) EXPECT_EQ(std::string(c.symbol).rfind("rom_", 0), 0u) << c.name;
}

}  // namespace
