// The process figures Prometheus clients conventionally export (process_*), read from /proc at
// scrape time. The parsing is pure so that it can be tested on sample text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace e2b::metrics {

/// The fields of /proc/<pid>/stat the process metrics need.
struct ProcStat {
  std::uint64_t user_ticks = 0;    ///< utime, in clock ticks
  std::uint64_t system_ticks = 0;  ///< stime, in clock ticks
  std::uint64_t start_ticks = 0;   ///< starttime: clock ticks after boot
  std::int64_t rss_pages = 0;      ///< resident set size, in pages
};

/// Parses the one line of /proc/<pid>/stat; nullopt when it is not one. The command name may
/// hold spaces and parentheses, so fields are counted from its last ')'.
std::optional<ProcStat> parse_proc_stat(std::string_view text);

/// The soft "Max open files" limit of /proc/<pid>/limits; nullopt when absent or unlimited.
std::optional<std::uint64_t> parse_max_open_files(std::string_view limits_text);

/// The boot time (`btime`, seconds since the epoch) of /proc/stat; nullopt when absent.
std::optional<std::int64_t> parse_boot_time(std::string_view proc_stat_text);

/// What the process_* metrics report, each only when it could be read.
struct ProcessFigures {
  std::optional<double> resident_memory_bytes;
  std::optional<double> cpu_seconds;
  std::optional<double> start_time_seconds;
  std::optional<double> open_fds;
  std::optional<double> max_fds;
};

/// Combines what /proc says into the figures: `ticks_per_second` and `page_size` from sysconf,
/// `boot_time` from parse_boot_time.
ProcessFigures process_figures(const std::optional<ProcStat>& stat, std::optional<std::int64_t> boot_time,
                               std::optional<std::uint64_t> max_open_files,
                               std::optional<std::size_t> open_fds, long ticks_per_second, long page_size);

/// Reads this process's figures from /proc/self and /proc/stat now.
ProcessFigures read_process_figures();

}  // namespace e2b::metrics
