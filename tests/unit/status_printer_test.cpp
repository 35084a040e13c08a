// The run's progress as people and CI logs see it (harness/status_printer.h): one line per cell
// when not a terminal, one self-overwriting line on a terminal with what is unexpected printed
// above it.
#include "status_printer.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace pvm {
namespace {
using ::testing::HasSubstr;
using ::testing::Not;

/// Everything a StatusPrinter wrote to its stream.
class Captured {
 public:
  Captured() : f_(open_memstream(&buf_, &size_)) {}
  ~Captured() {
    std::fclose(f_);
    std::free(buf_);
  }
  std::FILE* file() { return f_; }
  std::string text() {
    std::fflush(f_);
    return std::string(buf_, size_);
  }

 private:
  char* buf_ = nullptr;
  size_t size_ = 0;
  std::FILE* f_;
};

CellSpec spec(const char* kernel) {
  CellSpec s;
  s.kernel = kernel, s.hv = "rom-1.12", s.config = "default";
  return s;
}

CellResult result(const char* kernel, Status status, uint64_t ms, const char* reason = "") {
  CellResult r;
  r.spec = spec(kernel);
  r.status = r.outcome = status;
  r.duration_ms = ms;
  r.reason = reason;
  r.attempts.push_back({status, ms, 0, std::nullopt, reason, std::nullopt, std::nullopt});
  return r;
}

TEST(StatusPrinter, PlainModeWritesOneLinePerFinishedCellAndTheReasonOfWhatIsUnexpected) {
  Captured out;
  StatusPrinter p(out.file(), LineMode::Plain);
  p.run_started(2, 2);
  p.cell_started(spec("2.6.24"), 1);
  p.cell_started(spec("2.6.25"), 1);
  p.cell_finished(result("2.6.24", Status::Pass, 21, "all probes passed"), 1, 2);
  p.cell_finished(result("2.6.25", Status::Fail, 34, "probe time.oneshot failed"), 2, 2);
  p.run_finished(false);
  EXPECT_EQ(out.text(),
            "pvmatrix: 2 cells, 2 at a time\n"
            "[1/2] PASS  kernel=2.6.24/hv=rom-1.12/cfg=default (21 ms)\n"
            "[2/2] FAIL  kernel=2.6.25/hv=rom-1.12/cfg=default (34 ms): probe time.oneshot failed\n");
}

TEST(StatusPrinter, PlainModeAnnouncesRetriesAndAnInterruption) {
  Captured out;
  StatusPrinter p(out.file(), LineMode::Plain);
  p.run_started(3, 1);
  p.cell_started(spec("2.6.25"), 1);
  p.cell_started(spec("2.6.25"), 2);
  p.run_finished(true);
  const std::string text = out.text();
  EXPECT_THAT(text, HasSubstr("[0/3] RETRY kernel=2.6.25/hv=rom-1.12/cfg=default (attempt 2)\n"));
  EXPECT_THAT(text, HasSubstr("pvmatrix: interrupted after 0/3 cells\n"));
}

TEST(StatusPrinter, OverwriteModeKeepsOneStatusLineAndPrintsWhatIsUnexpectedAboveIt) {
  Captured out;
  StatusPrinter p(out.file(), LineMode::Overwrite);
  p.run_started(2, 2);
  p.cell_started(spec("2.6.24"), 1);
  p.cell_finished(result("2.6.24", Status::Pass, 21), 1, 2);
  p.cell_started(spec("2.6.25"), 1);
  p.cell_finished(result("2.6.25", Status::Crash, 34, "guest panic"), 2, 2);
  p.run_finished(false);
  const std::string text = out.text();
  // A passing cell only replaces the status line: carriage return, text, erase to the end.
  EXPECT_THAT(text, HasSubstr("\r[1/2] PASS  kernel=2.6.24/hv=rom-1.12/cfg=default (21 ms)\x1b[K"));
  EXPECT_THAT(text, Not(HasSubstr("(21 ms)\n")));
  // The crash clears the status line and stays on screen as a line of its own.
  EXPECT_THAT(text, HasSubstr("\r\x1b[K[2/2] CRASH kernel=2.6.25/hv=rom-1.12/cfg=default (34 ms): guest panic\n"));
  EXPECT_THAT(text, HasSubstr("1 running: kernel=2.6.25/hv=rom-1.12/cfg=default"));
}

TEST(StatusPrinter, AStarvedHostIsSaidWhereItMadeTheBootSlow) {
  Captured out;
  StatusPrinter p(out.file(), LineMode::Plain);
  CellResult slow = result("2.6.24", Status::Pass, 400);
  slow.attempts.back().starved_ms = 300;
  CellResult fine = result("2.6.25", Status::Pass, 400);
  fine.attempts.back().starved_ms = 40;
  p.cell_finished(slow, 1, 2);
  p.cell_finished(fine, 2, 2);
  const std::string text = out.text();
  EXPECT_THAT(text, HasSubstr("2.6.24/hv=rom-1.12/cfg=default (400 ms) [host starved: 75% of it waiting for a CPU]\n"));
  EXPECT_THAT(text, HasSubstr("2.6.25/hv=rom-1.12/cfg=default (400 ms)\n"));
}

TEST(StatusPrinter, CiAndDumbTerminalsGetPlainLines) {
  const char* ci = std::getenv("CI");
  const char* term = std::getenv("TERM");
  const std::string saved_ci = ci ? ci : "", saved_term = term ? term : "";
  setenv("CI", "true", 1);
  setenv("TERM", "xterm", 1);
  EXPECT_EQ(detect_line_mode(stdout), LineMode::Plain);
  unsetenv("CI");
  setenv("TERM", "dumb", 1);
  EXPECT_EQ(detect_line_mode(stdout), LineMode::Plain);
  if (ci) setenv("CI", saved_ci.c_str(), 1);
  if (term) setenv("TERM", saved_term.c_str(), 1);
  else unsetenv("TERM");
}

}  // namespace
}  // namespace pvm
