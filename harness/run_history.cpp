#include "run_history.h"

#include "report_model.h"

#include <cstdio>

#include <nlohmann/json.hpp>

namespace pvm {
using nlohmann::json;

RunHistory::RunHistory(std::string location) : location_(std::move(location)), shown_(HistoryStore::display(location_)) {}
RunHistory::~RunHistory() = default;

bool RunHistory::check(std::string* err) {
  if (!enabled()) return true;
  HistoryOpenError why = HistoryOpenError::None;
  store_ = HistoryStore::open(location_, /*create=*/true, &open_error_, &why);
  if (why == HistoryOpenError::NewerSchema) {
    *err = open_error_;
    return false;
  }
  if (!store_)
    std::fprintf(stderr, "pvmatrix run: %s (the run goes on; its history will not be recorded)\n", open_error_.c_str());
  return true;
}

bool RunHistory::record(json* report, const std::map<std::string, CellInputs>& inputs) {
  if (!enabled()) return true;
  const bool local = !HistoryStore::is_postgres(location_);
  auto failed = [&](const std::string& error) {
    annotate_history_failure(report, shown_, error);
    std::fprintf(stderr, "pvmatrix run: history not recorded: %s%s\n", error.c_str(),
                 local ? "" : " (the reports are written; record this run later with `pvmatrix history import`)");
    return !local;
  };
  std::string err;
  if (!store_) {
    if (local) return failed(open_error_);
    HistoryOpenError why;  // a server that was down when the run started may be up now
    store_ = HistoryStore::open(location_, /*create=*/true, &err, &why);
    if (!store_) return failed(err);
  }
  int64_t run = 0;
  bool already = false;
  if (!store_->record(*report, "run", &run, &already, &err, &inputs)) return failed(shown_ + ": " + err);
  std::map<std::string, std::vector<HistoryEntry>> timelines;
  const ReportHeader h = read_report_header(*report);
  const std::string matrix = h.meta.matrix && !h.meta.matrix->name.empty() ? h.meta.matrix->name : "unknown";
  std::set<std::string> cut;
  if (!store_->timelines(matrix, run, &timelines, &err, &cut)) return failed(shown_ + ": " + err);
  annotate_history(report, timelines, cut, shown_, run);
  std::printf("pvmatrix: history: run %lld recorded in %s\n", static_cast<long long>(run), shown_.c_str());
  return true;
}

void RunHistory::skip(const std::string& why) {
  if (!enabled()) return;
  std::printf("pvmatrix: history: not recorded (%s)\n", why.c_str());
}

}  // namespace pvm
