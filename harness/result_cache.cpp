#include "result_cache.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <unordered_map>
#include <mutex>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "classify.h"
#include "digest_memo.h"
#include "json_text.h"  // read_text_file, cannot_read
#include "sha256.h"

namespace pvm {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

template <typename T>
bool read_le(const std::string& b, size_t off, T* v) {
  if (off + sizeof(T) > b.size()) return false;
  T x = 0;
  for (size_t i = 0; i < sizeof(T); ++i) x |= static_cast<T>(static_cast<unsigned char>(b[off + i])) << (8 * i);
  *v = x;
  return true;
}

/// The file range [offset, end) of the section named `name`, or {0, 0}.
std::pair<size_t, size_t> elf32_section_range(const std::string& b, const std::string& name) {
  uint32_t shoff = 0;
  uint16_t shentsize = 0, shnum = 0, shstrndx = 0;
  if (!read_le(b, 32, &shoff) || !read_le(b, 46, &shentsize) || !read_le(b, 48, &shnum) || !read_le(b, 50, &shstrndx) ||
      shentsize < 40 || shstrndx >= shnum)
    return {0, 0};
  auto header = [&](uint32_t i, uint32_t* name_at, uint32_t* offset, uint32_t* size) {
    size_t sh = static_cast<size_t>(shoff) + static_cast<size_t>(i) * shentsize;
    return read_le(b, sh, name_at) && read_le(b, sh + 16, offset) && read_le(b, sh + 20, size);
  };
  uint32_t strings = 0, strings_size = 0, ignored = 0;
  if (!header(shstrndx, &ignored, &strings, &strings_size) || static_cast<size_t>(strings) + strings_size > b.size())
    return {0, 0};
  for (uint32_t i = 0; i < shnum; ++i) {
    uint32_t name_at = 0, offset = 0, size = 0;
    if (!header(i, &name_at, &offset, &size) || name_at >= strings_size) continue;
    const size_t at = static_cast<size_t>(strings) + name_at;
    if (b.compare(at, name.size() + 1, name.c_str(), name.size() + 1) == 0 && static_cast<size_t>(offset) + size <= b.size())
      return {offset, static_cast<size_t>(offset) + size};
  }
  return {0, 0};
}

/// Whether `b` begins as a little-endian ELF32 does (magic, ELFCLASS32, ELFDATA2LSB).
bool starts_as_elf32_le(std::string_view b) {
  return b.size() >= 6 && b.compare(0, 4, "\x7f" "ELF") == 0 && b[4] == 1 && b[5] == 1;
}

}  // namespace

std::string elf32_loaded_content(const std::string& b) {
  constexpr uint32_t kPtLoad = 1;
  if (b.size() < 52 || !starts_as_elf32_le(b)) return {};
  uint32_t entry = 0, phoff = 0;
  uint16_t phentsize = 0, phnum = 0;
  if (!read_le(b, 24, &entry) || !read_le(b, 28, &phoff) || !read_le(b, 42, &phentsize) || !read_le(b, 44, &phnum))
    return {};
  if (phentsize < 32) return {};
  // The reference kernel's build id (kernel/main.cpp) is loaded but not part of what the image is.
  const auto [id_begin, id_end] = elf32_section_range(b, kBuildIdSection);
  std::string out = fmt::format("elf32 entry {:08x}\n", entry);
  for (uint32_t i = 0; i < phnum; ++i) {
    size_t ph = static_cast<size_t>(phoff) + static_cast<size_t>(i) * phentsize;
    uint32_t type = 0, offset = 0, vaddr = 0, paddr = 0, filesz = 0, memsz = 0, flags = 0;
    if (!read_le(b, ph, &type) || !read_le(b, ph + 4, &offset) || !read_le(b, ph + 8, &vaddr) ||
        !read_le(b, ph + 12, &paddr) || !read_le(b, ph + 16, &filesz) || !read_le(b, ph + 20, &memsz) ||
        !read_le(b, ph + 24, &flags))
      return {};
    if (type != kPtLoad) continue;
    if (static_cast<size_t>(offset) + filesz > b.size()) return {};
    out += fmt::format("load {:08x} {:08x} {:08x} {:08x} {:x}\n", vaddr, paddr, filesz, memsz, flags);
    const size_t at = out.size();
    out.append(b, offset, filesz);
    const size_t begin = std::max<size_t>(id_begin, offset), end = std::min<size_t>(id_end, size_t{offset} + filesz);
    if (begin < end) std::fill(out.begin() + static_cast<std::ptrdiff_t>(at + begin - offset),
                               out.begin() + static_cast<std::ptrdiff_t>(at + end - offset), '\0');
  }
  return out;
}

