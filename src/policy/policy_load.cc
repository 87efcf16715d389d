// TOML policy -> validated Policy. The schema is documented in
// policies/README.md; every error names FILE:LINE:COL and what is allowed.
//
// A policy is applied in layers: `extends = "default"` first applies the
// named shipped policy, then this file on top. Scalars replace the base's
// value; the lists that harden the sandbox (masks, mounts, seccomp deny,
// allow and rules, env pass, network allow) add to it, so an extending
// policy cannot drop the base's protections by accident.
#include "policy/toml.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <optional>
#include <set>
#include <string_view>

#include "base/file.h"
#include "base/hash.h"
#include "policy/builtin_policies.h"
#include "policy/layer.h"
#include "policy/loader.h"
#include "policy/owned_bind.h"
#include "policy_data/parse_util.h"
#include "policy_data/syscall_groups.h"
#include "warden/policy.h"

namespace warden {
namespace policy {

Status ErrLoc(const Loc& loc, std::string message) {
  PolicyError e{loc.file, loc.line, loc.column, std::move(message)};
  return Status::Error(Code::kInvalidArgument, e.ToString());
}

Loc LocOf(const toml::source_region& r, const std::string& file) {
  Loc loc;
  loc.file = r.path && !r.path->empty() ? *r.path : file;
  loc.line = r.begin.line ? static_cast<int>(r.begin.line) : 1;
  loc.column = r.begin.column ? static_cast<int>(r.begin.column) : 1;
  return loc;
}

const char* TypeName(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    default: return "nothing";
  }
}

std::string Join(std::initializer_list<std::string_view> items) {
  std::string out;
  for (std::string_view s : items) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}


Status Layer::CheckKeys(const toml::table& t, const std::string& section,
                        std::initializer_list<std::string_view> allowed) const {
  for (auto&& [k, v] : t) {
    if (std::find(allowed.begin(), allowed.end(), k.str()) == allowed.end()) {
      return ErrLoc(LocOf(k.source(), file_),
                    "unknown key '" + std::string(k.str()) + "' in " + section +
                        "; allowed keys: " + Join(allowed));
    }
  }
  return Status::Ok();
}

Result<const toml::table*> Layer::Table(const toml::node& n, const std::string& what) const {
  const toml::table* t = n.as_table();
  if (!t) return Err(n, what + " must be a table, not " + TypeName(n));
  return t;
}

Result<std::string> Layer::String(const toml::node& n, const std::string& what,
                                  size_t max_bytes) const {
  const toml::value<std::string>* s = n.as_string();
  if (!s) return Err(n, what + " must be a string, not " + TypeName(n));
  const std::string& v = s->get();
  if (v.size() > max_bytes) {
    return Err(n, what + " is longer than " + std::to_string(max_bytes) + " bytes");
  }
  if (v.find('\0') != std::string::npos) return Err(n, what + " contains a NUL byte");
  return v;
}

Result<bool> Layer::Bool(const toml::node& n, const std::string& what) const {
  const toml::value<bool>* b = n.as_boolean();
  if (!b) return Err(n, what + " must be true or false, not " + TypeName(n));
  return b->get();
}

Result<int64_t> Layer::Int(const toml::node& n, const std::string& what, int64_t min,
                           int64_t max) const {
  const toml::value<int64_t>* i = n.as_integer();
  if (!i) return Err(n, what + " must be an integer, not " + TypeName(n));
  int64_t v = i->get();
  if (v < min || v > max) {
    return Err(n, what + " must be between " + std::to_string(min) + " and " +
                      std::to_string(max) + ", not " + std::to_string(v));
  }
  return v;
}

Result<int> Layer::Errno(const toml::node& n, const std::string& what) const {
  if (const toml::value<std::string>* s = n.as_string()) {
    for (int e = 1; e < 4096; ++e) {
      const char* name = strerrorname_np(e);
      if (name && s->get() == name) return e;
    }
    return Err(n, what + " \"" + s->get().substr(0, 32) + "\" is not an errno name like \"EPERM\" or \"ENOSYS\"");
  }
  WARDEN_ASSIGN_OR_RETURN(int64_t e, Int(n, what, 1, 4095));
  return static_cast<int>(e);
}

Result<uint64_t> Layer::Size(const toml::node& n, const std::string& what,
                             bool unlimited_ok) const {
  const std::string allowed = std::string("a size in bytes (integer) or a string like \"64M\" or \"1G\"") +
                              (unlimited_ok ? ", or \"unlimited\"" : "");
  if (const toml::value<int64_t>* i = n.as_integer()) {
    if (i->get() < 0) return Err(n, what + " must not be negative; use " + allowed);
    if (static_cast<uint64_t>(i->get()) > kMaxSizeBytes) return Err(n, what + " is larger than 1P");
    return static_cast<uint64_t>(i->get());
  }
  if (const toml::value<std::string>* s = n.as_string()) {
    if (unlimited_ok && s->get() == "unlimited") return ~0ull;
    Result<uint64_t> parsed = ParseSize(s->get());
    if (!parsed.ok()) return Err(n, what + ": " + parsed.status().message());
    return parsed.value();
  }
  return Err(n, what + " must be " + allowed + ", not " + TypeName(n));
}

Result<uint64_t> Layer::DurationMs(const toml::node& n, const std::string& what) const {
  const char* allowed = "a duration string like \"500ms\", \"30s\", \"5m\", \"1h\" or an integer number of seconds";
  if (const toml::value<int64_t>* i = n.as_integer()) {
    if (i->get() < 0 || static_cast<uint64_t>(i->get()) > kMaxDurationMs / 1000) {
      return Err(n, what + " must be between 0 and 366 days");
    }
    return static_cast<uint64_t>(i->get()) * 1000;
  }
  if (const toml::value<std::string>* s = n.as_string()) {
    Result<uint64_t> parsed = ParseDurationMs(s->get());
    if (!parsed.ok()) return Err(n, what + ": " + parsed.status().message());
    return parsed.value();
  }
  return Err(n, what + " must be " + allowed + ", not " + TypeName(n));
}

Result<std::string> Layer::Path(const toml::node& n, const std::string& what) const {
  WARDEN_ASSIGN_OR_RETURN(std::string s, String(n, what, kMaxPathBytes + 1));
  std::string problem = PathProblem(s);
  if (!problem.empty()) return Err(n, what + " \"" + s.substr(0, 128) + "\": " + problem);
  return s;
}

Result<std::vector<std::string>> Layer::StringList(const toml::node& n, const std::string& what,
                                                   size_t max_items, size_t max_bytes) const {
  const toml::array* a = n.as_array();
  if (!a) return Err(n, what + " must be an array of strings, not " + TypeName(n));
  if (a->size() > max_items) {
    return Err(n, what + " has " + std::to_string(a->size()) + " entries; at most " +
                      std::to_string(max_items) + " are allowed");
  }
  std::vector<std::string> out;
  for (const toml::node& e : *a) {
    WARDEN_ASSIGN_OR_RETURN(std::string s, String(e, what + " entry", max_bytes));
    out.push_back(std::move(s));
  }
  return out;
}

Result<uint64_t> Layer::ArgValue(const toml::node& n, const std::string& what) const {
  if (const toml::value<int64_t>* i = n.as_integer()) {
    // Negative values are the two's complement a C caller would pass, e.g.
    // AT_FDCWD (-100).
    return static_cast<uint64_t>(i->get());
  }
  if (const toml::value<std::string>* s = n.as_string()) {
    const std::string& v = s->get();
    if (v.size() > 2 && v.size() <= 18 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
      uint64_t out = 0;
      bool ok = true;
      for (size_t i = 2; i < v.size() && ok; ++i) {
        int d = std::isxdigit(static_cast<unsigned char>(v[i]))
                    ? (std::isdigit(static_cast<unsigned char>(v[i])) ? v[i] - '0'
                                                                      : (std::tolower(v[i]) - 'a' + 10))
                    : -1;
        if (d < 0) ok = false;
        out = (out << 4) | static_cast<uint64_t>(d < 0 ? 0 : d);
      }
      if (ok) return out;
    }
    return Err(n, what + ": bad number \"" + v.substr(0, 32) +
                      "\"; use an integer or a hex string like \"0xffffffffffffffff\"");
  }
  return Err(n, what + " must be an integer or a hex string, not " + TypeName(n));
}

Status Layer::Apply(const toml::table& root, int depth) {
  WARDEN_RETURN_IF_ERROR(CheckKeys(
      root, "the top level",
      {"extends", "interpreter", "match", "namespaces", "filesystem", "identity", "env",
       "limits", "rlimits", "cgroup", "seccomp", "network"}));
  const toml::node* ext = root.get("extends");
  if (ext) WARDEN_RETURN_IF_ERROR(Extends(*ext, depth));
  if (const toml::node* n = root.get("interpreter")) WARDEN_RETURN_IF_ERROR(Interpreter(*n));
  if (const toml::node* n = root.get("match")) WARDEN_RETURN_IF_ERROR(Match(*n));
  if (const toml::node* n = root.get("namespaces")) WARDEN_RETURN_IF_ERROR(Namespaces(*n));
  if (const toml::node* n = root.get("filesystem")) WARDEN_RETURN_IF_ERROR(Filesystem(*n));
  if (const toml::node* n = root.get("identity")) WARDEN_RETURN_IF_ERROR(Identity(*n));
  if (const toml::node* n = root.get("env")) WARDEN_RETURN_IF_ERROR(Env(*n));
  if (const toml::node* n = root.get("limits")) WARDEN_RETURN_IF_ERROR(Limits(*n));
  if (const toml::node* n = root.get("rlimits")) WARDEN_RETURN_IF_ERROR(Rlimits(*n));
  if (const toml::node* n = root.get("cgroup")) WARDEN_RETURN_IF_ERROR(Cgroup(*n));
  if (const toml::node* n = root.get("seccomp")) WARDEN_RETURN_IF_ERROR(Seccomp(*n));
  if (const toml::node* n = root.get("network")) WARDEN_RETURN_IF_ERROR(Network(*n));
  // Required, so that a hand-written policy never ends up without the
  // default protections because a line was forgotten. Checked last so that
  // more specific errors in the file are reported first.
  if (!ext) {
    return ErrLoc({file_, 1, 1},
                  "missing extends: write extends = \"default\" to build on the default "
                  "policy, or extends = \"none\" to start from built-in values (which deny "
                  "no syscalls)");
  }
  return Status::Ok();
}

Status Layer::Extends(const toml::node& n, int depth) {
  WARDEN_ASSIGN_OR_RETURN(std::string name, String(n, "extends", 64));
  if (!IsValidPolicyName(name)) {
    return Err(n, "extends = \"" + name +
                      "\": must name a shipped policy ([a-z0-9_-], e.g. \"default\") or be \"none\"");
  }
  if (name == "none") return Status::Ok();
  if (depth + 1 > kMaxExtendsDepth) {
    return Err(n, "extends nests more than " + std::to_string(kMaxExtendsDepth) +
                      " levels (is there a cycle?)");
  }
  // The policy directory's file, else the built-in policy of that name.
  Result<ShippedPolicyText> shipped = ReadShippedPolicy(st_.policy_dir, name);
  if (!shipped.ok()) {
    return Err(n, "extends = \"" + name + "\": " + shipped.status().ToString() +
                      " (set the policy directory, WARDEN_POLICY_DIR for warden, to the "
                      "directory of shipped policies)");
  }
  const std::string& path = shipped->path;
  st_.deps.push_back({path, base::Sha256(shipped->text)});
  WARDEN_ASSIGN_OR_RETURN(toml::table base_root, ParseToml(shipped->text, path));
  Layer base(&st_, path);
  return base.Apply(base_root, depth + 1);
}

Status Layer::Interpreter(const toml::node& n) {
  WARDEN_ASSIGN_OR_RETURN(std::vector<std::string> argv,
                          StringList(n, "interpreter", kMaxInterpreterArgs, kMaxPathBytes));
  if (!argv.empty()) {
    std::string problem = PathProblem(argv[0]);
    if (!problem.empty()) return Err(n, "interpreter[0] \"" + argv[0].substr(0, 128) + "\": " + problem);
  }
  st_.p.interpreter = std::move(argv);
  return Status::Ok();
}

Status Layer::Match(const toml::node& n) {
  WARDEN_ASSIGN_OR_RETURN(const toml::table* t, Table(n, "[match]"));
  WARDEN_RETURN_IF_ERROR(CheckKeys(*t, "[match]", {"suffixes", "interpreters"}));
  if (const toml::node* s = t->get("suffixes")) {
    WARDEN_ASSIGN_OR_RETURN(std::vector<std::string> v,
                            StringList(*s, "match.suffixes", kMaxMatchItems, 32));
    for (const std::string& suffix : v) {
      bool ok = suffix.size() >= 2 && suffix[0] == '.' &&
                std::all_of(suffix.begin() + 1, suffix.end(), [](char c) {
                  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
                });
      if (!ok) return Err(*s, "match.suffixes entry \"" + suffix + "\" must look like \".py\"");
    }
    st_.p.match_suffixes = std::move(v);
  }
  if (const toml::node* s = t->get("interpreters")) {
    WARDEN_ASSIGN_OR_RETURN(std::vector<std::string> v,
                            StringList(*s, "match.interpreters", kMaxMatchItems, 64));
    for (const std::string& name : v) {
      bool ok = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' || c == '+';
      });
      if (!ok) {
        return Err(*s, "match.interpreters entry \"" + name +
                           "\" must be a program name like \"python3\" (no '/')");
      }
    }
    st_.p.match_interpreters = std::move(v);
  }
  return Status::Ok();
}

