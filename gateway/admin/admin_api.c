/*
 * admin_api.c - registration of the admin API (sasgw/admin.h): every group of
 * routes, each in its own file (admin_accounts.c, admin_policies.c,
 * admin_secrets.c, admin_revocations.c, admin_audit.c) over the helpers of
 * admin_internal.c.
 */
#include "sasgw/admin.h"

#include "admin_internal.h"

int gw_admin_api_register(gw_server_t *server, gw_app_t *app)
{
    if (gw_admin__register_accounts(server, app) != 0 || gw_admin__register_policies(server, app) != 0 ||
        gw_admin__register_secrets(server, app) != 0 || gw_admin__register_revocations(server, app) != 0 ||
        gw_admin__register_audit(server, app) != 0 || gw_admin__register_sasdefs(server, app) != 0)
        return -1;
    return 0;
}
