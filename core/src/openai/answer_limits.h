// The client's `stop` sequences and token budget, applied to the model's answer as it arrives
// (pure logic). The upstream never sees them as such: its raw output wraps the answer in an
// envelope where a stop sequence or a token budget would cut the wrong text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gateway/plugin.h"
#include "openai/chat_format.h"

namespace gateway::openai {

/// Finds one stop sequence in text fed byte by byte (Knuth–Morris–Pratt), so a match that spans
/// pieces is found in time linear in the text.
class StopSequenceMatcher {
 public:
  /// `sequence` must not be empty.
  explicit StopSequenceMatcher(std::string sequence);
  /// Advances over one byte; true when the sequence ends with it.
  bool step(char byte);
  /// How many bytes at the end of the text fed so far begin the sequence (0 after a match).
  std::size_t partial() const { return matched_; }
  std::size_t size() const { return sequence_.size(); }

 private:
  std::string sequence_;
  std::vector<std::size_t> fallback_;  // longest proper border of each prefix
  std::size_t matched_ = 0;
};

/// Applies `stop` and `max_tokens` to one answer. Text that could be the start of a stop
/// sequence is held back until the next piece shows it is not; nothing of a match is released.
/// The budget counts released answer and reasoning text with TokenEstimator, so the usage the
/// gateway reports never exceeds it.
class AnswerLimiter {
 public:
  AnswerLimiter(std::vector<std::string> stop, std::optional<std::int64_t> max_tokens);

  /// What may go to the client now, and, when the answer ends here, why.
  struct Release {
    Delta delta;
    std::optional<FinishReason> cut;
  };

  /// Takes the next piece of model output (reasoning before content, as it is sent).
  Release feed(const Delta& piece);
  /// The answer is complete upstream: releases what was held back (within the budget).
  Release flush();
  /// Estimated tokens released so far.
  std::int64_t released_tokens() const { return released_.tokens(); }

 private:
  /// Moves the part of `text` that fits the budget to `out`; false when some did not fit.
  bool release(std::string_view text, std::string& out);

  std::vector<StopSequenceMatcher> matchers_;
  std::optional<std::int64_t> max_tokens_;
  TokenEstimator released_;
  std::string held_;  // content that may begin a stop sequence
  bool ended_ = false;
};

}  // namespace gateway::openai