Status Layer::Namespaces(const toml::node& n) {
  WARDEN_ASSIGN_OR_RETURN(const toml::table* t, Table(n, "[namespaces]"));
  WARDEN_RETURN_IF_ERROR(CheckKeys(*t, "[namespaces]", {"user"}));
  if (const toml::node* v = t->get("user")) {
    WARDEN_ASSIGN_OR_RETURN(st_.p.user_namespace, Bool(*v, "namespaces.user"));
  }
  return Status::Ok();
}

Status Layer::Filesystem(const toml::node& n) {
  WARDEN_ASSIGN_OR_RETURN(const toml::table* t, Table(n, "[filesystem]"));
  WARDEN_RETURN_IF_ERROR(CheckKeys(
      *t, "[filesystem]", {"rootfs", "view", "mask", "mount", "tmp_size", "shm_size", "cwd"}));
  Policy& p = st_.p;
  // One of the two roots: naming either replaces what a base policy chose.
  const toml::node* view = t->get("view");
  if (const toml::node* v = t->get("rootfs")) {
    if (view) return Err(*view, "filesystem.view and filesystem.rootfs exclude each other; keep one");
    WARDEN_ASSIGN_OR_RETURN(p.rootfs, Path(*v, "filesystem.rootfs"));
    p.view.clear();
  }
  if (view) {
    WARDEN_ASSIGN_OR_RETURN(std::vector<std::string> paths,
                            StringList(*view, "filesystem.view", kMaxMounts, kMaxPathBytes + 1));
    p.view.clear();
    for (const std::string& m : paths) {
      std::string problem = PathProblem(m);
      if (!problem.empty()) return Err(*view, "filesystem.view entry \"" + m.substr(0, 128) + "\": " + problem);
      if (m == "/") return Err(*view, "filesystem.view must not show \"/\" (that is rootfs = \"/\")");
      if (std::find(p.view.begin(), p.view.end(), m) == p.view.end()) p.view.push_back(m);
    }
    p.rootfs.clear();
  }
  if (const toml::node* v = t->get("cwd")) {
    WARDEN_ASSIGN_OR_RETURN(p.cwd, Path(*v, "filesystem.cwd"));
  }
  if (const toml::node* v = t->get("tmp_size")) {
    WARDEN_ASSIGN_OR_RETURN(p.tmp_size_bytes, Size(*v, "filesystem.tmp_size", false));
    if (std::string problem = TmpfsSizeProblem(p.tmp_size_bytes); !problem.empty()) {
      return Err(*v, "filesystem.tmp_size " + problem);
    }
  }
  if (const toml::node* v = t->get("shm_size")) {
    WARDEN_ASSIGN_OR_RETURN(p.shm_size_bytes, Size(*v, "filesystem.shm_size", false));
    if (std::string problem = TmpfsSizeProblem(p.shm_size_bytes); !problem.empty()) {
      return Err(*v, "filesystem.shm_size " + problem);
    }
  }
  if (const toml::node* v = t->get("mask")) {
    WARDEN_ASSIGN_OR_RETURN(std::vector<std::string> masks,
                            StringList(*v, "filesystem.mask", kMaxMounts, kMaxPathBytes + 1));
    for (const std::string& m : masks) {
      std::string problem = PathProblem(m);
      if (!problem.empty()) return Err(*v, "filesystem.mask entry \"" + m.substr(0, 128) + "\": " + problem);
      if (m == "/") return Err(*v, "filesystem.mask must not mask \"/\"");
      if (std::find(p.mask.begin(), p.mask.end(), m) == p.mask.end()) p.mask.push_back(m);
    }
    if (p.mask.size() > kMaxMounts) {
      return Err(*v, "filesystem.mask: more than " + std::to_string(kMaxMounts) +
                         " masks in all (including extended policies)");
    }
  }
  if (const toml::node* v = t->get("mount")) {
    const toml::array* a = v->as_array();
    if (!a) {
      return Err(*v, "filesystem.mount must be an array of tables ([[filesystem.mount]]), not " +
                         std::string(TypeName(*v)));
    }
    for (const toml::node& m : *a) WARDEN_RETURN_IF_ERROR(Mount(m));
  }
  return Status::Ok();
}

