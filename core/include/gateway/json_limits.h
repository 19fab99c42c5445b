// Parsing JSON that comes from outside the process (clients, the upstream, stored rows) with a
// bound on nesting. nlohmann::json parses iteratively, but copying, dumping, comparing and
// converting a value recurse once per level, so a value nested a hundred thousand levels deep
// would overflow a thread's stack later. Header-only: it adds nothing to the plugin ABI.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace gateway {

/// Deepest nesting of arrays and objects accepted from outside; far beyond any real request.
inline constexpr std::size_t kMaxJsonDepth = 64;

/// Why a bounded parse gave no value.
enum class JsonFailure { None, Syntax, TooDeep };

/// The result of parse_bounded_json(): a value, or why there is none.
struct BoundedJson {
  nlohmann::json value;  ///< discarded unless failure is None
  JsonFailure failure = JsonFailure::None;

  [[nodiscard]] bool ok() const noexcept { return failure == JsonFailure::None; }
};

namespace json_limits_detail {

/// nlohmann's own DOM builder, refusing to open a container beyond `max_depth`. Refusing stops
/// the parser at once, so a deep document costs at most `max_depth` levels of work.
class DepthLimitedDomParser : public nlohmann::detail::json_sax_dom_parser<nlohmann::json> {
 public:
  DepthLimitedDomParser(nlohmann::json& root, std::size_t max_depth)
      : json_sax_dom_parser(root, /*allow_exceptions=*/false), max_depth_(max_depth) {}

  bool start_object(std::size_t length) { return enter() && json_sax_dom_parser::start_object(length); }
  bool start_array(std::size_t length) { return enter() && json_sax_dom_parser::start_array(length); }
  bool end_object() {
    --depth_;
    return json_sax_dom_parser::end_object();
  }
  bool end_array() {
    --depth_;
    return json_sax_dom_parser::end_array();
  }

  [[nodiscard]] bool too_deep() const noexcept { return too_deep_; }

 private:
  bool enter() {
    if (depth_ >= max_depth_) {
      too_deep_ = true;
      return false;
    }
    ++depth_;
    return true;
  }

  std::size_t max_depth_;
  std::size_t depth_ = 0;
  bool too_deep_ = false;
};

}  // namespace json_limits_detail

/// Parses `text` as one JSON document (nothing but whitespace after it), like
/// `json::parse(text, nullptr, false)`, but refuses arrays and objects nested deeper than
/// `max_depth` (a top-level object is depth 1). Never throws for bad input and never recurses.
inline BoundedJson parse_bounded_json(std::string_view text, std::size_t max_depth = kMaxJsonDepth) {
  BoundedJson out;
  {
    json_limits_detail::DepthLimitedDomParser builder(out.value, max_depth);
    const bool parsed = nlohmann::json::sax_parse(text.data(), text.data() + text.size(), &builder);
    if (parsed && !builder.is_errored()) return out;
    out.failure = builder.too_deep() ? JsonFailure::TooDeep : JsonFailure::Syntax;
  }
  out.value = nlohmann::json(nlohmann::json::value_t::discarded);  // drops a partial tree
  return out;
}

/// "<what> nests JSON deeper than 64 levels", the user-facing explanation of JsonFailure::TooDeep.
inline std::string too_deep_message(std::string_view what, std::size_t max_depth = kMaxJsonDepth) {
  return std::string(what) + " nests JSON deeper than " + std::to_string(max_depth) + " levels";
}

/// Whether `value` nests arrays and objects deeper than `max_depth` (a scalar is depth 0). Looks
/// at most `max_depth` + 1 levels down, so it is safe on values of any depth.
inline bool nests_deeper_than(const nlohmann::json& value, std::size_t max_depth) {
  if (!value.is_structured()) return false;
  if (max_depth == 0) return true;
  for (const auto& child : value) {
    if (nests_deeper_than(child, max_depth - 1)) return true;
  }
  return false;
}

}  // namespace gateway
