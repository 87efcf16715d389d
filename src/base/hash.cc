#include "base/hash.h"

#include <nettle/sha2.h>

namespace warden::base {

Sha256Digest Sha256(std::string_view data) {
  static_assert(SHA256_DIGEST_SIZE == 32);
  Sha256Digest out;
  sha256_ctx ctx;
  sha256_init(&ctx);
  sha256_update(&ctx, data.size(), reinterpret_cast<const uint8_t*>(data.data()));
  sha256_digest(&ctx, out.size(), out.data());
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
