// SHA-256 (libmd): policy hashes, seccomp cache keys and checksums.
#ifndef WARDEN_BASE_HASH_H_
#define WARDEN_BASE_HASH_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace warden::base {

using Sha256Digest = std::array<uint8_t, 32>;

Sha256Digest Sha256(std::string_view data);
// Lower-case hex of Sha256(data), 64 characters.
std::string Sha256Hex(std::string_view data);
// Lower-case hex of any bytes.
std::string HexOf(const uint8_t* data, size_t len);

}  // namespace warden::base

#endif  // WARDEN_BASE_HASH_H_
