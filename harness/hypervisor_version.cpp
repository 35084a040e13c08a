#include "hypervisor_version.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "json_reader.h"
#include "linux_release.h"
#include "pvrom/calls.h"

namespace pvm {

using nlohmann::json;

std::string HypervisorVersion::api() const {
  return std::to_string(api_major) + "." + std::to_string(api_minor);
}

const HvCall* HypervisorVersion::find_call(uint16_t number) const {
  for (const HvCall& c : calls)
    if (c.number == number) return &c;
  return nullptr;
}

bool HypervisorVersion::has_quirk(std::string_view id) const {
  return std::any_of(quirks.begin(), quirks.end(), [&](const HvQuirk& q) { return q.id == id; });
}

const char* feature_name(pvrom::Feature bit) {
  for (const auto& f : pvrom::kFeatureNames)
    if (f.bit == bit) return f.name;
  return nullptr;
}

std::vector<std::string> feature_names(uint32_t features) {
  std::vector<std::string> out;
  for (int i = 0; i < 32; ++i) {
    uint32_t bit = 1u << i;
    if (!(features & bit)) continue;
    const char* n = feature_name(static_cast<pvrom::Feature>(bit));
    out.push_back(n ? n : "bit" + std::to_string(i));
  }
  return out;
}

std::optional<pvrom::Feature> feature_from_name(std::string_view name) {
  for (const auto& f : pvrom::kFeatureNames)
    if (name == f.name) return f.bit;
  return std::nullopt;
}

const char* reloc_name(uint8_t reloc) {
  switch (reloc) {
    case pvrom::kRelocNone: return "NONE";
    case pvrom::kRelocCallRel: return "CALL_REL";
    case pvrom::kRelocJumpRel: return "JUMP_REL";
    case pvrom::kRelocNop: return "NOP";
  }
  return nullptr;
}

std::optional<pvrom::RelocType> reloc_from_name(std::string_view name) {
  for (uint8_t r = 0; r <= pvrom::kRelocNop; ++r)
    if (name == reloc_name(r)) return static_cast<pvrom::RelocType>(r);
  return std::nullopt;
}

const char* convention_name(uint32_t convention) {
  switch (convention) {
    case pvrom::kConvRegparm3: return "regparm3";
    case pvrom::kConvCdecl: return "cdecl";
  }
  return nullptr;
}

std::optional<pvrom::CallingConvention> convention_from_name(std::string_view name) {
  if (name == "regparm3") return pvrom::kConvRegparm3;
  if (name == "cdecl") return pvrom::kConvCdecl;
  return std::nullopt;
}

std::optional<pvrom::CallingConvention> convention_for_api_major(uint8_t major) {
  if (major == 3) return pvrom::kConvRegparm3;
  if (major == 4) return pvrom::kConvCdecl;
  return std::nullopt;
}

const char* call_name(uint16_t number, uint8_t api_major) {
  const pvrom::CallInfo* c = pvrom::find_call(number, api_major);
  return c ? c->name : nullptr;
}

namespace {

// Small typed readers: each sets *err naming the field and returns false on a mismatch.
using Reader = JsonReader;

bool parse_api(const std::string& s, uint8_t* major, uint8_t* minor) {
  size_t dot = s.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == s.size()) return false;
  auto digits = [](std::string_view d) {
    return !d.empty() && d.size() <= 3 && d.find_first_not_of("0123456789") == std::string_view::npos;
  };
  std::string_view a(s.data(), dot), b(s.data() + dot + 1, s.size() - dot - 1);
  if (!digits(a) || !digits(b)) return false;
  int ma = std::stoi(std::string(a)), mi = std::stoi(std::string(b));
  if (ma > 255 || mi > 255) return false;
  *major = static_cast<uint8_t>(ma);
  *minor = static_cast<uint8_t>(mi);
  return true;
}

}  // namespace

