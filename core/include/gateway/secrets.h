// Helpers for handling client secrets without leaking them.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>

namespace gateway {

/// Shows the first characters of a secret and hides the rest: "sk-e2b-ab12…". Short secrets
/// show at most three characters.
inline std::string mask_secret(std::string_view secret) {
  constexpr std::size_t kShown = 11;  // "sk-e2b-" plus four characters
  if (secret.size() <= kShown + 8)
    return std::string(secret.substr(0, std::min<std::size_t>(secret.size(), 3))) + "…";
  return std::string(secret.substr(0, kShown)) + "…";
}

}  // namespace gateway