namespace {

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Serial output is untrusted bytes, not necessarily UTF-8: base64 keeps it exact in JSON.
std::string b64_encode(const std::string& in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint32_t(uint8_t(in[i])) << 16) | (uint32_t(uint8_t(in[i + 1])) << 8) | uint8_t(in[i + 2]);
    out += {kB64[v >> 18], kB64[(v >> 12) & 63], kB64[(v >> 6) & 63], kB64[v & 63]};
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint32_t(uint8_t(in[i])) << 16;
    out += {kB64[v >> 18], kB64[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint32_t(uint8_t(in[i])) << 16) | (uint32_t(uint8_t(in[i + 1])) << 8);
    out += {kB64[v >> 18], kB64[(v >> 12) & 63], kB64[(v >> 6) & 63], '='};
  }
  return out;
}

std::optional<std::string> b64_decode(const std::string& in) {
  if (in.size() % 4) return std::nullopt;
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '=') {
      if (i + 2 < in.size()) return std::nullopt;
      break;
    }
    const char* p = std::strchr(kB64, c);
    if (!p || !c) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(p - kB64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

/// SHA-256 of `prefix` and then every byte of `path`, read a MiB at a time (a vmlinux is tens of
/// MiB: never one string of it).
std::optional<std::string> hash_file(const std::string& path, std::string_view prefix, std::string* err) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *err = cannot_read(path, errno);
    return std::nullopt;
  }
  Sha256 sha;
  sha.update(prefix);
  std::vector<char> buf(1 << 20);
  ssize_t n;
  while ((n = read(fd, buf.data(), buf.size())) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *err = cannot_read(path, errno);
      close(fd);
      return std::nullopt;
    }
    sha.update(std::string_view(buf.data(), static_cast<size_t>(n)));
  }
  close(fd);
  return sha.hex();
}

/// What image_digest and file_digest compute, from the file itself.
std::optional<std::string> compute_digest(const std::string& path, bool image, std::string* err) {
  if (!image) return hash_file(path, "", err);
  // Only an ELF32 is read whole (a reference kernel, ~300 KiB; the 686-pae vmlinux, 16 MiB):
  // its loaded content is what counts. Anything else is hashed as it is read.
  std::string head;
  {
    std::ifstream in(path, std::ios::binary);
    char b[6] = {};
    in.read(b, sizeof b);
    head.assign(b, static_cast<size_t>(in.gcount()));
  }
  if (!starts_as_elf32_le(head)) return hash_file(path, "raw\n", err);
  std::string bytes;
  if (!read_text_file(path, &bytes, err)) return std::nullopt;
  const std::string loaded = elf32_loaded_content(bytes);
  if (!loaded.empty()) return sha256_hex(loaded);
  Sha256 sha;
  sha.update("raw\n");
  sha.update(bytes);
  return sha.hex();
}

/// Files smaller than this are digested in a few ms: not worth a line in the memo on disk.
constexpr uint64_t kRememberFrom = 1 << 20;

// Digests of files by their stamp (digest_memo.h), computed once per process, and for large
// files once for as long as they do not change (<cache dir>/digests.tsv): a real kernel's vmlinux
// is tens of MiB and a matrix names it in dozens of cells, night after night.
std::optional<std::string> memo_digest(const std::string& path, bool image, std::string* err) {
  static std::mutex mu;
  static std::map<std::string, std::string> memo;
  static DigestMemoFile remembered(default_cache_dir() + "/digests.tsv");
  const std::string kind = image ? "image" : "file";
  FileStamp before;
  const bool stamped = file_stamp(path, &before);
  const std::string key = fmt::format("{}\n{}\n{}\n{}\n{}\n{}\n{}", kind, path, before.dev, before.ino, before.size,
                                      before.mtime_ns, before.ctime_ns);
  if (stamped) {
    std::lock_guard lock(mu);
    if (auto it = memo.find(key); it != memo.end()) return it->second;
    if (before.size >= kRememberFrom)
      if (auto d = remembered.find(kind, path, before)) return memo[key] = *d;
  }
  std::optional<std::string> digest = compute_digest(path, image, err);
  FileStamp after;
  if (digest && stamped && file_stamp(path, &after) && after == before) {  // unchanged while it was read
    std::lock_guard lock(mu);
    memo[key] = *digest;
    if (before.size >= kRememberFrom) {
      timespec now{};
      clock_gettime(CLOCK_REALTIME, &now);
      remembered.remember(kind, path, before, *digest, static_cast<int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec);
    }
  }
  return digest;
}

// Length-prefixed, so that no two different inputs spell the same key text.
void field(std::string* text, const char* name, const std::string& value) {
  text->append(name).append(" ").append(std::to_string(value.size())).append(":").append(value).append("\n");
}

}  // namespace

