/*
 * refusal_log.h - refusals of unauthenticated requests, coalesced for the
 * audit trail: one record per client and reason per interval (sasgw.yaml
 * `issuer.auth_failures.audit_interval`), carrying how many there were and
 * when the first and the last came, so that a flood of bad credentials can
 * neither fill the disk nor queue work in front of the audit records of
 * mints (which, like admin actions and refusals that name a principal, stay
 * one durable record each and never pass through here).
 *
 * Memory is fixed: GW_REFUSAL_LOG_ENTRIES (client, reason) pairs per
 * interval; once they are taken, further clients are counted in one entry
 * per reason whose client is "*" (nothing is lost but the address).
 * Reasons are a closed set, never the caller's words, so a client cannot
 * make a new entry by varying what it sends; the record's reason names the
 * kind and, for rejected credentials, the first rejection's sentence from
 * the policy module (which never holds a secret; no user name either).
 *
 * A thread of its own emits the records at the end of each interval, and
 * gw_refusal_log_destroy() emits what is left. gw_refusal_log_add() is
 * callable from any thread (a mutex held for a table lookup).
 */
#ifndef SASGW_GATEWAY_REFUSAL_LOG_H
#define SASGW_GATEWAY_REFUSAL_LOG_H

#include <stdint.h>

#include "sasgw/vault.h"

#define GW_REFUSAL_LOG_ENTRIES 4096

typedef enum en_gw_refusal_kind_t {
    GW_REFUSAL_NO_CREDENTIALS, /* no Authorization header */
    GW_REFUSAL_MALFORMED,      /* an Authorization header too long or with a NUL */
    GW_REFUSAL_REJECTED,       /* the policy module rejected the credentials */
    GW_REFUSAL_RATE_LIMITED,   /* too many failed authentications (429) */
    GW_REFUSAL__COUNT
} gw_refusal_kind_t;

typedef struct st_gw_refusal_log_t gw_refusal_log_t;

/*
 * Receives a coalesced record (principal "anonymous", op "auth", result
 * "refused", count, first, last); rec and its strings are valid during the
 * call only. Runs on the log's thread, or in gw_refusal_log_flush()'s caller.
 */
typedef void (*gw_refusal_log_emit_cb)(const vault_audit_record_t *rec, void *data);

/* Starts a log emitting every interval seconds (>= 1) through emit. Returns NULL after writing why into err. */
gw_refusal_log_t *gw_refusal_log_create(unsigned interval, gw_refusal_log_emit_cb emit, void *data, char *err, size_t errlen);
/* Stops the thread and emits what is left. NULL is allowed. */
void gw_refusal_log_destroy(gw_refusal_log_t *log);

/*
 * Counts one refusal of client (a gw_client_key(); 0: unknown) for kind.
 * object (the route, e.g. "/v1/sas"), detail (REJECTED: the policy's
 * sentence) and request_id are copied when they open the entry, else
 * ignored; each may be NULL. now is unix time in seconds.
 */
void gw_refusal_log_add(gw_refusal_log_t *log, uint64_t client, gw_refusal_kind_t kind, const char *object, const char *detail,
                        const char *request_id, int64_t now);
/* Emits every entry now (the records of the interval so far) and starts a new interval. */
void gw_refusal_log_flush(gw_refusal_log_t *log);

#endif
