// Label values of the metrics plugin, each from a small bounded set so that no client input and
// no misbehaving plugin can create unbounded series (and no secret ever becomes a label).
#pragma once

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>

#include "gateway/plugin.h"

namespace e2b::metrics {

/// Longest label value taken as given; longer ones become kOtherLabel.
inline constexpr std::size_t kMaxLabelLength = 64;
/// The value that stands for anything outside a label's bounded set.
inline constexpr const char* kOtherLabel = "other";
/// The model (or code) label of requests that have none.
inline constexpr const char* kNoneLabel = "none";

/// The `route` label: chat_completions, models, health, metrics or other.
const char* route_label(gateway::Route route);

/// `value` when it is 1 to kMaxLabelLength characters of [a-z0-9_], else kOtherLabel. For values
/// that come from plugins (event labels) or a fixed set of codes (error codes).
std::string bounded_label(std::string_view value);

/// `value` when it is 1 to kMaxLabelLength characters of [A-Za-z0-9_.:-] (identifiers the gateway
/// made, such as tenant ids), kNoneLabel when empty, else kOtherLabel.
std::string bounded_identifier(std::string_view value);

/// The `model` label: kNoneLabel when the request named no model, `model` when the catalog has
/// it, kOtherLabel otherwise (never what a client typed).
std::string model_label(const std::string& model, const gateway::ModelCatalog* catalog);

/// The `status` label: the HTTP status code, or kOtherLabel outside 100..599.
std::string status_label(int status);

/// One key for a tuple of label values (joined with a separator no label value contains).
std::string series_key(std::initializer_list<std::string_view> values);

/// Compares a presented secret with the expected one in time that depends only on the lengths.
bool constant_time_equal(std::string_view presented, std::string_view expected);

}  // namespace e2b::metrics
