/*
 * Tests 'sasgw sas mint|verify|inspect' by running the built binary
 * (SASGW_BINARY): exit codes 0/1/2, output, --help, a third of the vectors
 * minted through the CLI (the library test mints all 240), and that no key
 * is ever printed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "helpers.h"

struct run {
    int code;
    char out[65536], err[65536];
};

/* Runs sasgw with args (NULL-terminated, without argv[0]) and captures its output. */
static void run(struct run *r, const char *const *args)
{
    const char *bin = getenv("SASGW_BINARY");
    char *argv[64] = {(char *)(uintptr_t)(bin != NULL ? bin : "build/gateway/sasgw")};
    int po[2], pe[2], status;
    size_t n = 1, lo = 0, le = 0;
    for (; args[n - 1] != NULL; n++)
        argv[n] = (char *)(uintptr_t)args[n - 1];
    argv[n] = NULL;
    assert_int_equal(pipe(po), 0);
    assert_int_equal(pipe(pe), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(po[1], 1);
        dup2(pe[1], 2);
        close(po[0]), close(pe[0]), close(po[1]), close(pe[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(po[1]), close(pe[1]);
    struct pollfd fds[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
    int open_fds = 2;
    while (open_fds > 0) {
        assert_true(poll(fds, 2, 30000) > 0);
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || fds[i].revents == 0)
                continue;
            char *buf = i == 0 ? r->out : r->err;
            size_t *len = i == 0 ? &lo : &le;
            ssize_t got = read(fds[i].fd, buf + *len, sizeof(r->out) - 1 - *len);
            if (got <= 0) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
            } else {
                *len += (size_t)got;
            }
        }
    }
    r->out[lo] = '\0';
    r->err[le] = '\0';
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    r->code = WEXITSTATUS(status);
}

#define RUN(r, ...)                                                                                                                \
    do {                                                                                                                           \
        const char *const args_[] = {__VA_ARGS__, NULL};                                                                           \
        run(r, args_);                                                                                                             \
    } while (0)

static json_t *json_out(const struct run *r)
{
    json_error_t e;
    json_t *j = json_loads(r->out, 0, &e);
    if (j == NULL)
        fail_msg("not JSON (%s): %s", e.text, r->out);
    return j;
}

static void help_everywhere(void **state)
{
    static struct run r;
    RUN(&r, "sas", "--help");
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "mint"));
    assert_non_null(strstr(r.out, "inspect"));
    RUN(&r, "sas", "mint", "--help");
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "--resource-types"));
    RUN(&r, "sas", "verify", "--help");
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "--client-ip"));
    RUN(&r, "sas", "inspect", "--help");
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "usage: sasgw sas inspect"));
    RUN(&r, "sas");
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, "usage: sasgw sas"));
    RUN(&r, "sas", "frobnicate");
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, "unknown command 'frobnicate'"));
}

static void mint_usage_errors(void **state)
{
    static struct run r;
    RUN(&r, "sas", "mint", "--key", TEST_KEY_B64, "--container", "c1", "--permissions", "r", "--expiry", "2026-02-01");
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, "--account is required"));
    /* without --key the key comes from the vault: nothing to unseal it with is a refusal, not a usage error */
    RUN(&r, "sas", "mint", "--account", "acct", "--container", "c1", "--permissions", "r", "--expiry", "2026-02-01", "--vault",
        "/nonexistent/vault.db");
    assert_int_equal(r.code, 1);
    assert_non_null(strstr(r.err, "no master key"));
    RUN(&r, "sas", "mint", "--account", "acct", "--key", "not-base64!", "--container", "c1", "--permissions", "r", "--expiry",
        "2026-02-01");
    assert_int_equal(r.code, 2);
    assert_null(strstr(r.err, "not-base64!"));
    RUN(&r, "sas", "mint", "--account", "acct", "--key", TEST_KEY_B64, "--container", "c1", "--bogus", "x");
    assert_int_equal(r.code, 2);
    RUN(&r, "sas", "mint", "--account", "acct", "--key", TEST_KEY_B64, "--container", "c1", "--permissions", "r");
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, "--permissions and --expiry are required without --identifier"));
    RUN(&r, "sas", "mint", "--account", "acct", "--key", TEST_KEY_B64, "--services", "b", "--permissions", "r", "--expiry",
        "2026-02-01");
    assert_int_equal(r.code, 2);
    RUN(&r, "sas", "mint", "--account", "acct", "--key", TEST_KEY_B64, "--container", "c1", "--permissions", "r", "--expiry");
    assert_int_equal(r.code, 2);
    /* values the signer refuses: exit 1 */
    RUN(&r, "sas", "mint", "--account", "acct", "--key", TEST_KEY_B64, "--container", "c1", "--blob", "b", "--permissions", "rl",
        "--expiry", "2026-02-01");
    assert_int_equal(r.code, 1);
    assert_non_null(strstr(r.err, "permission 'l' is not valid for sr=b"));
    RUN(&r, "sas", "mint", "--account", "acct", "--key", TEST_KEY_B64, "--container", "c1", "--permissions", "r", "--expiry",
        "soon");
    assert_int_equal(r.code, 1);
    assert_null(strstr(r.out, TEST_KEY_B64));
    assert_null(strstr(r.err, TEST_KEY_B64));
}

