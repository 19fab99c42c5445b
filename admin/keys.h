// Admin handlers for /admin/v1/keys: list, create, read, patch, revoke, disable, enable and
// rotate API keys.
#pragma once

#include "admin/call.h"

namespace gateway::admin {

LocalResponse list_keys(AdminCall& call);
/// Creates a key; the answer is the only place its secret is ever shown.
LocalResponse create_key(AdminCall& call);
LocalResponse get_key(AdminCall& call);
/// GET /admin/v1/keys/{id}/limits: the key's limits (its own and its tenant's) with their state.
LocalResponse get_key_limits(AdminCall& call);
LocalResponse patch_key(AdminCall& call);
/// Revokes a key (idempotent).
LocalResponse delete_key(AdminCall& call);
LocalResponse disable_key(AdminCall& call);
LocalResponse enable_key(AdminCall& call);
/// Gives a key a new secret; the old one keeps working for `grace_seconds`.
LocalResponse rotate_key(AdminCall& call);

}  // namespace gateway::admin
