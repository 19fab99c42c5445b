// Stop-sequence matching and the token budget applied to an answer as it streams.
#include "openai/answer_limits.h"

#include <algorithm>

namespace gateway::openai {
namespace {

/// Bytes in the UTF-8 character that starts with `lead`.
std::size_t utf8_length(unsigned char lead) {
  if (lead < 0xC0) return 1;
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  return 4;
}

}  // namespace

StopSequenceMatcher::StopSequenceMatcher(std::string sequence)
    : sequence_(std::move(sequence)), fallback_(sequence_.size(), 0) {
  for (std::size_t i = 1, border = 0; i < sequence_.size(); ++i) {
    while (border > 0 && sequence_[i] != sequence_[border]) border = fallback_[border - 1];
    if (sequence_[i] == sequence_[border]) ++border;
    fallback_[i] = border;
  }
}

bool StopSequenceMatcher::step(char byte) {
  while (matched_ > 0 && byte != sequence_[matched_]) matched_ = fallback_[matched_ - 1];
  if (byte == sequence_[matched_]) ++matched_;
  if (matched_ < sequence_.size()) return false;
  matched_ = 0;
  return true;
}

AnswerLimiter::AnswerLimiter(std::vector<std::string> stop, std::optional<std::int64_t> max_tokens)
    : max_tokens_(max_tokens) {
  for (auto& sequence : stop) {
    if (!sequence.empty()) matchers_.emplace_back(std::move(sequence));
  }
}

bool AnswerLimiter::release(std::string_view text, std::string& out) {
  if (!max_tokens_ || released_.tokens() + static_cast<std::int64_t>(text.size()) <= *max_tokens_) {
    released_.add(text);  // no byte adds more than one token, so all of it fits
    out.append(text);
    return true;
  }
  std::size_t fits = 0;
  while (fits < text.size()) {
    const auto length = std::min(utf8_length(static_cast<unsigned char>(text[fits])), text.size() - fits);
    TokenEstimator trial = released_;
    trial.add(text.substr(fits, length));
    if (trial.tokens() > *max_tokens_) break;
    released_ = trial;
    fits += length;
  }
  out.append(text.substr(0, fits));
  return fits == text.size();
}

AnswerLimiter::Release AnswerLimiter::feed(const Delta& piece) {
  Release out;
  if (ended_) return out;
  if (!release(piece.reasoning, out.delta.reasoning)) {
    ended_ = true;
    out.cut = FinishReason::Length;
    return out;
  }
  const std::size_t first_new = held_.size();
  held_ += piece.content;
  for (std::size_t i = first_new; i < held_.size(); ++i) {
    // Every sequence that ends at this byte; the answer is cut before the one starting first.
    std::optional<std::size_t> match_start;
    for (auto& matcher : matchers_) {
      if (!matcher.step(held_[i])) continue;
      const std::size_t start = i + 1 - matcher.size();
      match_start = std::min(match_start.value_or(start), start);
    }
    if (!match_start) continue;
    ended_ = true;
    const bool fits = release(std::string_view(held_).substr(0, *match_start), out.delta.content);
    out.cut = fits ? FinishReason::Stop : FinishReason::Length;
    held_.clear();
    return out;
  }
  std::size_t may_begin_a_match = 0;
  for (const auto& matcher : matchers_) may_begin_a_match = std::max(may_begin_a_match, matcher.partial());
  const std::size_t releasable = held_.size() - may_begin_a_match;
  if (!release(std::string_view(held_).substr(0, releasable), out.delta.content)) {
    ended_ = true;
    out.cut = FinishReason::Length;
    held_.clear();
    return out;
  }
  held_.erase(0, releasable);
  return out;
}

AnswerLimiter::Release AnswerLimiter::flush() {
  Release out;
  if (ended_) return out;
  ended_ = true;
  if (!release(held_, out.delta.content)) out.cut = FinishReason::Length;
  held_.clear();
  return out;
}

}  // namespace gateway::openai