Status Layer::Mount(const toml::node& n) {
  WARDEN_ASSIGN_OR_RETURN(const toml::table* t, Table(n, "[[filesystem.mount]] entry"));
  WARDEN_RETURN_IF_ERROR(CheckKeys(
      *t, "[[filesystem.mount]]",
      {"type", "source", "destination", "writable", "optional", "size", "owned"}));
  if (st_.p.mounts.size() >= kMaxMounts) {
    return Err(n, "more than " + std::to_string(kMaxMounts) +
                      " [[filesystem.mount]] entries (including extended policies)");
  }
  MountSpec m;
  if (const toml::node* v = t->get("type")) {
    WARDEN_ASSIGN_OR_RETURN(std::string type, String(*v, "mount type", 16));
    if (type == "bind") m.kind = MountSpec::Kind::kBind;
    else if (type == "tmpfs") m.kind = MountSpec::Kind::kTmpfs;
    else return Err(*v, "mount type \"" + type + "\" is not \"bind\" or \"tmpfs\"");
  }
  const toml::node* dest = t->get("destination");
  if (!dest) return Err(n, "[[filesystem.mount]] needs destination = \"/path/in/sandbox\"");
  WARDEN_ASSIGN_OR_RETURN(m.destination, String(*dest, "mount destination", kMaxPathBytes + 1));
  const toml::node* src = t->get("source");
  if (m.kind == MountSpec::Kind::kBind) {
    if (!src) return Err(n, "a bind mount needs source = \"/host/path\"");
    WARDEN_ASSIGN_OR_RETURN(m.source, String(*src, "mount source", kMaxPathBytes + 1));
    if (const toml::node* s = t->get("size")) return Err(*s, "size is only allowed for type = \"tmpfs\"");
  } else {
    if (src) return Err(*src, "a tmpfs mount takes no source");
    if (const toml::node* s = t->get("size")) {
      WARDEN_ASSIGN_OR_RETURN(m.size_bytes, Size(*s, "tmpfs size", false));
    }
  }
  // The same rule as --bind and --ro-bind (MountProblem), located at the
  // key it is about.
  if (std::string problem = MountProblem(m); !problem.empty()) {
    const bool about_source = problem.rfind("source", 0) == 0;
    return Err(about_source ? *src : *dest, "mount " + problem);
  }
  if (const toml::node* v = t->get("writable")) {
    WARDEN_ASSIGN_OR_RETURN(m.writable, Bool(*v, "mount writable"));
  }
  if (const toml::node* v = t->get("optional")) {
    WARDEN_ASSIGN_OR_RETURN(m.optional, Bool(*v, "mount optional"));
  }
  if (const toml::node* v = t->get("owned")) {
    if (m.kind != MountSpec::Kind::kBind) return Err(*v, "owned is only allowed for type = \"bind\"");
    WARDEN_ASSIGN_OR_RETURN(m.owned, Bool(*v, "mount owned"));
    // An owned bind is there to be written: it is writable by definition.
    if (m.owned) m.writable = true;
  }
  st_.p.mounts.push_back(std::move(m));
  return Status::Ok();
}