static void mint_every_vector(void **state)
{
    static struct run r;
    json_t *all = vec_load();
    size_t i;
    json_t *v;
    json_array_foreach(all, i, v)
    {
        static const struct {
            const char *opt, *key;
        } map[] = {
            {"--account", "account"},
            {"--container", "container"},
            {"--blob", "blob"},
            {"--snapshot", "snapshot"},
            {"--permissions", "permissions"},
            {"--ip", "ip"},
            {"--protocol", "protocol"},
            {"--identifier", "identifier"},
            {"--encryption-scope", "encryptionScope"},
            {"--cache-control", "cacheControl"},
            {"--content-disposition", "contentDisposition"},
            {"--content-encoding", "contentEncoding"},
            {"--content-language", "contentLanguage"},
            {"--content-type", "contentType"},
            {"--sv", "version"},
            {"--services", "services"},
            {"--resource-types", "resourceTypes"},
            {"--key", "key"},
        };
        const char *args[64] = {"sas", "mint"};
        char times[2][40];
        size_t n = 2;
        if (i % 3 != 0) /* a third of them: the library test covers all 240, this covers the option mapping */
            continue;
        for (size_t k = 0; k < sizeof(map) / sizeof(map[0]); k++)
            if (vec_str(v, map[k].key) != NULL) {
                args[n++] = map[k].opt;
                args[n++] = vec_str(v, map[k].key);
            }
        if (vec_time(v, "start", times[0]) != NULL)
            args[n++] = "--start", args[n++] = times[0];
        if (vec_time(v, "expiry", times[1]) != NULL)
            args[n++] = "--expiry", args[n++] = times[1];
        args[n] = NULL;
        run(&r, args);
        if (r.code != 0)
            fail_msg("%s: exit %d: %s", vec_str(v, "id"), r.code, r.err);
        size_t len = strlen(r.out);
        assert_true(len > 0 && r.out[len - 1] == '\n');
        r.out[len - 1] = '\0';
        if (strcmp(r.out, vec_str(v, "query")) != 0)
            fail_msg("%s: %s\n!= %s", vec_str(v, "id"), r.out, vec_str(v, "query"));
        assert_null(strstr(r.out, vec_str(v, "key")));
    }
    json_decref(all);
}

/* Mints through the CLI; the URL for path is written to url. */
static void mint_url(const char *path, char *url, size_t cap, const char *extra_opt, const char *extra_val)
{
    static struct run r;
    RUN(&r, "sas", "mint", "--account", "acct", "--key", TEST_KEY_B64, "--container", "c1", "--blob", "dir/a b.txt",
        "--permissions", "r", "--start", "2026-01-01T00:00:00Z", "--expiry", "2026-01-02T00:00:00Z", extra_opt, extra_val);
    assert_int_equal(r.code, 0);
    size_t plen = strlen(path), qlen = strcspn(r.out, "\n");
    assert_true(plen + qlen < cap);
    memcpy(url, path, plen);
    memcpy(url + plen, r.out, qlen);
    url[plen + qlen] = '\0';
}

