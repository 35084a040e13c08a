// diff_abi over the shipped rom family: each adjacent pair diffs to exactly the changes
// DESIGN §3 describes, with the severities we chose; a version.json doctored to disagree with
// its ROM binary is an error (exit bit 1); the HTML page escapes what it shows.
#include "abi_diff.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <tuple>

#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "world.h"

namespace pvm {
namespace {
namespace fs = std::filesystem;

std::string source_root() { return std::string(PVMATRIX_TEST_DIR) + "/.."; }

const World& world() {
  static const World w = [] {
    std::string err;
    auto loaded = World::load(source_root(), PVMATRIX_IMAGE_DIR, &err);
    if (!loaded) throw std::runtime_error(err);
    return *loaded;
  }();
  return w;
}

AbiDiff diff_of(const World& w, const std::string& a, const std::string& b) {
  AbiSide sa, sb;
  std::vector<std::string> disagreements;
  std::string err;
  EXPECT_TRUE(load_abi_side(w, a, &sa, &disagreements, &err)) << err;
  EXPECT_TRUE(load_abi_side(w, b, &sb, &disagreements, &err)) << err;
  AbiDiff d = diff_abi(sa, sb);
  d.errors = disagreements;
  return d;
}

/// (kind, call or -1, subject, severity) of every change: the whole diff, comparable as a set.
using Row = std::tuple<std::string, int, std::string, std::string>;
std::set<Row> rows(const AbiDiff& d) {
  std::set<Row> out;
  for (const AbiChange& c : d.changes)
    out.insert({to_string(c.kind), c.call ? *c.call : -1, c.subject, to_string(c.severity)});
  return out;
}

constexpr const char* kCompat = "compatible";
constexpr const char* kReview = "needs review";
constexpr const char* kBreak = "incompatible";

TEST(AbiDiff, Rom10To11AddsTimerCallsCompatibly) {
  AbiDiff d = diff_of(world(), "rom-1.0", "rom-1.1");
  EXPECT_TRUE(d.errors.empty());
  std::set<Row> want = {
      {"api_minor", -1, "API", kCompat},
      {"call_added", 66, "GetCycleFrequency", kCompat},
      {"call_added", 67, "GetCycleCounter", kCompat},
      {"call_added", 68, "SetAlarm", kCompat},
      {"call_added", 69, "CancelAlarm", kCompat},
      {"call_added", 70, "GetWallclockTime", kCompat},
      {"feature_added", -1, "timer", kCompat},
      {"feature_added", -1, "periodic_alarm", kCompat},
      {"feature_added", -1, "wallclock", kCompat},
      // Descriptive: "periodic only" is what the missing oneshot_alarm bit already says.
      {"quirk_added", -1, "periodic_only", kCompat},
  };
  EXPECT_EQ(rows(d), want);
  EXPECT_EQ(d.exit_status(), kAbiDiffChange);
}

TEST(AbiDiff, Rom11To112AddsMmuAndRebindsIret) {
  AbiDiff d = diff_of(world(), "rom-1.1", "rom-1.12");
  std::set<Row> want = {
      {"api_minor", -1, "API", kCompat},
      {"call_added", 38, "SetPxE", kCompat},
      {"call_added", 46, "InvalPage", kCompat},
      {"call_added", 47, "FlushTLB", kCompat},
      {"call_added", 73, "SetLazyMode", kCompat},
      // Needs review, not incompatible: get_reloc answers CALL_REL and abi.h obliges kernels to
      // honor the reloc type, so conforming kernels adapt (every release boots on rom-1.12);
      // one that hard-coded JUMP_REL would crash on the first interrupt.
      {"call_rebound", 33, "Iret", kReview},
      {"feature_added", -1, "mmu", kCompat},
      {"feature_added", -1, "lazy_mmu", kCompat},
      {"quirk_added", -1, "lazy_applies_at_once", kCompat},
  };
  EXPECT_EQ(rows(d), want);
  auto iret = std::find_if(d.changes.begin(), d.changes.end(),
                           [](const AbiChange& c) { return c.kind == AbiChangeKind::CallRebound; });
  ASSERT_NE(iret, d.changes.end());
  EXPECT_EQ(iret->from, "JUMP_REL");
  EXPECT_EQ(iret->to, "CALL_REL");
  EXPECT_FALSE(d.has_incompatible());
  EXPECT_EQ(d.exit_status(), kAbiDiffChange);
}

TEST(AbiDiff, Rom112To113OneShotLazyDefersGetFeatures) {
  AbiDiff d = diff_of(world(), "rom-1.12", "rom-1.13");
  std::set<Row> want = {
      {"api_minor", -1, "API", kCompat},
      {"call_added", 75, "GetFeatures", kCompat},
      {"call_semantics", 68, "SetAlarm", kReview},      // periodic only -> one-shot too
      {"call_semantics", 73, "SetLazyMode", kReview},   // applies at once -> really defers
      {"feature_added", -1, "oneshot_alarm", kCompat},
      {"feature_added", -1, "lazy_defers", kCompat},
      {"feature_added", -1, "get_features", kCompat},
      {"quirk_removed", -1, "periodic_only", kCompat},
      {"quirk_removed", -1, "lazy_applies_at_once", kCompat},
  };
  EXPECT_EQ(rows(d), want);
  EXPECT_EQ(d.exit_status(), kAbiDiffChange);
}

TEST(AbiDiff, Rom113To1131IsTheQuirkOnly) {
  AbiDiff d = diff_of(world(), "rom-1.13", "rom-1.13.1");
  // No structural change (API, convention, calls, relocs, features): the quirk, and call 67's
  // documented behaviour that is that quirk.
  std::set<Row> want = {
      {"call_semantics", 67, "GetCycleCounter", kReview},
      {"quirk_added", -1, "counter_steps_back", kReview},
  };
  EXPECT_EQ(rows(d), want);
  EXPECT_EQ(d.exit_status(), kAbiDiffChange);
}

TEST(AbiDiff, Rom1131To20IsAMajorBreak) {
  AbiDiff d = diff_of(world(), "rom-1.13.1", "rom-2.0");
  std::set<Row> want = {
      {"api_major", -1, "API", kBreak},
      {"calling_convention", -1, "calling convention", kBreak},
      {"call_removed", 35, "Halt", kBreak},
      {"call_reused", 67, "GetCycleCounter -> GetNsSinceInit", kBreak},
      {"call_removed", 70, "GetWallclockTime", kBreak},
      {"call_semantics", 75, "GetFeatures", kReview},  // now mandatory first
      {"call_added", 76, "GetCycleCounter", kCompat},
      {"feature_removed", -1, "wallclock", kBreak},
      {"quirk_removed", -1, "counter_steps_back", kCompat},
      {"quirk_added", -1, "get_features_mandatory", kCompat},
      {"quirk_added", -1, "call_67_reused", kCompat},
  };
  EXPECT_EQ(rows(d), want);
  auto conv = std::find_if(d.changes.begin(), d.changes.end(),
                           [](const AbiChange& c) { return c.kind == AbiChangeKind::CallingConvention; });
  ASSERT_NE(conv, d.changes.end());
  EXPECT_EQ(conv->from, "regparm3");
  EXPECT_EQ(conv->to, "cdecl");
  EXPECT_EQ(d.exit_status(), kAbiDiffChange | kAbiDiffIncompatible);
}

TEST(AbiDiff, SameVersionHasNoChange) {
  AbiDiff d = diff_of(world(), "rom-1.13", "rom-1.13");
  EXPECT_TRUE(d.changes.empty());
  EXPECT_EQ(d.exit_status(), 0);
}

TEST(AbiDiff, EveryChangeExplainsItself) {
  const char* names[] = {"rom-1.0", "rom-1.1", "rom-1.12", "rom-1.13", "rom-1.13.1", "rom-2.0"};
  for (size_t i = 0; i + 1 < std::size(names); ++i)
    for (const AbiChange& c : diff_of(world(), names[i], names[i + 1]).changes) {
      EXPECT_FALSE(c.explanation.empty()) << to_string(c.kind) << " " << c.subject;
      EXPECT_EQ(c.explanation.find('\n'), std::string::npos);
    }
}

TEST(AbiDiff, DoctoredDescriptionDisagreeingWithItsRomIsAnError) {
  // A copy of the versions where rom-1.13's version.json claims API 3.4 and no SafeHalt;
  // its ROM (built from the real one) says 3.3 and offers 74.
  fs::path root = fs::temp_directory_path() / ("pvm-abi-doctored-" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root);
  fs::copy(source_root() + "/hypervisor-versions", root / "hypervisor-versions", fs::copy_options::recursive);
  fs::path vj = root / "hypervisor-versions" / "rom-1.13" / "version.json";
  std::stringstream text;
  text << std::ifstream(vj).rdbuf();
  std::string s = text.str();
  auto replace = [&](const std::string& from, const std::string& to) {
    size_t at = s.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    s.replace(at, from.size(), to);
  };
  replace("\"api\": \"3.3\"", "\"api\": \"3.4\"");
  replace("    {\"number\": 74, \"name\": \"SafeHalt\", \"reloc\": \"CALL_REL\"},\n", "");
  std::ofstream(vj) << s;

  std::string err;
  auto w = World::load(root.string(), PVMATRIX_IMAGE_DIR, &err);
  ASSERT_TRUE(w) << err;
  AbiDiff d = diff_of(*w, "rom-1.12", "rom-1.13");
  ASSERT_EQ(d.errors.size(), 2u);
  EXPECT_NE(d.errors[0].find("rom-1.13"), std::string::npos);
  EXPECT_NE(d.errors[0].find("api"), std::string::npos) << d.errors[0];
  EXPECT_NE(d.errors[1].find("call 74"), std::string::npos) << d.errors[1];
  EXPECT_TRUE(d.exit_status() & kAbiDiffError);
  EXPECT_TRUE(d.exit_status() & kAbiDiffChange);
  fs::remove_all(root);
}

TEST(AbiDiff, UnknownVersionIsAnErrorNamingTheKnownOnes) {
  AbiSide side;
  std::vector<std::string> disagreements;
  std::string err;
  EXPECT_FALSE(load_abi_side(world(), "rom-9.9", &side, &disagreements, &err));
  EXPECT_NE(err.find("rom-1.12"), std::string::npos) << err;
}

TEST(AbiDiff, JsonCarriesSeveritiesAndTheExitStatus) {
  nlohmann::json j = diff_of(world(), "rom-1.13.1", "rom-2.0");
  EXPECT_EQ(j["from"], "rom-1.13.1");
  EXPECT_EQ(j["exit_status"], 12);
  EXPECT_EQ(j["summary"]["incompatible"], 6);
  bool reused = false;
  for (const auto& c : j["changes"])
    if (c["kind"] == "call_reused") reused = c["call"] == 67 && c["severity"] == "incompatible";
  EXPECT_TRUE(reused);
}

TEST(AbiDiff, HtmlIsSelfContainedAndEscaped) {
  AbiDiff d;
  d.from = "rom-<a>";
  d.to = "rom-\"b\"";
  d.errors.push_back("<script>alert(1)</script>");
  d.changes.push_back({AbiChangeKind::QuirkAdded, Severity::NeedsReview, std::nullopt, "x&y", "", "<img src=x>",
                       "why <b>"});
  std::string html = render_abi_diff_html(d);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find("<b>"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;"), std::string::npos);
  EXPECT_NE(html.find("x&amp;y"), std::string::npos);
  EXPECT_NE(html.find("rom-&lt;a&gt;"), std::string::npos);
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
}

}  // namespace
}  // namespace pvm
