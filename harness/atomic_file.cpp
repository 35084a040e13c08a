#include "atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace pvm {
namespace fs = std::filesystem;

namespace {
bool fail(const std::string& path, const std::string& what, std::string* err) {
  *err = "cannot write " + path + ": " + what;
  return false;
}
}  // namespace

bool write_file_atomically(const std::string& path, std::string_view content, std::string* err) {
  fs::path target(path);
  fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fail(path, "cannot create " + dir.string() + ": " + ec.message(), err);

  std::string tmpl = (dir / ("." + target.filename().string() + ".tmp.XXXXXX")).string();
  int fd = mkstemp(tmpl.data());
  if (fd < 0) return fail(path, std::string("cannot create a temporary file in ") + dir.string() + ": " + std::strerror(errno), err);
  auto abandon = [&](const std::string& why) {
    int saved = errno;
    close(fd);
    unlink(tmpl.c_str());
    return fail(path, why + ": " + std::strerror(saved), err);
  };
  size_t off = 0;
  while (off < content.size()) {
    ssize_t n = write(fd, content.data() + off, content.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return abandon("write failed");
    }
    off += static_cast<size_t>(n);
  }
  if (fchmod(fd, 0644) != 0) return abandon("chmod failed");
  if (fsync(fd) != 0) return abandon("fsync failed");
  if (close(fd) != 0) {
    int saved = errno;
    unlink(tmpl.c_str());
    return fail(path, std::string("close failed: ") + std::strerror(saved), err);
  }
  if (rename(tmpl.c_str(), path.c_str()) != 0) {
    int saved = errno;
    unlink(tmpl.c_str());
    return fail(path, std::string("rename failed: ") + std::strerror(saved), err);
  }
  // Make the rename itself durable; a failure here cannot undo it, so it is not an error.
  int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return true;
}

}  // namespace pvm
