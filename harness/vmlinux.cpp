#include "vmlinux.h"

#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "atomic_file.h"
#include "json_text.h"

namespace pvm {
namespace {

// The x86 boot protocol's setup header (Documentation/arch/x86/boot.rst), offsets in the file.
constexpr size_t kSetupSectsAt = 0x1f1;
constexpr size_t kHeaderMagicAt = 0x202;  // "HdrS"
constexpr size_t kVersionAt = 0x206;
constexpr size_t kPayloadOffsetAt = 0x248;
constexpr size_t kPayloadLengthAt = 0x24c;
constexpr size_t kHeaderEnd = 0x250;       // the fields used here end before this
constexpr uint16_t kMinVersion = 0x0208;   // payload_offset / payload_length appear in 2.08

uint32_t le32(std::string_view b, size_t at) {
  return static_cast<uint32_t>(static_cast<uint8_t>(b[at])) |
         static_cast<uint32_t>(static_cast<uint8_t>(b[at + 1])) << 8 |
         static_cast<uint32_t>(static_cast<uint8_t>(b[at + 2])) << 16 |
         static_cast<uint32_t>(static_cast<uint8_t>(b[at + 3])) << 24;
}
uint16_t le16(std::string_view b, size_t at) {
  return static_cast<uint16_t>(static_cast<uint8_t>(b[at]) | static_cast<uint8_t>(b[at + 1]) << 8);
}

bool starts_with(std::string_view b, std::initializer_list<uint8_t> magic) {
  if (b.size() < magic.size()) return false;
  size_t i = 0;
  for (uint8_t m : magic)
    if (static_cast<uint8_t>(b[i++]) != m) return false;
  return true;
}

std::string first_bytes(std::string_view b, size_t n = 4) {
  std::string s;
  char hex[4];
  for (size_t i = 0; i < std::min(n, b.size()); ++i) {
    std::snprintf(hex, sizeof hex, "%02x", static_cast<uint8_t>(b[i]));
    s += (s.empty() ? "" : " ") + std::string(hex);
  }
  return s.empty() ? "nothing" : s;
}

std::string limit_text(size_t n) {
  return n % (size_t{1} << 20) == 0 ? std::to_string(n >> 20) + " MiB" : std::to_string(n) + " bytes";
}

/// An output buffer that grows geometrically up to `limit + 1` bytes, so that producing more
/// than `limit` bytes is detected without allocating more.
class Output {
 public:
  Output(size_t limit, size_t hint) : limit_(limit) { buf_.resize(std::min(std::max<size_t>(hint, 1 << 16), limit + 1)); }
  /// Room for more output; false when the buffer already holds limit + 1 bytes.
  bool grow() {
    if (buf_.size() > limit_) return false;
    size_t n = std::min(std::max(buf_.size() * 2, size_t{1} << 20), limit_ + 1);
    buf_.resize(n);
    return true;
  }
  char* next() { return buf_.data() + used_; }
  size_t room() const { return buf_.size() - used_; }
  void produced(size_t n) { used_ += n; }
  size_t used() const { return used_; }
  bool over_limit() const { return used_ > limit_; }
  std::string take() {
    buf_.resize(used_);
    if (buf_.capacity() - used_ > used_ / 8) buf_.shrink_to_fit();  // a copy: only when much is unused
    return std::move(buf_);
  }

