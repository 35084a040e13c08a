#include "mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "json_text.h"  // read_text_file, cannot_read

namespace pvm {

std::optional<MappedFile> MappedFile::open(const std::string& path, std::string* err) {
  MappedFile f;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *err = cannot_read(path, errno);
    return std::nullopt;
  }
  struct stat st {};
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
    void* m = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
    if (m != MAP_FAILED) f.map_ = m, f.size_ = static_cast<size_t>(st.st_size);
  }
  close(fd);
  if (!f.map_ && !read_text_file(path, &f.read_, err)) return std::nullopt;
  return f;
}

MappedFile::MappedFile(MappedFile&& o) noexcept : map_(o.map_), size_(o.size_), read_(std::move(o.read_)) {
  o.map_ = nullptr;
  o.size_ = 0;
}

MappedFile::~MappedFile() {
  if (map_) munmap(map_, size_);
}

}  // namespace pvm
