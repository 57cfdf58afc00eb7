/*
 * admin_accounts.c - storage accounts and their keys in the admin API:
 *   GET  /v1/accounts                                         accounts.read
 *   PUT  /v1/accounts/{account}/keys/{slot}   {value}        keys.import
 *   POST /v1/accounts/{account}/keys/{slot}/regenerate       keys.rotate
 *   POST /v1/accounts/{account}/keys/{slot}/retire {version} keys.rotate
 * where slot is key1 or key2 (storage keys) or edge1 or edge2 (the edge keys
 * that sign a resign account's tokens).
 *
 * Never any key material in a response. Unlike Azure's regenerateKey, which
 * returns the new keys, regenerate answers with the new version's metadata
 * only: the key stays in the vault, and whoever needs it for signing asks
 * sasgw for a token instead. After a key change the event
 * {"type":"keys","account":A} goes out on sasgw:events so every proxy
 * reloads that account's keys.
 */
#include <stdio.h>
#include <string.h>

#include "admin_internal.h"
#include "sasgw/common.h"
#include "sasgw/revocation/plan.h"

/* {"slot":"key1","version":N,"created":"...","state":"active"} */
static json_t *key_meta_json(const vault_key_meta_t *k)
{
    return json_pack("{s:s,s:I,s:o,s:s}", "slot", vault_slot_name(k->slot), "version", (json_int_t)k->version, "created",
                     gw_admin__time(k->created), "state", k->state == VAULT_KEY_ACTIVE ? "active" : "retired");
}

/*
 * The mode an account is served in: its entry in sasgw.yaml when it has one
 * (the deployment file decides, as in the keyring), else the vault's.
 */
static gw_account_mode_t served_mode(const gw_config_t *conf, const vault_account_info_t *info, const gw_account_config_t **ac)
{
    *ac = gw_config_find_account(conf, info->name, strlen(info->name));
    if (*ac != NULL)
        return (*ac)->mode;
    return info->mode == VAULT_MODE_ORIGIN ? GW_ACCOUNT_ORIGIN : info->mode == VAULT_MODE_RESIGN ? GW_ACCOUNT_RESIGN : GW_ACCOUNT_PASSTHROUGH;
}

/* GET /v1/accounts */
static int on_list(h2o_req_t *req, const gw_route_match_t *match, void *data)
{
    gw_admin_req_t r;
    if (gw_admin__begin(&r, data, req, "accounts.read", "account.list") != 0)
        return 0;
    vault_account_info_t *list = NULL;
    size_t n = 0;
    char err[256];
    vault_t *v = gw_app_vault_lock(r.app);
    vault_err_t rc = vault_account_list(v, &list, &n, err, sizeof(err));
    gw_app_vault_unlock(r.app);
    if (rc != 0) {
        gw_admin__vault_error(&r, rc, err, "accounts", 0);
        return 0;
    }
    json_t *accounts = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *keys = json_array();
        for (size_t k = 0; k < list[i].nkeys; k++)
            json_array_append_new(keys, key_meta_json(&list[i].keys[k]));
        /* resign: tokens are signed by the edge keys, and upstream_account names the storage account at the backend */
        const gw_account_config_t *ac;
        gw_account_mode_t mode = served_mode(gw_app_config(r.app), &list[i], &ac);
        const char *upstream = ac != NULL && ac->upstream_account != NULL ? ac->upstream_account : list[i].name;
        json_array_append_new(accounts, json_pack("{s:s,s:s,s:s,s:o,s:s,s:o}", "name", list[i].name, "backend", list[i].backend,
                                                  "mode", gw_account_mode_name(mode), "upstream_account",
                                                  mode == GW_ACCOUNT_RESIGN ? json_string(upstream) : json_null(), "token_keys",
                                                  mode == GW_ACCOUNT_RESIGN ? "edge" : "storage", "keys", keys));
    }
    vault_account_list_free(list, n);
    gw_admin__audit(&r, "accounts", "ok", NULL, NULL);
    gw_http_send_json(req, 200, json_pack("{s:o}", "accounts", accounts));
    return 0;
}