namespace {
bool parse_platform(const JsonText& doc, Reader& r, HypervisorVersion* v, JsonError* err);
std::optional<HypervisorVersion> parse_xen_version(const JsonText& doc, const std::string& file,
                                                   std::string_view expected_name, JsonError* err);
}  // namespace

std::optional<HypervisorVersion> parse_hypervisor_version(std::string text, const std::string& file,
                                                          std::string_view expected_name,
                                                          JsonError* err) {
  auto doc = JsonText::parse(std::move(text), file, err);
  if (!doc) return std::nullopt;
  if (!doc->root().is_object()) {
    *err = doc->error_at("", "expected an object");
    return std::nullopt;
  }
  {
    auto fam = doc->root().find("family");
    if (fam != doc->root().end() && fam->is_string() &&
        (fam->get<std::string>() == "xen" || fam->get<std::string>() == "none"))
      return parse_xen_version(*doc, file, expected_name, err);
  }
  if (!doc->check_keys("", {"name", "family", "api", "summary", "calling_convention", "features",
                            "calls", "quirks", "platform"},
                       err))
    return std::nullopt;

  Reader r(*doc, err);
  HypervisorVersion v;
  v.path = file;
  std::string api, conv;
  if (!r.string("/name", &v.name) || !r.string("/family", &v.family) || !r.string("/api", &api) ||
      !r.string("/summary", &v.summary) || !r.string("/calling_convention", &conv))
    return std::nullopt;
  if (!expected_name.empty() && v.name != expected_name) {
    r.fail("/name", "\"" + v.name + "\" differs from its folder name \"" + std::string(expected_name) + "\"");
    return std::nullopt;
  }
  if (v.family != "rom") {
    r.fail("/family", "unknown family \"" + v.family + "\" (known: rom, xen)");
    return std::nullopt;
  }
  if (!parse_api(api, &v.api_major, &v.api_minor)) {
    r.fail("/api", "expected \"<major>.<minor>\", got \"" + api + "\"");
    return std::nullopt;
  }
  auto expected_conv = convention_for_api_major(v.api_major);
  if (!expected_conv) {
    r.fail("/api", "unknown API major " + std::to_string(v.api_major) + " (known: 3, 4)");
    return std::nullopt;
  }
  auto c = convention_from_name(conv);
  if (!c) {
    r.fail("/calling_convention", "unknown calling convention \"" + conv + "\" (known: regparm3, cdecl)");
    return std::nullopt;
  }
  if (*c != *expected_conv) {
    r.fail("/calling_convention", "API " + std::to_string(v.api_major) + ".x uses " +
                                      convention_name(*expected_conv) + ", not " + conv);
    return std::nullopt;
  }
  v.calling_convention = *c;

  // features
  const json* features = r.get("/features", "an array", &json::is_array);
  if (!features) return std::nullopt;
  for (size_t i = 0; i < features->size(); ++i) {
    std::string ptr = "/features/" + std::to_string(i);
    std::string name;
    if (!r.string(ptr, &name)) return std::nullopt;
    auto bit = feature_from_name(name);
    if (!bit) {
      r.fail(ptr, "unknown feature \"" + name + "\"");
      return std::nullopt;
    }
    if (v.features & *bit) {
      r.fail(ptr, "feature \"" + name + "\" listed twice");
      return std::nullopt;
    }
    v.features |= *bit;
  }

  // calls
  const json* calls = r.get("/calls", "an array", &json::is_array);
  if (!calls) return std::nullopt;
  for (size_t i = 0; i < calls->size(); ++i) {
    std::string ptr = "/calls/" + std::to_string(i);
    if (!r.get(ptr, "an object", &json::is_object)) return std::nullopt;
    if (!doc->check_keys(ptr, {"number", "name", "reloc", "semantics"}, err)) return std::nullopt;
    HvCall call;
    const json* num = r.get(ptr + "/number", "an integer", &json::is_number_unsigned);
    if (!num) return std::nullopt;
    uint64_t n = num->get<uint64_t>();
    std::string reloc;
    if (!r.string(ptr + "/name", &call.name) || !r.string(ptr + "/reloc", &reloc) ||
        !r.string(ptr + "/semantics", &call.semantics, /*required=*/false))
      return std::nullopt;
    const char* canonical = n <= 0xffff ? call_name(static_cast<uint16_t>(n), v.api_major) : nullptr;
    if (!canonical) {
      r.fail(ptr + "/number", "call " + std::to_string(n) + " does not exist in API " +
                                  std::to_string(v.api_major) + ".x");
      return std::nullopt;
    }
    call.number = static_cast<uint16_t>(n);
    if (call.name != canonical) {
      r.fail(ptr + "/name", "call " + std::to_string(n) + " is \"" + canonical + "\" in API " +
                                std::to_string(v.api_major) + ".x, not \"" + call.name + "\"");
      return std::nullopt;
    }
    auto rt = reloc_from_name(reloc);
    if (!rt) {
      r.fail(ptr + "/reloc", "unknown reloc \"" + reloc + "\" (known: NONE CALL_REL JUMP_REL NOP)");
      return std::nullopt;
    }
    if (*rt == pvrom::kRelocNone) {
      r.fail(ptr + "/reloc", "a call not offered is left out of \"calls\", not listed as NONE");
      return std::nullopt;
    }
    if (*rt == pvrom::kRelocJumpRel && call.number != pvrom::kCallIret) {
      r.fail(ptr + "/reloc", "only Iret may be bound JUMP_REL (the others return)");
      return std::nullopt;
    }
    call.reloc = *rt;
    if (v.find_call(call.number)) {
      r.fail(ptr + "/number", "call " + std::to_string(n) + " listed twice");
      return std::nullopt;
    }
    v.calls.push_back(std::move(call));
  }
  std::sort(v.calls.begin(), v.calls.end(),
            [](const HvCall& a, const HvCall& b) { return a.number < b.number; });

  // quirks
  const json* quirks = r.get("/quirks", "an array", &json::is_array);
  if (!quirks) return std::nullopt;
  for (size_t i = 0; i < quirks->size(); ++i) {
    std::string ptr = "/quirks/" + std::to_string(i);
    if (!r.get(ptr, "an object", &json::is_object)) return std::nullopt;
    if (!doc->check_keys(ptr, {"id", "text"}, err)) return std::nullopt;
    HvQuirk q;
    if (!r.string(ptr + "/id", &q.id) || !r.string(ptr + "/text", &q.text)) return std::nullopt;
    v.quirks.push_back(std::move(q));
  }

  if (!parse_platform(*doc, r, &v, err)) return std::nullopt;
  return v;
}

