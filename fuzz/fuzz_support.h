// Helpers shared by the fuzz targets: an invariant check that stops the run with a message, and
// the chunk sizes an input chooses for feeding incremental parsers.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string_view>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

/// Aborts (a libFuzzer crash, with the reproducer saved) when an invariant does not hold.
#define FUZZ_CHECK(condition)                                                                  \
  do {                                                                                         \
    if (!(condition)) {                                                                        \
      std::fprintf(stderr, "FUZZ_CHECK failed: %s (%s:%d)\n", #condition, __FILE__, __LINE__); \
      __builtin_trap();                                                                        \
    }                                                                                          \
  } while (false)

namespace fuzz {

/// Up to eight chunk sizes (0 to 300 bytes; 0 feeds an empty chunk) read from the front of the
/// input; at least one of them is non-zero, so feeding in these sizes always moves on.
inline std::vector<std::size_t> chunk_sizes(FuzzedDataProvider& input) {
  std::vector<std::size_t> sizes(input.ConsumeIntegralInRange<std::size_t>(1, 8));
  bool any = false;
  for (auto& size : sizes) {
    size = input.ConsumeIntegralInRange<std::size_t>(0, 300);
    any = any || size != 0;
  }
  if (!any) sizes.front() = 1;
  return sizes;
}

/// Calls `feed(piece)` for consecutive pieces of `bytes`, cycling through `sizes`.
template <typename Feed>
void feed_in_chunks(std::string_view bytes, const std::vector<std::size_t>& sizes, Feed&& feed) {
  std::size_t next = 0;
  while (!bytes.empty()) {
    const auto piece = bytes.substr(0, sizes[next++ % sizes.size()]);
    feed(piece);
    bytes.remove_prefix(piece.size());
  }
}

/// Whether `text` is well-formed UTF-8 (no overlongs, surrogates or values above U+10FFFF).
inline bool valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t extra = 0;
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;
    if (lead < 0x80) {
      extra = 0;
    } else if (lead >= 0xC2 && lead <= 0xDF) {
      extra = 1;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      extra = 2;
      if (lead == 0xE0) lo = 0xA0;
      if (lead == 0xED) hi = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      extra = 3;
      if (lead == 0xF0) lo = 0x90;
      if (lead == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (i + extra >= text.size()) return false;  // the character is cut off
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto byte = static_cast<unsigned char>(text[i + k]);
      if (byte < (k == 1 ? lo : 0x80) || byte > (k == 1 ? hi : 0xBF)) return false;
    }
    i += extra + 1;
  }
  return true;
}

}  // namespace fuzz
