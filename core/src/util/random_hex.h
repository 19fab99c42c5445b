// Random bytes and random hex tokens from the system CSPRNG, for ids and secrets.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace gateway {

/// `n` bytes from the CSPRNG; throws std::runtime_error if it fails.
std::vector<unsigned char> random_bytes(std::size_t n);

/// `n` random bytes as 2n lower-case hex digits.
std::string random_hex(std::size_t n);

/// Like random_hex, for identifiers that are not secrets (request and completion ids): the
/// bytes come from the same CSPRNG, drawn 4 KB at a time into a per-thread reserve, so an id
/// costs no CSPRNG call of its own. Never use it for keys or tokens.
std::string random_id_hex(std::size_t n);

}  // namespace gateway
