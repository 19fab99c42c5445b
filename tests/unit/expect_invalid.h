// A test helper: expects a call to throw std::invalid_argument naming a given field.
#pragma once

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace gateway::testing_support {

/// Expects `f` to throw std::invalid_argument whose message starts with `field` + ":".
template <typename F>
void expect_invalid(F&& f, const std::string& field, const std::string& what) {
  try {
    f();
    ADD_FAILURE() << what << ": no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_TRUE(std::string(e.what()).starts_with(field + ":")) << what << ": " << e.what();
  }
}

}  // namespace gateway::testing_support