std::optional<std::string> image_digest(const std::string& path, std::string* err) {
  return memo_digest(path, true, err);
}

std::optional<std::string> file_digest(const std::string& path, std::string* err) {
  return memo_digest(path, false, err);
}

namespace {

/// Digests already taken within one batch of cells: the files by path (a matrix names the same
/// few images in every cell; memo_digest would still stat them each time) and the platform
/// texts (a few dozen distinct among thousands of cells).
struct InputsMemo {
  std::unordered_map<std::string, std::string> images, files, platforms;
};

CellInputs inputs_of(const CellSpec& spec, InputsMemo* memo) {
  auto digest = [memo](const std::string& path, bool image) {
    if (path.empty()) return std::string("none");
    auto* seen = memo ? (image ? &memo->images : &memo->files) : nullptr;
    if (seen)
      if (auto it = seen->find(path); it != seen->end()) return it->second;
    std::string err;
    auto d = image ? image_digest(path, &err) : file_digest(path, &err);
    std::string out = d ? *d : std::string("missing");
    if (seen) seen->emplace(path, out);
    return out;
  };
  CellInputs in;
  in.kernel = digest(spec.kernel_image, true);
  in.initrd = digest(spec.initrd, false);
  in.rom = digest(spec.rom_image, false);
  in.hypervisor = digest(spec.hypervisor_image, false);
  std::string text;
  field(&text, "machine", spec.machine);
  field(&text, "cpu", spec.cpu);
  field(&text, "memory_mib", std::to_string(spec.memory_mib));
  for (const auto& a : spec.extra_qemu_args) field(&text, "arg", a);
  field(&text, "family", spec.family);
  field(&text, "kernel_family", spec.kernel_family);
  field(&text, "qemu", spec.qemu);
  field(&text, "icount_shift", std::to_string(spec.icount_shift));
  field(&text, "hypervisor_cmdline", spec.hypervisor_cmdline);
  field(&text, "timeout_ms", std::to_string(static_cast<long long>(spec.timeout_s * 1000.0 + 0.5)));
  field(&text, "skip", spec.skip_reason);
  if (!memo) {
    in.platform = sha256_hex(text);
  } else {
    auto [it, fresh] = memo->platforms.try_emplace(std::move(text));
    if (fresh) it->second = sha256_hex(it->first);
    in.platform = it->second;
  }
  in.cmdline = spec.cmdline;
  return in;
}

}  // namespace

CellInputs cell_inputs(const CellSpec& spec) { return inputs_of(spec, nullptr); }

std::map<std::string, CellInputs> cell_inputs_by_id(const std::vector<CellSpec>& specs) {
  InputsMemo memo;
  std::map<std::string, CellInputs> out;
  for (const CellSpec& s : specs) out.emplace(s.id(), inputs_of(s, &memo));
  return out;
}

std::vector<std::string> CellInputs::differences(const CellInputs& other) const {
  std::vector<std::string> out;
  if (kernel != other.kernel) out.push_back("kernel");
  if (initrd != other.initrd) out.push_back("initrd");
  if (rom != other.rom) out.push_back("rom");
  if (hypervisor != other.hypervisor) out.push_back("hypervisor");
  if (platform != other.platform) out.push_back("platform");
  if (cmdline != other.cmdline) out.push_back("cmdline");
  return out;
}

void to_json(json& j, const CellInputs& in) {
  j = json{{"kernel", in.kernel}, {"initrd", in.initrd}, {"rom", in.rom},
           {"hypervisor", in.hypervisor}, {"platform", in.platform}, {"cmdline", in.cmdline}};
}

void from_json(const json& j, CellInputs& in) {
  auto get = [&j](const char* k) { return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : std::string(); };
  in.kernel = get("kernel");
  in.initrd = get("initrd");
  in.rom = get("rom");
  in.hypervisor = get("hypervisor");
  in.platform = get("platform");
  in.cmdline = get("cmdline");
}

std::optional<std::string> cache_key(const CellSpec& spec, const std::string& launcher_name, std::string* err) {
  // A part that cannot be read cannot be keyed: the caller boots, uncached.
  for (const std::string* path : {&spec.kernel_image, &spec.rom_image, &spec.hypervisor_image, &spec.initrd})
    if (!path->empty() && !(path == &spec.kernel_image ? image_digest(*path, err) : file_digest(*path, err)))
      return std::nullopt;
  const CellInputs in = cell_inputs(spec);
  std::string text = fmt::format("pvmatrix-boot-cache {}\n", kCacheFormat);
  field(&text, "protocol", std::to_string(kProtocolVersion));
  field(&text, "launcher", launcher_name);
  field(&text, "kernel", in.kernel);
  field(&text, "initrd", in.initrd);
  field(&text, "rom", in.rom);
  field(&text, "hypervisor", in.hypervisor);
  field(&text, "platform", in.platform);
  field(&text, "cmdline", in.cmdline);
  return sha256_hex(text);
}

