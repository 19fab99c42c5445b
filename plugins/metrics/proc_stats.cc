// Reading the process figures from /proc (see proc_stats.h).
#include "proc_stats.h"

#include <unistd.h>

#include <cctype>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace e2b::metrics {
namespace {

template <typename T>
std::optional<T> parse_number(std::string_view text) {
  T value{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

/// The whitespace-separated words of `text`.
std::vector<std::string_view> words(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    const std::size_t start = i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i > start) out.push_back(text.substr(start, i - start));
  }
  return out;
}

/// The lines of `text` (without their line ends).
std::vector<std::string_view> lines(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    const auto end = text.find('\n');
    out.push_back(text.substr(0, end));
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
  }
  return out;
}

std::optional<std::string> read_text(const char* path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::optional<std::size_t> count_open_fds() {
  std::error_code error;
  std::size_t count = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", error), end; !error && it != end;
       it.increment(error)) {
    ++count;
  }
  if (error) return std::nullopt;
  return count;
}

}  // namespace

std::optional<ProcStat> parse_proc_stat(std::string_view text) {
  const auto name_end = text.rfind(')');
  if (name_end == std::string_view::npos) return std::nullopt;
  // Field 3 (state) is the first word after the name; fields are numbered from 1.
  const auto fields = words(text.substr(name_end + 1));
  const auto field = [&](std::size_t number) -> std::string_view {
    return number - 3 < fields.size() ? fields[number - 3] : std::string_view();
  };
  const auto user = parse_number<std::uint64_t>(field(14));
  const auto system = parse_number<std::uint64_t>(field(15));
  const auto start = parse_number<std::uint64_t>(field(22));
  const auto rss = parse_number<std::int64_t>(field(24));
  if (!user || !system || !start || !rss) return std::nullopt;
  return ProcStat{*user, *system, *start, *rss};
}

std::optional<std::uint64_t> parse_max_open_files(std::string_view limits_text) {
  constexpr std::string_view kName = "Max open files";
  for (const auto line : lines(limits_text)) {
    if (!line.starts_with(kName)) continue;
    const auto values = words(line.substr(kName.size()));
    if (values.empty()) return std::nullopt;
    return parse_number<std::uint64_t>(values[0]);  // "unlimited" does not parse
  }
  return std::nullopt;
}

std::optional<std::int64_t> parse_boot_time(std::string_view proc_stat_text) {
  for (const auto line : lines(proc_stat_text)) {
    const auto fields = words(line);
    if (fields.size() == 2 && fields[0] == "btime") return parse_number<std::int64_t>(fields[1]);
  }
  return std::nullopt;
}

ProcessFigures process_figures(const std::optional<ProcStat>& stat, std::optional<std::int64_t> boot_time,
                               std::optional<std::uint64_t> max_open_files,
                               std::optional<std::size_t> open_fds, long ticks_per_second, long page_size) {
  ProcessFigures out;
  if (stat && ticks_per_second > 0) {
    const auto ticks = static_cast<double>(ticks_per_second);
    out.cpu_seconds = static_cast<double>(stat->user_ticks + stat->system_ticks) / ticks;
    if (boot_time)
      out.start_time_seconds =
          static_cast<double>(*boot_time) + static_cast<double>(stat->start_ticks) / ticks;
  }
  if (stat && page_size > 0)
    out.resident_memory_bytes = static_cast<double>(stat->rss_pages) * static_cast<double>(page_size);
  if (max_open_files) out.max_fds = static_cast<double>(*max_open_files);
  if (open_fds) out.open_fds = static_cast<double>(*open_fds);
  return out;
}

ProcessFigures read_process_figures() {
  const auto stat = read_text("/proc/self/stat");
  const auto limits = read_text("/proc/self/limits");
  // The boot time never changes while the gateway runs.
  static const std::optional<std::int64_t> boot_time = [] {
    const auto text = read_text("/proc/stat");
    return text ? parse_boot_time(*text) : std::nullopt;
  }();
  return process_figures(stat ? parse_proc_stat(*stat) : std::nullopt, boot_time,
                         limits ? parse_max_open_files(*limits) : std::nullopt, count_open_fds(),
                         sysconf(_SC_CLK_TCK), sysconf(_SC_PAGESIZE));
}

}  // namespace e2b::metrics
