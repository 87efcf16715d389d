// The kinds of the agent's WAL records (agent/api.proto, "durable records").
// Every record is a wal::Payload whose Blob has kind kJobEventKind and holds
// one serialized api::JobEvent; a checkpoint's snapshot is an api::Checkpoint.
#ifndef WARDEN_AGENT_RECORDS_H_
#define WARDEN_AGENT_RECORDS_H_

#include <cstdint>

namespace warden::agent {

inline constexpr uint32_t kJobEventKind = 0x4a4f42;  // "JOB"

}  // namespace warden::agent

#endif  // WARDEN_AGENT_RECORDS_H_
