// newc ("070701") cpio archives, as the Linux initramfs unpacker reads them: the entry syntax
// of mkcpio and the packer. Header-only so the unit tests compile it directly.
//
// Format (Documentation/driver-api/early-userspace/buffer-format.rst): per entry a 110-byte
// ASCII header ("070701" + 13 eight-digit hex fields: ino mode uid gid nlink mtime filesize
// devmajor devminor rdevmajor rdevminor namesize check), the NUL-terminated name, zero padding
// to a multiple of 4, the data, zero padding to a multiple of 4; the archive ends with the
// entry "TRAILER!!!". Everything that could vary between builds is fixed: mtime 0, uid/gid 0,
// devmajor/devminor 0, inode = 1-based entry index, so the same entries give the same bytes.
#pragma once

#include <cstdint>
#include <cstdio>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace pvm::cpio {

enum class Kind { Dir, File, Char };

struct Entry {
  Kind kind = Kind::File;
  std::string name;       // relative path inside the archive, e.g. "dev/console"
  uint32_t perm = 0;      // permission bits (<= 07777); the file type comes from kind
  uint32_t major = 0;     // char devices only
  uint32_t minor = 0;
  std::string host_path;  // files only: where mkcpio reads the contents from
  std::string data;       // files only: the contents
};

namespace detail {

inline std::vector<std::string_view> split(std::string_view s, char sep, size_t max_fields) {
  std::vector<std::string_view> out;
  while (out.size() + 1 < max_fields) {
    size_t at = s.find(sep);
    if (at == std::string_view::npos) break;
    out.push_back(s.substr(0, at));
    s.remove_prefix(at + 1);
  }
  out.push_back(s);
  return out;
}

inline bool parse_uint(std::string_view s, int base, uint32_t max, uint32_t& out) {
  if (s.empty() || s.size() > 10) return false;
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else return false;
    if (d >= base) return false;
    v = v * base + d;
  }
  if (v > max) return false;
  out = static_cast<uint32_t>(v);
  return true;
}

/// Empty if `name` is a clean relative path ("a/b"), else why not.
inline std::string check_name(std::string_view name) {
  if (name.empty()) return "empty name";
  if (name.size() > 4000) return "name longer than 4000 bytes";
  if (name.front() == '/') return "name must be relative (no leading '/')";
  for (std::string_view part : split(name, '/', SIZE_MAX)) {
    if (part.empty()) return "empty path component (\"//\" or trailing '/')";
    if (part == "." || part == "..") return "'.' or '..' path component";
  }
  for (char c : name)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return "control character in name";
  return {};
}

inline void put_hex8(std::string& out, uint32_t v) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08X", static_cast<unsigned>(v));
  out.append(buf, 8);
}

inline void pad4(std::string& out) {
  while (out.size() % 4) out.push_back('\0');
}

inline void put_entry(std::string& out, uint32_t ino, uint32_t mode, uint32_t nlink, std::string_view name,
                      std::string_view data, uint32_t rmajor, uint32_t rminor) {
  out += "070701";
  put_hex8(out, ino);
  put_hex8(out, mode);
  put_hex8(out, 0);  // uid
  put_hex8(out, 0);  // gid
  put_hex8(out, nlink);
  put_hex8(out, 0);  // mtime
  put_hex8(out, static_cast<uint32_t>(data.size()));
  put_hex8(out, 0);  // devmajor
  put_hex8(out, 0);  // devminor
  put_hex8(out, rmajor);
  put_hex8(out, rminor);
  put_hex8(out, static_cast<uint32_t>(name.size() + 1));
  put_hex8(out, 0);  // check (only for "070702")
  out.append(name);
  out.push_back('\0');
  pad4(out);
  out.append(data);
  pad4(out);
}

}  // namespace detail

/// Parses one mkcpio entry: `dir:NAME:MODE`, `file:NAME:MODE:HOSTPATH` (HOSTPATH may contain
/// ':'), `char:NAME:MODE:MAJOR:MINOR`. MODE is octal permission bits, MAJOR/MINOR decimal.
/// Returns an empty string on success, else what is wrong (without the entry text).
inline std::string parse_entry(std::string_view spec, Entry& out) {
  out = Entry{};
  std::vector<std::string_view> f = detail::split(spec, ':', 2);
  std::string_view kind = f[0];
  size_t want;
  if (kind == "dir") out.kind = Kind::Dir, want = 3;
  else if (kind == "file") out.kind = Kind::File, want = 4;
  else if (kind == "char") out.kind = Kind::Char, want = 5;
  else return "unknown entry kind '" + std::string(kind) + "' (want dir, file or char)";
  // HOSTPATH is the rest of the entry (it may contain ':'); other kinds take no extra field.
  f = detail::split(spec, ':', out.kind == Kind::File ? want : want + 1);
  static const char* const kSyntax[] = {"dir:NAME:MODE", "file:NAME:MODE:HOSTPATH", "char:NAME:MODE:MAJOR:MINOR"};
  const char* syntax = kSyntax[static_cast<int>(out.kind)];
  if (f.size() != want) return std::string("expected ") + syntax;
  if (std::string why = detail::check_name(f[1]); !why.empty()) return why;
  out.name = std::string(f[1]);
  if (!detail::parse_uint(f[2], 8, 07777, out.perm)) return "MODE must be octal permission bits <= 7777";
  if (out.kind == Kind::File) {
    if (f[3].empty()) return "empty HOSTPATH";
    out.host_path = std::string(f[3]);
  } else if (out.kind == Kind::Char) {
    if (!detail::parse_uint(f[3], 10, 4095, out.major)) return "MAJOR must be a decimal number <= 4095";
    if (!detail::parse_uint(f[4], 10, 1048575, out.minor)) return "MINOR must be a decimal number <= 1048575";
  }
  return {};
}

/// The archive of `entries`, in order. Returns an empty string on success, else the problem and
/// sets `bad_index` to the offending entry: a duplicate name, a parent directory that is not an
/// earlier dir entry (the kernel's unpacker does not create parents), a file over 4 GiB.
inline std::string pack(const std::vector<Entry>& entries, std::string& out, size_t& bad_index) {
  out.clear();
  std::set<std::string> names, dirs;
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    bad_index = i;
    if (std::string why = detail::check_name(e.name); !why.empty()) return why;
    if (e.perm > 07777) return "permission bits above 7777";
    if (!names.insert(e.name).second) return "duplicate name '" + e.name + "'";
    if (size_t slash = e.name.rfind('/'); slash != std::string::npos) {
      std::string parent = e.name.substr(0, slash);
      if (!dirs.count(parent)) return "parent directory '" + parent + "' is not an earlier dir entry";
    }
    if (e.data.size() > 0xFFFFFFFFull) return "file larger than 4 GiB";
    uint32_t ino = static_cast<uint32_t>(i + 1);
    switch (e.kind) {
      case Kind::Dir:
        dirs.insert(e.name);
        detail::put_entry(out, ino, 0040000u | e.perm, 2, e.name, {}, 0, 0);
        break;
      case Kind::File:
        detail::put_entry(out, ino, 0100000u | e.perm, 1, e.name, e.data, 0, 0);
        break;
      case Kind::Char:
        detail::put_entry(out, ino, 0020000u | e.perm, 1, e.name, {}, e.major, e.minor);
        break;
    }
  }
  detail::put_entry(out, 0, 0, 1, "TRAILER!!!", {}, 0, 0);
  return {};
}

}  // namespace pvm::cpio
