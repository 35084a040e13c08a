#include "workarounds.h"

#include <algorithm>
#include <sstream>

#include "predict.h"  // kOpGroups
#include "world.h"

namespace pvm {

std::vector<std::string> workaround_masks() {
  std::vector<std::string> masks;
  for (const char* g : kOpGroups) masks.push_back(std::string("pv.native=") + g);
  masks.push_back("pv.native=all");
  return masks;
}

std::string with_mask(const std::string& cmdline, const std::string& mask) {
  const std::string key = "pv.native=";
  std::vector<std::string> groups, others;
  auto add = [&](const std::string& list) {
    std::stringstream ss(list);
    std::string g;
    while (std::getline(ss, g, ','))
      if (!g.empty() && std::find(groups.begin(), groups.end(), g) == groups.end()) groups.push_back(g);
  };
  std::stringstream ss(cmdline);
  std::string tok;
  while (ss >> tok) {
    if (tok.rfind(key, 0) == 0) add(tok.substr(key.size()));
    else others.push_back(tok);
  }
  add(mask.substr(key.size()));
  if (std::find(groups.begin(), groups.end(), "all") != groups.end()) groups = {"all"};
  std::string out;
  for (const auto& o : others) out += o + " ";
  out += key;
  for (size_t i = 0; i < groups.size(); ++i) out += (i ? "," : "") + groups[i];
  return out;
}

std::vector<WorkaroundTry> workaround_tries(const World& world, const CellSpec& spec) {
  std::vector<WorkaroundTry> out;
  if (spec.kernel_family != "linux") {
    if (spec.kernel.rfind(kFixturePrefix, 0) == 0) return out;
    for (const std::string& mask : workaround_masks()) {
      CellSpec s = spec;
      s.cmdline = with_mask(s.cmdline, mask);
      out.push_back({mask, std::move(s)});
    }
    return out;
  }
  if (spec.family == "xen") {
    const std::string other = spec.dom0_mode == "pv" ? "pvh" : "pv";
    CellSpec s = spec;
    s.hypervisor_cmdline = with_dom0_mode(spec.hypervisor_cmdline, other);
    s.dom0_mode = other;
    out.push_back({"dom0=" + other, std::move(s)});
  }
  if (const LinuxRelease* real = world.find_linux(spec.kernel)) {
    for (const std::string& sw : real->switches) {
      std::istringstream words(spec.cmdline);
      std::string w;
      bool already = false;
      while (words >> w) already = already || w == sw;
      if (already) continue;
      CellSpec s = spec;
      s.cmdline += (s.cmdline.empty() ? "" : " ") + sw;
      out.push_back({sw, std::move(s)});
    }
  }
  return out;
}

}  // namespace pvm
