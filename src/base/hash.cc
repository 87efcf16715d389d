#include "base/hash.h"

#include <sha2.h>

namespace warden::base {

// libmd's portable SHA-256: warden hashes a few KiB per start (policy files,
// cache entries), and unlike nettle's x86 build it asks the CPU nothing at
// start-up (each cpuid is a VM exit, 15-20 us on a small VM).
Sha256Digest Sha256(std::string_view data) {
  static_assert(SHA256_DIGEST_LENGTH == 32);
  Sha256Digest out;
  SHA2_CTX ctx;
  SHA256Init(&ctx);
  SHA256Update(&ctx, reinterpret_cast<const uint8_t*>(data.data()), data.size());
  SHA256Final(out.data(), &ctx);
  return out;
}

std::string HexOf(const uint8_t* data, size_t len) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (size_t i = 0; i < len; ++i) {
    out += kHex[data[i] >> 4];
    out += kHex[data[i] & 15];
  }
  return out;
}

std::string Sha256Hex(std::string_view data) {
  Sha256Digest d = Sha256(data);
  return HexOf(d.data(), d.size());
}

}  // namespace warden::base
