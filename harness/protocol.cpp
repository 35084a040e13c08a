// Serial text -> records. Every guest byte is untrusted: malformed records are counted and
// ignored, strings are capped, nothing here throws on guest input.
#include "protocol.h"

#include <nlohmann/json.hpp>

namespace pvm {

namespace {

using json = nlohmann::json;

/// A record line longer than this is malformed (bounds the JSON parser's work).
constexpr size_t kRecordLineLimit = 64 * 1024;
/// At most this many entries are taken from a guest list or object.
constexpr size_t kListLimit = 64;

/// The record's string field `key`, capped; nullopt if present but not a string.
std::optional<std::string> str(const json& j, const char* key, bool required) {
  auto it = j.find(key);
  if (it == j.end()) return required ? std::nullopt : std::optional<std::string>(std::string());
  if (!it->is_string()) return std::nullopt;
  return cap_field(it->get_ref<const std::string&>());
}

std::optional<int> count(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return std::nullopt;
  int64_t v = it->get<int64_t>();
  if (v < 0 || v > 1'000'000) return std::nullopt;
  return static_cast<int>(v);
}

bool one_of(const std::string& s, std::initializer_list<const char*> values) {
  for (const char* v : values)
    if (s == v) return true;
  return false;
}

RecordKind kind_of(const std::string& ev) {
  if (ev == "hello") return RecordKind::Hello;
  if (ev == "hv") return RecordKind::Hv;
  if (ev == "stage") return RecordKind::Stage;
  if (ev == "probe") return RecordKind::Probe;
  if (ev == "crash") return RecordKind::Crash;
  if (ev == "panic") return RecordKind::Panic;
  if (ev == "done") return RecordKind::Done;
  return RecordKind::Unknown;
}

/// How a line reads as a record: not one (no prefix after the console prefixes), a record line
/// that is not a valid envelope (too long, not a JSON object, no string `ev`), or a record.
enum class Envelope { NotRecord, Malformed, Record };

/// The one reading of a line as a record, shared by SerialParser and BootEndWatch: `j` and
/// `kind` are set for a Record.
Envelope read_envelope(std::string_view line, json& j, RecordKind& kind) {
  std::string_view record = strip_console_prefixes(line);
  if (record.compare(0, kRecordPrefix.size(), kRecordPrefix) != 0) return Envelope::NotRecord;
  std::string_view body = record.substr(kRecordPrefix.size());
  if (body.size() > kRecordLineLimit) return Envelope::Malformed;
  j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Envelope::Malformed;
  auto ev = j.find("ev");
  if (ev == j.end() || !ev->is_string()) return Envelope::Malformed;
  kind = kind_of(ev->get_ref<const std::string&>());
  return Envelope::Record;
}

/// The longest line BootEndWatch keeps: a record at its limit behind every console prefix.
constexpr size_t kWatchLineLimit = kRecordLineLimit + kRecordPrefix.size() + 64;

/// Whether `line` could be a record that ends a boot. Its `ev` is "done", "crash" or "panic": spelled
/// out, unless the line escapes characters. Most records do not end the boot (a Xen boot's 33
/// records: one), and are not parsed here.
bool could_end_boot(std::string_view line) {
  for (std::string_view ev : {"\"done\"", "\"crash\"", "\"panic\""})
    if (line.find(ev) != std::string_view::npos) return true;
  return line.find('\\') != std::string_view::npos;
}

}  // namespace

void BootEndWatch::feed(std::string_view chunk) {
  for (size_t start = 0; start < chunk.size();) {
    size_t nl = chunk.find('\n', start);
    std::string_view piece = chunk.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    // A line beyond the limit is kept only up to it: it cannot be a record (the parser calls
    // it malformed), and a banner is still found in its head.
    if (pending_.size() < kWatchLineLimit + 1)
      pending_.append(piece.substr(0, kWatchLineLimit + 1 - pending_.size()));
    if (nl == std::string_view::npos) break;
    std::string_view line = pending_;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    read_line(line);
    pending_.clear();
    start = nl + 1;
  }
}

void BootEndWatch::follow(const std::string& log) {
  if (log.size() <= followed_) return;
  feed(std::string_view(log).substr(followed_));
  followed_ = log.size();
}

void BootEndWatch::read_line(std::string_view line) {
  if (!records_begun_ && strip_console_prefixes(line).starts_with(kRecordPrefix)) records_begun_ = true;
  json j;
  RecordKind kind = RecordKind::Unknown;
  if (line.size() <= kWatchLineLimit && could_end_boot(line) && read_envelope(line, j, kind) == Envelope::Record) {
    if (kind == RecordKind::Done) done_ = true;
    if (kind == RecordKind::Crash || kind == RecordKind::Panic) fatal_ = true;
  }
  if (banners_)
    for (std::string_view banner : kConsoleEndBanners)
      if (line.find(banner) != std::string_view::npos) fatal_ = true;
}

std::string cap_field(std::string_view s, size_t limit) {
  if (s.size() <= limit) return std::string(s);
  size_t cut = limit;
  // Do not end inside a UTF-8 sequence: back up over continuation bytes.
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return std::string(s.substr(0, cut)) + "...[" + std::to_string(s.size() - cut) + " bytes cut]";
}

std::string_view strip_console_prefixes(std::string_view line) {
  for (std::string_view prefix : kConsolePrefixes)
    if (line.compare(0, prefix.size(), prefix) == 0) line.remove_prefix(prefix.size());
  return line;
}

void SerialParser::feed(std::string_view chunk) {
  size_t start = 0;
  for (size_t nl = chunk.find('\n'); nl != std::string_view::npos; nl = chunk.find('\n', start)) {
    pending_.append(chunk.substr(start, nl - start));
    parse_line(std::move(pending_), false);
    pending_.clear();
    start = nl + 1;
  }
  pending_.append(chunk.substr(start));
}

ParsedSerial SerialParser::finish() {
  if (!pending_.empty()) parse_line(std::move(pending_), true);
  pending_.clear();
  return std::move(out_);
}

void SerialParser::parse_line(std::string line, bool partial) {
  if (!line.empty() && line.back() == '\r') line.pop_back();
  size_t index = out_.lines.size();
  out_.lines.push_back({line, partial});
  json j;
  RecordKind kind = RecordKind::Unknown;
  switch (read_envelope(line, j, kind)) {
    case Envelope::NotRecord: return;
    case Envelope::Malformed: ++out_.malformed; return;
    case Envelope::Record: break;
  }
  bool after_done = out_.done.has_value();
  auto bad = [&] { ++out_.malformed; };

  // Validate and extract first; only a well-formed record is recorded.
  switch (kind) {
    case RecordKind::Hello: {
      auto kernel = str(j, "kernel", false), build = str(j, "build", false), cmdline = str(j, "cmdline", false);
      if (!kernel || !build || !cmdline) return bad();
      if (!out_.hello && !after_done) {
        HelloRecord h{0, *kernel, *build, *cmdline};
        if (auto v = count(j, "v")) h.version = *v;
        out_.hello = std::move(h);
      }
      break;
    }
    case RecordKind::Hv: {
      HvRecord h;
      auto family = str(j, "family", true), name = str(j, "name", false), api = str(j, "api", false),
           refused = str(j, "refused", false);
      if (!family || !name || !api || !refused) return bad();
      h.family = *family, h.name = *name, h.api = *api, h.refused = *refused;
      if (auto f = j.find("features"); f != j.end()) {
        if (!f->is_array()) return bad();
        for (const auto& v : *f) {
          if (!v.is_string()) return bad();
          if (h.features.size() < kListLimit) h.features.push_back(cap_field(v.get_ref<const std::string&>(), 64));
        }
      }
      if (auto b = j.find("binding"); b != j.end()) {
        if (!b->is_object()) return bad();
        for (const auto& [group, value] : b->items()) {
          if (!value.is_string()) return bad();
          if (h.binding.size() < kListLimit) h.binding[cap_field(group, 64)] = cap_field(value.get_ref<const std::string&>(), 64);
        }
      }
      if (!out_.hv && !after_done) out_.hv = std::move(h);
      break;
    }
    case RecordKind::Stage: {
      auto name = str(j, "name", true), status = str(j, "status", true), detail = str(j, "detail", false);
      if (!name || !status || !detail || !one_of(*status, {"begin", "ok", "fail", "skip"})) return bad();
      if (after_done) break;
      if (*status == "begin") {
        out_.running_stage = *name;
        out_.running_since_probe = out_.probes.size();
      } else {
        out_.stages.push_back({*name, *status, *detail});
        if (out_.running_stage == *name) out_.running_stage.clear();
      }
      break;
    }
    case RecordKind::Probe: {
      auto id = str(j, "id", true), status = str(j, "status", true), detail = str(j, "detail", false);
      if (!id || !status || !detail || !one_of(*status, {"pass", "fail", "skip"})) return bad();
      Probe p{*id, *status, *detail, std::nullopt};
      if (auto c = j.find("call"); c != j.end() && !c->is_null()) {
        auto call = count(j, "call");
        if (!call) return bad();
        p.call = *call;
      }
      if (!after_done) out_.probes.push_back(std::move(p));
      break;
    }
    case RecordKind::Crash:
    case RecordKind::Panic: {
      CrashRecord c;
      c.panic = kind == RecordKind::Panic;
      auto eip = str(j, "eip", false), error = str(j, "error", false), cr2 = str(j, "cr2", false),
           detail = str(j, "detail", false);
      if (!eip || !error || !cr2 || !detail) return bad();
      c.eip = *eip, c.error = *error, c.cr2 = *cr2, c.detail = *detail;
      c.vector = count(j, "vector");
      if (!out_.crash) {
        out_.crash = std::move(c);
        out_.crash_line = index;
      }
      break;
    }
    case RecordKind::Done: {
      auto pass = count(j, "pass"), fail = count(j, "fail"), skip = count(j, "skip");
      if (!pass || !fail || !skip) return bad();
      if (!out_.done) {
        out_.done = DoneRecord{*pass, *fail, *skip};
        out_.done_line = index;
        out_.records.push_back({kind, index, false});
        return;
      }
      break;
    }
    case RecordKind::Unknown:
      ++out_.unknown;
      break;
  }
  out_.records.push_back({kind, index, after_done});
  if (after_done) {
    if (out_.after_done == 0) out_.first_after_done = cap_field(line, 256);
    ++out_.after_done;
  }
}

ParsedSerial parse_serial(std::string_view text) {
  SerialParser p;
  p.feed(text);
  return p.finish();
}

}  // namespace pvm
