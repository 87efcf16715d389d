// Fuzz target for the agent's durable records (agent/records.h): a
// checkpoint snapshot (api::Checkpoint) and job records (api::JobEvent) as
// recovery applies them to the job table. WAL bytes are checksummed, but a
// record that parses must still never corrupt the table.
//
// Input: chunks, each a 2-byte little-endian length and that many bytes;
// the first chunk is the snapshot (empty: none), the rest are records.
// Checks, beyond "no crash, no sanitizer report": a replay that succeeds
// leaves the queue and the running set matching the jobs' states, and a
// checkpoint of the table reads back as the same table
// (CoreImpl::ReplayForFuzz's checks); a refusal is kCorruption.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "agent/core_impl.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> chunks;
  size_t at = 0;
  while (at + 2 <= size && chunks.size() < 64) {
    const size_t len = data[at] | (static_cast<size_t>(data[at + 1]) << 8);
    at += 2;
    const size_t take = len < size - at ? len : size - at;
    chunks.emplace_back(reinterpret_cast<const char*>(data) + at, take);
    at += take;
  }
  if (chunks.empty()) return 0;
  const std::string snapshot = chunks[0];
  chunks.erase(chunks.begin());
  warden::agent::CoreImpl core(nullptr, nullptr, warden::agent::CoreOptions{});
  warden::Status st = core.ReplayForFuzz(snapshot.empty() ? nullptr : &snapshot, chunks);
  if (!st.ok() && st.code() != warden::Code::kCorruption) {
    std::fprintf(stderr, "agent_records_fuzz: an error that is not kCorruption: %s\n",
                 st.ToString().c_str());
    std::abort();
  }
  return 0;
}