Status Layer::Identity(const toml::node& n) {
  WARDEN_ASSIGN_OR_RETURN(const toml::table* t, Table(n, "[identity]"));
  WARDEN_RETURN_IF_ERROR(
      CheckKeys(*t, "[identity]", {"uid", "gid", "hostname", "allow_uids", "allow_gids"}));
  if (const toml::node* v = t->get("uid")) {
    WARDEN_ASSIGN_OR_RETURN(int64_t uid, Int(*v, "identity.uid", 0, kMaxId));
    st_.p.uid = static_cast<uint32_t>(uid);
    st_.uid_loc = At(*v);
  }
  if (const toml::node* v = t->get("gid")) {
    WARDEN_ASSIGN_OR_RETURN(int64_t gid, Int(*v, "identity.gid", 0, kMaxId));
    st_.p.gid = static_cast<uint32_t>(gid);
    st_.gid_loc = At(*v);
  }
  // The ids `warden run --uid/--gid` may choose. A layer's list replaces
  // its base's, so an extending policy can narrow it (allow_uids = []).
  for (const char* key : {"allow_uids", "allow_gids"}) {
    const toml::node* v = t->get(key);
    if (!v) continue;
    const std::string what = std::string("identity.") + key;
    const toml::array* a = v->as_array();
    if (!a) {
      return Err(*v, what + " must be an array of ids or ranges like [\"1000-1999\", 65534], not " +
                         TypeName(*v));
    }
    if (a->size() > kMaxIdRanges) {
      return Err(*v, what + " has " + std::to_string(a->size()) + " entries; at most " +
                         std::to_string(kMaxIdRanges) + " are allowed");
    }
    std::vector<IdRange> ranges;
    for (const toml::node& e : *a) {
      IdRange r;
      if (e.as_integer()) {
        WARDEN_ASSIGN_OR_RETURN(int64_t id, Int(e, what + " entry", 0, kMaxId));
        r.first = r.last = static_cast<uint32_t>(id);
      } else {
        WARDEN_ASSIGN_OR_RETURN(std::string text, String(e, what + " entry", 32));
        Result<IdRange> parsed = ParseIdRange(text);
        if (!parsed.ok()) return Err(e, what + " entry: " + parsed.status().message());
        r = parsed.value();
      }
      ranges.push_back(r);
    }
    (std::string_view(key) == "allow_uids" ? st_.p.allow_uids : st_.p.allow_gids) = std::move(ranges);
    (std::string_view(key) == "allow_uids" ? st_.allow_uids_loc : st_.allow_gids_loc) = At(*v);
  }
  if (const toml::node* v = t->get("hostname")) {
    WARDEN_ASSIGN_OR_RETURN(std::string h, String(*v, "identity.hostname", 64));
    if (std::string problem = HostnameProblem(h); !problem.empty()) {
      return Err(*v, "identity.hostname \"" + h + "\" " + problem);
    }
    st_.p.hostname = h;
  }
  return Status::Ok();
}