/* Finds the newest version of slot in account name and sends it, with the event published. */
static void send_new_version(gw_admin_req_t *r, const char *account, int slot, int status)
{
    vault_account_info_t *list = NULL;
    size_t n = 0;
    char err[256];
    json_t *meta = NULL;
    vault_t *v = gw_app_vault_lock(r->app);
    vault_err_t rc = vault_account_list(v, &list, &n, err, sizeof(err));
    gw_app_vault_unlock(r->app);
    if (rc == 0) {
        for (size_t i = 0; i < n && meta == NULL; i++) {
            if (strcmp(list[i].name, account) != 0)
                continue;
            const vault_key_meta_t *newest = NULL;
            for (size_t k = 0; k < list[i].nkeys; k++)
                if (list[i].keys[k].slot == slot && (newest == NULL || list[i].keys[k].version > newest->version))
                    newest = &list[i].keys[k];
            if (newest != NULL)
                meta = key_meta_json(newest);
        }
        vault_account_list_free(list, n);
    }
    if (meta == NULL)
        meta = json_pack("{s:s}", "slot", vault_slot_name(slot));
    json_object_set_new(meta, "account", json_string(account));
    char event[256];
    int published = gw_admin__publish_event(r, gw_event_keys(account, event, sizeof(event))) == 0;
    json_object_set_new(meta, "event_published", json_boolean(published));
    gw_http_send_json(r->req, status, meta);
}

/* Checks the route's account and slot; sends 404 (audited) when the account is unknown. Returns the slot or 0. */
static int check_target(gw_admin_req_t *r, const char *account, const char *slot_text, const char *object)
{
    int slot = vault_parse_slot(slot_text);
    if (slot == 0) {
        gw_admin__refuse(r, 404, "not_found", "the key slot must be key1, key2, edge1 or edge2", "slot", object);
        return 0;
    }
    if (!vault_valid_account_name(account)) {
        gw_admin__refuse(r, 404, "not_found", "no such account", "account", object);
        return 0;
    }
    return slot;
}

/* PUT /v1/accounts/{account}/keys/{slot} {value} */
static int on_import(h2o_req_t *req, const gw_route_match_t *match, void *data)
{
    gw_admin_req_t r;
    if (gw_admin__begin(&r, data, req, "keys.import", "account.import-key") != 0)
        return 0;
    const char *account = gw_admin__param(match, "account"), *slot_text = gw_admin__param(match, "slot");
    char object[64];
    snprintf(object, sizeof(object), "%.24s/%.8s", account, slot_text);
    int slot = check_target(&r, account, slot_text, object);
    if (slot == 0)
        return 0;
    json_t *body = gw_admin__read_json(&r, object);
    if (body == NULL)
        return 0;
    uint8_t key[VAULT_KEY_MAX];
    size_t key_len = 0;
    gw_json_error_t e;
    int rc = gw_admin_parse_key_import(body, key, &key_len, &e);
    json_decref(body); /* jansson does not wipe: the base64 text lingers in freed memory, as in any JSON library */
    if (rc != 0) {
        gw_admin__bad_body(&r, &e, object);
        return 0;
    }
    char err[256];
    uint32_t version = 0;
    vault_t *v = gw_app_vault_lock(r.app);
    rc = vault_account_import_key(v, &r.actor, account, slot, key, key_len, &version, err, sizeof(err));
    gw_app_vault_unlock(r.app);
    sg_wipe(key, sizeof(key));
    if (rc != 0) {
        gw_admin__vault_error(&r, rc, err, object, 1);
        return 0;
    }
    send_new_version(&r, account, slot, 200);
    return 0;
}

