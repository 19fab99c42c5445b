// Lower-case hex encoding of bytes: the one encoder behind request ids, key ids, secrets,
// digests and the upstream's user ids. Header-only so plugins can use it too.
#pragma once

#include <cstddef>
#include <span>
#include <string>

namespace gateway {

/// `bytes` as lower-case hex, two digits per byte.
inline std::string to_hex(std::span<const unsigned char> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const unsigned char b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 0xf];
  }
  return out;
}

}  // namespace gateway
