// Process-wide, non-blocking logging (spdlog's async logger writing to stderr).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "gateway/plugin.h"

namespace gateway {

/// How lines reach stderr: `time level message` text, or one JSON object per line (JSON Lines).
enum class LogFormat { Text, Json };

/// The name config.yaml uses for `level` in JSON lines: debug, info, warn or error.
const char* log_level_name(LogLevel level);

/// A message line in the JSON format: {"time":…,"level":…,"message":…}, without the newline.
std::string json_log_line(std::chrono::system_clock::time_point time, LogLevel level,
                          std::string_view message);

/// Sets up the async logger; `level` is debug, info, warn or error.
void init_logging(const std::string& level, LogFormat format = LogFormat::Text);
/// Logs one line; never blocks the caller on I/O (a full queue drops the oldest line).
void log_message(LogLevel level, const std::string& message);
/// True when lines of `level` pass the configured threshold.
bool log_enabled(LogLevel level);
/// Appends the text format's line prefix, `2026-12-01T09:58:27.123Z info `, as the logger writes it.
void append_text_line_prefix(std::string& out, std::chrono::system_clock::time_point time, LogLevel level);
/// Writes `block`, whole lines that already carry their time and level in the configured format
/// (separated by '\n', without the last newline), as one queue entry and one write. For many
/// lines from one thread, such as a batch of access lines. Same queue and guarantees as log_message.
void log_line_block(std::string block);
/// Flushes and stops the logger.
void shutdown_logging();

}  // namespace gateway
