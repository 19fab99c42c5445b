// Random bytes and random hex tokens from OpenSSL's CSPRNG.
#include "util/random_hex.h"

#include <openssl/rand.h>

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

}  // namespace gateway
