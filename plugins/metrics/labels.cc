// Bounded label values (see labels.h).
#include "labels.h"

#include <algorithm>

namespace e2b::metrics {
namespace {

bool fits(std::string_view value, bool (*allowed)(char)) {
  return !value.empty() && value.size() <= kMaxLabelLength &&
         std::all_of(value.begin(), value.end(), allowed);
}

bool is_snake_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

bool is_identifier_char(char c) {
  return is_snake_char(c) || (c >= 'A' && c <= 'Z') || c == '.' || c == ':' || c == '-';
}

}  // namespace

const char* route_label(gateway::Route route) {
  switch (route) {
    case gateway::Route::ChatCompletions:
      return "chat_completions";
    case gateway::Route::Models:
      return "models";
    case gateway::Route::Health:
      return "health";
    case gateway::Route::Metrics:
      return "metrics";
    case gateway::Route::Other:
      break;
  }
  return kOtherLabel;
}

std::string bounded_label(std::string_view value) {
  return fits(value, is_snake_char) ? std::string(value) : kOtherLabel;
}

std::string bounded_identifier(std::string_view value) {
  if (value.empty()) return kNoneLabel;
  return fits(value, is_identifier_char) ? std::string(value) : kOtherLabel;
}

std::string model_label(const std::string& model, const gateway::ModelCatalog* catalog) {
  if (model.empty()) return kNoneLabel;
  if (catalog != nullptr && catalog->find(model) != nullptr) return model;
  return kOtherLabel;
}

std::string status_label(int status) {
  return status >= 100 && status <= 599 ? std::to_string(status) : kOtherLabel;
}

std::string series_key(std::initializer_list<std::string_view> values) {
  std::string key;
  for (const auto value : values) {
    key.append(value);
    key.push_back('\x1f');  // the ASCII unit separator: no bounded label value contains it
  }
  return key;
}

bool constant_time_equal(std::string_view presented, std::string_view expected) {
  unsigned char difference = presented.size() == expected.size() ? 0 : 1;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const char p = i < presented.size() ? presented[i] : '\0';
    difference |= static_cast<unsigned char>(p ^ expected[i]);
  }
  return difference == 0;
}

}  // namespace e2b::metrics