namespace {

bool parse_platform(const JsonText& doc_ref, Reader& r, HypervisorVersion* vp, JsonError* err) {
  const JsonText* doc = &doc_ref;
  HypervisorVersion& v = *vp;
  if (!r.get("/platform", "an object", &json::is_object)) return false;
  if (!doc->check_keys("/platform", {"machine", "cpu", "memory_mib", "devices", "qemu", "icount_shift", "boot_allowance_s"},
                        err))
    return false;
  if (const json* shift = r.get("/platform/icount_shift", "an integer", &json::is_number_integer, false)) {
    if (shift->get<int64_t>() < 0 || shift->get<int64_t>() > 10) {
      r.fail("/platform/icount_shift", "expected an integer 0..10 (ns per instruction = 2^shift)");
      return false;
    }
    v.platform.icount_shift = static_cast<int>(shift->get<int64_t>());
  }
  if (const json* allow = r.get("/platform/boot_allowance_s", "a number", &json::is_number, false)) {
    if (allow->get<double>() < 0 || allow->get<double>() > 600) {
      r.fail("/platform/boot_allowance_s", "expected seconds, 0..600");
      return false;
    }
    v.platform.boot_allowance_s = allow->get<double>();
  }
  if (!r.ok()) return false;
  if (!r.string("/platform/qemu", &v.platform.qemu, /*required=*/false)) return false;
  if (!r.string("/platform/machine", &v.platform.machine) ||
      !r.string("/platform/cpu", &v.platform.cpu))
    return false;
  const json* mem = r.get("/platform/memory_mib", "an integer", &json::is_number_unsigned);
  if (!mem) return false;
  uint64_t mib = mem->get<uint64_t>();
  if (mib < 8 || mib > 4096) {
    r.fail("/platform/memory_mib", "expected 8..4096 MiB, got " + std::to_string(mib));
    return false;
  }
  v.platform.memory_mib = static_cast<uint32_t>(mib);
  const json* devices = r.get("/platform/devices", "an array", &json::is_array);
  if (!devices) return false;
  for (size_t i = 0; i < devices->size(); ++i) {
    std::string d;
    if (!r.string("/platform/devices/" + std::to_string(i), &d)) return false;
    v.platform.devices.push_back(std::move(d));
  }
  return true;
}

// Family "xen": the hypervisor is Xen itself, so there is no ROM API, call table or feature
// bits to describe: what the guest negotiates (XENVER_version) is reported by the kernel.
// Family "none": bare QEMU, no hypervisor at all (the baseline column): a platform only.
std::optional<HypervisorVersion> parse_xen_version(const JsonText& doc, const std::string& file,
                                                   std::string_view expected_name, JsonError* err) {
  const bool xen = doc.root().at("family").get<std::string>() == "xen";
  if (xen ? !doc.check_keys("", {"name", "family", "summary", "package", "quirks", "xen_cmdline", "platform",
                                 "linux_guest", "guest_kinds"},
                            err)
          : !doc.check_keys("", {"name", "family", "summary", "quirks", "platform", "linux_guest"}, err))
    return std::nullopt;
  Reader r(doc, err);
  HypervisorVersion v;
  v.path = file;
  if (!r.string("/name", &v.name) || !r.string("/family", &v.family) || !r.string("/summary", &v.summary))
    return std::nullopt;
  if (!expected_name.empty() && v.name != expected_name) {
    r.fail("/name", "\"" + v.name + "\" differs from its folder name \"" + std::string(expected_name) + "\"");
    return std::nullopt;
  }
  if (xen) {
    if (!r.string("/xen_cmdline", &v.xen.cmdline)) return std::nullopt;
    if (!r.get("/package", "an object", &json::is_object)) return std::nullopt;
    if (!doc.check_keys("/package", {"name", "version", "binary", "suite"}, err)) return std::nullopt;
    if (!r.string("/package/name", &v.xen.package) || !r.string("/package/version", &v.xen.package_version) ||
        !r.string("/package/binary", &v.xen.binary) || !r.string("/package/suite", &v.xen.suite, false))
      return std::nullopt;
    if (const json* kinds = r.get("/guest_kinds", "an array", &json::is_array, false)) {
      v.xen.guest_kinds.clear();
      for (size_t i = 0; i < kinds->size(); ++i) {
        std::string k, ptr = "/guest_kinds/" + std::to_string(i);
        if (!r.string(ptr, &k)) return std::nullopt;
        if (k != "pvh" && k != "pv64" && k != "pv32") {
          r.fail(ptr, "expected \"pvh\", \"pv64\" or \"pv32\", got \"" + k + "\"");
          return std::nullopt;
        }
        v.xen.guest_kinds.push_back(k);
      }
    }
    if (!r.ok()) return std::nullopt;
    for (char c : v.xen.package_version)
      if (!(isalnum(static_cast<unsigned char>(c)) || std::string_view("+-.~:").find(c) != std::string_view::npos)) {
        r.fail("/package/version", "not a Debian version: \"" + v.xen.package_version + "\"");
        return std::nullopt;
      }
  }
  const json* quirks = r.get("/quirks", "an array", &json::is_array);
  if (!quirks) return std::nullopt;
  for (size_t i = 0; i < quirks->size(); ++i) {
    std::string ptr = "/quirks/" + std::to_string(i);
    if (!r.get(ptr, "an object", &json::is_object)) return std::nullopt;
    if (!doc.check_keys(ptr, {"id", "text"}, err)) return std::nullopt;
    HvQuirk q;
    if (!r.string(ptr + "/id", &q.id) || !r.string(ptr + "/text", &q.text)) return std::nullopt;
    v.quirks.push_back(std::move(q));
  }
  if (!parse_platform(doc, r, &v, err)) return std::nullopt;
  if (r.get("/linux_guest", "an object", &json::is_object, false)) {
    if (!doc.check_keys("/linux_guest", {"cpu", "memory_mib", "xen_cmdline", "boot_allowance_s"}, err))
      return std::nullopt;
    if (const json* allow = r.get("/linux_guest/boot_allowance_s", "a number", &json::is_number, false)) {
      if (allow->get<double>() < 0 || allow->get<double>() > 1800) {
        r.fail("/linux_guest/boot_allowance_s", "expected seconds, 0..1800");
        return std::nullopt;
      }
      v.linux_guest.boot_allowance_s = allow->get<double>();
    }
    v.linux_guest.present = true;
    if (!r.string("/linux_guest/cpu", &v.linux_guest.cpu, false)) return std::nullopt;
    if (xen && !r.string("/linux_guest/xen_cmdline", &v.linux_guest.xen_cmdline, false)) return std::nullopt;
    if (!xen && doc.root().at("/linux_guest"_json_pointer).contains("xen_cmdline")) {
      r.fail("/linux_guest/xen_cmdline", "only a xen version has a Xen command line");
      return std::nullopt;
    }
    if (const json* mem = r.get("/linux_guest/memory_mib", "an integer", &json::is_number_unsigned, false)) {
      uint64_t mib = mem->get<uint64_t>();
      if (mib < 64 || mib > 4096) {
        r.fail("/linux_guest/memory_mib", "expected 64..4096 MiB, got " + std::to_string(mib));
        return std::nullopt;
      }
      v.linux_guest.memory_mib = static_cast<uint32_t>(mib);
    }
    if (!r.ok()) return std::nullopt;
  }
  if (!r.ok()) return std::nullopt;
  return v;
}

}  // namespace

