// Job ids (agent/job_dir.h).
#include "agent/job_dir.h"

#include <cstdio>

namespace warden::agent {

bool ValidJobId(const std::string& id) {
  if (id.size() != 13 || id[0] != 'j') return false;
  for (size_t i = 1; i < id.size(); i++) {
    const char c = id[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string MakeJobId(uint64_t number) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "j%012llx",
                static_cast<unsigned long long>(number & 0xffffffffffffull));
  return buf;
}

}  // namespace warden::agent