std::string default_cache_dir() {
  if (const char* d = std::getenv("PVMATRIX_CACHE"); d && *d) return d;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/pvmatrix";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/pvmatrix";
  return ".pvmatrix-cache";
}

std::string ResultCache::path_of(const std::string& key) const {
  return dir_ + "/" + key.substr(0, 2) + "/" + key + ".json";
}

std::optional<BootOutcome> ResultCache::load(const std::string& key) const {
  if (key.size() < 3) return std::nullopt;
  std::string text, err;
  if (!read_text_file(path_of(key), &text, &err)) return std::nullopt;
  try {
    json j = json::parse(text);
    if (j.at("format").get<int>() != kCacheFormat || j.at("key").get<std::string>() != key) return std::nullopt;
    BootOutcome o;
    o.started = j.at("started").get<bool>();
    o.start_error = j.at("start_error").get<std::string>();
    o.timed_out = j.at("timed_out").get<bool>();
    o.interrupted = j.at("interrupted").get<bool>();
    if (!j.at("exit_code").is_null()) o.exit_code = j.at("exit_code").get<int>();
    if (!j.at("signal").is_null()) o.signal = j.at("signal").get<int>();
    o.exit_status_known = j.at("exit_status_known").get<bool>();
    auto serial = b64_decode(j.at("serial_b64").get<std::string>());
    auto stderr_text = b64_decode(j.at("stderr_b64").get<std::string>());
    if (!serial || !stderr_text) return std::nullopt;
    o.serial = std::move(*serial);
    o.stderr_text = std::move(*stderr_text);
    o.serial_truncated = j.at("serial_truncated").get<bool>();
    o.serial_bytes = j.at("serial_bytes").get<uint64_t>();
    o.duration_ms = j.at("duration_ms").get<uint64_t>();
    o.cmdline = j.at("cmdline").get<std::vector<std::string>>();
    o.host = j.at("host").get<std::string>();
    return o;
  } catch (const std::exception&) {
    return std::nullopt;  // corrupt or foreign: a miss
  }
}

bool ResultCache::store(const std::string& key, const BootOutcome& o, std::string* err) const {
  if (key.size() < 3) {
    *err = "bad cache key";
    return false;
  }
  json j = {{"format", kCacheFormat},
            {"key", key},
            {"started", o.started},
            {"start_error", o.start_error},
            {"timed_out", o.timed_out},
            {"interrupted", o.interrupted},
            {"exit_code", o.exit_code ? json(*o.exit_code) : json(nullptr)},
            {"signal", o.signal ? json(*o.signal) : json(nullptr)},
            {"exit_status_known", o.exit_status_known},
            {"serial_b64", b64_encode(o.serial)},
            {"serial_truncated", o.serial_truncated},
            {"serial_bytes", o.serial_bytes},
            {"stderr_b64", b64_encode(o.stderr_text)},
            {"duration_ms", o.duration_ms},
            {"cmdline", o.cmdline},
            {"host", o.host}};
  std::string text = j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  std::string path = path_of(key);
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  if (ec) {
    *err = fs::path(path).parent_path().string() + ": " + ec.message();
    return false;
  }
  // Unique per process and thread: concurrent writers of one key each rename a whole file.
  static std::atomic<uint64_t> counter{0};
  std::string tmp = fmt::format("{}.tmp.{}.{}", path, ::getpid(), counter.fetch_add(1));
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) {
      *err = tmp + ": cannot write";
      fs::remove(tmp, ec);
      return false;
    }
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    *err = path + ": " + ec.message();
    fs::remove(tmp, ec);
    return false;
  }
  return true;
}

bool CachingLauncher::remembered(Status outcome) {
  return outcome != Status::Error && outcome != Status::Hang;
}

BootOutcome CachingLauncher::boot(const CellSpec& spec) {
  std::string err;
  auto key = cache_key(spec, inner_.name(), &err);
  if (key) {
    // An entry that reads as HANG or ERROR (written by an older pvmatrix) is booted again.
    if (auto hit = cache_.load(*key); hit && remembered(classify(spec, *hit).outcome)) {
      hits_.fetch_add(1);
      return *hit;
    }
  }
  boots_.fetch_add(1);
  BootOutcome outcome = inner_.boot(spec);
  if (key && remembered(classify(spec, outcome).outcome)) cache_.store(*key, outcome, &err);
  return outcome;
}

}  // namespace pvm
