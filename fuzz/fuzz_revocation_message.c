/*
 * fuzz_revocation_message.c - libFuzzer target: the input is a payload of
 * sasgw:revocations or a score of sasgw:revoked, as a proxy reads them from
 * Redis (gw_revoke_parse_message, gw_revoke_parse_score).
 * Invariants: an accepted message names a valid token id; a removal carries
 * no score; an accepted score is never below -9.2e18, and +inf is
 * GW_REVOKE_FOREVER; a score written by gw_revoke_score_text reads back the
 * same.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sasgw/revocation/plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "invariant broken: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char id[SAS_TOKEN_ID_LEN + 1];
    int64_t until = 0, score = 0, back = 0;
    int removed = -1;
    if (gw_revoke_parse_message((const char *)data, size, id, &until, &removed) == 0) {
        check(gw_revoke_valid_token_id(id, strlen(id)), "a valid token id");
        check(removed == 0 || removed == 1, "removed is a flag");
        check(removed == 0 || until == GW_REVOKE_FOREVER, "a removal carries no score");
    }
    if (gw_revoke_parse_score((const char *)data, size, &score) == 0) {
        char buf[24];
        const char *text = gw_revoke_score_text(score, buf, sizeof(buf));
        check(gw_revoke_parse_score(text, strlen(text), &back) == 0 && back == score, "a score reads back");
    }
    return 0;
}
