// `pvmatrix list --json` as the gate reads it from another revision's pvmatrix
// (harness/matrix_listing.h): what is written is read back, and a document that is not a listing
// is refused with the cell and field named.
#include "matrix_listing.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace pvm {
namespace {
using nlohmann::json;

TEST(MatrixListing, WhatIsWrittenIsReadBack) {
  MatrixListing l{"matrix/nightly.json", "nightly", "abc", {}};
  ListedCell& c = l.cells.emplace_back();
  c.id = "kernel=2.6.25/hv=rom-1.12/cfg=default";
  c.kernel = "2.6.25", c.hv = "rom-1.12", c.config = "default", c.machine = "microvm", c.cpu = "qemu32";
  c.memory_mib = 64, c.timeout_s = 10, c.retries = 1;
  c.expected_any = {"FAIL", "CRASH"};
  c.expected_reason = "timer";
  const CellInputs inputs{"k", "none", "r", "none", "p", "c"};
  c.inputs = inputs;
  l.cells.push_back(ListedCell{.id = "kernel=2.6.24/hv=rom-1.12/cfg=default"});
  const json doc = l;
  EXPECT_EQ(doc["count"], 2);
  EXPECT_EQ(doc["cells"][0]["expected"], "FAIL");     // the first expected outcome
  EXPECT_TRUE(doc["cells"][1]["expected"].is_null());  // no known issue
  EXPECT_FALSE(doc["cells"][1].contains("inputs"));    // listed without --inputs
  EXPECT_TRUE(doc["statuses"].is_array());
  MatrixListing read;
  std::string err;
  ASSERT_TRUE(read_matrix_listing(doc, &read, &err)) << err;
  EXPECT_EQ(json(read), doc);
  ASSERT_TRUE(read.cells[0].inputs.has_value());
  EXPECT_TRUE(read.cells[0].inputs->differences(inputs).empty());
}

TEST(MatrixListing, ADocumentThatIsNotOneIsRefusedWithTheCellNamed) {
  MatrixListing read;
  std::string err;
  EXPECT_FALSE(read_matrix_listing(json{{"name", "x"}}, &read, &err));
  EXPECT_NE(err.find("\"cells\""), std::string::npos) << err;
  EXPECT_FALSE(read_matrix_listing(json{{"cells", json::array({{{"id", "a"}}, {{"kernel", "k"}}})}}, &read, &err));
  EXPECT_NE(err.find("cells[1]"), std::string::npos) << err;
  EXPECT_FALSE(read_matrix_listing(json{{"cells", json::array({{{"id", "a"}, {"inputs", 3}}})}}, &read, &err));
  EXPECT_NE(err.find("cells[0] (a): field \"inputs\""), std::string::npos) << err;
}

}  // namespace
}  // namespace pvm
