// predict(): every cell of matrix/expected-world.json (docs/contracts.md "Expected outcomes")
// predicted from the built images alone; the rules on synthetic ROMs and manifests (refusals,
// NOP and JUMP_REL answers, pv.native=); findings from cell objects.
#include "predict.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "json_text.h"
#include "run_report.h"  // prediction_findings
#include "world.h"

namespace pvm {
namespace {
using nlohmann::json;

const World& world() {
  static const World w = [] {
    std::string err;
    auto loaded = World::load(std::string(PVMATRIX_TEST_DIR) + "/..", PVMATRIX_IMAGE_DIR, &err);
    if (!loaded) throw std::runtime_error(err);
    return *loaded;
  }();
  return w;
}

Prediction predict_for(const std::string& kernel, const std::string& hv, const std::string& cmdline) {
  CellConfig config;
  config.cmdline = cmdline;
  std::string err;
  auto spec = world().make_spec(kernel, hv, config, &err);
  EXPECT_TRUE(spec) << err;
  Predictor predictor(world());
  return predictor.predict_cell(*spec);
}

/// Every cell of an expected-outcomes file, predicted; returns how many were checked.
int check_expected(const std::string& file) {
  JsonError jerr;
  auto doc = JsonText::read_file(std::string(PVMATRIX_TEST_DIR) + "/../matrix/" + file, &jerr);
  EXPECT_TRUE(doc) << jerr.to_string();
  if (!doc) return 0;
  int checked = 0;
  for (const json& cell : doc->root().at("cells")) {
    std::string kernel = cell.at("kernel"), hv = cell.at("hv"), cmdline = cell.value("cmdline", "");
    SCOPED_TRACE(kernel + " on " + hv + " [" + cmdline + "]");
    Prediction p = predict_for(kernel, hv, cmdline);
    EXPECT_TRUE(p.status) << p.reason;
    if (!p.status) continue;
    EXPECT_EQ(to_string(*p.status), cell.at("status").get<std::string>()) << p.reason;
    if (cell.contains("probe")) {
      EXPECT_EQ(p.probe, cell["probe"].get<std::string>());
      EXPECT_EQ(p.call, cell["call"].get<int>());
    }
    if (cell.contains("binding"))
      for (const auto& [group, want] : cell["binding"].items()) EXPECT_EQ(p.binding[group], want.get<std::string>()) << group;
    EXPECT_EQ(!p.refused.empty(), cell.value("hv_refused", false)) << p.refused;
    ++checked;
  }
  return checked;
}

TEST(Predict, AgreesWithEveryExpectedCellOfTheShippedWorld) { EXPECT_GE(check_expected("expected-world.json"), 32); }

// Xen (issue 10): from the manifest's xen= key alone, which releases Xen refuses and what the
// others bind there.
TEST(Predict, AgreesWithEveryExpectedXenCell) { EXPECT_GE(check_expected("expected-xen.json"), 14); }

TEST(Predict, NativeAllIsAlwaysAPassWithEverythingNative) {
  for (const char* kernel : kKnownReleases)
    for (const auto& v : world().versions()) {
      if (v.family != "rom") continue;  // other families: no prediction (below)
      Prediction p = predict_for(kernel, v.name, "pv.native=all");
      EXPECT_EQ(p.status, Status::Pass) << kernel << " " << v.name << ": " << p.reason;
      for (const char* g : kOpGroups) EXPECT_EQ(p.binding[g], "native");
    }
}

TEST(Predict, AManifestWithoutXenKeyGetsNoXenPrediction) {
  std::string err;
  auto m = parse_kernel_manifest("release=2.6.25;api=3;groups=cpu,irq,timer;calls=0;features=;counter=raw", &err);
  ASSERT_TRUE(m) << err;
  EXPECT_FALSE(m->xen_pvh);
  Prediction p = predict_xen(*m, "");
  EXPECT_FALSE(p.status);
  EXPECT_NE(p.reason.find("xen="), std::string::npos) << p.reason;
  m = parse_kernel_manifest("release=2.6.25;api=3;groups=cpu,irq,timer;calls=0;features=;counter=raw;xen=pvh", &err);
  ASSERT_TRUE(m) << err;
  p = predict_xen(*m, "pv.native=irq");
  ASSERT_TRUE(p.status);
  EXPECT_EQ(p.binding["cpu"], "xen");
  EXPECT_EQ(p.binding["irq"], "native");
  EXPECT_EQ(p.binding["timer"], "xen");
  EXPECT_EQ(p.binding["mmu"], "native");
  EXPECT_FALSE(parse_kernel_manifest("release=2.6.25;api=3;groups=;calls=;features=;counter=raw;xen=hvm", &err));
  EXPECT_NE(err.find("xen"), std::string::npos) << err;
}

TEST(Predict, NativeGroupsFollowTheKernelsParser) {
  EXPECT_EQ(native_groups_of(""), std::vector<std::string>{});
  EXPECT_EQ(native_groups_of("pv.native=timer"), std::vector<std::string>{"timer"});
  EXPECT_EQ(native_groups_of("quiet pv.native=lazy,bogus,cpu  pv.native=timer"),
            (std::vector<std::string>{"cpu", "timer", "lazy"}));
  EXPECT_EQ(native_groups_of("pv.native=all").size(), 5u);
  EXPECT_EQ(native_groups_of("xpv.native=timer"), std::vector<std::string>{});
}

// --- synthetic ROMs: the rules themselves ------------------------------------------------

KernelManifest manifest(const std::string& text) {
  std::string err;
  auto m = parse_kernel_manifest(text, &err);
  EXPECT_TRUE(m) << err;
  return *m;
}

RomImage rom(uint8_t major, uint32_t features, std::vector<pvrom::CallEntry> calls) {
  RomImage r;
  r.header.api_major = major;
  r.header.api_minor = 0;
  r.header.features = features;
  r.header.calling_convention = major == 4 ? pvrom::kConvCdecl : pvrom::kConvRegparm3;
  r.version_name = "rom-test";
  r.calls = std::move(calls);
  return r;
}

constexpr auto kCall = pvrom::kRelocCallRel;
constexpr auto kJump = pvrom::kRelocJumpRel;
constexpr auto kNop = pvrom::kRelocNop;

TEST(Predict, NopStandsOnlyForOpsWithoutAResultAndJumpRelOnlyForIret) {
  KernelManifest m = manifest("release=t;api=3;groups=cpu,irq;calls=0,29,31,33;features=;counter=raw");
  // A NOP cpuid (a result) stays native; a NOP EnableInterrupts binds irq.
  RomImage r = rom(3, 0, {{0, kNop, 0, 0}, {29, kNop, 0, 0}});
  Prediction p = predict(m, &r, "", nullptr, "");
  EXPECT_EQ(p.binding["cpu"], "native");
  EXPECT_EQ(p.binding["irq"], "rom");
  // JUMP_REL for a returning op stays native; for IRET it binds cpu.
  r = rom(3, 0, {{31, kJump, 0, 0x100}});
  EXPECT_EQ(predict(m, &r, "", nullptr, "").binding["irq"], "native");
  r = rom(3, 0, {{33, kJump, 0, 0x100}});
  EXPECT_EQ(predict(m, &r, "", nullptr, "").binding["cpu"], "rom");
}

TEST(Predict, RefusalsBootNative) {
  KernelManifest m = manifest("release=t;api=3,4;groups=cpu;calls=!75@4,0;features=!get_features@4;counter=raw");
  RomImage r4 = rom(4, 0, {{0, kCall, 0, 0x100}});  // API 4 without GetFeatures
  Prediction p = predict(m, &r4, "", nullptr, "");
  EXPECT_EQ(p.status, Status::Pass);
  EXPECT_NE(p.refused.find("!75@4"), std::string::npos) << p.refused;
  EXPECT_EQ(p.binding["cpu"], "native");

  RomImage wrong_conv = rom(3, 0, {{0, kCall, 0, 0x100}});
  wrong_conv.header.calling_convention = pvrom::kConvCdecl;
  EXPECT_NE(predict(m, &wrong_conv, "", nullptr, "").refused.find("calling convention"), std::string::npos);

  p = predict(m, nullptr, "bad checksum (sum 0x3c)", nullptr, "");
  EXPECT_EQ(p.refused, "bad checksum (sum 0x3c)");
  EXPECT_EQ(p.status, Status::Pass);
  p = predict(m, nullptr, "", nullptr, "");
  EXPECT_TRUE(p.refused.empty());
  EXPECT_EQ(p.binding["cpu"], "native");
}

TEST(Predict, CounterWithoutFrequencyStaysNative) {
  KernelManifest m = manifest("release=t;api=3;groups=cpu,timer;calls=66,67;features=;counter=raw");
  RomImage r = rom(3, pvrom::kFeatureTimer, {{67, kCall, 0, 0x100}});
  EXPECT_EQ(predict(m, &r, "", nullptr, "").binding["timer"], "native");
  r = rom(3, pvrom::kFeatureTimer, {{66, kCall, 0, 0x100}, {67, kCall, 0, 0x110}});
  EXPECT_EQ(predict(m, &r, "", nullptr, "").binding["timer"], "rom");
}

TEST(Predict, GroupRequirementsOnlyMatterWhenTheGroupIsOnTheRom) {
  KernelManifest m = manifest(
      "release=t;api=3;groups=cpu,timer;calls=66,67,68;features=!oneshot_alarm|-timer;counter=clamped");
  RomImage periodic = rom(3, pvrom::kFeatureTimer | pvrom::kFeaturePeriodicAlarm,
                          {{66, kCall, 0, 0x100}, {67, kCall, 0, 0x110}, {68, kCall, 0, 0x120}});
  Prediction p = predict(m, &periodic, "", nullptr, "");
  EXPECT_EQ(p.status, Status::Fail);
  EXPECT_EQ(p.probe, "time.oneshot");
  EXPECT_EQ(p.call, 68);
  EXPECT_EQ(predict(m, &periodic, "", nullptr, "pv.native=timer").status, Status::Pass);
  RomImage none = rom(3, 0, {});
  EXPECT_EQ(predict(m, &none, "", nullptr, "").status, Status::Pass);
}

// --- findings ----------------------------------------------------------------------------

TEST(PredictFindings, AgreementIsSilentDisagreementIsListed) {
  json binding = {{"cpu", "rom"}, {"irq", "rom"}, {"mmu", "native"}, {"timer", "native"}, {"lazy", "native"}};
  json pass = {{"status", "PASS"}, {"binding", binding}, {"reason", "r"}};
  json timer_rom = binding;
  timer_rom["timer"] = "rom";
  json cells = json::array({
      {{"id", "a"}, {"outcome", "PASS"}, {"binding", binding}, {"predicted", pass}},
      {{"id", "b"}, {"outcome", "FAIL"}, {"binding", binding}, {"predicted", pass}, {"reason", "probe x failed"}},
      {{"id", "c"}, {"outcome", "ERROR"}, {"binding", json::object()}, {"predicted", pass}},
      {{"id", "d"}, {"outcome", "PASS"}, {"binding", binding}},
      {{"id", "e"}, {"outcome", "PASS"}, {"binding", timer_rom}, {"predicted", pass}},
      {{"id", "f"},
       {"outcome", "FAIL"},
       {"binding", binding},
       {"probes", json::array({{{"id", "time.periodic"}, {"status", "fail"}}})},
       {"predicted", {{"status", "FAIL"}, {"binding", binding}, {"probe", "time.oneshot"}, {"reason", "r"}}}},
  });
  json f = prediction_findings(cells);
  ASSERT_EQ(f.size(), 3u) << f.dump(1);
  EXPECT_EQ(f[0]["id"], "b");
  EXPECT_EQ(f[0]["kind"], "status");
  EXPECT_EQ(f[0]["predicted"], "PASS");
  EXPECT_EQ(f[0]["observed"], "FAIL");
  EXPECT_EQ(f[1]["id"], "e");
  EXPECT_EQ(f[1]["kind"], "binding");
  EXPECT_NE(f[1]["detail"].get<std::string>().find("timer predicted native, bound rom"), std::string::npos);
  EXPECT_EQ(f[2]["id"], "f");
  EXPECT_EQ(f[2]["kind"], "probe");
}

}  // namespace
}  // namespace pvm
