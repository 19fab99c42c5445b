// Honest outcomes: one table over every way a chat request ends, each checked against what the
// client receives and what the gateway records for it, in its usage row and its access-log line.
// The outcome names who ended the request: the client (`rejected`), the client gone
// (`client_cancelled`), the upstream (`upstream_error`), time (`timeout`), or nobody (`completed`).
#include <gtest/gtest.h>

#include "harness.h"

using namespace harness;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

enum class Key { Valid, Wrong, Restricted };
enum class Upstream { Fake, Closed };
enum class Client { Reads, LeavesBeforeAnswer, LeavesMidStream };
enum class Modes { Both, PlainOnly, StreamOnly };

/// One way a chat request ends: how to provoke it, and what the client and the records show.
struct Row {
  const char* name;
  // How to provoke it.
  std::string scenario = "ok";  ///< the fake upstream's scenario
  std::string model = "gpt-4o";
  json fields = json::object();  ///< set on the chat body
  std::string raw_body{};        ///< sent instead of the chat body when not empty
  std::string method = "POST";
  std::map<std::string, std::string> headers{};  ///< extra request headers
  Key key = Key::Valid;
  Upstream upstream = Upstream::Fake;
  Client client = Client::Reads;
  Modes modes = Modes::Both;
  // What it gives.
  int status = 200;            ///< the HTTP status when the failure comes before a stream's head
  bool after_head = false;     ///< a stream has sent its 200 head: the error comes as an SSE event
  bool after_content = false;  ///< and part of the answer before it
  std::string code{};          ///< the OpenAI error code, "" for none
  std::string outcome = "completed";
};