Status Layer::Env(const toml::node& n) {
  WARDEN_ASSIGN_OR_RETURN(const toml::table* t, Table(n, "[env]"));
  WARDEN_RETURN_IF_ERROR(CheckKeys(*t, "[env]", {"set", "pass", "path"}));
  Policy& p = st_.p;
  if (const toml::node* v = t->get("path")) {
    WARDEN_ASSIGN_OR_RETURN(p.path, String(*v, "env.path", kMaxPathBytes));
    if (p.path.empty() || p.path[0] != '/') {
      return Err(*v, "env.path must be a ':'-separated list of absolute directories");
    }
  }
  if (const toml::node* v = t->get("set")) {
    WARDEN_ASSIGN_OR_RETURN(const toml::table* set, Table(*v, "env.set"));
    for (auto&& [k, val] : *set) {
      std::string name(k.str());
      Loc kloc = LocOf(k.source(), file_);
      if (!IsValidEnvName(name)) {
        return ErrLoc(kloc, "env.set: \"" + name.substr(0, 64) +
                                "\" is not a valid variable name ([A-Za-z_][A-Za-z0-9_]*)");
      }
      if (name == "PATH") return ErrLoc(kloc, "env.set: set PATH with env.path");
      WARDEN_ASSIGN_OR_RETURN(std::string value, String(val, "env.set." + name, kMaxEnvValueBytes));
      p.env[name] = std::move(value);
      if (p.env.size() + p.env_pass.size() > kMaxEnv) {
        return ErrLoc(kloc, "more than " + std::to_string(kMaxEnv) + " environment variables");
      }
    }
  }
  if (const toml::node* v = t->get("pass")) {
    WARDEN_ASSIGN_OR_RETURN(std::vector<std::string> names, StringList(*v, "env.pass", kMaxEnv, 255));
    for (const std::string& name : names) {
      if (!IsValidEnvName(name)) {
        return Err(*v, "env.pass: \"" + name + "\" is not a valid variable name ([A-Za-z_][A-Za-z0-9_]*)");
      }
      if (name == "PATH") return Err(*v, "env.pass: PATH is always set from env.path");
      if (std::find(p.env_pass.begin(), p.env_pass.end(), name) == p.env_pass.end()) {
        p.env_pass.push_back(name);
      }
    }
    if (p.env.size() + p.env_pass.size() > kMaxEnv) {
      return Err(*v, "more than " + std::to_string(kMaxEnv) + " environment variables");
    }
  }
  return Status::Ok();
}

