#include "matrix.h"
#include "sha256.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace pvm {
namespace {

MatrixUniverse universe() {
  return {{"2.6.20", "2.6.21", "2.6.22", "2.6.24", "2.6.25"},
          {"rom-1.0", "rom-1.1", "rom-1.12", "rom-1.13", "rom-1.13.1", "rom-2.0"}};
}

bool parse(const std::string& text, Matrix* m, std::string* err) {
  return parse_matrix(text, "m.json", universe(), m, err);
}

std::string parse_error(const std::string& text) {
  Matrix m;
  std::string err;
  EXPECT_FALSE(parse(text, &m, &err)) << text;
  return err;
}

std::vector<std::string> ids(const Matrix& m) {
  std::vector<std::string> v;
  for (const auto& c : m.cells) v.push_back(c.id);
  return v;
}

TEST(CellPattern, MatchesClausesAndAlternatives) {
  std::string err;
  auto p = CellPattern::parse("kernel=2.6.25/hv=rom-1.1|rom-1.12/cfg=default", &err);
  ASSERT_TRUE(p) << err;
  EXPECT_TRUE(p->matches("2.6.25", "rom-1.1", "default"));
  EXPECT_TRUE(p->matches("2.6.25", "rom-1.12", "default"));
  EXPECT_FALSE(p->matches("2.6.25", "rom-1.13", "default"));
  EXPECT_FALSE(p->matches("2.6.24", "rom-1.12", "default"));
  EXPECT_FALSE(p->matches("2.6.25", "rom-1.12", "native-timer"));

  auto g = CellPattern::parse("hv=rom-1.1*", &err);
  ASSERT_TRUE(g);
  EXPECT_TRUE(g->matches("2.6.20", "rom-1.13.1", "x"));
  EXPECT_FALSE(g->matches("2.6.20", "rom-2.0", "x"));
  // A whole cell id is a pattern that matches exactly that cell.
  auto id = CellPattern::parse(cell_id("2.6.25", "rom-1.12", "default"), &err);
  ASSERT_TRUE(id);
  EXPECT_TRUE(id->matches("2.6.25", "rom-1.12", "default"));
}

TEST(CellPattern, RejectsMalformed) {
  std::string err;
  EXPECT_FALSE(CellPattern::parse("", &err));
  EXPECT_FALSE(CellPattern::parse("kernel", &err));
  EXPECT_NE(err.find("key=glob"), std::string::npos) << err;
  EXPECT_FALSE(CellPattern::parse("kernal=2.6.25", &err));
  EXPECT_NE(err.find("unknown key 'kernal'"), std::string::npos) << err;
  EXPECT_FALSE(CellPattern::parse("hv=", &err));
  EXPECT_FALSE(CellPattern::parse("hv=a||b", &err));
}

TEST(Matrix, ExpandsInFixedOrderWithComments) {
  Matrix m;
  std::string err;
  ASSERT_TRUE(parse(R"({
    // two kernels, versions by glob
    "kernels": ["2.6.25", "2.6.24"],
    "hypervisors": ["rom-1.1*"],
    "configs": [{"name": "default"}, {"name": "nt", "cmdline": "pv.native=timer", "memory_mib": 128, "machine": "pc"}],
    "timeout": 5, "retries": 2
  })", &m, &err)) << err;
  EXPECT_EQ(m.kernels, (std::vector<std::string>{"2.6.25", "2.6.24"}));
  EXPECT_EQ(m.hypervisors, (std::vector<std::string>{"rom-1.1", "rom-1.12", "rom-1.13", "rom-1.13.1"}));
  ASSERT_EQ(m.cells.size(), 2u * 4u * 2u);
  EXPECT_EQ(m.cells[0].id, "kernel=2.6.25/hv=rom-1.1/cfg=default");
  EXPECT_EQ(m.cells[1].id, "kernel=2.6.25/hv=rom-1.1/cfg=nt");
  EXPECT_EQ(m.cells[2].id, "kernel=2.6.25/hv=rom-1.12/cfg=default");
  EXPECT_EQ(m.cells.back().id, "kernel=2.6.24/hv=rom-1.13.1/cfg=nt");
  EXPECT_EQ(m.configs[1].memory_mib, 128u);
  EXPECT_EQ(m.configs[1].machine, "pc");
  EXPECT_EQ(m.timeout_s, 5.0);
  EXPECT_EQ(m.retries, 2);
  EXPECT_EQ(m.sha256.size(), 64u);
  EXPECT_EQ(m.name, "m");
}

TEST(Matrix, OnlyAndExcludeFilterAndPruneAxes) {
  Matrix m;
  std::string err;
  ASSERT_TRUE(parse(R"({"kernels": ["*"], "hypervisors": ["*"],
    "configs": [{"name": "default"}, {"name": "nt", "cmdline": "pv.native=timer"}],
    "only": ["cfg=default", "kernel=2.6.25/hv=rom-1.12/cfg=nt"],
    "exclude": ["hv=rom-2.0", "kernel=2.6.20"]})", &m, &err)) << err;
  EXPECT_EQ(m.cells.size(), 4u * 5u + 1u);
  EXPECT_EQ(m.kernels.front(), "2.6.21");
  EXPECT_EQ(m.hypervisors.back(), "rom-1.13.1");
  EXPECT_NE(std::find(ids(m).begin(), ids(m).end(), "kernel=2.6.25/hv=rom-1.12/cfg=nt"), ids(m).end());
}

TEST(Matrix, SyntaxErrorHasLineAndColumn) {
  std::string err = parse_error("{\n  \"kernels\": [\"2.6.25\",]\n}");
  EXPECT_EQ(err.rfind("m.json:2:", 0), 0u) << err;
}

TEST(Matrix, UnknownKeyIsNamedWithPosition) {
  std::string err = parse_error("{\"kernels\": [\"2.6.25\"], \"hypervisors\": [\"rom-1.0\"],\n  \"config\": []}");
  EXPECT_NE(err.find("m.json:2:3"), std::string::npos) << err;
  EXPECT_NE(err.find("unknown key \"config\""), std::string::npos) << err;
  EXPECT_NE(err.find("configs"), std::string::npos) << err;  // what was expected

  err = parse_error("{\"kernels\": [\"2.6.25\"], \"hypervisors\": [\"rom-1.0\"],\n"
                    " \"configs\": [{\"name\": \"a\", \"cmdlin\": \"x\"}]}");
  EXPECT_NE(err.find("m.json:2:28"), std::string::npos) << err;
  EXPECT_NE(err.find("cmdlin"), std::string::npos) << err;
}

TEST(Matrix, UnknownNamesAndEmptyGlobsListWhatExists) {
  std::string err = parse_error("{\"kernels\": [\"2.6.23\"], \"hypervisors\": [\"rom-1.0\"]}");
  EXPECT_NE(err.find("m.json:1:14"), std::string::npos) << err;
  EXPECT_NE(err.find("'2.6.23' does not exist"), std::string::npos) << err;
  EXPECT_NE(err.find("2.6.20, 2.6.21, 2.6.22, 2.6.24, 2.6.25"), std::string::npos) << err;

  err = parse_error("{\"kernels\": [\"2.6.25\"], \"hypervisors\": [\"hyperv-*\"]}");
  EXPECT_NE(err.find("'hyperv-*' matches nothing"), std::string::npos) << err;
  EXPECT_NE(err.find("rom-1.13.1"), std::string::npos) << err;
}

TEST(Matrix, EmptyExpansionIsAnError) {
  std::string err = parse_error("{\"kernels\": [\"2.6.25\"], \"hypervisors\": [\"rom-1.0\"], \"exclude\": [\"kernel=*\"]}");
  EXPECT_NE(err.find("expands to no cells"), std::string::npos) << err;
}

TEST(Matrix, BadValues) {
  const char* base = R"("kernels": ["2.6.25"], "hypervisors": ["rom-1.0"])";
  auto with = [&](const std::string& extra) { return "{" + std::string(base) + ", " + extra + "}"; };
  EXPECT_NE(parse_error(with(R"("timeout": -1)")).find("timeout"), std::string::npos);
  EXPECT_NE(parse_error(with(R"("retries": 1.5)")).find("retries"), std::string::npos);
  EXPECT_NE(parse_error(with(R"("configs": [{"name": "a b"}])")).find("name"), std::string::npos);
  EXPECT_NE(parse_error(with(R"("configs": [{"name": "a"}, {"name": "a"}])")).find("defined twice"), std::string::npos);
  EXPECT_NE(parse_error(with(R"("only": ["kernal=1"])")).find("unknown key 'kernal'"), std::string::npos);
  EXPECT_NE(parse_error(with(R"("known_issues": ["does-not-exist.json"])")).find("does not exist"), std::string::npos);
  EXPECT_NE(parse_error(R"({"hypervisors": ["rom-1.0"]})").find("missing key 'kernels'"), std::string::npos);
  EXPECT_NE(parse_error("[]").find("JSON object"), std::string::npos);
  EXPECT_NE(parse_error(R"({"kernels": [], "hypervisors": ["rom-1.0"]})").find("non-empty"), std::string::npos);
}

TEST(Matrix, OnlyExpressionSelectsOrFails) {
  Matrix m;
  std::string err;
  ASSERT_TRUE(parse(R"({"kernels": ["*"], "hypervisors": ["*"]})", &m, &err));
  ASSERT_TRUE(apply_only("kernel=2.6.25/hv=rom-1.1*,kernel=2.6.20/hv=rom-2.0", &m, &err)) << err;
  EXPECT_EQ(ids(m), (std::vector<std::string>{"kernel=2.6.20/hv=rom-2.0/cfg=default",
                                              "kernel=2.6.25/hv=rom-1.1/cfg=default",
                                              "kernel=2.6.25/hv=rom-1.12/cfg=default",
                                              "kernel=2.6.25/hv=rom-1.13/cfg=default",
                                              "kernel=2.6.25/hv=rom-1.13.1/cfg=default"}));
  EXPECT_FALSE(apply_only("kernel=9.9", &m, &err));
  EXPECT_NE(err.find("selects no cell"), std::string::npos);
  EXPECT_FALSE(apply_only("bogus", &m, &err));
  EXPECT_NE(err.find("--only"), std::string::npos);
}

TEST(Shard, ParsesAndPartitions) {
  std::string err;
  EXPECT_FALSE(parse_shard("0/2", &err));
  EXPECT_FALSE(parse_shard("3/2", &err));
  EXPECT_FALSE(parse_shard("1/2x", &err));
  EXPECT_FALSE(parse_shard("1", &err));
  Matrix full;
  ASSERT_TRUE(parse(R"({"kernels": ["*"], "hypervisors": ["*"]})", &full, &err));
  std::vector<std::string> all = ids(full), joined;
  size_t smallest = all.size(), largest = 0;
  for (int k = 1; k <= 4; ++k) {
    auto s = parse_shard(std::to_string(k) + "/4", &err);
    ASSERT_TRUE(s) << err;
    Matrix m = full;
    apply_shard(*s, &m);
    smallest = std::min(smallest, m.cells.size());
    largest = std::max(largest, m.cells.size());
    for (const auto& id : ids(m)) joined.push_back(id);
    Matrix again = full;
    apply_shard(*s, &again);
    EXPECT_EQ(ids(again), ids(m));  // stable
  }
  std::sort(all.begin(), all.end());
  std::sort(joined.begin(), joined.end());
  EXPECT_EQ(joined, all);  // a partition: every cell exactly once
  EXPECT_LE(largest - smallest, 1u);
}

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex(std::string(1000, 'a')).size(), 64u);
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Matrix, ShippedMatricesLoad) {
  // The real world's names: every folder of hypervisor-versions/ with a version.json.
  MatrixUniverse u = universe();
  u.hypervisors.clear();
  for (const auto& e : std::filesystem::directory_iterator(std::string(PVMATRIX_SOURCE_DIR) + "/hypervisor-versions"))
    if (std::filesystem::exists(e.path() / "version.json")) u.hypervisors.push_back(e.path().filename().string());
  std::sort(u.hypervisors.begin(), u.hypervisors.end());
  // and the real kernels of kernel/linux/.
  for (const auto& e : std::filesystem::directory_iterator(std::string(PVMATRIX_SOURCE_DIR) + "/kernel/linux"))
    if (e.path().extension() == ".json") u.kernels.push_back(e.path().stem().string());
  u.kernels.push_back("romselftest");  // the ROM's own test guest, built among the kernels
  for (const char* name : {"nightly.json", "gate.json", "smoke.json"}) {
    std::string path = std::string(PVMATRIX_SOURCE_DIR) + "/matrix/" + name;
    Matrix m;
    std::string err;
    ASSERT_TRUE(load_matrix(path, u, &m, &err)) << err;
    EXPECT_FALSE(m.known_issue_files.empty()) << name;
  }
  Matrix nightly;
  std::string err;
  ASSERT_TRUE(load_matrix(std::string(PVMATRIX_SOURCE_DIR) + "/matrix/nightly.json", u, &nightly, &err));
  EXPECT_EQ(nightly.kernels.size(), 10u);  // 5 reference releases, 4 real kernels, the ROM selftest
  EXPECT_GE(nightly.hypervisors.size(), 10u);
  EXPECT_EQ(nightly.configs.size(), 5u);
  // Reference: every hypervisor x the three pv.native configs; real: every xen column x {PVH, PV}
  // plus bare QEMU, and noxsave on every xen column (PVH) and bare, but not for the 32-bit kernel
  // on Xen (it cannot be a dom0). The ROM selftest: every rom column, default config.
  size_t xen = std::count_if(nightly.hypervisors.begin(), nightly.hypervisors.end(),
                             [](const std::string& h) { return h.rfind("xen-", 0) == 0; });
  size_t rom = std::count_if(nightly.hypervisors.begin(), nightly.hypervisors.end(),
                             [](const std::string& h) { return h.rfind("rom-", 0) == 0; });
  EXPECT_EQ(nightly.cells.size(),
            5u * nightly.hypervisors.size() * 3u + 4u * (2u * xen + 1u) + 3u * (xen + 1u) + 1u + rom);
}

}  // namespace
}  // namespace pvm
