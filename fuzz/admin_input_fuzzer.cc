// Fuzzes what the admin API reads from a client before touching the database: the JSON body and
// its `metadata` and `limits` checks, the typed `limits` form plugins read, the usage and
// request-log query values (from/to, group_by, cursor) and query-string decoding. A bad value
// may only throw std::invalid_argument (answered as a 400); anything else escaping is a finding.
#include <stdexcept>
#include <string>

#include "admin/call.h"
#include "admin/reports.h"
#include "fuzz_support.h"
#include "gateway/rate_limits.h"
#include "server/http_syntax.h"
#include "storage/stored_rows.h"
#include "storage/usage_store.h"

namespace {

using nlohmann::json;

/// A body as POST /admin/v1/keys or PATCH /admin/v1/tenants/{id} reads it.
void fuzz_body(const std::string& text) {
  gateway::HttpRequest request;
  request.body = text;
  auto parsed = gateway::admin::body_object(request);
  if (const auto* refusal = std::get_if<gateway::LocalResponse>(&parsed)) {
    FUZZ_CHECK(refusal->status == 400);
    return;
  }
  const auto& body = std::get<json>(parsed);
  FUZZ_CHECK(body.is_object());
  const auto metadata = body.find("metadata");
  if (metadata != body.end()) {
    try {
      gateway::rows::check_metadata(*metadata);
    } catch (const std::invalid_argument&) {
    }
  }
  const auto limits = body.find("limits");
  if (limits == body.end()) return;
  try {
    gateway::rows::check_limits(*limits);
  } catch (const std::invalid_argument&) {
    return;
  }
  // Limits the admin API accepts are exactly what the rate-limit plugin reads back.
  if (limits->is_object()) FUZZ_CHECK(gateway::RateLimits::from_json(*limits).to_json() == *limits);
}

/// The from/to and group_by query values of GET /admin/v1/usage.
void fuzz_report_query(FuzzedDataProvider& input) {
  const auto from = input.ConsumeBool() ? std::optional(input.ConsumeRandomLengthString(40)) : std::nullopt;
  const auto to = input.ConsumeBool() ? std::optional(input.ConsumeRandomLengthString(40)) : std::nullopt;
  try {
    const auto range = gateway::admin::parse_time_range(from, to);
    FUZZ_CHECK(range.from_ms < range.to_ms);
  } catch (const std::invalid_argument&) {
  }
  try {
    (void)gateway::admin::parse_group_by(input.ConsumeRemainingBytesAsString());
  } catch (const std::invalid_argument&) {
  }
}

/// The cursor of GET /admin/v1/requests: one it accepts encodes back to the same position.
void fuzz_cursor(const std::string& text) {
  try {
    const auto cursor = gateway::RequestCursor::decode(text);
    const auto again = gateway::RequestCursor::decode(cursor.encode());
    FUZZ_CHECK(again.ts_ms == cursor.ts_ms && again.id == cursor.id);
  } catch (const std::invalid_argument&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider input(data, size);
  switch (input.ConsumeIntegralInRange<int>(0, 3)) {
    case 0:
      fuzz_body(input.ConsumeRemainingBytesAsString());
      break;
    case 1:
      fuzz_report_query(input);
      break;
    case 2:
      fuzz_cursor(input.ConsumeRemainingBytesAsString());
      break;
    default: {
      const auto text = input.ConsumeRemainingBytesAsString();
      FUZZ_CHECK(gateway::url_decode(text).size() <= text.size());
    }
  }
  return 0;
}
