// Unit tests of stop sequences and the token budget applied to a streamed answer.
#include "openai/answer_limits.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace gateway::openai {
namespace {

/// What a client receives when `pieces` of answer text pass through `limiter`, and why it ended
/// (nullopt: the upstream finished it).
struct Received {
  std::string content;
  std::string reasoning;
  std::optional<FinishReason> cut;
  std::vector<std::string> deliveries;  ///< the content released by each call
};

Received run(AnswerLimiter limiter, const std::vector<std::string>& pieces) {
  Received out;
  auto take = [&out](const AnswerLimiter::Release& release) {
    out.content += release.delta.content;
    out.reasoning += release.delta.reasoning;
    out.deliveries.push_back(release.delta.content);
    if (release.cut) out.cut = release.cut;
  };
  for (const auto& piece : pieces) {
    take(limiter.feed({piece, ""}));
    if (out.cut) return out;
  }
  take(limiter.flush());
  return out;
}

/// Every way to split `text` into two pieces, plus byte by byte.
std::vector<std::vector<std::string>> chunkings(const std::string& text) {
  std::vector<std::vector<std::string>> out{{text}};
  for (std::size_t i = 1; i < text.size(); ++i) out.push_back({text.substr(0, i), text.substr(i)});
  std::vector<std::string> bytes;
  for (char c : text) bytes.emplace_back(1, c);
  out.push_back(bytes);
  return out;
}

TEST(StopSequenceMatcher, FindsASequenceThatOverlapsItself) {
  StopSequenceMatcher matcher("aab");
  std::string seen;
  for (char c : std::string("aaab")) {
    seen += c;
    if (matcher.step(c)) break;
  }
  EXPECT_EQ(seen, "aaab");
}

TEST(StopSequenceMatcher, ReportsThePartialMatchAtTheEnd) {
  StopSequenceMatcher matcher("abcab");
  for (char c : std::string("xxabca")) matcher.step(c);
  EXPECT_EQ(matcher.partial(), 4u);
  EXPECT_FALSE(matcher.step('x'));
  EXPECT_EQ(matcher.partial(), 0u);
}

TEST(AnswerLimiter, WithoutLimitsEverythingPassesAtOnce) {
  const auto got = run(AnswerLimiter({}, std::nullopt), {"Hello, ", "world"});
  EXPECT_EQ(got.content, "Hello, world");
  EXPECT_EQ(got.deliveries, (std::vector<std::string>{"Hello, ", "world", ""}));
  EXPECT_EQ(got.cut, std::nullopt);
}

TEST(AnswerLimiter, CutsBeforeTheStopSequenceInEveryChunking) {
  const std::string text = "count the numbers and stop";
  for (const auto& pieces : chunkings(text)) {
    const auto got = run(AnswerLimiter({"numbers"}, std::nullopt), pieces);
    EXPECT_EQ(got.content, "count the ");
    EXPECT_EQ(got.cut, FinishReason::Stop);
  }
}

TEST(AnswerLimiter, NeverReleasesAnyPartOfTheMatch) {
  const std::string text = "abc<END>def";
  for (const auto& pieces : chunkings(text)) {
    const auto got = run(AnswerLimiter({"<END>"}, std::nullopt), pieces);
    for (const auto& delivered : got.deliveries) EXPECT_EQ(delivered.find('<'), std::string::npos);
    EXPECT_EQ(got.content, "abc");
  }
}

TEST(AnswerLimiter, HoldsBackOnlyWhatCouldBeginASequence) {
  AnswerLimiter limiter({"STOP"}, std::nullopt);
  EXPECT_EQ(limiter.feed({"go ST", ""}).delta.content, "go ");  // "ST" may begin STOP
  EXPECT_EQ(limiter.feed({"ILL", ""}).delta.content, "STILL");  // it did not
  EXPECT_EQ(limiter.feed({"xyz", ""}).delta.content, "xyz");    // nothing held back
  EXPECT_EQ(limiter.flush().delta.content, "");
}

TEST(AnswerLimiter, ReleasesHeldTextWhenTheAnswerEnds) {
  const auto got = run(AnswerLimiter({"STOP"}, std::nullopt), {"the end: STO"});
  EXPECT_EQ(got.content, "the end: STO");
  EXPECT_EQ(got.cut, std::nullopt);
}

TEST(AnswerLimiter, TheFirstSequenceToAppearWins) {
  const auto got = run(AnswerLimiter({"zzz", "b", "cd"}, std::nullopt), {"a", "cd", "b zzz"});
  EXPECT_EQ(got.content, "a");
  EXPECT_EQ(got.cut, FinishReason::Stop);
}

TEST(AnswerLimiter, OfSequencesEndingTogetherTheLongerCutsEarlier) {
  const auto got = run(AnswerLimiter({"b", "ab"}, std::nullopt), {"xxab"});
  EXPECT_EQ(got.content, "xx");
}

TEST(AnswerLimiter, AStopSequenceAtTheVeryStartGivesAnEmptyAnswer) {
  const auto got = run(AnswerLimiter({"Hi"}, std::nullopt), {"Hi there"});
  EXPECT_EQ(got.content, "");
  EXPECT_EQ(got.cut, FinishReason::Stop);
}

TEST(AnswerLimiter, MatchesMultibyteSequencesSplitInsideCharacters) {
  const std::string text = "答案是：中文结束了";
  for (const auto& pieces : chunkings(text)) {
    const auto got = run(AnswerLimiter({"结束"}, std::nullopt), pieces);
    EXPECT_EQ(got.content, "答案是：中文");
  }
}

TEST(AnswerLimiter, StopsAtTheTokenBudget) {
  // ASCII counts one token per four bytes: eight tokens are 32 bytes.
  const std::string text(100, 'x');
  for (const auto& pieces : {std::vector<std::string>{text}, std::vector<std::string>{"xxx", text}}) {
    AnswerLimiter limiter({}, 8);
    const auto got = run(std::move(limiter), pieces);
    EXPECT_EQ(got.content.size(), 32u);
    EXPECT_EQ(got.cut, FinishReason::Length);
  }
}

TEST(AnswerLimiter, AnAnswerThatFitsExactlyEndsAsTheUpstreamSays) {
  const auto got = run(AnswerLimiter({}, 2), {"12345678"});
  EXPECT_EQ(got.content, "12345678");
  EXPECT_EQ(got.cut, std::nullopt);
}

TEST(AnswerLimiter, NeverSplitsACharacterAtTheBudget) {
  const auto got = run(AnswerLimiter({}, 3), {"中文字符"});  // one token per CJK character
  EXPECT_EQ(got.content, "中文字");
  EXPECT_EQ(got.cut, FinishReason::Length);
}

TEST(AnswerLimiter, ReasoningCountsAgainstTheBudget) {
  AnswerLimiter limiter({}, 2);
  const auto first = limiter.feed({"", "12345678"});  // two tokens
  EXPECT_EQ(first.delta.reasoning, "12345678");
  EXPECT_EQ(first.cut, std::nullopt);
  const auto second = limiter.feed({"answer", ""});
  EXPECT_EQ(second.delta.content, "");
  EXPECT_EQ(second.cut, FinishReason::Length);
  EXPECT_EQ(limiter.released_tokens(), 2);
}

TEST(AnswerLimiter, TheBudgetCutsBeforeALaterStopSequence) {
  const auto got = run(AnswerLimiter({"END"}, 1), {"abcdefgh END"});
  EXPECT_EQ(got.content, "abcd");
  EXPECT_EQ(got.cut, FinishReason::Length);
}

TEST(AnswerLimiter, HeldTextStillCountsAgainstTheBudgetWhenReleased) {
  const auto got = run(AnswerLimiter({"STOP"}, 1), {"abS", "TAB"});
  EXPECT_EQ(got.content, "abST");
  EXPECT_EQ(got.cut, FinishReason::Length);
}

TEST(AnswerLimiter, NothingPassesOnceTheAnswerWasCut) {
  AnswerLimiter limiter({"x"}, std::nullopt);
  EXPECT_EQ(limiter.feed({"ax", ""}).cut, FinishReason::Stop);
  const auto after = limiter.feed({"more", "thinking"});
  EXPECT_EQ(after.delta.content, "");
  EXPECT_EQ(after.delta.reasoning, "");
  EXPECT_EQ(limiter.flush().delta.content, "");
}

TEST(AnswerLimiter, CountsWhatItReleased) {
  AnswerLimiter limiter({"STOP"}, std::nullopt);
  limiter.feed({"12345678ST", ""});
  EXPECT_EQ(limiter.released_tokens(), 2);  // "ST" is held back
  limiter.flush();
  EXPECT_EQ(limiter.released_tokens(), 3);
}

}  // namespace
}  // namespace gateway::openai