const std::vector<Row>& table() {
  static const std::vector<Row> rows{
      // Answered.
      {.name = "Success"},
      {.name = "CorsPreflight",
       .method = "OPTIONS",
       .headers = {{"Origin", "https://app.example"}, {"Access-Control-Request-Method", "POST"}},
       .modes = Modes::PlainOnly,
       .status = 204},
      // The client's request is refused: rejected.
      {.name = "InvalidJson",
       .raw_body = R"({"model": "gpt-4o", "messages": [)",
       .modes = Modes::PlainOnly,
       .status = 400,
       .code = "invalid_json",
       .outcome = "rejected"},
      {.name = "MissingMessages",
       .fields = {{"messages", json::array()}},
       .status = 400,
       .code = "empty_array",
       .outcome = "rejected"},
      {.name = "UnknownModel",
       .model = "gpt-99",
       .status = 404,
       .code = "model_not_found",
       .outcome = "rejected"},
      {.name = "ParameterOfTheWrongType",
       .fields = {{"temperature", "hot"}},
       .status = 400,
       .code = "invalid_type",
       .outcome = "rejected"},
      {.name = "ImageToAModelWithoutImages",
       .model = "gpt-4o-mini",
       .fields = {{"messages",
                   {{{"role", "user"},
                     {"content",
                      {{{"type", "text"}, {"text", "scenario:ok"}},
                       {{"type", "image_url"}, {"image_url", {{"url", "https://example.com/cat.png"}}}}}}}}}},
       .status = 400,
       .code = "image_not_supported",
       .outcome = "rejected"},
      {.name = "UnsupportedChoiceCount",
       .fields = {{"n", 2}},
       .status = 400,
       .code = "unsupported_parameter",
       .outcome = "rejected"},
      {.name = "UnsupportedTools",
       .fields = {{"tools", {{{"type", "function"}, {"function", {{"name", "f"}}}}}}},
       .status = 400,
       .code = "unsupported_parameter",
       .outcome = "rejected"},
      {.name = "WrongKey",
       .key = Key::Wrong,
       .status = 401,
       .code = "invalid_api_key",
       .outcome = "rejected"},
      {.name = "ModelNotAllowedForTheKey",
       .key = Key::Restricted,
       .status = 403,
       .code = "model_not_allowed",
       .outcome = "rejected"},
      {.name = "BodyTooLarge",
       .raw_body = std::string(70 * 1024, 'x'),
       .modes = Modes::PlainOnly,
       .status = 413,
       .code = "request_too_large",
       .outcome = "rejected"},
      {.name = "ConflictingFraming",
       .headers = {{"Transfer-Encoding", "chunked"}},
       .modes = Modes::PlainOnly,
       .status = 400,
       .code = "bad_request",
       .outcome = "rejected"},
      {.name = "UnsupportedTransferEncoding",
       .method = "GET",
       .headers = {{"Transfer-Encoding", "gzip"}},
       .modes = Modes::PlainOnly,
       .status = 501,
       .code = "not_implemented",
       .outcome = "rejected"},
      {.name = "MethodNotAllowed",
       .method = "GET",
       .modes = Modes::PlainOnly,
       .status = 405,
       .code = "method_not_allowed",
       .outcome = "rejected"},
      // The upstream failed: upstream_error. (The daily limit resets at once, reset_in_ms=0: a
      // later reset would hold back the requests of the cases after it.)
      {.name = "UpstreamRateLimit",
       .scenario = "status=429,ratelimit,reset_in_ms=0",
       .status = 429,
       .code = "rate_limit_exceeded",
       .outcome = "upstream_error"},
      {.name = "Upstream500",
       .scenario = "status=500",
       .status = 502,
       .code = "upstream_error",
       .outcome = "upstream_error"},
      {.name = "Upstream503",
       .scenario = "status=503",
       .status = 503,
       .code = "upstream_overloaded",
       .outcome = "upstream_error"},
      {.name = "Upstream529",
       .scenario = "status=529",
       .status = 503,
       .code = "upstream_overloaded",
       .outcome = "upstream_error"},
      {.name = "Upstream401",
       .scenario = "status=401",
       .status = 502,
       .code = "upstream_auth_failed",
       .outcome = "upstream_error"},
      {.name = "Upstream400",
       .scenario = "status=400",
       .status = 502,
       .code = "upstream_error",
       .outcome = "upstream_error"},
      {.name = "Upstream404",
       .scenario = "status=404",
       .status = 502,
       .code = "upstream_misconfigured",
       .outcome = "upstream_error"},
      {.name = "UpstreamGarbage",
       .scenario = "garbage",
       .status = 502,
       .code = "bad_upstream_response",
       .outcome = "upstream_error"},
      {.name = "UpstreamResetMidAnswer",
       .scenario = "long=20000,chunk=100-200,reset_after=12",
       .status = 502,
       .after_head = true,
       .after_content = true,
       .code = "upstream_disconnected",
       .outcome = "upstream_error"},
      {.name = "UpstreamDiesMidAnswer",
       .scenario = "long=20000,chunk=100-200,die_after=12",
       .status = 502,
       .after_head = true,
       .after_content = true,
       .code = "upstream_disconnected",
       .outcome = "upstream_error"},
      {.name = "UpstreamUnreachable",
       .upstream = Upstream::Closed,
       .status = 502,
       .code = "upstream_unreachable",
       .outcome = "upstream_error"},
      {.name = "EmptyAnswer",
       .scenario = "prose,reply=",
       .status = 502,
       .after_head = true,
       .code = "empty_answer",
       .outcome = "upstream_error"},
      {.name = "IncompleteAnswer",
       .scenario = "truncated",
       .status = 502,
       .after_head = true,
       .code = "incomplete_answer",
       .outcome = "upstream_error"},
      // The upstream ran out of time: timeout.
      {.name = "FirstByteTimeout",
       .scenario = "first_byte_ms=4000",
       .status = 504,
       .code = "upstream_timeout",
       .outcome = "timeout"},
      {.name = "IdleTimeout",
       .scenario = "long=20000,chunk=100-200,stall_after=12",
       .status = 504,
       .after_head = true,
       .after_content = true,
       .code = "upstream_timeout",
       .outcome = "timeout"},
      // The client left: client_cancelled (499 when nothing was sent).
      {.name = "ClientLeavesBeforeTheAnswer",
       .scenario = "first_byte_ms=1000",
       .client = Client::LeavesBeforeAnswer,
       .status = 499,
       .outcome = "client_cancelled"},
      {.name = "ClientLeavesMidStream",
       .scenario = "long=100000,delay_ms=20",
       .client = Client::LeavesMidStream,
       .modes = Modes::StreamOnly,
       .after_head = true,
       .outcome = "client_cancelled"},
  };
  return rows;
}

/// One row in one mode.
struct Case {
  const Row* row;
  bool stream;
};

/// Names the case in gtest's output instead of dumping its bytes.
void PrintTo(const Case& c, std::ostream* out) {
  *out << c.row->name << (c.stream ? " (stream)" : " (no stream)");
}

std::vector<Case> cases() {
  std::vector<Case> out;
  for (const auto& row : table()) {
    if (row.modes != Modes::StreamOnly) out.push_back({&row, false});
    if (row.modes != Modes::PlainOnly) out.push_back({&row, true});
  }
  return out;
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  return std::string(info.param.row->name) + (info.param.stream ? "Stream" : "Plain");
}

/// Short upstream timeouts and a small body limit, so every row ends quickly.
struct OutcomeSettings {
  static void apply(GatewayOptions& options) {
    options.first_byte_timeout_ms = 1500;
    options.idle_timeout_ms = 1000;
    options.max_request_bytes = 64 * 1024;
  }
};

}  // namespace

