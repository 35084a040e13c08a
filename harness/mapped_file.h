// A file's bytes without reading them all: the file is mapped, and only the pages looked at are
// read. The ELF notes of a 60 MiB vmlinux are a few pages of it; its digest reads every page,
// but once, where it lies, instead of through a stream and two copies.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pvm {

class MappedFile {
 public:
  /// The file at `path`: mapped when it is a regular file, read into memory otherwise (a pipe,
  /// /dev/stdin). nullopt with `*err` ("PATH: cannot read: REASON", as read_text_file says).
  static std::optional<MappedFile> open(const std::string& path, std::string* err);
  MappedFile(MappedFile&& o) noexcept;
  MappedFile& operator=(MappedFile&&) = delete;
  MappedFile(const MappedFile&) = delete;
  ~MappedFile();
  std::string_view bytes() const { return map_ ? std::string_view(static_cast<const char*>(map_), size_) : read_; }

 private:
  MappedFile() = default;
  void* map_ = nullptr;
  size_t size_ = 0;
  std::string read_;  ///< what was read when the file could not be mapped
};

}  // namespace pvm
