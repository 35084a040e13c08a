// The serial protocol parser: records, free text, partial lines, CRLF, malformed and forged
// lines, field caps, records after done.
#include "protocol.h"

#include <gtest/gtest.h>

namespace pvm {
namespace {

TEST(Protocol, ParsesEveryRecordKind) {
  ParsedSerial p = parse_serial(
      "console text\n"
      "@pvm {\"v\":1,\"ev\":\"hello\",\"kernel\":\"2.6.25\",\"build\":\"b1\",\"cmdline\":\"pv.native=timer\"}\n"
      "@pvm {\"ev\":\"hv\",\"family\":\"rom\",\"name\":\"rom-1.12\",\"api\":\"3.2\",\"features\":[\"timer\",\"mmu\"],"
      "\"binding\":{\"cpu\":\"rom\",\"timer\":\"native\"}}\n"
      "@pvm {\"ev\":\"stage\",\"name\":\"timer\",\"status\":\"fail\",\"detail\":\"d\"}\n"
      "@pvm {\"ev\":\"probe\",\"id\":\"time.oneshot\",\"status\":\"fail\",\"detail\":\"x\",\"call\":68}\n"
      "@pvm {\"ev\":\"done\",\"pass\":0,\"fail\":1,\"skip\":0}\n");
  ASSERT_TRUE(p.hello);
  EXPECT_EQ(p.hello->version, 1);
  EXPECT_EQ(p.hello->kernel, "2.6.25");
  EXPECT_EQ(p.hello->cmdline, "pv.native=timer");
  ASSERT_TRUE(p.hv);
  EXPECT_EQ(p.hv->api, "3.2");
  EXPECT_EQ(p.hv->features, (std::vector<std::string>{"timer", "mmu"}));
  EXPECT_EQ(p.hv->binding.at("cpu"), "rom");
  EXPECT_EQ(p.hv->binding.at("timer"), "native");
  ASSERT_EQ(p.stages.size(), 1u);
  EXPECT_EQ(p.stages[0].detail, "d");
  ASSERT_EQ(p.probes.size(), 1u);
  EXPECT_EQ(p.probes[0].call, 68);
  ASSERT_TRUE(p.done);
  EXPECT_EQ(p.done->fail, 1);
  EXPECT_EQ(*p.done_line, 5u);
  EXPECT_EQ(p.lines.size(), 6u);
  EXPECT_EQ(p.malformed, 0u);
  EXPECT_EQ(p.records.size(), 5u);
}

TEST(Protocol, StageBeginMarksTheRunningStageUntilItEnds) {
  ParsedSerial s = parse_serial(
      "@pvm {\"ev\":\"stage\",\"name\":\"cpu\",\"status\":\"begin\"}\n"
      "@pvm {\"ev\":\"probe\",\"id\":\"cpu.cpuid\",\"status\":\"pass\"}\n"
      "@pvm {\"ev\":\"stage\",\"name\":\"cpu\",\"status\":\"ok\"}\n"
      "@pvm {\"ev\":\"stage\",\"name\":\"irq\",\"status\":\"begin\"}\n");
  EXPECT_EQ(s.malformed, 0u);
  ASSERT_EQ(s.stages.size(), 1u);
  EXPECT_EQ(s.stages[0].name, "cpu");
  EXPECT_EQ(s.running_stage, "irq");
  EXPECT_EQ(s.running_since_probe, 1u);
  ParsedSerial ended = parse_serial(
      "@pvm {\"ev\":\"stage\",\"name\":\"cpu\",\"status\":\"begin\"}\n"
      "@pvm {\"ev\":\"stage\",\"name\":\"cpu\",\"status\":\"fail\"}\n");
  EXPECT_EQ(ended.running_stage, "");
  EXPECT_EQ(ended.stages.at(0).status, "fail");
}

TEST(Protocol, CrashAndPanic) {
  ParsedSerial p = parse_serial(
      "@pvm {\"ev\":\"crash\",\"vector\":14,\"eip\":\"0x1\",\"error\":\"0x2\",\"cr2\":\"0x0\",\"detail\":\"page fault\"}\n"
      "@pvm {\"ev\":\"panic\",\"detail\":\"second\"}\n");
  ASSERT_TRUE(p.crash);
  EXPECT_FALSE(p.crash->panic);
  EXPECT_EQ(p.crash->vector, 14);
  EXPECT_EQ(*p.crash_line, 0u);
  EXPECT_TRUE(parse_serial("@pvm {\"ev\":\"panic\",\"detail\":\"oops\"}").crash->panic);
}

TEST(Protocol, LinesStraddleChunksAndCrlfIsStripped) {
  SerialParser parser;
  std::string text = "@pvm {\"ev\":\"stage\",\"name\":\"boot\",\"status\":\"ok\"}\r\nfree\r\n@pvm {\"ev\":\"done\",";
  for (char c : text) parser.feed(std::string_view(&c, 1));
  parser.feed("\"pass\":0,\"fail\":0,\"skip\":0}\n");
  ParsedSerial p = parser.finish();
  ASSERT_EQ(p.lines.size(), 3u);
  EXPECT_EQ(p.lines[1].text, "free");
  ASSERT_EQ(p.stages.size(), 1u);
  EXPECT_TRUE(p.done);
}

TEST(Protocol, TrailingPartialLineIsParsedAndMarked) {
  ParsedSerial p = parse_serial("a\n@pvm {\"ev\":\"stage\",\"name\":\"boot\",\"status\":\"ok\"}");
  ASSERT_EQ(p.lines.size(), 2u);
  EXPECT_TRUE(p.lines[1].partial);
  EXPECT_EQ(p.stages.size(), 1u);
  // Cut mid-record (QEMU killed): malformed, not a crash of the parser.
  EXPECT_EQ(parse_serial("@pvm {\"ev\":\"sta").malformed, 1u);
}

TEST(Protocol, MalformedRecordsAreCountedAndIgnored) {
  ParsedSerial p = parse_serial(
      "@pvm not json\n"
      "@pvm [1,2]\n"
      "@pvm {\"kernel\":\"x\"}\n"
      "@pvm {\"ev\":7}\n"
      "@pvm {\"ev\":\"probe\",\"id\":7,\"status\":\"pass\"}\n"
      "@pvm {\"ev\":\"probe\",\"id\":\"a\",\"status\":\"great\"}\n"
      "@pvm {\"ev\":\"probe\",\"id\":\"a\",\"status\":\"pass\",\"call\":\"68\"}\n"
      "@pvm {\"ev\":\"stage\",\"name\":\"x\"}\n"
      "@pvm {\"ev\":\"done\",\"pass\":-1,\"fail\":0,\"skip\":0}\n"
      "@pvm {\"ev\":\"done\",\"pass\":1}\n"
      "@pvm {\"ev\":\"hv\",\"family\":\"rom\",\"binding\":[]}\n"
      "@pvm {\"ev\":\"hello\",\"kernel\":1}\n");
  EXPECT_EQ(p.malformed, 12u);
  EXPECT_EQ(p.lines.size(), 12u);
  EXPECT_TRUE(p.records.empty());
  EXPECT_TRUE(p.probes.empty());
  EXPECT_FALSE(p.done);
  EXPECT_FALSE(p.hv);
  EXPECT_FALSE(p.hello);
}

TEST(Protocol, OnlyLinesStartingWithThePrefixAreRecords) {
  ParsedSerial p = parse_serial(
      "text @pvm {\"ev\":\"done\",\"pass\":0,\"fail\":0,\"skip\":0}\n"
      " @pvm {\"ev\":\"done\",\"pass\":0,\"fail\":0,\"skip\":0}\n"
      "@pvm{\"ev\":\"done\",\"pass\":0,\"fail\":0,\"skip\":0}\n");
  EXPECT_FALSE(p.done);
  EXPECT_EQ(p.malformed, 0u);
}

TEST(Protocol, UnknownEventsAreKeptAndCounted) {
  ParsedSerial p = parse_serial("@pvm {\"ev\":\"future\",\"x\":1}\n");
  EXPECT_EQ(p.unknown, 1u);
  EXPECT_EQ(p.malformed, 0u);
}

TEST(Protocol, GuestStringsAreCapped) {
  std::string big(10000, 'x');
  ParsedSerial p = parse_serial("@pvm {\"ev\":\"probe\",\"id\":\"a\",\"status\":\"pass\",\"detail\":\"" + big + "\"}\n");
  ASSERT_EQ(p.probes.size(), 1u);
  EXPECT_LT(p.probes[0].detail.size(), kFieldLimit + 64);
  EXPECT_NE(p.probes[0].detail.find("bytes cut"), std::string::npos);
}

TEST(Protocol, CapDoesNotSplitUtf8) {
  std::string s = std::string(kFieldLimit - 1, 'a') + "\xc3\xa9" + "tail";
  std::string capped = cap_field(s);
  EXPECT_EQ(capped.substr(0, kFieldLimit - 1), std::string(kFieldLimit - 1, 'a'));
  EXPECT_EQ(capped[kFieldLimit - 1], '.');
}

TEST(Protocol, HugeRecordLineIsMalformed) {
  std::string line = "@pvm {\"ev\":\"stage\",\"name\":\"" + std::string(100000, '[') + "\"}\n";
  EXPECT_EQ(parse_serial(line).malformed, 1u);
}

TEST(Protocol, RecordsAfterDoneAreNotedNotUsed) {
  ParsedSerial p = parse_serial(
      "@pvm {\"ev\":\"done\",\"pass\":0,\"fail\":0,\"skip\":0}\n"
      "@pvm {\"ev\":\"probe\",\"id\":\"late\",\"status\":\"fail\"}\n"
      "@pvm {\"ev\":\"done\",\"pass\":9,\"fail\":9,\"skip\":9}\n");
  EXPECT_EQ(p.after_done, 2u);
  EXPECT_TRUE(p.probes.empty());
  EXPECT_EQ(p.done->pass, 0);
  EXPECT_NE(p.first_after_done.find("late"), std::string::npos);
}

TEST(Protocol, FirstHelloAndHvWin) {
  ParsedSerial p = parse_serial(
      "@pvm {\"ev\":\"hv\",\"family\":\"rom\",\"api\":\"3.2\"}\n"
      "@pvm {\"ev\":\"hv\",\"family\":\"forged\",\"api\":\"9.9\"}\n");
  EXPECT_EQ(p.hv->api, "3.2");
}

// --- BootEndWatch: the launchers' "is the boot over?" -------------------------------------

TEST(BootEndWatch, DoneCountsOnceItsLineIsCompleteWhateverTheChunking) {
  const std::string text = "console\n@pvm {\"ev\":\"done\",\"pass\":1,\"fail\":0,\"skip\":0}\r\n";
  BootEndWatch w(false);
  for (size_t i = 0; i + 1 < text.size(); ++i) {
    w.feed(text.substr(i, 1));
    EXPECT_FALSE(w.over()) << "after byte " << i;
  }
  w.feed(text.substr(text.size() - 1));
  EXPECT_TRUE(w.over());
  EXPECT_TRUE(w.done());
  EXPECT_FALSE(w.fatal());
}

TEST(BootEndWatch, CrashAndPanicRecordsAreFatal) {
  for (const char* ev : {"crash", "panic"}) {
    BootEndWatch w(false);
    w.feed(std::string("@pvm {\"ev\":\"") + ev + "\",\"vector\":14}\n");
    EXPECT_TRUE(w.fatal()) << ev;
    EXPECT_FALSE(w.done()) << ev;
  }
  BootEndWatch escaped(false);
  escaped.feed("@pvm {\"ev\":\"cr\\u0061sh\",\"vector\":14}\n");
  EXPECT_TRUE(escaped.fatal());
  BootEndWatch w(false);
  w.feed("@pvm {\"ev\":\"probe\",\"id\":\"x\",\"status\":\"fail\"}\n@pvm {\"ev\":\"stage\",\"name\":\"s\",\"status\":\"pass\"}\n");
  EXPECT_FALSE(w.over());
}

// Until the guest's first record line (behind Xen's console prefix, or malformed), only a banner
// can end the boot: the reader may let output pile up longer.
TEST(BootEndWatch, SaysWhenTheGuestsRecordsHaveBegun) {
  BootEndWatch w(true);
  w.feed("(XEN) Xen version 4.20\r\n(XEN) not a record: @pvm {}\n[    0.000000] Linux version 6.1\n@pvm {\"ev\"");
  EXPECT_FALSE(w.records_begun());  // the record line is not complete yet
  w.feed(":\"hello\"}\n");
  EXPECT_TRUE(w.records_begun());
  EXPECT_FALSE(w.over());
  BootEndWatch xen(true), malformed(true);
  xen.feed("(XEN) (d0) @pvm {\"ev\":\"stage\",\"name\":\"boot\",\"status\":\"pass\"}\n");
  EXPECT_TRUE(xen.records_begun());
  malformed.feed("@pvm {not json\n");
  EXPECT_TRUE(malformed.records_begun());
}

// The watch and the parser read a line the same way: what ends the boot is what the
// classifier will see as `done`.
TEST(BootEndWatch, AgreesWithTheParserOnWhichLinesAreDoneRecords) {
  const std::string done = "{\"ev\":\"done\",\"pass\":0,\"fail\":0,\"skip\":0}";
  const std::vector<std::string> lines = {
      "@pvm " + done,
      "(XEN) @pvm " + done,
      "(XEN) (d0) @pvm " + done,
      "(d0) @pvm " + done,
      "(d1) @pvm " + done,
      " @pvm " + done,
      "@pvm" + done,
      "@pvm {\"ev\":\"done\"",
      "@pvm [\"ev\",\"done\"]",
      "@pvm {\"ev\":7}",
      "@pvm {\"event\":\"done\"}",
      "text \"ev\":\"done\"",
      "@pvm {\"ev\":\"done\",\"pad\":\"" + std::string(70000, 'x') + "\"}",
      // Only lines that could end the boot are parsed: `ev` spelled out, or escaped.
      "@pvm { \"ev\" : \"done\" , \"pass\":0,\"fail\":0,\"skip\":0}",
      "@pvm {\"ev\":\"d\\u006fne\",\"pass\":0,\"fail\":0,\"skip\":0}",
      "@pvm {\"\\u0065v\":\"done\",\"pass\":0,\"fail\":0,\"skip\":0}",
      "@pvm {\"ev\":\"don\",\"pass\":0,\"fail\":0,\"skip\":0}",
  };
  for (const auto& line : lines) {
    BootEndWatch w(true);
    w.feed(line + "\n");
    EXPECT_EQ(w.done(), parse_serial(line + "\n").done.has_value()) << line.substr(0, 60);
  }
  // And it is not a substring search: a malformed record that mentions done does not end it.
  BootEndWatch w(false);
  w.feed("@pvm {\"ev\":\"done\",\n");
  EXPECT_FALSE(w.over());
}

TEST(BootEndWatch, ConsoleBannersEndTheBootOnlyWhenAsked) {
  const std::vector<std::string> banners = {
      "(XEN) Manual reset required ('noreboot' specified)",
      "(XEN) Hardware Dom0 shutdown: rebooting machine",
      "(XEN) Hardware Dom0 crashed: 'noreboot' set - not rebooting.",
      "[    2.000010] ---[ end Kernel panic - not syncing: Attempted to kill init! ]---",
  };
  for (const auto& b : banners) {
    BootEndWatch with(true), without(false);
    with.feed(b + "\n");
    without.feed(b + "\n");
    EXPECT_TRUE(with.fatal()) << b;
    EXPECT_FALSE(without.over()) << b;
  }
  BootEndWatch w(true);
  w.feed("(XEN) Xen version 4.17 (noreboot)\n[    0.000000] Kernel command line: panic=-1\n");
  EXPECT_FALSE(w.over());
}

TEST(BootEndWatch, AnEndlessLineIsBoundedAndTheNextLineStillCounts) {
  BootEndWatch w(true);
  const std::string flood(1 << 20, 'A');
  for (int i = 0; i < 16; ++i) w.feed(flood);  // 16 MiB, no newline
  EXPECT_LE(w.buffered(), 128u * 1024u);
  EXPECT_FALSE(w.over());
  w.feed("\n@pvm {\"ev\":\"done\",\"pass\":0,\"fail\":0,\"skip\":0}\n");
  EXPECT_TRUE(w.done());
  EXPECT_EQ(w.buffered(), 0u);

  // A banner at the head of an overlong line is still seen.
  BootEndWatch b(true);
  b.feed("(XEN) Manual reset required " + std::string(200000, '.') + "\n");
  EXPECT_TRUE(b.fatal());
}

TEST(BootEndWatch, FollowReadsOnlyWhatTheLogGained) {
  std::string log = "boot\n@pvm {\"ev\":\"do";
  BootEndWatch w(false);
  w.follow(log);
  w.follow(log);  // nothing new: the half line is not read twice
  EXPECT_FALSE(w.over());
  log += "ne\",\"pass\":0,\"fail\":0,\"skip\":0}\n";
  w.follow(log);
  EXPECT_TRUE(w.done());
}

}  // namespace
}  // namespace pvm
