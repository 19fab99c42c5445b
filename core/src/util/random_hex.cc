// Random bytes and random hex tokens from OpenSSL's CSPRNG.
#include "util/random_hex.h"

#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <span>
#include <stdexcept>

#include "gateway/hex.h"

namespace gateway {

std::vector<unsigned char> random_bytes(std::size_t n) {
  std::vector<unsigned char> bytes(n);
  if (RAND_bytes(bytes.data(), static_cast<int>(n)) != 1)
    throw std::runtime_error("the system CSPRNG failed");
  return bytes;
}

std::string random_hex(std::size_t n) {
  return to_hex(random_bytes(n));
}

std::string random_id_hex(std::size_t n) {
  constexpr std::size_t kReserve = 4096;
  thread_local std::array<unsigned char, kReserve> reserve{};
  thread_local std::size_t used = kReserve;
  if (n > kReserve) return random_hex(n);
  if (kReserve - used < n) {
    if (RAND_bytes(reserve.data(), static_cast<int>(kReserve)) != 1)
      throw std::runtime_error("the system CSPRNG failed");
    used = 0;
  }
  const std::span<unsigned char> bytes(reserve.data() + used, n);
  std::string hex = to_hex(bytes);
  std::fill(bytes.begin(), bytes.end(), 0);  // each byte is handed out once
  used += n;
  return hex;
}

}  // namespace gateway
