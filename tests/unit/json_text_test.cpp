// harness/json_text: what nlohmann accepts silently but must not be.
#include <gtest/gtest.h>

#include <string>

#include "json_text.h"

namespace pvm {
namespace {

TEST(JsonText, ANulByteIsALocatedErrorNotTheEndOfTheFile) {
  // nlohmann stops at a NUL (even inside a // comment) and would accept "2" as the whole file.
  std::string text = "// a comment\x01\x01";
  text += '\0';
  text += "2\n{\"kernels\": [\"2.6.25\"]}\n";
  JsonError err;
  EXPECT_FALSE(JsonText::parse(text, "m.json", &err));
  EXPECT_EQ(err.line, 1);
  EXPECT_NE(err.message.find("NUL"), std::string::npos) << err.message;
}

TEST(JsonText, ScalarsInAnArrayAreScannedWithoutLooping) {
  JsonError err;
  auto doc = JsonText::parse("{\"a\": [1, true, \"x\", null, -2.5e3]}", "a.json", &err);
  ASSERT_TRUE(doc) << err.message;
}

}  // namespace
}  // namespace pvm
