// The history page (history.html): one self-contained file (no script, no network) with the
// matrix over time — a row per cell, a square per run — the cells that stopped working and
// when, with the revisions on either side of each change, and the runs with their revisions.
#pragma once

#include <string>

namespace pvm {

class HistoryStore;

/// How many runs (newest) the page shows as columns.
inline constexpr size_t kHistoryPageRuns = 60;

/// Renders the page for `matrix` ("" = every matrix, cells keyed by matrix) from the store.
bool render_history_page(HistoryStore& store, const std::string& matrix, std::string* html, std::string* err);

/// Renders it and writes it atomically to `path`.
bool write_history_page(HistoryStore& store, const std::string& matrix, const std::string& path, std::string* err);

}  // namespace pvm
