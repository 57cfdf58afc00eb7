/*
 * sasgw/common.h - the few helpers every module of sasgw shares: one allocation
 * wrapper that aborts on out-of-memory, secure wiping, memory for secrets that
 * core dumps leave out, strict base64, and constant-time comparison. Depends
 * on libc and OpenSSL only. Also the one percent-decoder and query iterator.
 */
#ifndef SASGW_COMMON_H
#define SASGW_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* Allocation: never returns NULL; prints a line to stderr and aborts when memory runs out. */
void *sg_alloc(size_t n);
void *sg_calloc(size_t count, size_t size);
void *sg_realloc(void *p, size_t n);
char *sg_strdup(const char *s);
char *sg_strndup(const char *s, size_t n);

/* Wipes n bytes at p (OPENSSL_cleanse: the compiler may not drop it). NULL is allowed. */
void sg_wipe(void *p, size_t n);
/* Wipes n bytes at p, then frees p. NULL is allowed. */
void sg_free_secret(void *p, size_t n);
/* Wipes a NUL-terminated string through its terminator, then frees it. NULL is allowed. */
void sg_free_secret_str(char *s);

/*
 * Memory for key material and secrets (secure.c): zeroed, in its own pages,
 * which core dumps leave out (MADV_DONTDUMP) and which are locked in RAM when
 * RLIMIT_MEMLOCK allows (mlock; a refusal is ignored). The pointer is aligned
 * to SG_SECURE_OFFSET (64) bytes. Never returns NULL: aborts like sg_alloc.
 * Each allocation costs at least a page, so use it for the few buffers that
 * hold many keys or a whole decrypted vault. Free only with sg_secure_free(),
 * which wipes every byte, unlocks and unmaps (NULL is allowed; a pointer of
 * another allocator aborts).
 */
#define SG_SECURE_OFFSET 64
void *sg_secure_alloc(size_t n);
void *sg_secure_calloc(size_t count, size_t size);
void sg_secure_free(void *p);

/*
 * Keeps this process's memory out of core dumps and away from debuggers of
 * other processes: RLIMIT_CORE 0 and PR_SET_DUMPABLE 0 (which also makes
 * /proc/PID/mem and ptrace root-only). Call once, first thing, in every
 * process that may hold keys or secrets. Returns 0, or -1 with err set.
 */
int sg_process_harden(char *err, size_t errlen);

/* Constant-time equality of two buffers of the same length: 1 when equal, 0 otherwise. */
int sg_ct_equal(const void *a, const void *b, size_t n);

/* Length of the base64 text for n bytes, with padding, without the terminating NUL. */
#define SG_B64_ENCODED_LEN(n) ((((n) + 2) / 3) * 4)
/* Largest number of bytes that base64 text of length n decodes to. */
#define SG_B64_DECODED_MAX(n) ((((n) + 3) / 4) * 3)

/*
 * Encodes n bytes as standard base64 with padding into out, which must hold
 * SG_B64_ENCODED_LEN(n) + 1 bytes. Returns the length written (NUL not counted).
 */
size_t sg_b64_encode(const uint8_t *in, size_t n, char *out);
/*
 * Encodes as base64url without padding (RFC 4648 §5) into out, which must hold
 * SG_B64_ENCODED_LEN(n) + 1 bytes. Returns the length written.
 */
size_t sg_b64url_encode(const uint8_t *in, size_t n, char *out);
/*
 * Decodes strict standard base64: the length is a multiple of 4, only the
 * alphabet, '=' only as one or two final characters, unused bits zero. Writes
 * at most outcap bytes. Returns 0 and sets *outlen, or -1 when the text is not
 * valid base64 or does not fit; out is then unspecified (callers wipe it when
 * it may hold secret bytes).
 */
int sg_b64_decode(const char *in, size_t len, uint8_t *out, size_t outcap, size_t *outlen);

/* Fills buf with n bytes from the CSPRNG; aborts if the CSPRNG fails (nothing can be done safely without it). */
void sg_random(void *buf, size_t n);

/* SHA-256 of len bytes, without allocating; the context is wiped. (sha256.c) */
void sg_sha256(const void *msg, size_t len, uint8_t out[32]);

/* ---- percent-encoding and query strings (query.c) ---- */

/* The value of hex digit c (0-9, a-f, A-F), or -1 for any other byte (EOF included). */
int sg_hexval(int c);

/*
 * Percent-decodes src[0..len) into dst, which holds at least len bytes (the
 * decoded text is never longer; dst may equal src). With SG_PCT_PLUS_SPACE in
 * flags a '+' becomes a space (query strings), otherwise it stays '+' (paths);
 * "%2B" is always '+'. Returns the decoded length, or -1 on a '%' not followed
 * by two hex digits ("%", "%4", "%zz", "%4g"), dst then unspecified. Writes no
 * terminator. *holds (may be NULL) receives what the decoded bytes hold:
 * SG_PCT_HELD_CONTROL (a C0 control or DEL, NUL included), SG_PCT_HELD_NUL
 * and SG_PCT_HELD_NON_ASCII (worth a UTF-8 check). Never allocates.
 */
#define SG_PCT_PLUS_SPACE 1u
#define SG_PCT_HELD_CONTROL 1u
#define SG_PCT_HELD_NON_ASCII 2u
#define SG_PCT_HELD_NUL 4u
long sg_pct_decode(char *dst, const char *src, size_t len, unsigned flags, unsigned *holds);

/*
 * An iterator over raw query text "a=1&b&c=": sg_query_init() it over
 * query[0..len) (without its '?': a '?' there is part of the first name),
 * then each sg_query_next() yields one '&'-separated parameter as sent, not
 * decoded: the name before the first '=' and the value after it (empty, and
 * pointing at the end of the name, when there is no '='). Every piece counts,
 * empty ones too: "a&&b" yields a, an empty name with an empty value, then b;
 * "=v" yields an empty name; a final '&' yields nothing more. The parameter
 * as sent is name[0 .. value + value_len - name). Returns 1 with the four
 * outputs set, or 0 when no parameter is left. The text must outlive the
 * iterator; nothing is allocated.
 */
typedef struct st_sg_query_iter_t {
    const char *p, *end;
} sg_query_iter_t;
void sg_query_init(sg_query_iter_t *it, const char *query, size_t len);
int sg_query_next(sg_query_iter_t *it, const char **name, size_t *name_len, const char **value, size_t *value_len);

#endif
