// mkcpio: writes a newc cpio archive (the initramfs format) from a list of entries.
//
//   mkcpio OUT.cpio ENTRY...
//     dir:NAME:MODE                 a directory
//     file:NAME:MODE:HOSTPATH       a regular file with HOSTPATH's contents
//     char:NAME:MODE:MAJOR:MINOR    a character device
//
// MODE is octal permission bits. Entries are written in the order given; a parent directory
// must come before what it holds. The output is deterministic (mtime 0, uid/gid 0, inode =
// entry index) and written atomically (OUT.cpio.tmp.<pid>, then rename).
// Exit 0 on success, 2 on bad input (naming the entry), 1 if the output cannot be written.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cpio.h"

namespace {

bool read_host_file(const std::string& path, std::string& out, std::string& why) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    why = "cannot open " + path + ": " + std::strerror(errno);
    return false;
  }
  out.clear();
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      why = "cannot read " + path + ": " + std::strerror(errno);
      close(fd);
      return false;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return true;
}

bool write_atomically(const std::string& path, const std::string& bytes) {
  std::string tmp = path + ".tmp." + std::to_string(getpid());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    std::fprintf(stderr, "mkcpio: cannot create %s: %s\n", tmp.c_str(), std::strerror(errno));
    return false;
  }
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      std::fprintf(stderr, "mkcpio: cannot write %s: %s\n", tmp.c_str(), std::strerror(errno));
      close(fd);
      unlink(tmp.c_str());
      return false;
    }
    done += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0 || close(fd) != 0) {
    std::fprintf(stderr, "mkcpio: cannot flush %s: %s\n", tmp.c_str(), std::strerror(errno));
    unlink(tmp.c_str());
    return false;
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    std::fprintf(stderr, "mkcpio: cannot rename %s to %s: %s\n", tmp.c_str(), path.c_str(), std::strerror(errno));
    unlink(tmp.c_str());
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr,
                 "usage: mkcpio OUT.cpio ENTRY...\n"
                 "  dir:NAME:MODE | file:NAME:MODE:HOSTPATH | char:NAME:MODE:MAJOR:MINOR\n");
    return 2;
  }
  std::vector<pvm::cpio::Entry> entries;
  for (int i = 2; i < argc; ++i) {
    pvm::cpio::Entry e;
    std::string why = pvm::cpio::parse_entry(argv[i], e);
    if (why.empty() && e.kind == pvm::cpio::Kind::File) read_host_file(e.host_path, e.data, why);
    if (!why.empty()) {
      std::fprintf(stderr, "mkcpio: entry %d '%s': %s\n", i - 1, argv[i], why.c_str());
      return 2;
    }
    entries.push_back(std::move(e));
  }
  std::string archive;
  size_t bad = 0;
  if (std::string why = pvm::cpio::pack(entries, archive, bad); !why.empty()) {
    std::fprintf(stderr, "mkcpio: entry %zu '%s': %s\n", bad + 1, argv[bad + 2], why.c_str());
    return 2;
  }
  return write_atomically(argv[1], archive) ? 0 : 1;
}
