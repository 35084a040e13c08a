#include "digest_memo.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "atomic_file.h"
#include "json_text.h"  // read_text_file

namespace pvm {
namespace {

constexpr std::string_view kHeader = "pvmatrix digests 1";
constexpr int64_t kSettleNs = 2'000'000'000;

int64_t ns_of(const timespec& t) { return static_cast<int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec; }

}  // namespace

bool file_stamp(const std::string& path, FileStamp* out) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  *out = FileStamp{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino),
                   static_cast<uint64_t>(st.st_size), ns_of(st.st_mtim), ns_of(st.st_ctim)};
  return true;
}

void DigestMemoFile::load() {
  loaded_ = true;
  std::string text, err;
  if (!read_text_file(path_, &text, &err)) return;  // none yet
  std::string_view rest = text;
  auto next_line = [&rest] {
    const size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    return line;
  };
  if (next_line() != kHeader) return;  // another format: start afresh
  while (!rest.empty()) {
    std::string_view line = next_line();
    std::vector<std::string_view> f;
    for (int i = 0; i < 7; ++i) {
      const size_t tab = line.find('\t');
      if (tab == std::string_view::npos) break;
      f.push_back(line.substr(0, tab));
      line.remove_prefix(tab + 1);
    }
    if (f.size() != 7 || line.empty()) continue;
    FileStamp s;
    try {
      s = FileStamp{std::stoull(std::string(f[2])), std::stoull(std::string(f[3])), std::stoull(std::string(f[4])),
                    std::stoll(std::string(f[5])), std::stoll(std::string(f[6]))};
    } catch (const std::exception&) {
      continue;  // a damaged line: that file is digested again
    }
    entries_[{std::string(f[1]), std::string(line)}] = {s, std::string(f[0])};
  }
}

std::optional<std::string> DigestMemoFile::find(const std::string& kind, const std::string& file,
                                                const FileStamp& stamp) {
  if (!loaded_) load();
  auto it = entries_.find({kind, file});
  if (it == entries_.end() || !(it->second.first == stamp)) return std::nullopt;
  return it->second.second;
}

void DigestMemoFile::remember(const std::string& kind, const std::string& file, const FileStamp& stamp,
                              const std::string& digest, int64_t now_ns) {
  if (now_ns - std::max(stamp.mtime_ns, stamp.ctime_ns) < kSettleNs) return;
  if (file.find_first_of("\t\n") != std::string::npos) return;
  std::error_code ec;
  if (!std::filesystem::is_directory(std::filesystem::path(path_).parent_path(), ec)) return;
  if (!loaded_) load();
  entries_[{kind, file}] = {stamp, digest};
  std::string text = std::string(kHeader) + "\n";
  for (auto it = entries_.begin(); it != entries_.end();) {
    FileStamp now;
    if (!file_stamp(it->first.second, &now) || !(now == it->second.first)) {
      it = entries_.erase(it);
      continue;
    }
    const FileStamp& s = it->second.first;
    text += fmt::format("{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n", it->second.second, it->first.first, s.dev, s.ino, s.size,
                        s.mtime_ns, s.ctime_ns, it->first.second);
    ++it;
  }
  std::string err;
  write_file_atomically(path_, text, &err);  // best effort: a memo that cannot be written is only slower
}

}  // namespace pvm
