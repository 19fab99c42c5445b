// SHA-256 for the request path (key digests, stable ids): the digest is fetched from OpenSSL once
// and each thread reuses one context, which skips the per-call algorithm lookup (and its shared
// lock) that the one-shot SHA256() does in OpenSSL 3.
#pragma once

#include <openssl/evp.h>

#include <array>
#include <memory>
#include <stdexcept>
#include <string_view>

namespace gateway {

using Sha256Digest = std::array<unsigned char, 32>;

inline Sha256Digest sha256(std::string_view data) {
  struct MdDeleter {
    void operator()(EVP_MD* md) const { EVP_MD_free(md); }
  };
  struct CtxDeleter {
    void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
  };
  static const std::unique_ptr<EVP_MD, MdDeleter> md(EVP_MD_fetch(nullptr, "SHA256", nullptr));
  thread_local const std::unique_ptr<EVP_MD_CTX, CtxDeleter> ctx(EVP_MD_CTX_new());
  Sha256Digest digest{};
  unsigned int size = 0;
  if (!md || !ctx || EVP_DigestInit_ex2(ctx.get(), md.get(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), digest.data(), &size) != 1 || size != digest.size()) {
    throw std::runtime_error("SHA-256 is not available from OpenSSL");
  }
  return digest;
}

}  // namespace gateway
