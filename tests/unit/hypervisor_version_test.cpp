// version.json loading: the shipped versions load and say what docs/contracts.md says;
// malformed files fail naming file, line and field.
#include "hypervisor_version.h"

#include <gtest/gtest.h>

#include "json_text.h"

namespace pvm {
namespace {

std::string versions_root() { return std::string(PVMATRIX_TEST_DIR) + "/../hypervisor-versions"; }

const char* kGood = R"({
  // a comment
  "name": "rom-x",
  "family": "rom",
  "api": "3.2",
  "summary": "test",
  "calling_convention": "regparm3",
  "features": ["timer", "periodic_alarm"],
  "calls": [
    {"number": 33, "name": "Iret", "reloc": "CALL_REL"},
    {"number": 0, "name": "Cpuid", "reloc": "CALL_REL", "semantics": "plain"}
  ],
  "quirks": [{"id": "q", "text": "t"}],
  "platform": {"machine": "pc", "cpu": "qemu32", "memory_mib": 64, "devices": []}
})";

std::optional<HypervisorVersion> parse(const std::string& text, JsonError* err) {
  return parse_hypervisor_version(text, "v.json", "", err);
}

/// Replaces the first occurrence of `from` in kGood.
std::string good_with(const std::string& from, const std::string& to) {
  std::string s = kGood;
  size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return s.replace(at, from.size(), to);
}

TEST(HypervisorVersion, ParsesAGoodFile) {
  JsonError err;
  auto v = parse(kGood, &err);
  ASSERT_TRUE(v) << err.to_string();
  EXPECT_EQ(v->name, "rom-x");
  EXPECT_EQ(v->api(), "3.2");
  EXPECT_EQ(v->calling_convention, pvrom::kConvRegparm3);
  EXPECT_EQ(v->features, pvrom::kFeatureTimer | pvrom::kFeaturePeriodicAlarm);
  ASSERT_EQ(v->calls.size(), 2u);
  EXPECT_EQ(v->calls[0].number, 0);  // sorted
  EXPECT_EQ(v->calls[0].semantics, "plain");
  EXPECT_EQ(v->find_call(33)->reloc, pvrom::kRelocCallRel);
  EXPECT_TRUE(v->has_quirk("q"));
  EXPECT_EQ(v->platform.machine, "pc");
  EXPECT_EQ(v->platform.memory_mib, 64u);
}

TEST(HypervisorVersion, ShippedVersionsLoadAsTheContractSays) {
  JsonError err;
  auto loaded = load_hypervisor_versions(versions_root(), &err);
  ASSERT_TRUE(loaded) << err.to_string();
  // The rom family; the xen family (real Xen, issue 10) is checked in xen_family_test.cpp.
  auto all = std::make_optional<std::vector<HypervisorVersion>>();
  for (const auto& v : *loaded)
    if (v.family == "rom") all->push_back(v);
  std::vector<std::string> names;
  for (const auto& v : *all) names.push_back(v.name);
  EXPECT_EQ(names, (std::vector<std::string>{"rom-1.0", "rom-1.1", "rom-1.12", "rom-1.13", "rom-1.13.1", "rom-2.0"}));
  for (const auto& v : *all) {
    SCOPED_TRACE(v.name);
    EXPECT_EQ(v.family, "rom");
    EXPECT_EQ(v.platform.cpu, "qemu32");
    EXPECT_EQ(v.platform.memory_mib, 64u);
    bool old = v.name == "rom-1.0" || v.name == "rom-1.1";
    EXPECT_EQ(v.platform.machine, old ? "pc" : "microvm");
  }
  const auto& v10 = (*all)[0];
  const auto& v112 = (*all)[2];
  const auto& v1131 = (*all)[4];
  const auto& v20 = (*all)[5];
  EXPECT_EQ(v10.find_call(pvrom::kCallIret)->reloc, pvrom::kRelocJumpRel);
  EXPECT_EQ(v112.find_call(pvrom::kCallIret)->reloc, pvrom::kRelocCallRel);
  EXPECT_FALSE(v112.features & pvrom::kFeatureOneShotAlarm);
  EXPECT_TRUE(v1131.has_quirk("counter_steps_back"));
  EXPECT_EQ(v20.api(), "4.0");
  EXPECT_EQ(v20.calling_convention, pvrom::kConvCdecl);
  EXPECT_EQ(v20.find_call(pvrom::kCallGetCycleCounter)->name, "GetNsSinceInit");
  EXPECT_EQ(v20.find_call(pvrom::kCallHalt), nullptr);
}

TEST(HypervisorVersion, MalformedJsonNamesFileAndLine) {
  JsonError err;
  std::string text = "{\n  \"name\": \"rom-x\",\n  \"family\": \"rom\"\n  \"api\": \"3.2\"\n}\n";
  EXPECT_FALSE(parse(text, &err));
  EXPECT_EQ(err.file, "v.json");
  EXPECT_EQ(err.line, 4);
  EXPECT_EQ(err.to_string().rfind("v.json:4:", 0), 0u) << err.to_string();
}

