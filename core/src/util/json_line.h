// The JSON Lines log writer, now gateway/json_writer.h (shared with the plugins); this name is
// kept for the log code that still includes it.
#pragma once

#include "gateway/json_writer.h"
