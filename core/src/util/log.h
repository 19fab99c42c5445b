// Process-wide, non-blocking logging (spdlog's async logger writing to stderr).
#pragma once

#include <string>

#include "gateway/plugin.h"

namespace gateway {

/// Sets up the async logger; `level` is debug, info, warn or error.
void init_logging(const std::string& level);
/// Logs one line; never blocks the caller on I/O (a full queue drops the oldest line).
void log_message(LogLevel level, const std::string& message);
/// Flushes and stops the logger.
void shutdown_logging();

}  // namespace gateway
