// The HTTP/1.1 request parser on its own: every case fed whole, byte by byte and at every split.
#include "server/request_parser.h"
#include "server/http_syntax.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace gateway {
namespace {

struct ParseRun {
  std::vector<HttpRequest> requests;
  std::optional<RequestError> error;
  std::size_t fed = 0;  ///< bytes fed when parsing stopped
  int continues = 0;    ///< `100 Continue` answers due
};

/// Feeds `text` in pieces of `piece` bytes, parsing after each, until it fails or ends.
ParseRun run(std::string_view text, std::size_t piece, RequestLimits limits = {}) {
  RequestParser parser(limits);
  ParseRun out;
  for (std::size_t at = 0; at < text.size();) {
    const auto n = std::min(piece, text.size() - at);
    parser.feed(text.substr(at, n));
    at += n;
    out.fed = at;
    for (;;) {
      const auto result = parser.parse();
      if (parser.take_continue_request()) ++out.continues;
      if (result == RequestParser::Result::Complete) {
        out.requests.push_back(parser.take_request());
        continue;
      }
      if (result == RequestParser::Result::Failed) {
        out.error = parser.error();
        return out;
      }
      break;
    }
  }
  return out;
}

/// Parses `text` whole and byte by byte; both must agree. Returns the whole run.
ParseRun both_ways(std::string_view text, RequestLimits limits = {}) {
  const ParseRun whole = run(text, text.size() + 1, limits);
  const ParseRun bytes = run(text, 1, limits);
  EXPECT_EQ(whole.requests.size(), bytes.requests.size()) << text;
  EXPECT_EQ(whole.error.has_value(), bytes.error.has_value()) << text;
  if (whole.error && bytes.error) {
    EXPECT_EQ(whole.error->status, bytes.error->status) << text;
    EXPECT_EQ(whole.error->message, bytes.error->message) << text;
  }
  for (std::size_t i = 0; i < std::min(whole.requests.size(), bytes.requests.size()); ++i) {
    EXPECT_EQ(whole.requests[i].method, bytes.requests[i].method);
    EXPECT_EQ(whole.requests[i].path, bytes.requests[i].path);
    EXPECT_EQ(whole.requests[i].query, bytes.requests[i].query);
    EXPECT_EQ(whole.requests[i].headers, bytes.requests[i].headers);
    EXPECT_EQ(whole.requests[i].body, bytes.requests[i].body);
  }
  return whole;
}

int error_status(std::string_view text, RequestLimits limits = {}) {
  const ParseRun r = both_ways(text, limits);
  EXPECT_TRUE(r.error) << text;
  return r.error ? r.error->status : 0;
}

std::string request_line_of_length(std::size_t length) {
  const std::string fixed = "GET / HTTP/1.1";
  return "GET /" + std::string(length - fixed.size(), 'a') + " HTTP/1.1";
}

TEST(RequestParserTest, ParsesMethodPathQueryHeadersAndBody) {
  const ParseRun r = both_ways(
      "POST /v1/chat/completions?a=1&b=x%20y+z&a=2&flag HTTP/1.1\r\nHost: gw\r\nX-Mixed-Case:  v  \r\n"
      "Content-Length: 5\r\n\r\nhello");
  ASSERT_FALSE(r.error);
  ASSERT_EQ(r.requests.size(), 1u);
  const auto& q = r.requests[0];
  EXPECT_EQ(q.method, "POST");
  EXPECT_EQ(q.path, "/v1/chat/completions");
  EXPECT_EQ(q.version, "HTTP/1.1");
  EXPECT_EQ(q.query, (std::map<std::string, std::string>{{"a", "1"}, {"b", "x y z"}, {"flag", ""}}));
  EXPECT_EQ(q.headers, (Headers{{"host", "gw"}, {"x-mixed-case", "v"}, {"content-length", "5"}}));
  EXPECT_EQ(q.body, "hello");
}

TEST(RequestParserTest, AcceptsBareLineFeedsAndLeadingEmptyLines) {
  const ParseRun r = both_ways("\r\n\nGET /health HTTP/1.0\nHost: x\n\n");
  ASSERT_EQ(r.requests.size(), 1u);
  EXPECT_EQ(r.requests[0].path, "/health");
  EXPECT_EQ(r.requests[0].version, "HTTP/1.0");
}

TEST(RequestParserTest, TargetForms) {
  ParseRun r = both_ways("GET http://example.com/v1/models?x=1 HTTP/1.1\r\n\r\n");
  ASSERT_EQ(r.requests.size(), 1u);
  EXPECT_EQ(r.requests[0].path, "/v1/models");
  EXPECT_EQ(r.requests[0].query.at("x"), "1");
  r = both_ways("OPTIONS * HTTP/1.1\r\n\r\n");
  ASSERT_EQ(r.requests.size(), 1u);
  EXPECT_EQ(r.requests[0].path, "*");
  EXPECT_EQ(error_status("GET * HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(error_status("GET example.com:443 HTTP/1.1\r\n\r\n"), 400);
}

TEST(RequestParserTest, EverySplitOfAPipelinedPairGivesBothRequestsInOrder) {
  const std::string pair =
      "POST /one HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET /two?k=v HTTP/1.1\r\nX: y\r\n\r\n";
  for (std::size_t split = 0; split <= pair.size(); ++split) {
    RequestParser parser;
    std::vector<HttpRequest> got;
    for (const auto& part : {pair.substr(0, split), pair.substr(split)}) {
      parser.feed(part);
      while (parser.parse() == RequestParser::Result::Complete) got.push_back(parser.take_request());
    }
    ASSERT_EQ(got.size(), 2u) << "split at " << split;
    EXPECT_EQ(got[0].path, "/one");
    EXPECT_EQ(got[0].body, "abc");
    EXPECT_EQ(got[1].path, "/two");
    EXPECT_EQ(got[1].query.at("k"), "v");
    EXPECT_EQ(got[1].headers, (Headers{{"x", "y"}}));
    EXPECT_EQ(parser.buffered(), 0u);
    EXPECT_FALSE(parser.has_partial_request());
  }
}

TEST(RequestParserTest, KeepAliveFollowsVersionAndConnectionHeader) {
  const auto keep = [](std::string_view head) {
    const ParseRun r = both_ways(head);
    EXPECT_EQ(r.requests.size(), 1u) << head;
    return !r.requests.empty() && wants_keep_alive(r.requests[0]);
  };
  EXPECT_TRUE(keep("GET / HTTP/1.1\r\n\r\n"));
  EXPECT_FALSE(keep("GET / HTTP/1.1\r\nConnection: close\r\n\r\n"));
  EXPECT_FALSE(keep("GET / HTTP/1.1\r\nConnection: TE, Close\r\n\r\n"));
  EXPECT_FALSE(keep("GET / HTTP/1.0\r\n\r\n"));
  EXPECT_TRUE(keep("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
}

TEST(RequestParserTest, RequestLineLimit) {
  RequestLimits limits;
  const auto at_limit = request_line_of_length(limits.max_request_line_bytes);
  EXPECT_EQ(both_ways(at_limit + "\r\n\r\n").requests.size(), 1u);
  const auto over = request_line_of_length(limits.max_request_line_bytes + 1);
  const ParseRun r = both_ways(over + "\r\n\r\n");
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->status, 414);
  EXPECT_EQ(r.error->code, "uri_too_long");
  EXPECT_NE(r.error->message.find("max_request_line_bytes"), std::string::npos);
  EXPECT_NE(r.error->message.find("8192"), std::string::npos);
  // Refused as soon as one byte too many without a line ending has arrived.
  const ParseRun endless = run("GET /" + std::string(1'000'000, 'a'), 1);
  ASSERT_TRUE(endless.error);
  EXPECT_EQ(endless.error->status, 414);
  EXPECT_EQ(endless.fed, limits.max_request_line_bytes + 1);
  // A CR that may start the line ending is not counted against the line.
  EXPECT_FALSE(run(at_limit + "\r", 1).error);
}

TEST(RequestParserTest, OverlongRequestLineIs414HoweverItArrives) {
  // Empty lines before the request line use up head budget, so the head limit is nearer than the
  // line limit; an over-long line must still be 414 whole and byte by byte, a short one 431.
  RequestLimits limits;
  limits.max_request_line_bytes = 64;
  limits.max_head_bytes = 64;
  const ParseRun over = both_ways("\r\n\r\n" + request_line_of_length(65) + "\r\n\r\n", limits);
  ASSERT_TRUE(over.error);
  EXPECT_EQ(over.error->status, 414);
  const ParseRun endless = run("\r\n\r\n" + request_line_of_length(65), 1, limits);
  ASSERT_TRUE(endless.error);
  EXPECT_EQ(endless.error->status, 414);
  EXPECT_EQ(error_status("\r\n\r\n" + request_line_of_length(62) + "\r\n\r\n", limits), 431);
}

TEST(RequestParserTest, HeaderLineLimit) {
  RequestLimits limits;
  const std::string line = "X-Long: ";
  const std::string at_limit = line + std::string(limits.max_header_line_bytes - line.size(), 'v');
  EXPECT_EQ(both_ways("GET / HTTP/1.1\r\n" + at_limit + "\r\n\r\n").requests.size(), 1u);
  const ParseRun r = both_ways("GET / HTTP/1.1\r\n" + at_limit + "v\r\n\r\n");
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->status, 431);
  EXPECT_EQ(r.error->code, "request_header_fields_too_large");
  EXPECT_NE(r.error->message.find("max_header_line_bytes"), std::string::npos);
  EXPECT_NE(r.error->message.find("8192"), std::string::npos);
}

TEST(RequestParserTest, HeaderCountLimit) {
  RequestLimits limits;
  std::string head = "GET / HTTP/1.1\r\n";
  for (std::size_t i = 0; i < limits.max_header_count; ++i) head += "h" + std::to_string(i) + ": v\r\n";
  EXPECT_EQ(both_ways(head + "\r\n").requests.size(), 1u);
  const ParseRun r = both_ways(head + "one-more: v\r\n\r\n");
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->status, 431);
  EXPECT_NE(r.error->message.find("max_header_count"), std::string::npos);
  EXPECT_NE(r.error->message.find("100"), std::string::npos);
}

TEST(RequestParserTest, HeadSizeLimit) {
  RequestLimits limits;
  limits.max_head_bytes = 1024;
  limits.max_header_line_bytes = 512;
  limits.max_request_line_bytes = 512;
  // A head of exactly `size` bytes, line endings and the final empty line included.
  const auto head_of = [](std::size_t size) {
    std::string head = "GET / HTTP/1.1\r\n";
    while (head.size() + 2 < size) {
      const std::size_t room = size - 2 - head.size();
      const std::size_t line = std::min<std::size_t>(room, 200);
      if (line < 6) {
        head += std::string(room - 2, 'x');  // cannot happen with the sizes below
        head += "\r\n";
        break;
      }
      head += "x: " + std::string(line - 5, 'v') + "\r\n";
    }
    return head + "\r\n";
  };
  ASSERT_EQ(head_of(1024).size(), 1024u);
  EXPECT_EQ(both_ways(head_of(1024), limits).requests.size(), 1u);
  const ParseRun r = both_ways(head_of(1025), limits);
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->status, 431);
  EXPECT_NE(r.error->message.find("max_head_bytes"), std::string::npos);
  EXPECT_NE(r.error->message.find("1024"), std::string::npos);
}

TEST(RequestParserTest, FloodsAreRefusedAfterABoundedNumberOfBytes) {
  RequestLimits limits;
  const std::string start = "GET / HTTP/1.1\r\n";
  // One 4 MB header line, fed in 4 KiB reads.
  const std::string long_line = start + "X-Flood: " + std::string(4 * 1024 * 1024, 'a');
  ParseRun r = run(long_line, 4096);
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->status, 431);
  EXPECT_LE(r.fed, start.size() + limits.max_header_line_bytes + 4096);
  // 200,000 small headers.
  std::string many = start;
  for (int i = 0; i < 200'000; ++i) many += "a: b\r\n";
  r = run(many, 4096);
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->status, 431);
  EXPECT_LE(r.fed, limits.max_head_bytes + 4096);
  // A 2 MB request line.
  r = run("GET /" + std::string(2 * 1024 * 1024, 'a') + " HTTP/1.1\r\n\r\n", 4096);
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->status, 414);
  EXPECT_LE(r.fed, limits.max_request_line_bytes + 4096);
}

