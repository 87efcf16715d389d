// The one atomic-commit helper. Nothing else in warden renames state files.
// (Caches are not state: base/cache_file replaces its entries with a plain
// temp-and-rename, no fsync, since a torn entry fails its digest and only
// costs a rebuild.)
//
// CommitFile makes dir/name hold exactly `data`, or leaves it as it was:
// write a temp file, fdatasync it, renameat it over the name, fsync the
// directory. With PosixEnv on io_uring the four steps are one chain of
// linked SQEs; short writes are continued. A crash leaves at most a temp file
// ("*.wtmp"), which RemoveStaleTemps deletes at the next open.
#ifndef WARDEN_STORE_ATOMIC_H_
#define WARDEN_STORE_ATOMIC_H_

#include <string>

#include "io/env.h"
#include "io/loop.h"
#include "warden/status.h"

namespace warden::store {

// Largest file CommitFile accepts.
inline constexpr size_t kMaxCommitBytes = 64u << 20;

// Asynchronous: cb runs on the loop once the new content is durable under
// its name, or with the error. After an error the name holds the old
// content when the step that failed came before the rename (open, write,
// fdatasync of the temp, the rename itself). When the fsync of the directory
// fails, the rename has happened: the name holds the new content now, but
// which one survives a crash is unknown until a later fsync of dir succeeds.
// Either way, a failed commit must be treated as "old or new", not as "old".
void CommitFile(io::Loop* loop, io::Env* env, const std::string& dir, const std::string& name,
                std::string data, io::StatusCallback cb);
// Blocking, through env's synchronous calls (no loop needed).
Status CommitFileSync(io::Env* env, const std::string& dir, const std::string& name,
                      const std::string& data);

// Deletes the temp files of interrupted commits in dir; returns how many.
Result<size_t> RemoveStaleTemps(io::Env* env, const std::string& dir);

// A file name a commit accepts: non-empty, at most 200 bytes, no '/', not
// "." or "..", not a temp name.
Status ValidateName(const std::string& name);

}  // namespace warden::store

#endif  // WARDEN_STORE_ATOMIC_H_
