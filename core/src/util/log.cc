// The process-wide asynchronous logger, in the text or the JSON Lines format.
#include "util/log.h"

#include <spdlog/async.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "gateway/json_writer.h"
#include "util/thread_role.h"

namespace gateway {
namespace {

constexpr const char* kTextPattern = "%Y-%m-%dT%H:%M:%S.%eZ %l %v";

/// The logger of messages, in the configured format.
std::shared_ptr<spdlog::logger>& logger() {
  static std::shared_ptr<spdlog::logger> instance;
  return instance;
}

/// The logger of blocks of lines that are already whole (batches of access lines): it
/// writes them as they are. It shares the thread pool, so lines of both loggers reach stderr in
/// the order they came.
std::shared_ptr<spdlog::logger>& formatted_logger() {
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

LogLevel from_spdlog(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug:
      return LogLevel::Debug;
    case spdlog::level::warn:
      return LogLevel::Warn;
    case spdlog::level::err:
    case spdlog::level::critical:
      return LogLevel::Error;
    default:
      return LogLevel::Info;
  }
}

void append_json_log_line(std::string& out, std::chrono::system_clock::time_point time, LogLevel level,
                          std::string_view message) {
  JsonObjectWriter(out)
      .time("time", time)
      .string("level", log_level_name(level))
      .string("message", message)
      .close();
}

/// Formats each message as a JSON object on the logger's own thread, so callers pay nothing for
/// it. spdlog calls a sink's formatter under the sink's lock, so the reused buffer is safe.
class JsonLineFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    line_.clear();
    append_json_log_line(line_, msg.time, from_spdlog(msg.level),
                         std::string_view(msg.payload.data(), msg.payload.size()));
    line_ += '\n';
    dest.append(line_.data(), line_.data() + line_.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonLineFormatter>(); }

 private:
  std::string line_;
};

std::shared_ptr<spdlog::logger> make_logger(const std::string& name,
                                            std::unique_ptr<spdlog::formatter> formatter) {
  auto made = spdlog::create_async_nb<spdlog::sinks::stderr_sink_mt>(name);
  made->set_formatter(std::move(formatter));
  made->flush_on(spdlog::level::info);
  return made;
}

}  // namespace

const char* log_level_name(LogLevel level) {
  switch (level) {
    case LogLevel::Debug:
      return "debug";
    case LogLevel::Info:
      return "info";
    case LogLevel::Warn:
      return "warn";
    case LogLevel::Error:
      return "error";
  }
  return "info";
}

std::string json_log_line(std::chrono::system_clock::time_point time, LogLevel level,
                          std::string_view message) {
  std::string line;
  append_json_log_line(line, time, level, message);
  return line;
}

void init_logging(const std::string& level, LogFormat format) {
  if (!logger()) {
    spdlog::init_thread_pool(8192, 1, [] {
      become_background_thread("gw-logwriter");
    });  // 8192 slots of ~400 bytes; a full queue drops the oldest line
    if (format == LogFormat::Json) {
      logger() = make_logger("gateway", std::make_unique<JsonLineFormatter>());
    } else {
      logger() = make_logger("gateway", std::make_unique<spdlog::pattern_formatter>(
                                            kTextPattern, spdlog::pattern_time_type::utc));
    }
    formatted_logger() = make_logger("gateway-formatted", std::make_unique<spdlog::pattern_formatter>("%v"));
  }
  const auto threshold = spdlog::level::from_str(level == "warn" ? "warning" : level);
  logger()->set_level(threshold);
  if (formatted_logger()) formatted_logger()->set_level(threshold);
}

void log_message(LogLevel level, const std::string& message) {
  if (auto& l = logger()) {
    l->log(to_spdlog(level), message);
  }
}

bool log_enabled(LogLevel level) {
  const auto& l = logger();
  return l && l->should_log(to_spdlog(level));
}

void append_text_line_prefix(std::string& out, std::chrono::system_clock::time_point time, LogLevel level) {
  append_utc_time(out, time);
  out += ' ';
  const auto name = spdlog::level::to_string_view(to_spdlog(level));
  out.append(name.data(), name.size());
  out += ' ';
}

void log_line_block(std::string block) {
  if (auto& formatted = formatted_logger(); formatted && !block.empty()) {
    formatted->log(spdlog::level::info, block);
  }
}

void shutdown_logging() {
  if (auto& l = logger()) l->flush();
  if (auto& formatted = formatted_logger()) formatted->flush();
  spdlog::shutdown();
  logger().reset();
  formatted_logger().reset();
}

}  // namespace gateway
