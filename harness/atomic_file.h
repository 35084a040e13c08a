// Writing output files so that a reader never sees half of one: the bytes go to a temporary
// file in the same directory, are fsync'ed, then renamed over the target (and the directory
// fsync'ed). On any error the temporary file is removed and the old file is left as it was.
#pragma once

#include <string>
#include <string_view>

namespace pvm {

/// Replaces `path` with `content` atomically. Missing parent directories are created.
/// False with `*err` ("cannot write <path>: <reason>") on failure; the old file is intact.
bool write_file_atomically(const std::string& path, std::string_view content, std::string* err);

}  // namespace pvm