Status Layer::Limits(const toml::node& n) {
  WARDEN_ASSIGN_OR_RETURN(const toml::table* t, Table(n, "[limits]"));
  WARDEN_RETURN_IF_ERROR(
      CheckKeys(*t, "[limits]", {"wall_time", "cpu_time", "kill_grace", "output_max"}));
  Policy& p = st_.p;
  if (const toml::node* v = t->get("wall_time")) {
    WARDEN_ASSIGN_OR_RETURN(p.wall_time_ms, DurationMs(*v, "limits.wall_time"));
  }
  if (const toml::node* v = t->get("cpu_time")) {
    WARDEN_ASSIGN_OR_RETURN(p.cpu_time_ms, DurationMs(*v, "limits.cpu_time"));
  }
  if (const toml::node* v = t->get("kill_grace")) {
    WARDEN_ASSIGN_OR_RETURN(p.kill_grace_ms, DurationMs(*v, "limits.kill_grace"));
    if (p.kill_grace_ms > 3600 * 1000) return Err(*v, "limits.kill_grace must be at most 1h");
  }
  if (const toml::node* v = t->get("output_max")) {
    WARDEN_ASSIGN_OR_RETURN(p.output_max_bytes, Size(*v, "limits.output_max", false));
  }
  return Status::Ok();
}

