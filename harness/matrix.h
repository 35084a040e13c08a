// Matrix files: axes (kernels x hypervisors x configs), only/exclude filters, timeout,
// retries and known-issue file references, expanded to cells in a fixed order.
//
// Cell patterns (used by `only`/`exclude`, `--only`, and known-issue `cells`), in the
// spirit of avocado-vt's only/no filters:
//
//   pattern  := clause ('/' clause)*        every clause must match (AND)
//   clause   := key '=' alt ('|' alt)*      key is kernel, hv or cfg; any alternative may match
//   alt      := glob                        fnmatch(3) glob: * ? [...]; no '/' '|' ',' '='
//   list     := pattern (',' pattern)*      any pattern may match (OR), for --only
//
// A key not named matches anything; a key named twice must match both times.
// Examples: `kernel=2.6.25/hv=rom-1.1|rom-1.12/cfg=default`, `hv=rom-1.13*`, `cfg=native-*`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cell.h"
#include "json_text.h"  // read_text_file

namespace pvm {

/// One value of the config axis.
struct MatrixConfig {
  std::string name;                    ///< id part, [A-Za-z0-9._-]+, unique in the matrix
  std::string cmdline;                 ///< kernel command line, e.g. "pv.native=timer"
  std::optional<uint32_t> memory_mib;  ///< overrides the version's platform memory
  std::optional<std::string> machine;  ///< overrides the version's platform machine type
  std::optional<std::string> dom0;     ///< xen columns: "pvh" | "pv" (Xen's dom0= mode)
};

/// One expanded cell (names only; images and platform are resolved later).
struct MatrixCell {
  std::string kernel;  ///< release, e.g. "2.6.25"
  std::string hv;      ///< hypervisor version, e.g. "rom-1.12"
  size_t config = 0;   ///< index into Matrix::configs
  std::string id;      ///< "kernel=2.6.25/hv=rom-1.12/cfg=default"
};

/// Stable cell id, as CellSpec::id() spells it.
std::string cell_id(const std::string& kernel, const std::string& hv, const std::string& cfg);

/// One pattern over cells (grammar at the top of this file).
class CellPattern {
 public:
  /// Parses `text`; nullopt with `*err` saying what was expected where.
  static std::optional<CellPattern> parse(const std::string& text, std::string* err);
  /// True when every clause matches.
  bool matches(const std::string& kernel, const std::string& hv, const std::string& cfg) const;
  /// The pattern as written.
  const std::string& text() const { return text_; }
  /// The alternatives of clause `key` ("kernel" | "hv" | "cfg") that are plain names, not globs.
  std::vector<std::string> literal_names(std::string_view key) const;

 private:
  struct Clause {
    std::string key;                 ///< "kernel" | "hv" | "cfg"
    std::vector<std::string> globs;  ///< alternatives
  };
  std::vector<Clause> clauses_;
  std::string text_;
};

/// Parses a comma-separated list of patterns (`--only`); false with `*err` on a bad one.
bool parse_pattern_list(const std::string& text, std::vector<CellPattern>* out, std::string* err);
/// True if any pattern of `patterns` matches the cell.
bool any_matches(const std::vector<CellPattern>& patterns, const MatrixCell& cell,
                 const std::vector<MatrixConfig>& configs);

/// What exists to put in a matrix, in world order (from World: releases and test guests,
/// hypervisor versions).
struct MatrixUniverse {
  std::vector<std::string> kernels;      ///< "2.6.20" ... "2.6.25", "fixture-..."
  std::vector<std::string> hypervisors;  ///< "rom-1.0" ... "rom-2.0"
};

/// A loaded, validated, expanded matrix file.
struct Matrix {
  std::string path;                     ///< as given
  std::string sha256;                   ///< hex digest of the file bytes
  std::string name;                     ///< "name" key, else the file stem
  std::string description;              ///< free text
  std::vector<std::string> kernels;     ///< axis, globs expanded, file order then world order
  std::vector<std::string> hypervisors; ///< axis, globs expanded
  std::vector<MatrixConfig> configs;    ///< axis (default: one config "default")
  std::vector<CellPattern> only;        ///< keep cells matching any (empty: keep all)
  std::vector<CellPattern> exclude;     ///< then drop cells matching any
  double timeout_s = 10.0;              ///< per attempt
  int retries = 0;                      ///< extra attempts after an unexpected failure
  std::vector<std::string> known_issue_files;  ///< resolved relative to the matrix file
  std::vector<MatrixCell> cells;        ///< kernel-major, then hv, then config: a fixed order
};

/// Reads, validates and expands a matrix file. Errors are "file:line:col: message" and
/// name unknown keys, list what exists for unknown names and globs that match nothing,
/// and refuse an empty expansion.
bool load_matrix(const std::string& path, const MatrixUniverse& universe, Matrix* out, std::string* err);
/// Same, from text already read (`path` is used in messages and to resolve references).
bool parse_matrix(const std::string& text, const std::string& path, const MatrixUniverse& universe,
                  Matrix* out, std::string* err);

/// Keeps the cells matching any pattern of `expr` (`--only`); false if it is malformed or
/// nothing is left.
bool apply_only(const std::string& expr, Matrix* matrix, std::string* err);

/// `--shard K/N`: the K-th (1-based) of N stable subsets. Cell i of the expanded order
/// belongs to shard (i mod N) + 1: every cell is in exactly one shard, shards differ in
/// size by at most one, and the same matrix always splits the same way.
struct Shard {
  int index = 1;  ///< K, 1..count
  int count = 1;  ///< N
};
/// Parses "K/N" with 1 <= K <= N.
std::optional<Shard> parse_shard(const std::string& text, std::string* err);
/// Keeps only the cells of `shard`.
void apply_shard(const Shard& shard, Matrix* matrix);

class World;
/// The names `world` offers: releases and test guests, hypervisor versions.
MatrixUniverse universe_of(const World& world);
/// The cells a command works on: load_matrix over `world`, then `only` (apply_only) and
/// `shard` ("K/N", apply_shard); either may be "". False with `*err` naming what is wrong.
bool load_selected_matrix(const std::string& path, const World& world, const std::string& only,
                          const std::string& shard, Matrix* out, std::string* err);
/// Resolves each cell of `matrix` to a bootable CellSpec (the version's platform, the
/// config's overrides, the matrix timeout), in cell order. False with `*err` if one fails.
bool make_cell_specs(const Matrix& matrix, const World& world, std::vector<CellSpec>* out, std::string* err);

}  // namespace pvm