/* POST /v1/accounts/{account}/keys/{slot}/regenerate */
static int on_regenerate(h2o_req_t *req, const gw_route_match_t *match, void *data)
{
    gw_admin_req_t r;
    if (gw_admin__begin(&r, data, req, "keys.rotate", "account.rotate") != 0)
        return 0;
    const char *account = gw_admin__param(match, "account"), *slot_text = gw_admin__param(match, "slot");
    char object[64];
    snprintf(object, sizeof(object), "%.24s/%.8s", account, slot_text);
    int slot = check_target(&r, account, slot_text, object);
    if (slot == 0)
        return 0;
    h2o_iovec_t body;
    if (gw_http_read_body(req, gw_app_config(r.app)->issuer.max_body, &body) != 0)
        return 0;
    if (body.len != 0) {
        /* An empty object is fine (some clients always send one); anything else is a mistake. */
        json_t *doc = gw_admin__read_json(&r, object);
        if (doc == NULL)
            return 0;
        static const char *const none[] = {NULL};
        gw_json_error_t e;
        int bad = gw_json_only(doc, none, &e);
        if (bad) {
            gw_admin__bad_body(&r, &e, object);
            json_decref(doc);
            return 0;
        }
        json_decref(doc);
    }
    char err[256];
    vault_t *v = gw_app_vault_lock(r.app);
    vault_err_t rc = vault_account_rotate(v, &r.actor, account, slot, NULL, err, sizeof(err));
    gw_app_vault_unlock(r.app);
    if (rc != 0) {
        gw_admin__vault_error(&r, rc, err, object, 1);
        return 0;
    }
    send_new_version(&r, account, slot, 200);
    return 0;
}

/* POST /v1/accounts/{account}/keys/{slot}/retire {version}: tokens signed by that version stop validating */
static int on_retire(h2o_req_t *req, const gw_route_match_t *match, void *data)
{
    gw_admin_req_t r;
    if (gw_admin__begin(&r, data, req, "keys.rotate", "account.retire") != 0)
        return 0;
    const char *account = gw_admin__param(match, "account"), *slot_text = gw_admin__param(match, "slot");
    char object[64];
    snprintf(object, sizeof(object), "%.24s/%.8s", account, slot_text);
    int slot = check_target(&r, account, slot_text, object);
    if (slot == 0)
        return 0;
    json_t *body = gw_admin__read_json(&r, object);
    if (body == NULL)
        return 0;
    static const char *const allowed[] = {"version", NULL};
    gw_json_error_t e;
    json_t *version = json_object_get(body, "version");
    if (gw_json_only(body, allowed, &e) != 0) {
        gw_admin__bad_body(&r, &e, object);
        json_decref(body);
        return 0;
    }
    if (!json_is_integer(version) || json_integer_value(version) < 1 || json_integer_value(version) > UINT32_MAX) {
        e.field = "version";
        snprintf(e.message, sizeof(e.message), "version must be a key version number (an integer from 1)");
        gw_admin__bad_body(&r, &e, object);
        json_decref(body);
        return 0;
    }
    uint32_t n = (uint32_t)json_integer_value(version);
    json_decref(body);
    char err[256];
    vault_t *v = gw_app_vault_lock(r.app);
    vault_err_t rc = vault_account_retire(v, &r.actor, account, slot, n, err, sizeof(err));
    gw_app_vault_unlock(r.app);
    if (rc != 0) {
        gw_admin__vault_error(&r, rc, err, object, 1);
        return 0;
    }
    char event[256];
    int published = gw_admin__publish_event(&r, gw_event_keys(account, event, sizeof(event))) == 0;
    gw_http_send_json(req, 200,
                      json_pack("{s:s,s:s,s:I,s:s,s:b}", "account", account, "slot", vault_slot_name(slot), "version", (json_int_t)n,
                                "state", "retired", "event_published", published));
    return 0;
}

int gw_admin__register_accounts(gw_server_t *server, gw_app_t *app)
{
    if (gw_server_add_route(server, GW_SERVICE_ISSUER, "GET", "/v1/accounts", on_list, app) != 0 ||
        gw_server_add_route(server, GW_SERVICE_ISSUER, "PUT", "/v1/accounts/{account}/keys/{slot}", on_import, app) != 0 ||
        gw_server_add_route(server, GW_SERVICE_ISSUER, "POST", "/v1/accounts/{account}/keys/{slot}/regenerate", on_regenerate,
                            app) != 0 ||
        gw_server_add_route(server, GW_SERVICE_ISSUER, "POST", "/v1/accounts/{account}/keys/{slot}/retire", on_retire, app) != 0)
        return -1;
    return 0;
}