 private:
  size_t limit_;
  std::string buf_;
  size_t used_ = 0;
};

std::string too_big(const char* what, size_t limit) {
  return std::string(what) + " payload: decompressed size exceeds the limit of " + limit_text(limit);
}

// --- xz (liblzma): one stream; whatever follows it (Linux's 4 size bytes) is ignored. ---
bool decompress_xz(std::string_view in, Output* out, size_t limit, std::string* err) {
  lzma_stream s = LZMA_STREAM_INIT;
  lzma_ret r = lzma_stream_decoder(&s, uint64_t{1} << 30, 0);
  if (r != LZMA_OK) {
    *err = "xz payload: cannot start the decoder (lzma error " + std::to_string(r) + ")";
    return false;
  }
  s.next_in = reinterpret_cast<const uint8_t*>(in.data());
  s.avail_in = in.size();
  for (;;) {
    if (out->room() == 0 && !out->grow()) {
      lzma_end(&s);
      *err = too_big("xz", limit);
      return false;
    }
    s.next_out = reinterpret_cast<uint8_t*>(out->next());
    s.avail_out = out->room();
    size_t before = s.avail_out;
    r = lzma_code(&s, LZMA_FINISH);
    out->produced(before - s.avail_out);
    if (out->over_limit()) {
      lzma_end(&s);
      *err = too_big("xz", limit);
      return false;
    }
    if (r == LZMA_STREAM_END) break;
    if (r == LZMA_OK) continue;
    lzma_end(&s);
    switch (r) {
      case LZMA_BUF_ERROR:
        *err = "xz payload: truncated (the stream ends after " + std::to_string(in.size()) + " bytes, " +
               std::to_string(out->used()) + " decompressed)";
        break;
      case LZMA_MEMLIMIT_ERROR:
      case LZMA_MEM_ERROR:
        *err = "xz payload: the decoder needs too much memory (lzma error " + std::to_string(r) + ")";
        break;
      case LZMA_OPTIONS_ERROR:
        *err = "xz payload: unsupported options (lzma error " + std::to_string(r) + ")";
        break;
      default:  // LZMA_FORMAT_ERROR, LZMA_DATA_ERROR and anything newer
        *err = "xz payload: corrupt data (lzma error " + std::to_string(r) + ")";
    }
    return false;
  }
  lzma_end(&s);
  return true;
}

// --- zstd: one frame. ---
bool decompress_zstd(std::string_view in, Output* out, size_t limit, std::string* err) {
  ZSTD_DCtx* d = ZSTD_createDCtx();
  if (!d) {
    *err = "zstd payload: cannot start the decoder";
    return false;
  }
  ZSTD_inBuffer ib{in.data(), in.size(), 0};
  for (;;) {
    if (out->room() == 0 && !out->grow()) {
      ZSTD_freeDCtx(d);
      *err = too_big("zstd", limit);
      return false;
    }
    ZSTD_outBuffer ob{out->next(), out->room(), 0};
    size_t r = ZSTD_decompressStream(d, &ob, &ib);
    out->produced(ob.pos);
    if (ZSTD_isError(r)) {
      std::string name = ZSTD_getErrorName(r);
      ZSTD_freeDCtx(d);
      *err = "zstd payload: corrupt data (zstd error: " + name + ")";
      return false;
    }
    if (out->over_limit()) {
      ZSTD_freeDCtx(d);
      *err = too_big("zstd", limit);
      return false;
    }
    if (r == 0) break;  // the frame is complete
    if (ib.pos == ib.size && ob.pos < ob.size) {
      ZSTD_freeDCtx(d);
      *err = "zstd payload: truncated (the frame ends after " + std::to_string(in.size()) + " bytes, " +
             std::to_string(out->used()) + " decompressed)";
      return false;
    }
  }
  ZSTD_freeDCtx(d);
  return true;
}

// --- gzip (zlib): one member. ---
bool decompress_gzip(std::string_view in, Output* out, size_t limit, std::string* err) {
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
    *err = "gzip payload: cannot start the decoder";
    return false;
  }
  constexpr size_t kChunk = size_t{1} << 30;  // zlib counts in uInt
  size_t in_pos = 0;
  for (;;) {
    if (out->room() == 0 && !out->grow()) {
      inflateEnd(&z);
      *err = too_big("gzip", limit);
      return false;
    }
    if (z.avail_in == 0 && in_pos < in.size()) {
      size_t n = std::min(kChunk, in.size() - in_pos);
      z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data() + in_pos));
      z.avail_in = static_cast<uInt>(n);
      in_pos += n;
    }
    size_t room = std::min(kChunk, out->room());
    z.next_out = reinterpret_cast<Bytef*>(out->next());
    z.avail_out = static_cast<uInt>(room);
    int r = inflate(&z, Z_NO_FLUSH);
    out->produced(room - z.avail_out);
    if (out->over_limit()) {
      inflateEnd(&z);
      *err = too_big("gzip", limit);
      return false;
    }
    if (r == Z_STREAM_END) break;
    bool input_done = z.avail_in == 0 && in_pos == in.size();
    if ((r == Z_OK || r == Z_BUF_ERROR) && input_done && z.avail_out > 0) {
      inflateEnd(&z);
      *err = "gzip payload: truncated (the stream ends after " + std::to_string(in.size()) + " bytes, " +
             std::to_string(out->used()) + " decompressed)";
      return false;
    }
    if (r == Z_OK || r == Z_BUF_ERROR) continue;
    std::string msg = z.msg ? std::string(": ") + z.msg : "";
    inflateEnd(&z);
    if (r == Z_MEM_ERROR)
      *err = "gzip payload: out of memory (zlib error " + std::to_string(r) + ")";
    else
      *err = "gzip payload: corrupt data (zlib error " + std::to_string(r) + msg + ")";
    return false;
  }
  inflateEnd(&z);
  return true;
}

/// The compression a payload's magic names; `supported` false for the ones recognised only to be
/// refused by name. "" when unknown.
std::string compression_of(std::string_view p, bool* supported) {
  *supported = true;
  if (starts_with(p, {0xfd, '7', 'z', 'X', 'Z', 0x00})) return "xz";
  if (starts_with(p, {0x28, 0xb5, 0x2f, 0xfd})) return "zstd";
  if (starts_with(p, {0x1f, 0x8b})) return "gzip";
  *supported = false;
  if (starts_with(p, {0x5d, 0x00, 0x00})) return "lzma";
  if (starts_with(p, {'B', 'Z', 'h'})) return "bzip2";
  if (starts_with(p, {0x02, 0x21, 0x4c, 0x18}) || starts_with(p, {0x04, 0x22, 0x4d, 0x18})) return "lz4";
  if (starts_with(p, {0x89, 'L', 'Z', 'O'})) return "lzo";
  return "";
}

}  // namespace