static void verify_outcomes(void **state)
{
    static struct run r;
    char url[8192], http_url[8192];
    json_t *j;
    const char *other = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

    mint_url("https://127.0.0.1:10000/acct/c1/dir/a%20b.txt?", url, sizeof(url), "--protocol", "https");
    RUN(&r, "sas", "verify", url, "--key", TEST_KEY_B64, "--at", "2026-01-01T12:00:00Z");
    assert_int_equal(r.code, 0);
    j = json_out(&r);
    assert_true(json_is_true(json_object_get(j, "valid")));
    assert_int_equal(strlen(json_string_value(json_object_get(j, "token_id"))), SAS_TOKEN_ID_LEN);
    assert_null(json_object_get(j, "string_to_sign"));
    assert_int_equal(json_integer_value(json_object_get(j, "key")), 1);
    json_decref(j);
    assert_null(strstr(r.out, TEST_KEY_B64));

    /* --verbose adds the string to sign; the matching key may be the second */
    RUN(&r, "sas", "verify", url, "--key", other, "--key", TEST_KEY_B64, "--at", "2026-01-01T12:00:00Z", "--verbose");
    assert_int_equal(r.code, 0);
    j = json_out(&r);
    assert_string_equal(
        json_string_value(json_object_get(j, "string_to_sign")),
        "r\n2026-01-01T00:00:00Z\n2026-01-02T00:00:00Z\n/blob/acct/c1/dir/a b.txt\n\n\nhttps\n2026-10-06\nb\n\n\n\n\n\n\n");
    assert_int_equal(json_integer_value(json_object_get(j, "key")), 2);
    json_decref(j);

    /* refusals: exit 1, reason and message */
    const struct {
        const char *url, *key, *at, *method, *reason, *message;
    } cases[] = {
        {url, other, "2026-01-01T12:00:00Z", "GET", "signature_mismatch", "signature mismatch"},
        {url, TEST_KEY_B64, "2026-01-02T00:00:00Z", "GET", "expired", "expired at 2026-01-02T00:00:00Z"},
        {url, TEST_KEY_B64, "2026-01-01T12:00:00Z", "DELETE", "permission_mismatch", "permission d not granted by sp=r"},
        {http_url, TEST_KEY_B64, "2026-01-01T12:00:00Z", "GET", "protocol_mismatch", NULL},
    };
    snprintf(http_url, sizeof(http_url), "http://%s", url + 8);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        RUN(&r, "sas", "verify", cases[i].url, "--key", cases[i].key, "--at", cases[i].at, "--method", cases[i].method);
        assert_int_equal(r.code, 1);
        j = json_out(&r);
        assert_true(json_is_false(json_object_get(j, "valid")));
        assert_string_equal(json_string_value(json_object_get(j, "reason")), cases[i].reason);
        if (cases[i].message != NULL)
            assert_string_equal(json_string_value(json_object_get(j, "message")), cases[i].message);
        json_decref(j);
        assert_null(strstr(r.out, TEST_KEY_B64));
        assert_null(strstr(r.out, other));
    }

    /* sip and --client-ip */
    mint_url("https://h/acct/c1/dir/a%20b.txt?", url, sizeof(url), "--ip", "10.0.0.0-10.0.0.255");
    RUN(&r, "sas", "verify", url, "--key", TEST_KEY_B64, "--at", "2026-01-01T12:00:00Z", "--client-ip", "10.0.0.9");
    assert_int_equal(r.code, 0);
    RUN(&r, "sas", "verify", url, "--key", TEST_KEY_B64, "--at", "2026-01-01T12:00:00Z", "--client-ip", "10.0.1.9");
    assert_int_equal(r.code, 1);
    assert_non_null(strstr(r.out, "\"reason\":\"ip_mismatch\""));

    /* a blob SAS on another blob */
    mint_url("https://h/acct/c1/dir/other.txt?", url, sizeof(url), "--cache-control", "no-cache");
    RUN(&r, "sas", "verify", url, "--key", TEST_KEY_B64, "--at", "2026-01-01T12:00:00Z");
    assert_int_equal(r.code, 1);
    assert_non_null(strstr(r.out, "\"reason\":\"signature_mismatch\""));
    /* a malformed token */
    RUN(&r, "sas", "verify", "https://h/acct/c1/b?sv=2026-10-06&sp=r&sp=w", "--key", TEST_KEY_B64);
    assert_int_equal(r.code, 1);
    j = json_out(&r);
    assert_string_equal(json_string_value(json_object_get(j, "message")), "duplicate parameter sp");
    json_decref(j);
}

