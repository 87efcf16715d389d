#include "store/store.h"

#include <map>
#include <set>

#include "base/fault.h"
#include "store/atomic.h"
#include "wal/format.h"

namespace warden::store {

Result<std::unique_ptr<Store>> Store::Open(
    io::Loop* loop, io::Env* env, const std::string& root, const wal::WalOptions& wal_options,
    std::function<Status(uint64_t, const wal::Payload&)> on_blob) {
  std::unique_ptr<Store> store(new Store(env, root));
  // Durable before the WAL directory inside it is made durable in it.
  WARDEN_RETURN_IF_ERROR(env->CreateDirDurable(root));
  std::map<uint64_t, wal::CommitIntent> open_intents;
  wal::ReplayHandler handler;
  handler.on_record = [&](uint64_t seq, const wal::Payload& p) -> Status {
    switch (p.body_case()) {
      case wal::Payload::kIntent: open_intents[p.intent().txn_id()] = p.intent(); break;
      case wal::Payload::kDone: open_intents.erase(p.done().txn_id()); break;
      default:
        if (on_blob) return on_blob(seq, p);
    }
    return Status::Ok();
  };
  WARDEN_ASSIGN_OR_RETURN(store->wal_, wal::Wal::Open(loop, env, root + "/wal", wal_options, handler));
  // Forward first: the temps of a committed intent must not be swept as stale.
  for (const auto& [id, intent] : open_intents) {
    WARDEN_RETURN_IF_ERROR(store->RollForward(intent).Wrap("store \"" + root + "\": roll forward commit " +
                                                           std::to_string(id)));
    ++store->info_.rolled_forward;
  }
  WARDEN_ASSIGN_OR_RETURN(store->info_.stale_temps_removed, RemoveStaleTemps(env, root));
  return store;
}

Status Store::RollForward(const wal::CommitIntent& intent) {
  for (const auto& f : intent.files()) {
    const std::string tmp = root_ + "/" + f.temp_name();
    const std::string fin = root_ + "/" + f.final_name();
    auto matches = [&](const std::string& path) {
      auto data = env_->ReadFileToString(path, kMaxCommitBytes);
      return data.ok() && data.value().size() == f.size() &&
             wal::Crc32c(data.value().data(), data.value().size()) == f.crc32c();
    };
    if (env_->Exists(tmp)) {
      if (!matches(tmp)) {
        return Status::Error(Code::kCorruption, "temp \"" + tmp + "\" does not match its intent");
      }
      WARDEN_RETURN_IF_ERROR(env_->Rename(tmp, fin));
    } else if (!matches(fin)) {
      return Status::Error(Code::kCorruption,
                           "neither temp nor final \"" + fin + "\" holds the committed content");
    }
  }
  WARDEN_RETURN_IF_ERROR(env_->SyncDir(root_));
  wal::Payload done;
  done.mutable_done()->set_txn_id(intent.txn_id());
  return wal_->AppendAndWait(done).take_status();
}

Status Store::Refused() const {
  return Status::Error(Code::kFailedPrecondition,
                       "store \"" + root_ + "\": an earlier commit failed after its commit point (" +
                           broken_.ToString() + "); reopen the store to finish it");
}

Status Store::CommitFiles(const std::vector<std::pair<std::string, std::string>>& files) {
  if (!broken_.ok()) return Refused();
  if (files.empty() || files.size() > kMaxFilesPerCommit) {
    return Status::Error(Code::kInvalidArgument, "store: a commit takes 1 .. " +
                                                     std::to_string(kMaxFilesPerCommit) + " files");
  }
  std::set<std::string> names;
  for (const auto& [name, data] : files) {
    WARDEN_RETURN_IF_ERROR(ValidateName(name));
    if (!names.insert(name).second) {
      return Status::Error(Code::kInvalidArgument, "store: \"" + name + "\" twice in one commit");
    }
    if (data.size() > kMaxCommitBytes) {
      return Status::Error(Code::kResourceExhausted, "store: \"" + name + "\" too large");
    }
  }
  wal::Payload payload;
  wal::CommitIntent* intent = payload.mutable_intent();
  intent->set_txn_id(wal_->last_acked_seq() + 1);
  std::vector<std::string> temps;
  Status st = [&]() -> Status {
    for (const auto& [name, data] : files) {
      std::string tmp = io::TempNameFor(name);
      temps.push_back(tmp);
      WARDEN_ASSIGN_OR_RETURN(auto file, env_->Open(root_ + "/" + tmp,
                                                    io::kOpenWrite | io::kOpenCreate | io::kOpenExclusive));
      WARDEN_RETURN_IF_ERROR(env_->Write(*file, data.data(), data.size(), 0));
      WARDEN_RETURN_IF_ERROR(env_->Sync(*file, true));
      wal::IntentFile* f = intent->add_files();
      f->set_temp_name(tmp);
      f->set_final_name(name);
      f->set_size(data.size());
      f->set_crc32c(wal::Crc32c(data.data(), data.size()));
    }
    // The temps must exist durably before an intent can point at them.
    return env_->SyncDir(root_);
  }();
  if (!st.ok()) {
    for (const auto& tmp : temps) (void)env_->Remove(root_ + "/" + tmp);
    return st.Wrap("store: commit");
  }
  WARDEN_CRASH_POINT("txn.after_temps");
  Status applied = ApplyIntent(payload);
  if (!applied.ok()) broken_ = applied;
  return applied;
}

Status Store::ApplyIntent(const wal::Payload& payload) {
  // A failed append may still have put the intent on disk: from here on
  // every error leaves the commit to the next Open.
  WARDEN_RETURN_IF_ERROR(
      wal_->AppendAndWait(payload).take_status().Wrap("store: commit intent (reopen the store)"));
  WARDEN_CRASH_POINT("txn.after_intent");
  const wal::CommitIntent& intent = payload.intent();
  for (const auto& f : intent.files()) {
    WARDEN_RETURN_IF_ERROR(env_->Rename(root_ + "/" + f.temp_name(), root_ + "/" + f.final_name())
                               .Wrap("store: commit rename (reopen the store to finish)"));
    WARDEN_CRASH_POINT("txn.after_rename");
  }
  WARDEN_RETURN_IF_ERROR(env_->SyncDir(root_).Wrap("store: commit (reopen the store to finish)"));
  WARDEN_CRASH_POINT("txn.before_done");
  wal::Payload done;
  done.mutable_done()->set_txn_id(intent.txn_id());
  return wal_->AppendAndWait(done).take_status().Wrap("store: commit done record (reopen the store)");
}

}  // namespace warden::store
