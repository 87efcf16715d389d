// Helpers for the WAL tests.
#ifndef WARDEN_TESTS_WAL_WAL_TEST_UTIL_H_
#define WARDEN_TESTS_WAL_WAL_TEST_UTIL_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/env.h"
#include "wal/wal.h"

namespace warden::testing {

inline wal::Payload BlobPayload(const std::string& data, uint32_t kind = 1) {
  wal::Payload p;
  p.mutable_blob()->set_kind(kind);
  p.mutable_blob()->set_data(data);
  return p;
}

struct Replayed {
  std::string snapshot;
  uint64_t snapshot_seq = 0;
  std::vector<std::string> blobs;
  std::vector<uint64_t> seqs;
};

inline wal::WalOptions SmallOptions() {
  wal::WalOptions o;
  o.segment_bytes = 64 << 10;
  o.max_record_bytes = 8 << 10;
  return o;
}

inline Result<std::unique_ptr<wal::Wal>> OpenWal(io::Loop* loop, io::Env* env, const std::string& dir,
                                                 Replayed* out,
                                                 const wal::WalOptions& options = SmallOptions()) {
  *out = Replayed();
  wal::ReplayHandler h;
  h.on_snapshot = [out](const std::string& s, uint64_t seq) {
    out->snapshot = s;
    out->snapshot_seq = seq;
    return Status::Ok();
  };
  h.on_record = [out](uint64_t seq, const wal::Payload& p) {
    out->seqs.push_back(seq);
    out->blobs.push_back(p.blob().data());
    return Status::Ok();
  };
  return wal::Wal::Open(loop, env, dir, options, h);
}

}  // namespace warden::testing

#endif  // WARDEN_TESTS_WAL_WAL_TEST_UTIL_H_
