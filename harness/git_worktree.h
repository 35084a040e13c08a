// Revisions as buildable trees, for `gate` and `bisect`: resolve a revision, check it out in
// a detached `git worktree` of its own (never touching the user's working tree), and build
// only the guest images (kernels, ROMs) there in a build dir of its own.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pvm {

/// Runs `argv` in `cwd` ("" = here) with `env` added to the environment; stdout and stderr
/// together go to `*output` (if not null) and, if `log_file` is set, to that file. Returns
/// the exit status (128+signal when killed; -1 with the reason in *output if it could not start).
int run_process(const std::vector<std::string>& argv, const std::string& cwd, std::string* output,
                const std::map<std::string, std::string>& env = {}, const std::string& log_file = "");

/// The last `lines` lines of `text`.
std::string tail_lines(const std::string& text, size_t lines);

/// The top of the git work tree containing `dir`; nullopt with `*err` if it is not in one.
std::optional<std::string> git_toplevel(const std::string& dir, std::string* err);

/// Full commit id of `rev` in `repo`; nullopt with `*err` ("no such revision: X") otherwise.
std::optional<std::string> resolve_revision(const std::string& repo, const std::string& rev, std::string* err);

/// `git log -1 --format=%s`.
std::string commit_subject(const std::string& repo, const std::string& commit);

/// True when `repo`'s tracked files differ from HEAD (untracked files do not count).
bool work_tree_dirty(const std::string& repo);

/// A revision checked out and built.
struct RevisionTree {
  std::string rev;      ///< as the user named it ("origin/main")
  std::string commit;   ///< full id ("" for the working tree itself)
  bool dirty = false;   ///< the user's working tree with uncommitted changes was used
  std::string src;      ///< source tree
  std::string build;    ///< build dir
  std::string images;   ///< build/images
};

/// Makes `dir` a detached worktree of `repo` at `commit` (reusing it when it already is one,
/// checking out `commit` there otherwise). False with `*err`.
bool checkout_worktree(const std::string& repo, const std::string& commit, const std::string& dir, std::string* err);

/// Removes the worktree at `dir` (a failed gate leaves none behind); quiet if it is none.
void remove_worktree(const std::string& repo, const std::string& dir);

/// Paths that differ between commits `from` and `to` of `repo` ("" for `to`: the working tree,
/// tracked files). nullopt with `*err` if git cannot say.
std::optional<std::vector<std::string>> changed_paths(const std::string& repo, const std::string& from,
                                                      const std::string& to, std::string* err);

/// Builds `target` of an already configured `build` (after build_guest_images), output
/// appended to `build`/build.log. False with `*err` holding the log's tail.
bool build_target(const std::string& build, const std::string& target, int jobs, std::string* err);

/// Configures (once) and builds target guest_images of `src` in `build`, output in
/// `build`/build.log. Builds are made reproducible across trees (no paths, no git revision
/// in the images) so the result cache recognizes the same kernel built at two commits.
/// False with `*err` holding the failing step and the log's tail.
bool build_guest_images(const std::string& src, const std::string& build, int jobs, std::string* err);

}  // namespace pvm