/* Mints a blob SAS for https://h/acct/c1/a.txt with permissions sp and appends extra ("&comp=..." or ""). */
static void blob_url(const char *sp, const char *extra, char *url, size_t cap)
{
    static struct run r;
    RUN(&r, "sas", "mint", "--account", "acct", "--key", TEST_KEY_B64, "--container", "c1", "--blob", "a.txt", "--permissions", sp,
        "--start", "2026-01-01T00:00:00Z", "--expiry", "2026-01-02T00:00:00Z");
    assert_int_equal(r.code, 0);
    snprintf(url, cap, "https://h/acct/c1/a.txt?%.*s%s", (int)strcspn(r.out, "\n"), r.out, extra);
}

/* --method POST, --copy-source and --requires-sync select the operation as the proxy does; verify names it. */
static void verify_operations(void **state)
{
    static struct run r;
    static const struct {
        const char *sp, *extra, *method, *flag1, *flag2, *want; /* want: the operation, or a reason */
        int valid;
    } cases[] = {
        {"r", "&comp=query", "POST", NULL, NULL, "Query Blob Contents", 1},
        {"r", "", "GET", NULL, NULL, "Get Blob", 1},
        {"r", "", "GET", "--copy-source", NULL, "operation_not_allowed", 0},
        {"c", "", "PUT", NULL, NULL, "Put Blob", 1},
        {"c", "", "PUT", "--copy-source", NULL, "Copy Blob or Put Blob From URL", 1},
        {"c", "", "PUT", "--copy-source", "--requires-sync", "Copy Blob From URL", 1},
        {"c", "", "PUT", "--requires-sync", NULL, "operation_not_allowed", 0},
        {"w", "&comp=block&blockid=AAAA", "PUT", "--copy-source", NULL, "Put Block From URL", 1},
        {"r", "&comp=page", "PUT", "--copy-source", NULL, "permission_mismatch", 0},
        {"c", "&comp=snapshot", "PUT", NULL, NULL, "Snapshot Blob", 1},
    };
    char url[4096];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *args[16] = {"sas",      "verify",       url, "--key", TEST_KEY_B64, "--at", "2026-01-01T12:00:00Z",
                                "--method", cases[i].method};
        size_t n = 9;
        if (cases[i].flag1 != NULL)
            args[n++] = cases[i].flag1;
        if (cases[i].flag2 != NULL)
            args[n++] = cases[i].flag2;
        args[n] = NULL;
        blob_url(cases[i].sp, cases[i].extra, url, sizeof(url));
        run(&r, args);
        json_t *j = json_out(&r);
        if (r.code != (cases[i].valid ? 0 : 1))
            fail_msg("case %zu: exit %d: %s", i, r.code, r.out);
        const char *got = json_string_value(json_object_get(j, cases[i].valid ? "operation" : "reason"));
        if (got == NULL || strcmp(got, cases[i].want) != 0)
            fail_msg("case %zu: %s, want %s", i, r.out, cases[i].want);
        json_decref(j);
        /* inspect classifies the same way (it needs no key) */
        args[1] = "inspect";
        memmove(&args[3], &args[5], sizeof(args[0]) * (n - 4));
        run(&r, args);
        j = json_out(&r);
        if (cases[i].valid) {
            assert_int_equal(r.code, 0);
            assert_string_equal(json_string_value(json_object_get(j, "operation")), cases[i].want);
        } else {
            assert_int_equal(r.code, 1);
            assert_non_null(strstr(r.out, cases[i].want));
        }
        json_decref(j);
    }
}