TEST(RequestParserTest, ContentLengthMustBeOneDecimalNumber) {
  for (const char* value : {"abc", "1e3", "+5", "-1", "5 5", "0x10", "", "5;", "5,,5"}) {
    const ParseRun r =
        both_ways(std::string("POST / HTTP/1.1\r\nContent-Length: ") + value + "\r\n\r\n12345");
    ASSERT_TRUE(r.error) << value;
    EXPECT_EQ(r.error->status, 400) << value;
    EXPECT_EQ(r.error->message, "The Content-Length header must be a non-negative decimal number") << value;
  }
  ParseRun r = both_ways("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n123456");
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->status, 400);
  EXPECT_NE(r.error->message.find("conflicting"), std::string::npos);
  EXPECT_EQ(error_status("POST / HTTP/1.1\r\nContent-Length: 5, 6\r\n\r\n123456"), 400);
  // Identical values, as a list or repeated, are one length.
  for (const char* head : {"Content-Length: 5, 5\r\n", "Content-Length: 5\r\nContent-Length: 005\r\n"}) {
    r = both_ways(std::string("POST / HTTP/1.1\r\n") + head + "\r\nhello");
    ASSERT_EQ(r.requests.size(), 1u) << head;
    EXPECT_EQ(r.requests[0].body, "hello");
  }
}

