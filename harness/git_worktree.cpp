#include "git_worktree.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "text_util.h"

namespace pvm {
namespace {
namespace fs = std::filesystem;

int git(const std::string& repo, std::vector<std::string> args, std::string* out) {
  args.insert(args.begin(), {"git", "-C", repo});
  return run_process(args, "", out);
}

}  // namespace

int run_process(const std::vector<std::string>& argv, const std::string& cwd, std::string* output,
                const std::map<std::string, std::string>& env, const std::string& log_file) {
  std::string sink;
  std::string& out = output ? *output : sink;
  out.clear();
  int fds[2];
  if (argv.empty() || ::pipe2(fds, O_CLOEXEC) != 0) {
    out = "cannot start process";
    return -1;
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    out = std::string("fork: ") + std::strerror(errno);
    return -1;
  }
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::dup2(fds[1], 2);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) _exit(127);
    for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    std::string msg = "cannot exec " + argv[0] + ": " + std::strerror(errno) + "\n";
    (void)!::write(1, msg.data(), msg.size());
    _exit(127);
  }
  ::close(fds[1]);
  std::ofstream log;
  if (!log_file.empty()) {
    std::error_code ec;
    fs::create_directories(fs::path(log_file).parent_path(), ec);
    log.open(log_file, std::ios::binary | std::ios::app);
  }
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (log) log.write(buf, n);
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::string tail_lines(const std::string& text, size_t lines) {
  size_t pos = text.size();
  if (pos && text[pos - 1] == '\n') --pos;
  while (pos > 0 && lines > 0) {
    size_t nl = text.rfind('\n', pos - 1);
    if (nl == std::string::npos) return text;
    pos = nl;
    --lines;
  }
  return lines == 0 ? text.substr(pos + 1) : text;
}

std::optional<std::string> git_toplevel(const std::string& dir, std::string* err) {
  std::string out;
  if (git(dir, {"rev-parse", "--show-toplevel"}, &out) != 0) {
    *err = dir + ": not in a git work tree: " + trim(out);
    return std::nullopt;
  }
  return trim(out);
}

std::optional<std::string> resolve_revision(const std::string& repo, const std::string& rev, std::string* err) {
  std::string out;
  if (rev.empty() || rev[0] == '-' || git(repo, {"rev-parse", "--verify", "--quiet", rev + "^{commit}"}, &out) != 0) {
    *err = "no such revision: " + rev;
    return std::nullopt;
  }
  return trim(out);
}

std::string commit_subject(const std::string& repo, const std::string& commit) {
  std::string out;
  git(repo, {"log", "-1", "--format=%s", commit}, &out);
  return trim(out);
}

bool work_tree_dirty(const std::string& repo) {
  std::string out;
  return git(repo, {"status", "--porcelain", "--untracked-files=no"}, &out) == 0 && !trim(out).empty();
}

bool checkout_worktree(const std::string& repo, const std::string& commit, const std::string& dir, std::string* err) {
  std::string out;
  std::error_code ec;
  if (fs::exists(fs::path(dir) / ".git")) {
    std::string top;
    if (git(dir, {"rev-parse", "--show-toplevel"}, &top) == 0 && fs::equivalent(trim(top), dir, ec)) {
      if (git(dir, {"checkout", "--quiet", "--force", "--detach", commit}, &out) == 0) return true;
    }
  }
  // Not (or no longer) a usable worktree: start again.
  fs::remove_all(dir, ec);
  git(repo, {"worktree", "prune"}, nullptr);
  fs::create_directories(fs::path(dir).parent_path(), ec);
  if (git(repo, {"worktree", "add", "--force", "--detach", dir, commit}, &out) != 0) {
    *err = "git worktree add " + dir + " " + commit + " failed:\n" + tail_lines(out, 10);
    return false;
  }
  return true;
}

void remove_worktree(const std::string& repo, const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return;
  git(repo, {"worktree", "remove", "--force", dir}, nullptr);
  fs::remove_all(dir, ec);
  git(repo, {"worktree", "prune"}, nullptr);
}

std::optional<std::vector<std::string>> changed_paths(const std::string& repo, const std::string& from,
                                                      const std::string& to, std::string* err) {
  std::vector<std::string> args{"diff", "--name-only", "--no-renames", from};
  if (!to.empty()) args.push_back(to);
  std::string out;
  if (git(repo, args, &out) != 0) {
    *err = "git diff --name-only " + from + " " + to + " failed:\n" + tail_lines(out, 5);
    return std::nullopt;
  }
  std::vector<std::string> paths;
  size_t pos = 0;
  while (pos < out.size()) {
    size_t nl = out.find('\n', pos);
    std::string line = trim(out.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos));
    if (!line.empty()) paths.push_back(line);
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  return paths;
}

bool build_target(const std::string& build, const std::string& target, int jobs, std::string* err) {
  const std::string log = build + "/build.log";
  std::string out;
  if (run_process({"cmake", "--build", build, "--target", target, "-j", std::to_string(jobs)}, "", &out,
                  {{"GIT_DIR", build + "/.no-git"}}, log) != 0) {
    *err = "build of " + target + " failed (" + log + "):\n" + tail_lines(out, 20);
    return false;
  }
  return true;
}

bool build_guest_images(const std::string& src, const std::string& build, int jobs, std::string* err) {
  std::error_code ec;
  fs::create_directories(build, ec);
  const std::string log = build + "/build.log";
  fs::remove(log, ec);
  // Reproducible images: no source paths (file-prefix-map), and no git revision as the
  // kernel's build id (git is unreachable while configuring), so unchanged code gives
  // unchanged bytes and the result cache answers for it.
  const std::map<std::string, std::string> env{{"GIT_DIR", build + "/.no-git"}};
  std::string out;
  if (!fs::exists(fs::path(build) / "CMakeCache.txt")) {
    std::string prefix_map = "-ffile-prefix-map=" + src + "/=";
    std::vector<std::string> configure{"cmake", "-S", src, "-B", build, "-DCMAKE_BUILD_TYPE=Release",
                                       "-DCMAKE_C_FLAGS=" + prefix_map, "-DCMAKE_CXX_FLAGS=" + prefix_map,
                                       "-DPVMATRIX_KERNEL_BUILD_ID=reproducible"};
    if (::access("/usr/bin/ninja", X_OK) == 0) configure.insert(configure.begin() + 1, {"-G", "Ninja"});
    if (run_process(configure, "", &out, env, log) != 0) {
      fs::remove(fs::path(build) / "CMakeCache.txt", ec);
      *err = "configure failed (" + log + "):\n" + tail_lines(out, 20);
      return false;
    }
  }
  if (run_process({"cmake", "--build", build, "--target", "guest_images", "-j", std::to_string(jobs)}, "", &out, env,
                  log) != 0) {
    *err = "build failed (" + log + "):\n" + tail_lines(out, 20);
    return false;
  }
  return true;
}

}  // namespace pvm
