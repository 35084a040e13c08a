#include "status_printer.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

namespace pvm {

LineMode detect_line_mode(std::FILE* stream) {
  const char* ci = std::getenv("CI");
  if (ci && *ci && std::strcmp(ci, "false") != 0 && std::strcmp(ci, "0") != 0) return LineMode::Plain;
  const char* term = std::getenv("TERM");
  if (!term || std::strcmp(term, "dumb") == 0) return LineMode::Plain;
  return isatty(fileno(stream)) ? LineMode::Overwrite : LineMode::Plain;
}

namespace {
size_t terminal_width(std::FILE* stream) {
  winsize ws{};
  if (ioctl(fileno(stream), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 80;
}

/// Keeps the end of `s` (the id's distinguishing part) within `width` columns.
std::string elide(const std::string& s, size_t width) {
  if (s.size() <= width || width < 4) return s.substr(0, width);
  return "..." + s.substr(s.size() - (width - 3));
}
}  // namespace

void StatusPrinter::status_line(const std::string& text) {
  if (mode_ == LineMode::Plain) {
    std::fprintf(out_, "%s\n", text.c_str());
  } else {
    std::string line = elide(text, terminal_width(out_) - 1);
    std::fprintf(out_, "\r%s\x1b[K", line.c_str());
    have_status_line_ = true;
  }
  std::fflush(out_);
}

void StatusPrinter::full_line(const std::string& text) {
  if (mode_ == LineMode::Overwrite && have_status_line_) std::fprintf(out_, "\r\x1b[K");
  have_status_line_ = false;
  std::fprintf(out_, "%s\n", text.c_str());
  std::fflush(out_);
}

void StatusPrinter::run_started(size_t total, int parallelism) {
  total_ = total;
  full_line(fmt::format("pvmatrix: {} cells, {} at a time", total, parallelism));
}

void StatusPrinter::cell_started(const CellSpec& spec, int attempt) {
  ++running_;
  if (mode_ == LineMode::Plain) {
    if (attempt > 1) full_line(fmt::format("[{}/{}] RETRY {} (attempt {})", done_, total_, spec.id(), attempt));
    return;
  }
  status_line(fmt::format("[{}/{}] {} running: {}{}", done_, total_, running_, spec.id(),
                          attempt > 1 ? fmt::format(" (attempt {})", attempt) : ""));
}

void StatusPrinter::cell_finished(const CellResult& r, size_t done, size_t total) {
  done_ = done;
  // Each attempt entered through cell_started; all of them have ended now.
  const size_t attempts = std::max<size_t>(1, r.attempts.size());
  running_ = running_ > attempts ? running_ - attempts : 0;
  std::string line = fmt::format("[{}/{}] {:<5} {} ({} ms)", done, total, to_string(r.status), r.spec.id(),
                                 r.duration_ms);
  const bool notable = r.status != Status::Pass && r.status != Status::Skip && r.status != Status::Xfail;
  if (notable && !r.reason.empty()) line += ": " + r.reason;
  // A starved host shows: the boot took this long because QEMU waited for a CPU.
  if (!r.attempts.empty() && r.attempts.back().starved_ms && r.duration_ms > 0 &&
      *r.attempts.back().starved_ms * 4 >= r.duration_ms)
    line += fmt::format(" [host starved: {}% of it waiting for a CPU]", *r.attempts.back().starved_ms * 100 / r.duration_ms);
  if (mode_ == LineMode::Plain || notable) {
    full_line(line);
  } else {
    status_line(line);
  }
}

void StatusPrinter::run_finished(bool interrupted) {
  if (mode_ == LineMode::Overwrite && have_status_line_) {
    std::fprintf(out_, "\n");
    have_status_line_ = false;
  }
  if (interrupted) full_line(fmt::format("pvmatrix: interrupted after {}/{} cells", done_, total_));
  std::fflush(out_);
}

}  // namespace pvm
