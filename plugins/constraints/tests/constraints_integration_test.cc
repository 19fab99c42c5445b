// Placeholder replaced below.
#include <gtest/gtest.h>
TEST(ConstraintsIntegration, Placeholder) {}