static void verify_usage_errors(void **state)
{
    static struct run r;
    RUN(&r, "sas", "verify", "--key", TEST_KEY_B64);
    assert_int_equal(r.code, 2);
    RUN(&r, "sas", "verify", "https://h/acct/c1/b?sv=x");
    assert_int_equal(r.code, 2);
    RUN(&r, "sas", "verify", "ftp://h/acct/c1/b?sv=x", "--key", TEST_KEY_B64);
    assert_int_equal(r.code, 2);
    RUN(&r, "sas", "verify", "https://h/acct/c1/b?sv=x", "--key", TEST_KEY_B64, "--at", "noon");
    assert_int_equal(r.code, 2);
    RUN(&r, "sas", "verify", "https://h/acct/c1/b?sv=x", "--key", TEST_KEY_B64, "--method", "PATCH");
    assert_int_equal(r.code, 2);
    RUN(&r, "sas", "verify", "https://h/acct/c1/b?sv=x", "--key", TEST_KEY_B64, "--client-ip", "10.0.0");
    assert_int_equal(r.code, 2);
    RUN(&r, "sas", "verify", "https://h/acct/c1/b?sv=x", "--key", "%%%");
    assert_int_equal(r.code, 2);
    assert_null(strstr(r.err, "%%%"));
    RUN(&r, "sas", "verify", "https://h/a?x", "https://h/b?y", "--key", TEST_KEY_B64);
    assert_int_equal(r.code, 2);
}

static void inspect_outcomes(void **state)
{
    static struct run r;
    char url[8192];
    json_t *j;
    mint_url("https://h/acct/c1/dir/a%20b.txt?", url, sizeof(url), "--content-type", "text/plain");
    RUN(&r, "sas", "inspect", url, "--at", "2026-01-01T12:00:00Z");
    assert_int_equal(r.code, 0);
    j = json_out(&r);
    assert_true(json_is_true(json_object_get(j, "ok")));
    assert_int_equal(strlen(json_string_value(json_object_get(j, "token_id"))), SAS_TOKEN_ID_LEN);
    assert_string_equal(json_string_value(json_object_get(j, "kind")), "blob");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "fields"), "rsct")), "text/plain");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "resource"), "blob")), "dir/a b.txt");
    assert_non_null(json_object_get(j, "string_to_sign"));
    json_decref(j);

    /* expired, and the wrong operation */
    RUN(&r, "sas", "inspect", url, "--at", "2026-03-01T00:00:00Z");
    assert_int_equal(r.code, 1);
    assert_non_null(strstr(r.out, "\"reason\":\"expired\""));
    RUN(&r, "sas", "inspect", url, "--at", "2026-01-01T12:00:00Z", "--method", "PUT");
    assert_int_equal(r.code, 1);
    assert_non_null(strstr(r.out, "\"reason\":\"permission_mismatch\""));

    /* malformed: still lists what it can read */
    RUN(&r, "sas", "inspect", "https://h/acct/c1/b?sv=2026-10-06&sp=r&sp=w&rscc=%zz");
    assert_int_equal(r.code, 1);
    j = json_out(&r);
    assert_true(json_is_false(json_object_get(j, "ok")));
    json_t *problems = json_object_get(j, "problems");
    assert_int_equal(json_array_size(problems), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(problems, 0), "reason")), "duplicate_param");
    json_t *params = json_object_get(j, "params");
    assert_int_equal(json_array_size(params), 4);
    assert_string_equal(json_string_value(json_object_get(json_array_get(params, 3), "raw")), "%zz");
    json_decref(j);
    RUN(&r, "sas", "inspect", "https://h/acct/c1/b?sv=2026-10-06&skoid=x&sig=abc");
    assert_int_equal(r.code, 1);
    assert_non_null(strstr(r.out, "user_delegation_unsupported"));
    RUN(&r, "sas", "inspect");
    assert_int_equal(r.code, 2);
    RUN(&r, "sas", "inspect", "https://h/acct/c1/b?x", "--key", TEST_KEY_B64);
    assert_int_equal(r.code, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(help_everywhere),   cmocka_unit_test(mint_usage_errors),   cmocka_unit_test(mint_every_vector),
        cmocka_unit_test(verify_outcomes),   cmocka_unit_test(verify_usage_errors), cmocka_unit_test(inspect_outcomes),
        cmocka_unit_test(verify_operations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
