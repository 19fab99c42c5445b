// The process-wide asynchronous logger.
#include "util/log.h"

#include <spdlog/async.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace gateway {
namespace {

std::shared_ptr<spdlog::logger>& logger() {
  static std::shared_ptr<spdlog::logger> instance;
  return instance;
}

spdlog::level::level_enum to_spdlog(LogLevel level) {
  switch (level) {
    case LogLevel::Debug:
      return spdlog::level::debug;
    case LogLevel::Info:
      return spdlog::level::info;
    case LogLevel::Warn:
      return spdlog::level::warn;
    case LogLevel::Error:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

}  // namespace

void init_logging(const std::string& level) {
  if (!logger()) {
    spdlog::init_thread_pool(8192, 1);  // 8192 slots of ~400 bytes; a full queue drops the oldest line
    logger() = spdlog::create_async_nb<spdlog::sinks::stderr_sink_mt>("gateway");
    logger()->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
    logger()->flush_on(spdlog::level::info);
  }
  logger()->set_level(spdlog::level::from_str(level == "warn" ? "warning" : level));
}

void log_message(LogLevel level, const std::string& message) {
  if (auto& l = logger()) {
    l->log(to_spdlog(level), message);
  }
}

void shutdown_logging() {
  if (auto& l = logger()) l->flush();
  spdlog::shutdown();
  logger().reset();
}

}  // namespace gateway
