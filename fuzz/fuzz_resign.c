/*
 * fuzz_resign.c - libFuzzer target over the resign mode's upstream request
 * builder (gateway/proxy/resign.c, gw_resign_build): the input is one flags
 * byte (bit 0: replace x-ms-copy-source; bit 1: a small output buffer), then
 * the head bytes, and, with bit 0, after the first NUL the copy source
 * value. Must never crash, leak or write past its buffers; an accepted head
 * comes out ending in its blank line, no longer than the input plus
 * GW_RESIGN_HEAD_EXTRA and the copy source, with exactly one authorization
 * and one x-ms-date line (ours, at the end: a client's never survives), and
 * it is accepted again by the builder (the output is a head it can read).
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "resign.h"
#include "sasgw/common.h"
#include "sasgw/signer.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DEV_KEY "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

static sas_key_t key;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (sas_key_init_base64(&key, DEV_KEY, strlen(DEV_KEY)) != 0)
        abort();
    return 0;
}

/* How many lines of head (len bytes) start with name followed by ':' (any case). */
static size_t count_lines(const char *head, size_t len, const char *name)
{
    size_t n = 0, nl = strlen(name);
    for (size_t i = 0; i + 2 + nl < len; i++)
        if (head[i] == '\r' && head[i + 1] == '\n' && strncasecmp(head + i + 2, name, nl) == 0 && head[i + 2 + nl] == ':')
            n++;
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    unsigned flags = data[0];
    const char *head = (const char *)data + 1;
    size_t len = size - 1;
    const char *cs = NULL;
    size_t cs_len = 0;
    if (flags & 1) {
        const char *nul = memchr(head, '\0', len);
        if (nul != NULL) {
            cs = nul + 1;
            cs_len = len - (size_t)(nul + 1 - head);
            len = (size_t)(nul - head);
        }
    }
    /* exact-size copies so ASan sees any read past them */
    char *in = sg_alloc(len + 1);
    memcpy(in, head, len);
    char *src = cs != NULL ? sg_alloc(cs_len + 1) : NULL;
    if (src != NULL)
        memcpy(src, cs, cs_len);
    size_t cap = (flags & 2) ? len / 2 : len + GW_RESIGN_HEAD_EXTRA + cs_len, sts_cap = len + cs_len + 1024;
    char *out = sg_alloc(cap + 1), *sts = sg_alloc(sts_cap);
    gw_resign_params_t p = {.account = "devstoreaccount1",
                            .account_len = 16,
                            .key = &key,
                            .now = 1764650400,
                            .copy_source = src,
                            .copy_source_len = cs_len};
    size_t n = gw_resign_build(in, len, &p, out, cap, sts, sts_cap);
    if (n > cap)
        abort();
    if (n != 0) {
        if (n < 4 || memcmp(out + n - 4, "\r\n\r\n", 4) != 0)
            abort();
        if (count_lines(out, n, "authorization") != 1 || count_lines(out, n, "x-ms-date") != 1 || count_lines(out, n, "x-ms-version") != 1)
            abort();
        if (memmem(out, n, "\r\nauthorization: SharedKey devstoreaccount1:", 44) == NULL)
            abort();
        if (src != NULL && count_lines(out, n, "x-ms-copy-source") != 1)
            abort();
        /* the output reads as a head again, and re-signing it gives the same bytes */
        char *again = sg_alloc(n + GW_RESIGN_HEAD_EXTRA + cs_len);
        size_t m = gw_resign_build(out, n, &p, again, n + GW_RESIGN_HEAD_EXTRA + cs_len, sts, sts_cap);
        if (m != n || memcmp(again, out, n) != 0)
            abort();
        free(again);
    }
    free(in);
    free(src);
    free(out);
    free(sts);
    return 0;
}