TEST(RequestParserTest, DeclaredLengthOverTheLimitIsRefusedBeforeTheBody) {
  RequestLimits limits;
  limits.max_body_bytes = 1000;
  const std::string head = "POST / HTTP/1.1\r\nContent-Length: 1001\r\n\r\n";
  const ParseRun r = run(head + std::string(1001, 'x'), 1, limits);
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->status, 413);
  EXPECT_EQ(r.error->code, "request_too_large");
  EXPECT_EQ(r.fed, head.size());
  EXPECT_EQ(both_ways("POST / HTTP/1.1\r\nContent-Length: 1000\r\n\r\n" + std::string(1000, 'x'), limits)
                .requests.size(),
            1u);
  // Far more digits than any integer holds: too large, never an overflow.
  EXPECT_EQ(error_status("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999999\r\n\r\n", limits),
            413);
}

TEST(RequestParserTest, RefusalsAfterTheHeadKeepTheHeadForTheAnswer) {
  RequestLimits limits;
  limits.max_body_bytes = 10;
  RequestParser parser(limits);
  parser.feed(
      "POST /v1/chat/completions?x=1 HTTP/1.1\r\nAuthorization: Bearer k\r\nContent-Length: 11\r\n\r\n");
  ASSERT_EQ(parser.parse(), RequestParser::Result::Failed);
  auto head = parser.take_refused_head();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->method, "POST");
  EXPECT_EQ(head->path, "/v1/chat/completions");
  EXPECT_EQ(find_header(head->headers, "authorization"), "Bearer k");
  EXPECT_TRUE(head->body.empty());
  EXPECT_FALSE(parser.take_refused_head()) << "taken once";

  // A refusal before the head is complete has no head to hand on.
  RequestParser early(limits);
  early.feed(std::string(limits.max_request_line_bytes + 2, 'G'));
  ASSERT_EQ(early.parse(), RequestParser::Result::Failed);
  EXPECT_FALSE(early.take_refused_head());

  // After a complete request, the next one's refusal is about the next one only.
  RequestParser next(limits);
  next.feed("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\nBad Header: x\r\n\r\n");
  ASSERT_EQ(next.parse(), RequestParser::Result::Complete);
  EXPECT_EQ(next.take_request().path, "/a");
  ASSERT_EQ(next.parse(), RequestParser::Result::Failed);
  EXPECT_FALSE(next.take_refused_head()) << "a malformed header line: the head never completed";
}

