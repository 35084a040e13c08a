// The uncompressed kernel (vmlinux, an ELF) taken out of a Linux x86 bzImage: the setup header
// (boot protocol >= 2.08) locates the compressed payload, its magic names the compression, and
// liblzma / libzstd / zlib decompress it. Every error says what is wrong with the input; no input
// crashes or reads out of bounds, and the output is bounded (kVmlinuxMaxBytes).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace pvm {

/// Largest vmlinux extract_vmlinux produces (512 MiB); a larger payload is refused.
inline constexpr size_t kVmlinuxMaxBytes = size_t{512} << 20;

struct VmlinuxResult {
  std::string elf;          ///< the decompressed ELF (empty on error)
  std::string compression;  ///< "xz" | "zstd" | "gzip" once recognised (also set on a later error)
  std::string error;        ///< empty on success; else one line, e.g. "not a bzImage: no HdrS magic at 0x202"

  bool ok() const { return error.empty(); }
  /// "ELF64" | "ELF32" for a successful result ("" otherwise).
  std::string elf_class() const;
};

/// Takes the vmlinux out of the bzImage bytes. Supported payloads: xz (one stream; the 4 size
/// bytes Linux appends are ignored), zstd (one frame), gzip (one member). lzma, bzip2, lz4 and lzo
/// payloads are recognised and refused by name. The result must start with the ELF magic.
/// `max_bytes` bounds the output (a larger payload is an error, never a bigger allocation).
VmlinuxResult extract_vmlinux(std::string_view bzimage, size_t max_bytes = kVmlinuxMaxBytes);

/// Reads `bzimage_path`, extracts, and writes the ELF to `out_path` atomically (a temporary file
/// in the same directory, then rename; missing directories are created); on any error nothing is
/// written and `error` starts with the path it is about ("<bzimage_path>: not a bzImage: ...").
/// On success `elf` holds the bytes written.
VmlinuxResult extract_vmlinux_file(const std::string& bzimage_path, const std::string& out_path,
                                   size_t max_bytes = kVmlinuxMaxBytes);

/// True when `bytes` looks like a bzImage (the "HdrS" setup header magic at 0x202).
bool is_bzimage(std::string_view bytes);

}  // namespace pvm
