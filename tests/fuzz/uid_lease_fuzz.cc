// Fuzz target for uid lease files and WARDEN_UID_RANGE values (both read
// back as outside input: user/uid_lease.h).
//
// Checks, beyond "no crash, no sanitizer report": a lease that parses
// formats to text that parses to the same lease, and a range that parses
// is one the rules allow.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "user/uid_lease.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);
  warden::user::LeaseText lease;
  if (warden::user::ParseLeaseText(in, &lease)) {
    warden::user::LeaseText again;
    if (!warden::user::ParseLeaseText(warden::user::FormatLeaseText(lease), &again) ||
        !(again == lease) || lease.pid <= 0) {
      std::fprintf(stderr, "lease round trip failed (%zu bytes in)\n", size);
      std::abort();
    }
  }
  warden::Result<warden::user::UidRange> r = warden::user::ParseUidRange(in);
  if (r.ok() && (r->lo < 1000 || r->hi < r->lo || r->Contains(65534) || r->size() > (1u << 20))) {
    std::fprintf(stderr, "range %u-%u passed the rules\n", r->lo, r->hi);
    std::abort();
  }
  return 0;
}
