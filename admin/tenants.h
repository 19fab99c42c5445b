// Admin handlers for /admin/v1/tenants: list, create, read, patch and delete tenants.
#pragma once

#include "admin/call.h"

namespace gateway::admin {

LocalResponse list_tenants(AdminCall& call);
LocalResponse create_tenant(AdminCall& call);
LocalResponse get_tenant(AdminCall& call);
LocalResponse patch_tenant(AdminCall& call);
/// Soft-deletes a tenant; with live keys only with ?force=true, which revokes them too.
LocalResponse delete_tenant(AdminCall& call);

}  // namespace gateway::admin
