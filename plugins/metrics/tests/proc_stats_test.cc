// Parsing /proc/self/stat, /proc/self/limits and /proc/stat, on sample text.
#include "proc_stats.h"

#include <gtest/gtest.h>

#include <unistd.h>

namespace e2b::metrics {
namespace {

// A real line, with a command name holding a space and parentheses.
constexpr const char* kStat =
    "4242 (e2b (gate) way) S 1 4242 4242 0 -1 4194560 2750 0 0 0 150 37 0 0 20 0 5 0 123456 "
    "246890496 3012 18446744073709551615 1 1 0 0 0 0 0 4096 17610 0 0 0 17 1 0 0 0 0 0\n";

constexpr const char* kLimits =
    "Limit                     Soft Limit           Hard Limit           Units     \n"
    "Max cpu time              unlimited            unlimited            seconds   \n"
    "Max open files            65536                1048576              files     \n"
    "Max locked memory         8388608              8388608              bytes     \n";

TEST(ParseProcStat, ReadsCpuStartAndRssAfterTheCommandName) {
  const auto stat = parse_proc_stat(kStat);
  ASSERT_TRUE(stat);
  EXPECT_EQ(stat->user_ticks, 150u);
  EXPECT_EQ(stat->system_ticks, 37u);
  EXPECT_EQ(stat->start_ticks, 123456u);
  EXPECT_EQ(stat->rss_pages, 3012);
}

TEST(ParseProcStat, RefusesTextThatIsNotAStatLine) {
  EXPECT_FALSE(parse_proc_stat(""));
  EXPECT_FALSE(parse_proc_stat("4242 no name"));
  EXPECT_FALSE(parse_proc_stat("4242 (short) S 1 2 3"));
  EXPECT_FALSE(parse_proc_stat("1 (x) S 1 1 1 0 -1 0 0 0 0 0 ten 37 0 0 20 0 5 0 1 2 3 4"));
}

TEST(ParseMaxOpenFiles, ReadsTheSoftLimit) {
  EXPECT_EQ(parse_max_open_files(kLimits), 65536u);
  EXPECT_EQ(
      parse_max_open_files("Max open files            unlimited            unlimited            files\n"),
      std::nullopt);
  EXPECT_EQ(
      parse_max_open_files("Max cpu time              unlimited            unlimited            seconds\n"),
      std::nullopt);
}

TEST(ParseBootTime, ReadsBtime) {
  EXPECT_EQ(parse_boot_time("cpu  1 2 3 4\ncpu0 1 2 3 4\nintr 12345\nbtime 1764579523\nprocesses 99\n"),
            1764579523);
  EXPECT_EQ(parse_boot_time("cpu 1 2 3\n"), std::nullopt);
}

TEST(ProcessFigures, ConvertsTicksAndPages) {
  const auto figures = process_figures(parse_proc_stat(kStat), 1'700'000'000, 65536, 12, 100, 4096);
  EXPECT_DOUBLE_EQ(*figures.cpu_seconds, 1.87);
  EXPECT_DOUBLE_EQ(*figures.start_time_seconds, 1'700'000'000 + 1234.56);
  EXPECT_DOUBLE_EQ(*figures.resident_memory_bytes, 3012.0 * 4096);
  EXPECT_DOUBLE_EQ(*figures.max_fds, 65536);
  EXPECT_DOUBLE_EQ(*figures.open_fds, 12);
}

TEST(ProcessFigures, LeavesOutWhatCouldNotBeRead) {
  const auto figures = process_figures(std::nullopt, std::nullopt, std::nullopt, std::nullopt, 100, 4096);
  EXPECT_FALSE(figures.cpu_seconds || figures.start_time_seconds || figures.resident_memory_bytes ||
               figures.max_fds || figures.open_fds);
  const auto no_boot = process_figures(parse_proc_stat(kStat), std::nullopt, std::nullopt, 3, 100, 4096);
  EXPECT_TRUE(no_boot.cpu_seconds);
  EXPECT_FALSE(no_boot.start_time_seconds);
}

TEST(ReadProcessFigures, ReadsThisProcess) {
  const auto figures = read_process_figures();
  ASSERT_TRUE(figures.resident_memory_bytes && figures.open_fds && figures.max_fds && figures.cpu_seconds &&
              figures.start_time_seconds);
  EXPECT_GT(*figures.resident_memory_bytes, 1024 * 1024);
  EXPECT_GE(*figures.open_fds, 3);
  EXPECT_GE(*figures.max_fds, *figures.open_fds);
  EXPECT_GE(*figures.cpu_seconds, 0);
  EXPECT_GT(*figures.start_time_seconds, 1'600'000'000);
}

}  // namespace
}  // namespace e2b::metrics
