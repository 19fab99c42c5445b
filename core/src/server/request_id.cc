// Picks the request id: the client's own when it is safe to log, else a fresh random one.
#include "server/request_id.h"

#include <algorithm>
#include <cctype>

#include "util/random_hex.h"

namespace gateway {
namespace {

/// Whether a client-sent id is short and made only of characters safe in logs and headers.
bool is_sane_id(const std::string& id) {
  return !id.empty() && id.size() <= 128 && std::all_of(id.begin(), id.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == ':';
  });
}

}  // namespace

std::string choose_request_id(const Headers& headers) {
  if (auto incoming = find_header(headers, "x-request-id"); incoming && is_sane_id(*incoming))
    return *incoming;
  return "req_" + random_id_hex(12);
}

}  // namespace gateway
