// Key secrets, their digests, random row ids and the clock rows are stamped with.
#include "storage/records.h"

#include <openssl/evp.h>

#include <chrono>

#include "gateway/hex.h"
#include "gateway/sha256.h"
#include "util/random_hex.h"

namespace gateway {

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string generate_key_secret() {
  const auto bytes = random_bytes(32);
  unsigned char encoded[64];
  const int n = EVP_EncodeBlock(encoded, bytes.data(), static_cast<int>(bytes.size()));
  std::string text(reinterpret_cast<const char*>(encoded), static_cast<std::size_t>(n));
  for (auto& c : text) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  while (!text.empty() && text.back() == '=') text.pop_back();
  return "sk-e2b-" + text;
}

std::string key_digest(std::string_view secret) {
  return to_hex(sha256(secret));
}

std::string random_id(std::string_view prefix) {
  return std::string(prefix) + random_hex(8);
}

}  // namespace gateway
