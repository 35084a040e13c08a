// Digests of large files kept from one run to the next. A real kernel's vmlinux is 16-66 MiB and
// a run digests every image it boots (the result cache's keys, the history store's inputs):
// hashing the nightly's four took ~1.5 s of harness CPU every night, for files that had not
// changed. A digest is remembered with the file's stamp (device, inode, size, modification and
// change times in ns, as git's index does) and used only while the stamp is the same.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>

namespace pvm {

/// What identifies a file's content without reading it.
struct FileStamp {
  uint64_t dev = 0, ino = 0, size = 0;
  int64_t mtime_ns = 0, ctime_ns = 0;
  bool operator==(const FileStamp&) const = default;
};

/// The stamp of the regular file at `path` now; false if it cannot be stat'ed or is not one.
bool file_stamp(const std::string& path, FileStamp* out);

/// The memo on disk: one line per (kind, file), "DIGEST KIND DEV INO SIZE MTIME CTIME PATH"
/// separated by tabs, written whole and atomically. Concurrent runs may each write it; the last
/// one wins and what the other learnt is digested again. Not thread-safe: the caller locks.
class DigestMemoFile {
 public:
  /// `path`: the memo (<cache dir>/digests.tsv), read at the first lookup.
  explicit DigestMemoFile(std::string path) : path_(std::move(path)) {}
  /// The digest of `kind` ("image", "file") remembered for `file` with exactly this stamp.
  std::optional<std::string> find(const std::string& kind, const std::string& file, const FileStamp& stamp);
  /// Remembers it and rewrites the memo, without the entries whose file has changed or gone.
  /// Not when the file changed less than two seconds before `now_ns` (wall clock): a second
  /// write within the same timestamp tick would leave the stamp as it was; such a file is
  /// digested again next time. Nor when the memo's directory does not exist (nothing is created).
  void remember(const std::string& kind, const std::string& file, const FileStamp& stamp, const std::string& digest,
                int64_t now_ns);

 private:
  void load();
  std::string path_;
  bool loaded_ = false;
  std::map<std::pair<std::string, std::string>, std::pair<FileStamp, std::string>> entries_;  ///< (kind, file)
};

}  // namespace pvm