TEST(HypervisorVersion, UnknownKeyNamesTheKeyAndItsLine) {
  JsonError err;
  EXPECT_FALSE(parse(good_with("\"summary\": \"test\",", "\"summary\": \"test\", \"colour\": 1,"), &err));
  EXPECT_EQ(err.line, 6);
  EXPECT_EQ(err.field, "colour");
  EXPECT_NE(err.message.find("unknown key \"colour\""), std::string::npos);
}

TEST(HypervisorVersion, UnknownKeyInACall) {
  JsonError err;
  EXPECT_FALSE(parse(good_with("\"semantics\": \"plain\"", "\"semantic\": \"plain\""), &err));
  EXPECT_EQ(err.field, "calls[1].semantic");
  EXPECT_EQ(err.line, 11);
}

TEST(HypervisorVersion, UnknownFeature) {
  JsonError err;
  EXPECT_FALSE(parse(good_with("\"periodic_alarm\"", "\"periodic\""), &err));
  EXPECT_EQ(err.field, "features[1]");
  EXPECT_EQ(err.line, 8);
  EXPECT_NE(err.message.find("unknown feature \"periodic\""), std::string::npos);
}

TEST(HypervisorVersion, UnknownReloc) {
  JsonError err;
  EXPECT_FALSE(parse(good_with("\"reloc\": \"CALL_REL\"}", "\"reloc\": \"CALL\"}"), &err));
  EXPECT_EQ(err.field, "calls[0].reloc");
  EXPECT_EQ(err.line, 10);
  EXPECT_EQ(err.to_string().rfind("v.json:10:", 0), 0u) << err.to_string();
}

TEST(HypervisorVersion, CallNamesAndNumbersAreChecked) {
  JsonError err;
  EXPECT_FALSE(parse(good_with("\"name\": \"Iret\"", "\"name\": \"IRET\""), &err));
  EXPECT_EQ(err.field, "calls[0].name");
  EXPECT_FALSE(parse(good_with("\"number\": 33", "\"number\": 76"), &err));  // API 4 only
  EXPECT_EQ(err.field, "calls[0].number");
  EXPECT_FALSE(parse(good_with("\"number\": 33, \"name\": \"Iret\"", "\"number\": 0, \"name\": \"Cpuid\""), &err));
  EXPECT_NE(err.message.find("listed twice"), std::string::npos) << err.to_string();
  EXPECT_FALSE(parse(good_with("\"Cpuid\", \"reloc\": \"CALL_REL\"", "\"Cpuid\", \"reloc\": \"JUMP_REL\""), &err));
  EXPECT_NE(err.message.find("only Iret"), std::string::npos);
}

TEST(HypervisorVersion, ApiAndConventionMustAgree) {
  JsonError err;
  EXPECT_FALSE(parse(good_with("\"regparm3\"", "\"cdecl\""), &err));
  EXPECT_EQ(err.field, "calling_convention");
  EXPECT_FALSE(parse(good_with("\"3.2\"", "\"9.0\""), &err));
  EXPECT_EQ(err.field, "api");
  EXPECT_FALSE(parse(good_with("\"3.2\"", "\"three\""), &err));
  EXPECT_EQ(err.field, "api");
}

TEST(HypervisorVersion, MissingAndMistypedFields) {
  JsonError err;
  EXPECT_FALSE(parse(good_with("\"family\": \"rom\",", ""), &err));
  EXPECT_EQ(err.field, "family");
  EXPECT_NE(err.message.find("missing"), std::string::npos);
  EXPECT_FALSE(parse(good_with("\"memory_mib\": 64", "\"memory_mib\": \"64\""), &err));
  EXPECT_EQ(err.field, "platform.memory_mib");
  EXPECT_EQ(err.line, 14);
}

TEST(HypervisorVersion, NameMustMatchFolder) {
  JsonError err;
  EXPECT_FALSE(parse_hypervisor_version(kGood, "rom-y/version.json", "rom-y", &err));
  EXPECT_EQ(err.field, "name");
}

TEST(HypervisorVersion, MissingFileNamesThePath) {
  JsonError err;
  EXPECT_FALSE(load_hypervisor_version("/nonexistent/rom-9", &err));
  EXPECT_EQ(err.file, "/nonexistent/rom-9/version.json");
}

TEST(JsonText, PositionsAndFieldNames) {
  EXPECT_EQ(text_position("ab\ncd", 4).line, 2);
  EXPECT_EQ(text_position("ab\ncd", 4).column, 2);
  EXPECT_EQ(text_position("", 10).line, 1);
  EXPECT_EQ(field_name("/calls/3/reloc"), "calls[3].reloc");
  EXPECT_EQ(field_name("/a~1b/c~0d"), "a/b.c~d");
  EXPECT_EQ(field_name(""), "");
}

TEST(JsonText, CommentsAndErrorLocations) {
  JsonError err;
  auto doc = JsonText::parse("// x\n{\"a\": [1, /* y */ {\"b\": 2}]}\n", "f.json", &err);
  ASSERT_TRUE(doc) << err.to_string();
  JsonError e = doc->error_at("/a/1/b", "bad");
  EXPECT_EQ(e.to_string(), "f.json:2:20: a[1].b: bad");
  EXPECT_FALSE(JsonText::parse("{\"a\": 1,,}", "g.json", &err));
  EXPECT_EQ(err.line, 1);
  EXPECT_EQ(err.column, 9);  // the second comma
}

}  // namespace
}  // namespace pvm