Status Layer::Rlimits(const toml::node& n) {
  WARDEN_ASSIGN_OR_RETURN(const toml::table* t, Table(n, "[rlimits]"));
  WARDEN_RETURN_IF_ERROR(CheckKeys(*t, "[rlimits]", {"nofile", "nproc", "fsize", "stack", "core"}));
  RlimitSpec& r = st_.p.rlimits;
  if (const toml::node* v = t->get("nofile")) {
    // The kernel's default fs.nr_open is 1048576; more would fail at setrlimit.
    WARDEN_ASSIGN_OR_RETURN(int64_t x, Int(*v, "rlimits.nofile", 3, 1 << 20));
    r.nofile = static_cast<uint64_t>(x);
  }
  if (const toml::node* v = t->get("nproc")) {
    WARDEN_ASSIGN_OR_RETURN(int64_t x, Int(*v, "rlimits.nproc", 1, 4194304));
    r.nproc = static_cast<uint64_t>(x);
  }
  if (const toml::node* v = t->get("fsize")) {
    WARDEN_ASSIGN_OR_RETURN(r.fsize_bytes, Size(*v, "rlimits.fsize", true));
  }
  if (const toml::node* v = t->get("stack")) {
    WARDEN_ASSIGN_OR_RETURN(r.stack_bytes, Size(*v, "rlimits.stack", true));
    if (r.stack_bytes < (128u << 10)) return Err(*v, "rlimits.stack must be at least 128K");
  }
  if (const toml::node* v = t->get("core")) {
    WARDEN_ASSIGN_OR_RETURN(r.core_bytes, Size(*v, "rlimits.core", true));
  }
  return Status::Ok();
}

namespace {

// Checks that need every layer: defaults that depend on other keys, and
// combinations of keys.
Status Finish(State& st, Policy* out) {
  Policy& p = st.p;
  if (!p.user_namespace) {
    if (p.uid == 0) return ErrLoc(st.uid_loc, "identity.uid 0 is not allowed: jobs never run as host root (set namespaces.user = true for root inside a user namespace)");
    if (p.gid == 0) return ErrLoc(st.gid_loc, "identity.gid 0 is not allowed: jobs never run as host root (set namespaces.user = true for root inside a user namespace)");
    if (IdInRanges(p.allow_uids, 0)) return ErrLoc(st.allow_uids_loc, "identity.allow_uids must not include 0: jobs never run as host root (set namespaces.user = true for root inside a user namespace)");
    if (IdInRanges(p.allow_gids, 0)) return ErrLoc(st.allow_gids_loc, "identity.allow_gids must not include 0: jobs never run as host root (set namespaces.user = true for root inside a user namespace)");
  }
  WARDEN_ASSIGN_OR_RETURN(ExpandedSyscalls expanded, ExpandDenyAllow(st.deny, st.allow));
  p.seccomp.deny.assign(expanded.deny.begin(), expanded.deny.end());
  p.seccomp.allow.assign(expanded.allow.begin(), expanded.allow.end());

  // The final action decides: a layer's errno means nothing under "kill"
  // or "log" set by a later one.
  if (p.seccomp.deny_action != SeccompAction::kErrno) p.seccomp.deny_errno = 1;
  std::set<std::string> other_rule_syscalls;
  for (size_t i = 0; i < p.seccomp.rules.size(); ++i) {
    SyscallRule& r = p.seccomp.rules[i];
    if (!st.rules[i].action_explicit) {
      r.action = p.seccomp.deny_action;
      r.errno_value = p.seccomp.deny_errno;
    }
    if (r.action != SeccompAction::kErrno) r.errno_value = 1;
    if (r.action == SeccompAction::kAllow) continue;
    if (expanded.deny.count(r.syscall)) {
      return ErrLoc(st.rules[i].loc, "rule for \"" + r.syscall +
                                         "\" has no effect: seccomp.deny already denies it outright; add it to seccomp.allow to keep only the rule");
    }
    other_rule_syscalls.insert(r.syscall);
  }
  for (size_t i = 0; i < p.seccomp.rules.size(); ++i) {
    const SyscallRule& r = p.seccomp.rules[i];
    if (r.action == SeccompAction::kAllow && other_rule_syscalls.count(r.syscall)) {
      return ErrLoc(st.rules[i].loc, "\"" + r.syscall +
                                         "\" has both allow rules and deny rules; use one kind per syscall");
    }
  }
  // Last, on the final seccomp spec: an owned bind keeps set-uid and
  // set-gid bits out of its owner's files (policy/owned_bind.h).
  if (HasOwnedBind(p, {})) {
    if (Status owned = AddOwnedBindRules(&p.seccomp); !owned.ok()) {
      return Status::Error(Code::kInvalidArgument, p.source_path + ": " + owned.message());
    }
  }
  *out = std::move(p);
  out->hash = base::Sha256Hex(PolicyToToml(*out));
  return Status::Ok();
}

}  // namespace

