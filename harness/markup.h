// Escaping for text that lands in XML or HTML (JUnit, libvirt domain XML, HTML pages).
#pragma once

#include <string>
#include <string_view>

namespace pvm {

/// Text safe as XML 1.0 / HTML element content or a quoted attribute value: & < > " ' escaped,
/// tab, newline and CR as character references (attribute values keep them), invalid UTF-8
/// and characters XML cannot carry (other C0 controls, U+FFFE/U+FFFF, surrogates) as U+FFFD.
std::string xml_escape(std::string_view s);

}  // namespace pvm
