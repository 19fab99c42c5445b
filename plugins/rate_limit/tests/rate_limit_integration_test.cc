// Rate-limit integration tests (being written).
#include <gtest/gtest.h>
