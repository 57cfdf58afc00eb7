/*
 * fuzz_vault.c - libFuzzer target for the vault's parsers (vault/vault_file.c
 * and vault/vault_codec.c).
 *
 * An input that starts with a vault or backup magic ("SGVAULT1"/"SGVBACK1")
 * is a whole file, opened with a fixed master key (32 bytes of 0x42): header
 * parse, key unwrap, GCM, payload parse. Anything else is fed to the payload
 * parser directly, which GCM would otherwise keep the fuzzer from reaching;
 * a payload that parses must encode back to exactly the same bytes.
 * Seeds in fuzz/corpus/vault/ are real vault files under that key and real
 * payloads.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../vault/internal.h"
#include "sasgw/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    struct vault__state st;
    if (size >= 8 && (memcmp(data, "SGVAULT1", 8) == 0 || memcmp(data, "SGVBACK1", 8) == 0)) {
        static const uint8_t master[32] = {0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
                                           0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
                                           0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42};
        vault_keysource_t ks = {0};
        struct vault__header h;
        uint8_t dk[32];
        vault_keysource_set_master(&ks, master);
        int kind = data[6] == 'C' ? VAULT__KIND_BACKUP : VAULT__KIND_VAULT;
        if (vault__load_buffer(data, size, kind, &ks, NULL, &h, dk, &st, err, sizeof(err)) == 0) {
            vault__state_free(&st);
            sg_wipe(dk, sizeof(dk));
        }
        vault_keysource_wipe(&ks);
        return 0;
    }
    if (vault__decode(data, size, &st, err, sizeof(err)) == 0) {
        uint8_t *out;
        size_t len;
        vault__encode(&st, &out, &len);
        if (len != size || memcmp(out, data, size) != 0) {
            /*
             * Only an older payload version (its version word, bytes 4-7,
             * differs) may come out different: it is written as the current
             * one, which must then read back and write again to itself.
             */
            struct vault__state again;
            uint8_t *out2 = NULL;
            size_t len2 = 0;
            memset(&again, 0, sizeof(again));
            if (size < 8 || len < 8 || memcmp(out + 4, data + 4, 4) == 0 || vault__decode(out, len, &again, err, sizeof(err)) != 0) {
                fprintf(stderr, "payload does not encode back to its own bytes\n");
                abort();
            }
            vault__encode(&again, &out2, &len2);
            if (len2 != len || memcmp(out2, out, len) != 0) {
                fprintf(stderr, "an older payload, written as the current version, does not encode back to itself\n");
                abort();
            }
            sg_secure_free(out2);
            vault__state_free(&again);
        }
        sg_secure_free(out);
        vault__state_free(&st);
    }
    return 0;
}
