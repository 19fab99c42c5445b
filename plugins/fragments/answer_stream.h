// Feeds one Fragments answer (one attempt on one target) to the client's ResponseSink.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "failover_call.h"
#include "fragment_stream_parser.h"
#include "gateway/plugin.h"

namespace e2b::fragments {

/// Observes one upstream attempt on its upstream loop's thread. A failure before any output goes
/// back to the FailoverCall, which may retry on another target; everything else reaches the sink.
class AnswerStream : public gateway::UpstreamObserver {
 public:
  AnswerStream(std::shared_ptr<FailoverCall> call, std::size_t target,
               std::shared_ptr<gateway::ResponseSink> sink, AnswerOptions options);

  void on_head(int status, const gateway::Headers& headers) override;
  void on_body(std::string_view bytes) override;
  void on_end(gateway::UpstreamEnd end, std::string_view detail) override;

 private:
  /// The attempt failed with `error` (mapped as the client would get it).
  void failed(gateway::UpstreamEnd end, gateway::LocalResponse error);
  /// Ends a complete 200 answer according to its shape.
  void finish_answer();
  void emit(const ParsedText& text);
  /// Fragments gives no finish reason; an object cut off near the token budget was cut by it.
  bool cut_by_max_tokens() const;

  const std::shared_ptr<FailoverCall> call_;
  const std::size_t target_;
  const std::shared_ptr<gateway::ResponseSink> sink_;
  const AnswerOptions options_;
  int status_ = 0;
  gateway::Headers headers_;  ///< a non-200 answer's headers, for its error mapping
  std::string error_body_;
  FragmentStreamParser parser_;
  std::string commentary_;
  bool sent_code_ = false;
  std::size_t body_bytes_ = 0;
};

}  // namespace e2b::fragments
