// A transfer's curl options and callbacks: headers, body delivery with flow control, the end.
#include "upstream/upstream_transfer.h"

#include <cstdlib>

namespace gateway {
namespace {

using Clock = UpstreamTransfer::Clock;

/// libcurl's receive buffer per transfer (CURLOPT_BUFFERSIZE; its default is 16 KB, its minimum
/// 1 KB). A streaming upstream sends a few bytes per token, so each read fills little of it, yet
/// every open transfer holds one for its whole life: 1 KB keeps thousands of slow streams cheap
/// (bench/streams.sh: 3.4 KB less RSS per stream) and costs a long burst only more, smaller reads.
constexpr long kReceiveBufferBytes = 1024;

/// Whether the environment names a proxy that curl would use for the upstream. Read once: when
/// none is named, each transfer tells curl so and it skips looking through the environment.
bool environment_names_proxy() {
  static const bool named = [] {
    for (const char* name : {"http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"}) {
      const char* value = std::getenv(name);
      if (value != nullptr && *value != '\0') return true;
    }
    return false;
  }();
  return named;
}

size_t on_header(char* data, size_t size, size_t count, void* self) {
  auto* t = static_cast<UpstreamTransfer*>(self);
  const size_t n = size * count;
  std::string_view line(data, n);
  if (line.starts_with("HTTP/")) {  // a new response (after 1xx): start over
    t->response_headers.clear();
    t->got_head = false;
    return n;
  }
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.empty()) {
    long status = 0;
    curl_easy_getinfo(t->easy.get(), CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200) t->got_head = true;
    return n;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return n;
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  t->response_headers.emplace_back(to_lower(line.substr(0, colon)), std::string(value));
  return n;
}

size_t on_body(char* data, size_t size, size_t count, void* self) {
  auto* t = static_cast<UpstreamTransfer*>(self);
  const size_t n = size * count;
  t->last_body = Clock::now();
  t->got_head = true;
  t->got_body = true;
  t->deliver_head();
  if (t->flow && t->flow->should_pause()) {
    t->paused = true;
    return CURL_WRITEFUNC_PAUSE;
  }
  t->observer->on_body(std::string_view(data, n));
  return n;
}

}  // namespace

void UpstreamTransfer::configure(EasyHandle handle) {
  easy = std::move(handle);
  CURL* e = easy.get();
  curl_slist* list = nullptr;
  for (const auto& [name, value] : request.headers)
    list = curl_slist_append(list, (name + ": " + value).c_str());
  list = curl_slist_append(list, "Expect:");
  header_list.reset(list);
  Headers().swap(request.headers);  // curl sends the list; the copy would only wait

  curl_easy_setopt(e, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(e, CURLOPT_POST, 1L);
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, request.body.data());
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.connect_timeout.count()));
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(e, CURLOPT_DNS_CACHE_TIMEOUT, 300L);
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(e, CURLOPT_BUFFERSIZE, kReceiveBufferBytes);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, this);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, this);
  curl_easy_setopt(e, CURLOPT_PRIVATE, this);
  if (!environment_names_proxy()) curl_easy_setopt(e, CURLOPT_PROXY, "");
  started = last_body = Clock::now();
}

void UpstreamTransfer::deliver_head() {
  if (head_delivered) return;
  head_delivered = true;
  long status = 0;
  curl_easy_getinfo(easy.get(), CURLINFO_RESPONSE_CODE, &status);
  observer->on_head(static_cast<int>(status), response_headers);
  Headers().swap(response_headers);  // delivered: not held for the rest of a long stream
}

UpstreamEnd UpstreamTransfer::end_for(CURLcode code) const {
  switch (code) {
    case CURLE_OK:
      return UpstreamEnd::Complete;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
      return UpstreamEnd::ConnectFailed;
    case CURLE_OPERATION_TIMEDOUT:
      if (got_body) return UpstreamEnd::IdleTimeout;
      return got_head ? UpstreamEnd::FirstByteTimeout : UpstreamEnd::ConnectTimeout;
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_BAD_CONTENT_ENCODING:
      return UpstreamEnd::Protocol;
    default:
      return got_head ? UpstreamEnd::Reset : UpstreamEnd::Protocol;
  }
}

}  // namespace gateway