std::string xen_cache_dir() {
  if (const char* c = std::getenv("PVMATRIX_XEN_CACHE"); c && *c) return c;
  return downloads_dir() + "/xen";
}

std::string xen_binary_path(const HypervisorVersion& v) {
  return xen_cache_dir() + "/" + v.xen.package_version + "/xen";
}

std::optional<HypervisorVersion> load_hypervisor_version(const std::string& dir, JsonError* err) {
  namespace fs = std::filesystem;
  fs::path d(dir);
  std::string folder = d.filename().string();
  if (folder.empty()) folder = d.parent_path().filename().string();  // "dir/"
  std::string path = (d / "version.json").string();
  std::string text, why;
  if (!read_text_file(path, &text, &why)) {
    *err = JsonError{path, 0, 0, "", "cannot read file"};
    return std::nullopt;
  }
  return parse_hypervisor_version(text, path, folder, err);
}

std::optional<std::vector<HypervisorVersion>> load_hypervisor_versions(const std::string& root,
                                                                       JsonError* err) {
  namespace fs = std::filesystem;
  std::vector<std::string> dirs;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root, ec))
    if (entry.is_directory() && fs::exists(entry.path() / "version.json"))
      dirs.push_back(entry.path().string());
  if (ec) {
    *err = JsonError{root, 0, 0, "", "cannot list directory: " + ec.message()};
    return std::nullopt;
  }
  std::sort(dirs.begin(), dirs.end());
  std::vector<HypervisorVersion> out;
  for (const std::string& d : dirs) {
    auto v = load_hypervisor_version(d, err);
    if (!v) return std::nullopt;
    out.push_back(std::move(*v));
  }
  return out;
}

}  // namespace pvm