std::string VmlinuxResult::elf_class() const {
  if (!ok() || elf.size() < 5) return "";
  if (elf[4] == 1) return "ELF32";
  if (elf[4] == 2) return "ELF64";
  return "";
}

bool is_bzimage(std::string_view b) {
  return b.size() >= kHeaderMagicAt + 4 && b.substr(kHeaderMagicAt, 4) == "HdrS";
}

VmlinuxResult extract_vmlinux(std::string_view b, size_t max_bytes) {
  VmlinuxResult res;
  auto fail = [&](std::string message) {
    res.elf.clear();
    res.error = std::move(message);
    return res;
  };
  const size_t size = b.size();
  if (size < kHeaderMagicAt + 4)
    return fail("not a bzImage: only " + std::to_string(size) + " bytes, too short for a setup header (HdrS magic at 0x202)");
  if (!is_bzimage(b)) return fail("not a bzImage: no HdrS magic at 0x202");
  if (size < kHeaderEnd)
    return fail("truncated: " + std::to_string(size) + " bytes, shorter than the setup header (0x250 bytes)");
  uint16_t version = le16(b, kVersionAt);
  if (version < kMinVersion) {
    char v[32];
    std::snprintf(v, sizeof v, "%u.%02u", version >> 8, version & 0xff);
    return fail(std::string("boot protocol ") + v + " is older than 2.08: the header has no payload_offset/payload_length");
  }
  uint64_t setup_sects = static_cast<uint8_t>(b[kSetupSectsAt]);
  if (setup_sects == 0) setup_sects = 4;
  uint64_t setup_bytes = (setup_sects + 1) * 512;
  if (setup_bytes > size)
    return fail("truncated: the setup code is " + std::to_string(setup_bytes) + " bytes (setup_sects " +
                std::to_string(setup_sects) + ") but the file has " + std::to_string(size));
  uint64_t start = setup_bytes + le32(b, kPayloadOffsetAt);
  uint64_t length = le32(b, kPayloadLengthAt);
  if (start + length > size)
    return fail("payload runs past the end of the file (offset " + std::to_string(start) + " + length " +
                std::to_string(length) + " > size " + std::to_string(size) + ")");
  if (length < 6) return fail("payload is only " + std::to_string(length) + " bytes: no compressed kernel in it");
  std::string_view payload = b.substr(start, length);

  bool supported = false;
  res.compression = compression_of(payload, &supported);
  if (res.compression.empty())
    return fail("payload compression not recognised (first bytes " + first_bytes(payload, 6) +
                "; supported: xz, zstd, gzip)");
  if (!supported)
    return fail("payload is " + res.compression + "-compressed, which is not supported (supported: xz, zstd, gzip)");

  // Linux appends the decompressed size (le32) to every payload: a hint for the first allocation,
  // capped so that a forged value cannot make a small input allocate much.
  uint64_t hint = le32(payload, payload.size() - 4);
  hint = std::min<uint64_t>({hint + (1 << 16), uint64_t{length} * 32 + (1 << 20), max_bytes});
  Output out(max_bytes, static_cast<size_t>(hint));
  std::string err;
  bool ok = res.compression == "xz"     ? decompress_xz(payload, &out, max_bytes, &err)
            : res.compression == "zstd" ? decompress_zstd(payload, &out, max_bytes, &err)
                                        : decompress_gzip(payload, &out, max_bytes, &err);
  if (!ok) return fail(err);
  res.elf = out.take();
  if (!starts_with(res.elf, {0x7f, 'E', 'L', 'F'}))
    return fail("decompressed payload is not an ELF (" + std::to_string(res.elf.size()) + " bytes starting " +
                first_bytes(res.elf) + ")");
  if (res.elf.size() < 5 || (res.elf[4] != 1 && res.elf[4] != 2))
    return fail("decompressed payload is not an ELF: ELF class byte is " + first_bytes(res.elf.substr(std::min<size_t>(4, res.elf.size())), 1));
  return res;
}

VmlinuxResult extract_vmlinux_file(const std::string& bzimage_path, const std::string& out_path, size_t max_bytes) {
  VmlinuxResult res;
  std::string bytes, err;
  if (!read_text_file(bzimage_path, &bytes, &err)) {
    res.error = err;
    return res;
  }
  res = extract_vmlinux(bytes, max_bytes);
  if (!res.ok()) {
    res.error = bzimage_path + ": " + res.error;
    return res;
  }
  if (!write_file_atomically(out_path, res.elf, &err)) {
    res.elf.clear();
    res.error = err;
  }
  return res;
}

}  // namespace pvm
