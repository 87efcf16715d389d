#include "store/atomic.h"

namespace warden::store {
namespace {

// What both CommitFile flavours accept: a valid name and at most
// kMaxCommitBytes of data.
Status CheckCommit(const std::string& name, const std::string& data) {
  WARDEN_RETURN_IF_ERROR(ValidateName(name));
  if (data.size() > kMaxCommitBytes) {
    return Status::Error(Code::kResourceExhausted, "store: commit of " + std::to_string(data.size()) +
                                                       " bytes exceeds " + std::to_string(kMaxCommitBytes));
  }
  return Status::Ok();
}

}  // namespace

Status ValidateName(const std::string& name) {
  if (name.empty() || name.size() > 200 || name.find('/') != std::string::npos || name == "." ||
      name == ".." || name.find('\0') != std::string::npos || io::IsTempName(name)) {
    return Status::Error(Code::kInvalidArgument, "store: bad file name \"" + name.substr(0, 200) + "\"");
  }
  return Status::Ok();
}

void CommitFile(io::Loop* loop, io::Env* env, const std::string& dir, const std::string& name,
                std::string data, io::StatusCallback cb) {
  Status st = CheckCommit(name, data);
  if (!st.ok()) {
    loop->Post([cb = std::move(cb), st = std::move(st)]() mutable { cb(std::move(st)); });
    return;
  }
  env->CommitFile(*loop, dir, name, std::move(data), std::move(cb));
}

Status CommitFileSync(io::Env* env, const std::string& dir, const std::string& name,
                      const std::string& data) {
  WARDEN_RETURN_IF_ERROR(CheckCommit(name, data));
  return env->CommitFileSync(dir, name, data);
}

Result<size_t> RemoveStaleTemps(io::Env* env, const std::string& dir) {
  WARDEN_ASSIGN_OR_RETURN(auto names, env->ListDir(dir));
  size_t removed = 0;
  for (const std::string& name : names) {
    if (!io::IsTempName(name)) continue;
    WARDEN_RETURN_IF_ERROR(env->Remove(dir + "/" + name));
    ++removed;
  }
  if (removed > 0) WARDEN_RETURN_IF_ERROR(env->SyncDir(dir));
  return removed;
}

}  // namespace warden::store
