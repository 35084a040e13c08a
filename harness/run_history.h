// What `pvmatrix run` does with the history store (docs/contracts.md "History"): open it before
// booting anything (a store of a newer schema stops the run: nothing is written anywhere), then
// record the finished run in one transaction and put the history words on its cells before the
// reports are written. A store that cannot be written never costs the run its report files:
// a broken SQLite file makes the run exit 2 afterwards, an unreachable PostgreSQL server is
// reported and leaves the exit status alone (the report can be imported later).
#pragma once

#include <map>
#include <memory>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "history_store.h"

namespace pvm {

class RunHistory {
 public:
  /// `location`: a store (see HistoryStore::open), or "none" to record nothing.
  explicit RunHistory(std::string location);
  ~RunHistory();

  /// Opens the store. False with `*err` only for a store of a newer schema; any other problem
  /// is kept and reported by record().
  bool check(std::string* err);

  /// Records `report` (a finished run) with each cell's inputs (by cell id) and annotates it
  /// (cells' `history`, `meta.history`). Prints one line about it to stdout, or the failure to
  /// stderr. False when the failure must fail the run (exit 2): a local SQLite store that
  /// cannot be written or read.
  bool record(nlohmann::json* report, const std::map<std::string, CellInputs>& inputs);

  /// Records nothing (an interrupted run: its report is partial); says so on stdout.
  void skip(const std::string& why);

  bool enabled() const { return location_ != "none"; }

 private:
  std::string location_;
  std::string shown_;
  std::unique_ptr<HistoryStore> store_;
  std::string open_error_;
};

}  // namespace pvm
