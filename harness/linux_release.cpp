#include "linux_release.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "json_reader.h"

namespace pvm {

using nlohmann::json;

std::string LinuxRelease::agent_arch() const { return package.architecture == "i386" ? "i386" : "x86_64"; }

namespace {

bool debian_token(std::string_view s, std::string_view extra) {
  if (s.empty()) return false;
  for (char c : s)
    if (!(isalnum(static_cast<unsigned char>(c)) || extra.find(c) != std::string_view::npos)) return false;
  return true;
}

}  // namespace

std::optional<LinuxRelease> parse_linux_release(std::string text, const std::string& file,
                                                std::string_view expected_name, JsonError* err) {
  auto doc = JsonText::parse(std::move(text), file, err);
  if (!doc) return std::nullopt;
  if (!doc->root().is_object()) {
    *err = doc->error_at("", "expected an object");
    return std::nullopt;
  }
  if (!doc->check_keys("", {"name", "family", "summary", "package", "switches"}, err)) return std::nullopt;
  JsonReader r(*doc, err);
  LinuxRelease rel;
  rel.path = file;
  std::string family;
  if (!r.string("/name", &rel.name) || !r.string("/family", &family) || !r.string("/summary", &rel.summary))
    return std::nullopt;
  if (family != "linux") {
    r.fail("/family", "expected \"linux\" (a real kernel release), got \"" + family + "\"");
    return std::nullopt;
  }
  if (!expected_name.empty() && rel.name != expected_name) {
    r.fail("/name", "\"" + rel.name + "\" differs from its file name \"" + std::string(expected_name) + ".json\"");
    return std::nullopt;
  }
  if (!debian_token(rel.name, ".-_+") || rel.name.rfind("2.6.", 0) == 0) {
    r.fail("/name", "expected a name of [A-Za-z0-9._+-] not clashing with the reference releases");
    return std::nullopt;
  }
  if (!r.get("/package", "an object", &json::is_object)) return std::nullopt;
  if (!doc->check_keys("/package", {"name", "version", "suite", "architecture", "image"}, err)) return std::nullopt;
  LinuxPackage& p = rel.package;
  if (!r.string("/package/name", &p.name) || !r.string("/package/version", &p.version) ||
      !r.string("/package/suite", &p.suite) || !r.string("/package/architecture", &p.architecture) ||
      !r.string("/package/image", &p.image))
    return std::nullopt;
  if (!debian_token(p.name, "+-.")) return r.fail("/package/name", "not a Debian package name: \"" + p.name + "\""), std::nullopt;
  if (!debian_token(p.version, "+-.~:"))
    return r.fail("/package/version", "not a Debian version: \"" + p.version + "\""), std::nullopt;
  if (!debian_token(p.suite, "-")) return r.fail("/package/suite", "not a Debian suite: \"" + p.suite + "\""), std::nullopt;
  if (p.architecture != "amd64" && p.architecture != "i386")
    return r.fail("/package/architecture", "expected \"amd64\" or \"i386\", got \"" + p.architecture + "\""), std::nullopt;
  if (p.image.empty() || p.image.front() == '/' || p.image.find("..") != std::string::npos)
    return r.fail("/package/image", "expected a relative path inside the package, got \"" + p.image + "\""), std::nullopt;
  if (const json* sw = r.get("/switches", "an array of strings", &json::is_array, false)) {
    for (size_t i = 0; i < sw->size(); ++i) {
      std::string s;
      std::string ptr = "/switches/" + std::to_string(i);
      if (!r.string(ptr, &s)) return std::nullopt;
      if (s.empty() || s.find_first_of(" \t\n,") != std::string::npos)
        return r.fail(ptr, "a switch is one command-line word without spaces or commas: \"" + s + "\""), std::nullopt;
      rel.switches.push_back(std::move(s));
    }
  }
  if (!r.ok()) return std::nullopt;
  return rel;
}

std::optional<std::vector<LinuxRelease>> load_linux_releases(const std::string& dir, JsonError* err) {
  namespace fs = std::filesystem;
  std::vector<fs::path> files;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return std::vector<LinuxRelease>{};
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ".json" && e.is_regular_file()) files.push_back(e.path());
  // By name (the file stem): linux-6.1, linux-6.1-686-pae, linux-6.12 ("linux-6.1.json" would sort after "-686").
  std::sort(files.begin(), files.end(), [](const fs::path& a, const fs::path& b) { return a.stem() < b.stem(); });
  std::vector<LinuxRelease> out;
  for (const auto& f : files) {
    std::string text, why;
    if (!read_text_file(f.string(), &text, &why)) {
      *err = JsonError{f.string(), 0, 0, "", "cannot read file"};
      return std::nullopt;
    }
    auto rel = parse_linux_release(std::move(text), f.string(), f.stem().string(), err);
    if (!rel) return std::nullopt;
    out.push_back(std::move(*rel));
  }
  return out;
}

std::string downloads_dir() {
  if (const char* c = std::getenv("PVMATRIX_DOWNLOADS"); c && *c) return c;
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : "/root") + "/.cache/pvmatrix";
}

std::string linux_cache_dir(const LinuxRelease& r) {
  return downloads_dir() + "/linux/" + r.package.name + "_" + r.package.version + "_" + r.package.architecture;
}

std::string vmlinux_path(const LinuxRelease& r) { return linux_cache_dir(r) + "/vmlinux"; }

std::string linux_base_cmdline(bool under_xen) {
  return under_xen ? "console=hvc0 earlyprintk=xen nokaslr panic=-1" : "console=ttyS0 nokaslr panic=-1";
}

}  // namespace pvm
