/*
 * testutil.h - what the vault tests share: scratch directories under /tmp,
 * running the sasgw binary (SASGW_BINARY) with captured output, file bytes.
 */
#ifndef SASGW_TESTS_VAULT_TESTUTIL_H
#define SASGW_TESTS_VAULT_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

/* The result of one CLI run. Free with vt_result_free. */
struct vt_result {
    int status; /* exit code, or 128 + signal */
    char *out, *err;
    size_t outlen, errlen;
};

/* A fresh directory /tmp/sasgw-vault-test-XXXXXX (malloc'd path). */
char *vt_mkdtemp(void);
/* rm -rf path, then frees it. */
void vt_rmtree(char *path);
/* "<dir>/<name>", malloc'd. */
char *vt_path(const char *dir, const char *name);
/*
 * Runs $SASGW_BINARY with the NULL-terminated arguments, stdin fed from in
 * (inlen bytes; NULL: /dev/null). Returns the exit status (also in *r when r
 * is not NULL; free it with vt_result_free).
 */
int vt_run(struct vt_result *r, const void *in, size_t inlen, const char *arg, ...);
void vt_result_free(struct vt_result *r);
/* Reads a whole file (NULL when absent). */
uint8_t *vt_read(const char *path, size_t *len);
void vt_write(const char *path, const void *data, size_t len);
/* Whether needle occurs in the file. */
int vt_file_contains(const char *path, const void *needle, size_t n);
/* Sets SASGW_MASTER_KEY to a fixed test key (seed picks which). */
void vt_set_master_key(int seed);
/* Whether msg is one line ending in ".\n". */
int vt_one_sentence(const char *msg);

#endif
