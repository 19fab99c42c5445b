// One attempt's Fragments answer: its JSON `code` streamed as model output, or its failure.
#include "answer_stream.h"

#include <algorithm>
#include <chrono>

#include "error_mapping.h"

namespace e2b::fragments {
namespace {

using namespace gateway;

constexpr std::size_t kMaxErrorBody = 16 * 1024;

}  // namespace

AnswerStream::AnswerStream(std::shared_ptr<FailoverCall> call, std::size_t target,
                           std::shared_ptr<ResponseSink> sink, AnswerOptions options)
    : call_(std::move(call)), target_(target), sink_(std::move(sink)), options_(options) {}

void AnswerStream::on_head(int status, const Headers& headers) {
  status_ = status;
  if (status_ != 200) {
    headers_ = headers;  // for the error mapping (Retry-After, rate limit reset)
    return;
  }
  call_->answered(target_);
  sink_->start();
}

void AnswerStream::on_body(std::string_view bytes) {
  if (status_ != 200) {
    error_body_.append(bytes.substr(0, kMaxErrorBody - std::min(kMaxErrorBody, error_body_.size())));
    return;
  }
  body_bytes_ += bytes.size();
  emit(parser_.feed(bytes));
}

void AnswerStream::on_end(UpstreamEnd end, std::string_view detail) {
  if (status_ != 200 && status_ != 0 && end == UpstreamEnd::Complete) {
    failed(end, map_upstream_status(status_, headers_, error_body_, std::chrono::system_clock::now()));
    return;
  }
  if (end != UpstreamEnd::Complete) {
    failed(end, map_transport_failure(end, std::string(detail)));
    return;
  }
  finish_answer();
}

void AnswerStream::failed(UpstreamEnd end, LocalResponse error) {
  call_->attempt_failed(target_, status_, end, headers_, std::move(error), status_ == 200);
}

void AnswerStream::finish_answer() {
  auto outcome = parser_.finish();
  emit(outcome.rest);
  switch (outcome.shape) {
    case BodyShape::CompleteObject:
      if (!sent_code_) {
        if (commentary_.empty()) {
          sink_->fail(
              openai_error(502, "upstream_error", "empty_answer", "The model returned an empty answer"));
          return;
        }
        sink_->delta({commentary_, ""});
      }
      sink_->finish(FinishReason::Stop);
      return;
    case BodyShape::NotJson:
      if (outcome.fallback.empty()) break;
      sink_->delta({outcome.fallback, ""});
      sink_->finish(FinishReason::Stop);
      return;
    case BodyShape::TruncatedObject:
      if (outcome.syntax_error && !outcome.fallback.empty() && !sent_code_) {
        sink_->delta({outcome.fallback, ""});
        sink_->finish(FinishReason::Stop);
        return;
      }
      if (cut_by_max_tokens()) {
        if (!sent_code_ && !commentary_.empty()) sink_->delta({commentary_, ""});
        sink_->finish(FinishReason::Length);
        return;
      }
      sink_->fail(openai_error(502, "upstream_error", "incomplete_answer",
                               "The model's answer ended before it was complete"));
      return;
    case BodyShape::Empty:
      break;
  }
  sink_->fail(openai_error(502, "upstream_error", "empty_answer", "The model returned an empty answer"));
}

void AnswerStream::emit(const ParsedText& text) {
  if (!text.commentary.empty()) {
    if (options_.commentary_as_reasoning) sink_->delta({"", text.commentary});
    commentary_ += text.commentary;
  }
  if (!text.code.empty()) {
    sent_code_ = true;
    sink_->delta({text.code, ""});
  }
}

bool AnswerStream::cut_by_max_tokens() const {
  if (!options_.max_tokens) return false;
  constexpr double kBytesPerToken = 3.0;  // conservative for JSON text
  return static_cast<double>(body_bytes_) / kBytesPerToken >= 0.8 * static_cast<double>(*options_.max_tokens);
}

}  // namespace e2b::fragments
