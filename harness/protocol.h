// The guest -> harness serial protocol (DESIGN §4, docs/contracts.md "Serial protocol"):
// a pure parser of serial text into typed records. No I/O; the text is untrusted.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cell.h"

namespace pvm {

/// Prefix of a record line.
inline constexpr std::string_view kRecordPrefix = "@pvm ";
/// Prefixes a hypervisor's console puts before a guest's line, stripped (each at most once,
/// in this order) before record detection: Xen prints its own lines, and a PVH dom0's debug
/// port (0xe9) lines, as "(XEN) ...", guest lines as "(d0) ...". Nothing else is stripped:
/// "(XEN) (d0) @pvm {...}" is a record, "(d1) @pvm" or " @pvm" is not. The log keeps the line.
inline constexpr std::string_view kConsolePrefixes[] = {"(XEN) ", "(d0) "};
/// `line` without the known console prefixes (a view into it).
std::string_view strip_console_prefixes(std::string_view line);
/// Guest strings longer than this are cut (and marked) when parsed.
inline constexpr size_t kFieldLimit = 4096;

/// Kinds of records the harness understands; anything else is Unknown (kept, ignored).
enum class RecordKind { Hello, Hv, Stage, Probe, Crash, Panic, Done, Unknown };

/// One line of serial output, CR/LF stripped.
struct SerialLine {
  std::string text;
  bool partial = false;  ///< the output ended before this line's newline
};

/// Where a record came from and what it was.
struct RecordRef {
  RecordKind kind = RecordKind::Unknown;
  size_t line = 0;          ///< index into ParsedSerial::lines
  bool after_done = false;  ///< appeared after the first `done` record
};

/// The `hello` record.
struct HelloRecord {
  int version = 0;          ///< "v"
  std::string kernel;       ///< release the guest says it is
  std::string build;
  std::string cmdline;
};

/// The `hv` record: what the kernel found and how it bound.
struct HvRecord {
  std::string family;       ///< "rom" | "none"
  std::string name;         ///< "rom-1.12" (when accepted)
  std::string api;          ///< "3.2"
  std::vector<std::string> features;
  Binding binding;  ///< op group -> target, as the record says
  std::string refused;      ///< why the ROM was refused ("" if accepted)
};

/// A `crash` or `panic` record.
struct CrashRecord {
  bool panic = false;
  std::optional<int> vector;
  std::string eip, error, cr2, detail;
};

/// The `done` record.
struct DoneRecord {
  int pass = 0, fail = 0, skip = 0;
};

/// Everything parsed from one boot's serial output.
struct ParsedSerial {
  std::vector<SerialLine> lines;
  std::vector<RecordRef> records;    ///< every well-formed record, in order
  std::optional<HelloRecord> hello;  ///< the first hello
  std::optional<HvRecord> hv;        ///< the first hv record
  std::vector<Stage> stages;         ///< stage records before done, in order (ended stages only)
  /// The stage whose `begin` record came last and that has not ended ("" if none): where a
  /// CRASH or HANG happened. Probes from index running_since_probe on belong to it.
  std::string running_stage;
  size_t running_since_probe = 0;
  std::vector<Probe> probes;         ///< probe records before done, in order
  std::optional<CrashRecord> crash;  ///< the first crash or panic record (anywhere)
  std::optional<size_t> crash_line;  ///< its line
  std::optional<DoneRecord> done;    ///< the first done record
  std::optional<size_t> done_line;   ///< its line
  size_t malformed = 0;              ///< `@pvm ` lines that are not valid records (kept, ignored)
  size_t unknown = 0;                ///< well-formed records with an `ev` we do not know
  size_t after_done = 0;             ///< records (of any kind) after the first done
  std::string first_after_done;      ///< the first such line (capped), for the reason
};

/// Incremental parser: feed chunks as they arrive (lines may straddle chunks), then finish.
class SerialParser {
 public:
  /// Consumes `chunk`; complete lines are parsed at once.
  void feed(std::string_view chunk);
  /// Parses a trailing partial line, if any, and returns the result. Call once.
  ParsedSerial finish();

 private:
  void parse_line(std::string line, bool partial);
  ParsedSerial out_;
  std::string pending_;
};

/// Lines, from a hypervisor's console or Linux, after which nothing more comes: Xen's panic
/// ("Manual reset required ('noreboot' specified)"), Xen's report of dom0's end, the end of a
/// Linux panic. Matched anywhere in a line (console prefixes and timestamps precede them).
inline constexpr std::string_view kConsoleEndBanners[] = {
    "Manual reset required", "Hardware Dom0 shutdown", "Hardware Dom0 crashed", "---[ end Kernel panic"};

/// "Is the boot over?", answered as output arrives: the one answer both launchers use, reading
/// each line the way SerialParser does afterwards (same prefixes, same record envelope). Over
/// means a well-formed `done` record (the guest finished: done()), a `crash` or `panic` record
/// (nothing after it changes the result: fatal()), or, with `console_banners` (Xen and real
/// kernels, which halt or reset instead of exiting), one of kConsoleEndBanners (fatal()).
/// Memory is bounded: the part of a line beyond what a record may be is not kept.
class BootEndWatch {
 public:
  explicit BootEndWatch(bool console_banners) : banners_(console_banners) {}
  /// Consumes `chunk`; complete lines are read at once.
  void feed(std::string_view chunk);
  /// Feeds what `log` gained since the last call (a launcher's growing, capped serial buffer).
  void follow(const std::string& log);
  bool over() const { return done_ || fatal_; }
  bool done() const { return done_; }
  bool fatal() const { return fatal_; }
  /// A line holding a record (valid or not) has been seen: the guest's own part of the boot has
  /// begun. Before it, only a console banner can end the boot.
  bool records_begun() const { return records_begun_; }
  /// Bytes of the unfinished line kept (bounded, whatever the guest writes).
  size_t buffered() const { return pending_.size(); }

 private:
  void read_line(std::string_view line);
  bool banners_;
  std::string pending_;
  size_t followed_ = 0;
  bool done_ = false, fatal_ = false, records_begun_ = false;
};

/// Parses a whole serial log (feed + finish).
ParsedSerial parse_serial(std::string_view text);

/// Caps untrusted guest text at `limit` bytes (marking the cut) without splitting UTF-8.
std::string cap_field(std::string_view s, size_t limit = kFieldLimit);

}  // namespace pvm