bool IsValidPolicyName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

void TomlUnreachable() {
  throw TomlInternalError("the TOML parser refused the input (it reached a state it calls unreachable)");
}

namespace {

// The position of the first byte >= 0x80 outside strings and comments, where
// TOML 1.0 allows none (bare keys and values are ASCII). Guards toml++ 3.3,
// whose whitespace check is undefined for some such characters (see
// policy/toml.h). Only tells strings and comments from the rest; toml++ still
// does the parsing.
std::optional<Loc> NonAsciiOutsideStrings(std::string_view t, const std::string& file) {
  enum class In { kCode, kComment, kBasic, kLiteral, kMultiBasic, kMultiLiteral } in = In::kCode;
  int line = 1, col = 1;
  auto at = [&](size_t i, std::string_view s) { return t.substr(i, s.size()) == s; };
  for (size_t i = 0; i < t.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(t[i]);
    size_t skip = 0;  // bytes after this one that belong to the same token
    switch (in) {
      case In::kCode:
        if (c >= 0x80) return Loc{file, line, col};
        if (c == '#') in = In::kComment;
        else if (at(i, "\"\"\"")) in = In::kMultiBasic, skip = 2;
        else if (at(i, "'''")) in = In::kMultiLiteral, skip = 2;
        else if (c == '"') in = In::kBasic;
        else if (c == '\'') in = In::kLiteral;
        break;
      case In::kComment:
        if (c == '\n') in = In::kCode;
        break;
      case In::kBasic:
        if (c == '\\' && i + 1 < t.size() && t[i + 1] != '\n') skip = 1;
        else if (c == '"' || c == '\n') in = In::kCode;
        break;
      case In::kLiteral:
        if (c == '\'' || c == '\n') in = In::kCode;
        break;
      case In::kMultiBasic:
        if (c == '\\' && i + 1 < t.size() && t[i + 1] != '\n') skip = 1;
        else if (at(i, "\"\"\"")) in = In::kCode, skip = 2;
        break;
      case In::kMultiLiteral:
        if (at(i, "'''")) in = In::kCode, skip = 2;
        break;
    }
    for (size_t k = 0; k <= skip && i + k < t.size(); ++k) {
      if (t[i + k] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    i += skip;
  }
  return std::nullopt;
}

}  // namespace

Status PolicyTooLarge(const std::string& file) {
  return ErrLoc({file, 1, 1}, "policy is larger than " + std::to_string(kMaxPolicyBytes) + " bytes");
}

Result<toml::table> ParseToml(const std::string& text, const std::string& file) {
  if (text.size() > kMaxPolicyBytes) return PolicyTooLarge(file);
  if (std::optional<Loc> bad = NonAsciiOutsideStrings(text, file)) {
    return ErrLoc(*bad, "TOML syntax: a non-ASCII character outside a string or comment (keys "
                        "and values other than strings are ASCII)");
  }
  try {
    return toml::parse(text, file);
  } catch (const toml::parse_error& e) {
    Loc loc = LocOf(e.source(), file);
    return ErrLoc(loc, "TOML syntax: " + std::string(e.description()));
  } catch (const TomlInternalError& e) {
    return ErrLoc({file, 1, 1}, std::string("TOML syntax: ") + e.what());
  } catch (const std::exception& e) {
    return ErrLoc({file, 1, 1}, std::string("cannot parse: ") + e.what());
  }
}

Result<Policy> LoadFromText(const std::string& text, const std::string& file,
                            const std::string& name, const std::string& policy_dir,
                            std::vector<Dependency>* deps) {
  WARDEN_ASSIGN_OR_RETURN(toml::table root, ParseToml(text, file));
  State st;
  st.policy_dir = policy_dir;
  st.p.mask = {"/root", "/home", "/var/lib/warden", "/run", "/var/run", "/var/tmp"};
  st.uid_loc = st.gid_loc = st.allow_uids_loc = st.allow_gids_loc = Loc{file, 1, 1};
  Layer layer(&st, file);
  WARDEN_RETURN_IF_ERROR(layer.Apply(root, 0));
  Policy out;
  WARDEN_RETURN_IF_ERROR(Finish(st, &out));
  out.name = name;
  if (deps) *deps = std::move(st.deps);
  return out;
}

}  // namespace policy

std::string PolicyError::ToString() const {
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

}  // namespace warden