class OutcomesTest : public GatewaySuite<OutcomeSettings>, public ::testing::WithParamInterface<Case> {
 protected:
  /// A stored key that may use gpt-4o-mini only, created through the admin API.
  std::string restricted_key() {
    const std::map<std::string, std::string> admin{{"Authorization", "Bearer " + gateway_->admin_token()},
                                                   {"Content-Type", "application/json"}};
    const auto tenant =
        http(gateway_->admin_port(), "POST", "/admin/v1/tenants", admin, R"({"name":"Team"})");
    EXPECT_EQ(tenant.status, 201) << tenant.body;
    const auto key = http(gateway_->admin_port(), "POST", "/admin/v1/keys", admin,
                          json{{"tenant", json::parse(tenant.body).value("id", "")},
                               {"user", "restricted@example.com"},
                               {"models", {"gpt-4o-mini"}}}
                              .dump());
    EXPECT_EQ(key.status, 201) << key.body;
    return json::parse(key.body).value("key", "");
  }

  /// The bytes of the row's request, tagged with `request_id`.
  std::string request_for(const Row& row, bool stream, const std::string& request_id) {
    const std::string key = row.key == Key::Wrong        ? "sk-test-wrong-key-0123456789"
                            : row.key == Key::Restricted ? restricted_key()
                                                         : gateway_->key();
    auto headers = row.headers;
    headers["Authorization"] = "Bearer " + key;
    headers["Content-Type"] = "application/json";
    headers["X-Request-ID"] = request_id;
    auto body = scenario_request(row.scenario, stream, row.model);
    for (const auto& [field, value] : row.fields.items()) body[field] = value;
    const std::string text = row.method != "POST" ? "" : row.raw_body.empty() ? body.dump() : row.raw_body;
    return request_text(row.method, "/v1/chat/completions", headers, text);
  }
};

TEST_P(OutcomesTest, ClientAndRecordsAgree) {
  const Row& row = *GetParam().row;
  const bool stream = GetParam().stream;
  std::optional<Gateway> down;  // a gateway whose upstream port is closed
  if (row.upstream == Upstream::Closed) {
    GatewayOptions options;
    options.upstream_base = "http://127.0.0.1:9";  // discard port: nothing listens
    down.emplace(options);
  }
  const Gateway& gateway = down ? *down : *gateway_;
  const auto id = new_request_id(row.name);
  Connection client(gateway.port());
  const int requests_before = upstream_->stats()["requests"].get<int>();
  client.send_raw(request_for(row, stream, id));

  const bool head_sent = stream && row.after_head;
  switch (row.client) {
    case Client::Reads: {
      const auto r = client.read_response();
      if (head_sent) {
        ASSERT_EQ(r.status, 200) << r.body;
        EXPECT_TRUE(r.complete) << "the stream is terminated cleanly";
        const auto error = stream_error_event(r.body);
        ASSERT_TRUE(error.is_object()) << "an error event, then [DONE]: " << r.body;
        EXPECT_EQ(error.value("code", ""), row.code);
        if (row.after_content) {
          EXPECT_FALSE(streamed_content(r.body).empty()) << "part of the answer came first";
        }
      } else {
        EXPECT_EQ(r.status, row.status) << r.body;
        EXPECT_EQ(openai_error_code(r), row.code) << r.body;
        if (stream && row.code.empty()) {
          EXPECT_TRUE(stream_error_event(r.body).is_null()) << r.body;
        }
      }
      break;
    }
    case Client::LeavesBeforeAnswer:
      ASSERT_TRUE(eventually([&] { return upstream_->stats()["requests"].get<int>() > requests_before; }))
          << "the request reached the upstream";
      client.abort();
      break;
    case Client::LeavesMidStream: {
      std::string seen;
      for (int reads = 0; reads < 50 && seen.find(" line 0001") == std::string::npos; ++reads) {
        seen += client.read_some(200ms);
      }
      ASSERT_NE(seen.find(" line 0001"), std::string::npos) << "part of the answer arrived first";
      client.abort();
      break;
    }
  }

  const std::string status = std::to_string(head_sent ? 200 : row.status);
  const auto db = gateway.storage_path();
  EXPECT_EQ(usage_column(db, id, "outcome"), row.outcome);
  EXPECT_EQ(usage_column(db, id, "status"), status);
  const auto line = access_log_line(gateway, id);
  ASSERT_FALSE(line.empty()) << "no access-log line for " << id;
  EXPECT_NE(line.find(" status=" + status + " "), std::string::npos) << line;
  EXPECT_NE(line.find(" outcome=" + row.outcome + " "), std::string::npos) << line;
  if (row.code.empty()) {
    EXPECT_EQ(line.find(" error="), std::string::npos) << line;
  } else {
    EXPECT_NE(line.find(" error=" + row.code + " "), std::string::npos) << line;
  }
}

INSTANTIATE_TEST_SUITE_P(EveryEnding, OutcomesTest, ::testing::ValuesIn(cases()), case_name);