TEST(RequestParserTest, TransferEncodingRules) {
  EXPECT_EQ(error_status("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc"),
            400);
  EXPECT_EQ(error_status("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n"), 501);
  EXPECT_EQ(error_status("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), 501);
  EXPECT_EQ(error_status("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 400);
}

TEST(RequestParserTest, ChunkedBodiesAreDecoded) {
  const ParseRun r = both_ways(
      "POST /c HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n5\r\nhello\r\n6;name=value\r\n world\r\n"
      "A \r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\nGET /next HTTP/1.1\r\n\r\n");
  ASSERT_FALSE(r.error);
  ASSERT_EQ(r.requests.size(), 2u);
  EXPECT_EQ(r.requests[0].body, "hello world0123456789");
  EXPECT_EQ(r.requests[1].path, "/next");
}

TEST(RequestParserTest, MalformedChunksAreRefused) {
  const std::string head = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (const char* body : {"zz\r\n", "\r\n", "-5\r\nhello\r\n", "5\r\nhelloX\r\n", "5 x\r\nhello\r\n",
                           "0\r\nno colon\r\n\r\n"}) {
    EXPECT_EQ(error_status(head + body), 400) << body;
  }
  RequestLimits limits;
  limits.max_body_bytes = 10;
  EXPECT_EQ(both_ways(head + "5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n", limits).requests.size(), 1u);
  EXPECT_EQ(error_status(head + "5\r\nhello\r\n6\r\n", limits), 413);
  EXPECT_EQ(error_status(head + "fffffffffffffffffffffff\r\n", limits), 413);
  std::string trailers = head + "0\r\n";
  for (std::size_t i = 0; i <= RequestLimits{}.max_header_count; ++i) trailers += "t: v\r\n";
  EXPECT_EQ(error_status(trailers + "\r\n"), 431);
}

TEST(RequestParserTest, MalformedHeadsAreRefused) {
  for (const char* head : {
           "GET / HTTP/1.1\r\nX: a\r\n  folded\r\n\r\n",  // obs-fold
           "GET / HTTP/1.1\r\nX : a\r\n\r\n",             // space before the colon
           "GET / HTTP/1.1\r\nno colon here\r\n\r\n",     //
           "GET / HTTP/1.1\r\n: empty name\r\n\r\n",      //
           "GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n",         // control character
           "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n",           // bare CR
           "GET /\r\n\r\n",                               // no version
           "GET  / HTTP/1.1\r\n\r\n",                     // two spaces
           "GET / HTTP/1.1 \r\n\r\n",                     // trailing space
           "G(T / HTTP/1.1\r\n\r\n",                      // method not a token
           "GET /a\x7f HTTP/1.1\r\n\r\n",                 // target not visible ASCII
           "GET / http/1.1\r\n\r\n",                      //
           "THIS IS NOT HTTP\r\n\r\n",                    //
       }) {
    const ParseRun r = both_ways(head);
    ASSERT_TRUE(r.error) << head;
    EXPECT_EQ(r.error->status, 400) << head;
    EXPECT_EQ(r.error->code, "bad_request") << head;
  }
  EXPECT_EQ(error_status("GET / HTTP/2.0\r\n\r\n"), 505);
  EXPECT_EQ(error_status("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 505);
  EXPECT_EQ(error_status("GET / HTTP/1.2\r\n\r\n"), 505);
}

TEST(RequestParserTest, FailedParserStaysFailed) {
  RequestParser parser;
  parser.feed("BAD\r\n\r\n");
  EXPECT_EQ(parser.parse(), RequestParser::Result::Failed);
  parser.feed("GET / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(parser.parse(), RequestParser::Result::Failed);
}

TEST(RequestParserTest, ExpectContinueIsDueOnlyBeforeTheBodyArrives) {
  const std::string head = "POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n";
  ParseRun r = run(head, head.size());
  EXPECT_EQ(r.continues, 1);
  EXPECT_TRUE(r.requests.empty());
  r = run(head + "hello", 1);
  EXPECT_EQ(r.continues, 1);
  ASSERT_EQ(r.requests.size(), 1u);
  r = run(head + "hello", head.size() + 5);
  EXPECT_EQ(r.continues, 0) << "the body came with the head";
  r = run("GET / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n", 1);
  EXPECT_EQ(r.continues, 0) << "no body expected";
  r = run("POST / HTTP/1.1\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n", 1);
  EXPECT_EQ(r.continues, 1);
}

TEST(RequestParserTest, PartialRequestIsReported) {
  RequestParser parser;
  EXPECT_FALSE(parser.has_partial_request());
  parser.feed("GE");
  EXPECT_EQ(parser.parse(), RequestParser::Result::NeedMore);
  EXPECT_TRUE(parser.has_partial_request());
  parser.feed("T / HTTP/1.1\r\n\r\nGET");
  EXPECT_EQ(parser.parse(), RequestParser::Result::Complete);
  parser.take_request();
  EXPECT_EQ(parser.buffered(), 3u);
  EXPECT_TRUE(parser.has_partial_request());
}

TEST(RequestParserTest, UrlDecode) {
  EXPECT_EQ(url_decode("a%20b+c%2Fd"), "a b c/d");
  EXPECT_EQ(url_decode("100%"), "100%");
  EXPECT_EQ(url_decode("%zz%4"), "%zz%4");
}

}  // namespace
}  // namespace gateway
