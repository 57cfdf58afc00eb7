/* Tests policy/policy_decide.c: each rule of a grant, deny by default, and which rule is named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "sasgw/common.h"
#include "jwt_mint.h"

static const char yaml[] =
    "principals:\n"
    "  alice:\n"
    "    auth: { basic: { secret_sha256: \"2bd806c97f0e00af1a1fc3328fa763a9269723c8db8fac4f93af71db186d6e90\" } }\n"
    "    roles: [uploader, reader, netops, acct]\n"
    "  bob:\n"
    "    auth: { basic: { secret_sha256: \"81b637d8fcd2c6da6359e6963113a1170de795e4b725b84d1e0b4cfd9ec58ce9\" } }\n"
    "    roles: [uploader]\n"
    "roles:\n"
    "  uploader:\n"
    "    grants:\n"
    "      - account: acct1\n"
    "        container: photos\n"
    "        prefix: \"users/{principal}/\"\n"
    "        permissions: rcw\n"
    "        max_ttl: 1h\n"
    "        protocol: https\n"
    "  reader:\n"
    "    grants:\n"
    "      - account: acct1\n"
    "        container: \"*\"\n"
    "        permissions: rl\n"
    "        max_ttl: 15m\n"
    "        protocol: https,http\n"
    "  netops:\n"
    "    grants:\n"
    "      - account: acct2\n"
    "        container: logs\n"
    "        permissions: racwd\n"
    "        max_ttl: 30s\n"
    "        ip: [10.0.0.0/8, 192.168.1.10-192.168.1.20, \"2001:db8::/32\"]\n"
    "  acct:\n"
    "    grants:\n"
    "      - account: acct3\n"
    "        account_sas: true\n"
    "        services: bf\n"
    "        resource_types: co\n"
    "        permissions: rlu\n"
    "        max_ttl: 1d\n";

static policy_t *policy;
static const policy_principal_t *alice, *bob;

static int setup(void **state)
{
    char err[512], h[128];
    policy = test_policy_from(yaml, err, sizeof(err));
    if (policy == NULL)
        fail_msg("%s", err);
    strcpy(h, "Basic ");
    sg_b64_encode((const uint8_t *)"alice:alice", 11, h + 6);
    assert_int_equal(policy_authenticate_basic(policy, h, &alice, err, sizeof(err)), 0);
    sg_b64_encode((const uint8_t *)"bob:bob", 7, h + 6);
    assert_int_equal(policy_authenticate_basic(policy, h, &bob, err, sizeof(err)), 0);
    return 0;
}

static int teardown(void **state)
{
    policy_release(policy);
    return 0;
}

static policy_request_t blob_req(const char *account, const char *container, const char *blob, const char *perms, uint64_t ttl)
{
    policy_request_t r = {.kind = POLICY_SAS_SERVICE,
                          .account = account,
                          .container = container,
                          .blob = blob,
                          .permissions = perms,
                          .ttl = ttl,
                          .protocol = "https",
                          .client_ip = "203.0.113.5"};
    return r;
}

static void granted(const policy_principal_t *pr, const policy_request_t *r, const char *rule)
{
    policy_decision_t d;
    if (policy_decide(pr, r, &d) != 0)
        fail_msg("refused: %s", d.message);
    assert_true(d.granted);
    assert_string_equal(d.rule, rule);
}

static void refused(const policy_principal_t *pr, const policy_request_t *r, const char *message)
{
    policy_decision_t d;
    if (policy_decide(pr, r, &d) == 0)
        fail_msg("granted by %s, expected \"%s\"", d.rule, message);
    assert_false(d.granted);
    if (strcmp(d.message, message) != 0)
        fail_msg("refused with \"%s\", expected \"%s\"", d.message, message);
}

/* Refused, with the request member the refusal is about (NULL: none). */
static void refused_about(const policy_principal_t *pr, const policy_request_t *r, const char *field)
{
    policy_decision_t d;
    assert_int_not_equal(policy_decide(pr, r, &d), 0);
    if (field == NULL)
        assert_null(d.field);
    else if (d.field == NULL || strcmp(d.field, field) != 0)
        fail_msg("refused (\"%s\") about %s, expected %s", d.message, d.field != NULL ? d.field : "nothing", field);
}

/* The field a refusal names is typed, for the issuing API's error bodies. */
static void refusal_fields(void **state)
{
    policy_request_t r = blob_req("acct1", "photos", "users/bob/a", "d", 60);
    refused_about(bob, &r, "permissions");
    r.permissions = "rr";
    refused_about(bob, &r, "permissions");
    r.permissions = "q";
    refused_about(bob, &r, NULL);
    r = blob_req("acct1", "photos", "users/bob/a", "r", 3601);
    refused_about(bob, &r, "expires_in");
    r.ttl = 60;
    r.protocol = "http";
    refused_about(bob, &r, "protocol");
    r = blob_req("acct9", "photos", "x", "r", 60);
    refused_about(alice, &r, "blob");
    r.blob = NULL;
    refused_about(alice, &r, "container");
    policy_request_t a = {.kind = POLICY_SAS_ACCOUNT,
                          .account = "acct3",
                          .permissions = "rlu",
                          .services = "q",
                          .resource_types = "co",
                          .ttl = 60,
                          .protocol = "https"};
    refused_about(alice, &a, "services");
    a.services = "b";
    a.resource_types = "s";
    refused_about(alice, &a, "resource_types");
    a.resource_types = "co";
    a.account = "acct1";
    refused_about(alice, &a, "account");
    a.services = NULL;
    refused_about(alice, &a, "account");
}

static void resource(void **state)
{
    policy_request_t r = blob_req("acct1", "photos", "users/alice/cat.jpg", "r", 60);
    granted(alice, &r, "roles.uploader.grants[0]");
    /* container "*" reaches any container of the account */
    r = blob_req("acct1", "anything", "x", "r", 60);
    granted(alice, &r, "roles.reader.grants[0]");
    /* other account: nothing covers */
    r = blob_req("acct9", "photos", "users/alice/cat.jpg", "r", 60);
    refused(alice, &r, "default: no grant covers acct9/photos/users/alice/cat.jpg");
    r = blob_req("acct2", "other", NULL, "r", 10);
    refused(alice, &r, "default: no grant covers acct2/other");
}

static void prefix_templating(void **state)
{
    policy_request_t r = blob_req("acct1", "photos", "users/bob/a.png", "w", 60);
    granted(bob, &r, "roles.uploader.grants[0]");
    /* bob's prefix is users/bob/, not users/alice/ */
    r.blob = "users/alice/a.png";
    refused(bob, &r, "default: no grant covers acct1/photos/users/alice/a.png");
    r.blob = "users/bobby/a.png";
    refused(bob, &r, "default: no grant covers acct1/photos/users/bobby/a.png");
    r.blob = "users/bob";
    refused(bob, &r, "default: no grant covers acct1/photos/users/bob");
    /* '\' is read as '/', as Azure does; dot segments are refused outright */
    r.blob = "users\\bob\\a.png";
    granted(bob, &r, "roles.uploader.grants[0]");
    r.blob = "users/bob/../alice/a.png";
    refused(bob, &r, "request: the blob name has a '.' or '..' segment");
    r.blob = "users/bob/./a";
    refused(bob, &r, "request: the blob name has a '.' or '..' segment");
    r.blob = "users/bob/..a";
    granted(bob, &r, "roles.uploader.grants[0]");
    /* a container SAS reaches every blob: a prefixed grant never covers it */
    r.blob = NULL;
    r.permissions = "r";
    refused(bob, &r, "default: no grant covers acct1/photos");
    /* alice's reader grant has no prefix: it covers the container */
    r.protocol = "https";
    granted(alice, &r, "roles.reader.grants[0]");
}

static void permissions_subset(void **state)
{
    policy_request_t r = blob_req("acct1", "photos", "users/bob/a", "d", 60);
    refused(bob, &r, "roles.uploader.grants[0]: permission d not granted (allowed rcw)");
    r.permissions = "wcr";
    granted(bob, &r, "roles.uploader.grants[0]");
    r.permissions = "rwl";
    refused(bob, &r, "roles.uploader.grants[0]: permission l not granted (allowed rcw)");
    /* the first covering grant refuses, a later one grants */
    r = blob_req("acct1", "photos", "users/alice/a", "l", 60);
    granted(alice, &r, "roles.reader.grants[0]");
    /* malformed letter sets are the request's fault */
    r.permissions = "rr";
    refused(alice, &r, "request: permission 'r' appears twice");
    r.permissions = "q";
    refused(alice, &r, "request: 'q' is not a permission letter");
    r.permissions = "";
    refused(alice, &r, "request: no permissions");
    r.permissions = "u"; /* account SAS only */
    refused(alice, &r, "request: 'u' is not a permission letter");
}

static void ttl(void **state)
{
    policy_request_t r = blob_req("acct1", "photos", "users/bob/a", "r", 3600);
    granted(bob, &r, "roles.uploader.grants[0]");
    r.ttl = 3601;
    refused(bob, &r, "roles.uploader.grants[0]: ttl 3601s exceeds max_ttl 3600s");
    r.ttl = 0;
    refused(bob, &r, "request: the ttl must be positive");
    policy_decision_t d;
    r.ttl = 10;
    assert_int_equal(policy_decide(bob, &r, &d), 0);
    assert_int_equal(d.max_ttl, 3600);
}

static void protocol(void **state)
{
    policy_decision_t d;
    policy_request_t r = blob_req("acct1", "photos", "users/bob/a", "r", 60);
    r.protocol = "https,http";
    refused(bob, &r, "roles.uploader.grants[0]: protocol https,http not allowed (https only)");
    r.protocol = "http";
    refused(bob, &r, "request: protocol must be https or https,http");
    /* unspecified: the grant's own */
    r.protocol = NULL;
    assert_int_equal(policy_decide(bob, &r, &d), 0);
    assert_string_equal(d.protocol, "https");
    r = blob_req("acct1", "other", "x", "r", 60);
    r.protocol = NULL;
    assert_int_equal(policy_decide(alice, &r, &d), 0);
    assert_string_equal(d.protocol, "https,http");
    r.protocol = "https,http";
    assert_int_equal(policy_decide(alice, &r, &d), 0);
    assert_string_equal(d.protocol, "https,http");
}

static void ip(void **state)
{
    policy_request_t r = blob_req("acct2", "logs", "l.txt", "w", 30);
    const char *inside[] = {"10.1.2.3", "10.255.255.255", "192.168.1.10", "192.168.1.20", "2001:db8::1", "::ffff:10.0.0.1"};
    const char *outside[] = {"11.0.0.0", "9.255.255.255", "192.168.1.9", "192.168.1.21", "2001:db9::1", "::1"};
    for (size_t i = 0; i < sizeof(inside) / sizeof(inside[0]); i++) {
        r.client_ip = inside[i];
        granted(alice, &r, "roles.netops.grants[0]");
    }
    for (size_t i = 0; i < sizeof(outside) / sizeof(outside[0]); i++) {
        char want[160];
        r.client_ip = outside[i];
        snprintf(want, sizeof(want), "roles.netops.grants[0]: client address %s is outside the grant's ip list", outside[i]);
        refused(alice, &r, want);
    }
    r.client_ip = NULL;
    refused(alice, &r, "roles.netops.grants[0]: the client address is unknown and the grant restricts ip");
    r.client_ip = "not-an-ip";
    refused(alice, &r, "request: the client address is not an IP address");
    r.client_ip = "10.0.0.1";
    r.ttl = 31;
    refused(alice, &r, "roles.netops.grants[0]: ttl 31s exceeds max_ttl 30s");
}

static void account_sas(void **state)
{
    policy_request_t r = {.kind = POLICY_SAS_ACCOUNT,
                          .account = "acct3",
                          .permissions = "rlu",
                          .services = "b",
                          .resource_types = "co",
                          .ttl = 86400,
                          .protocol = "https"};
    granted(alice, &r, "roles.acct.grants[0]");
    r.services = "q";
    refused(alice, &r, "roles.acct.grants[0]: service q not granted (allowed bf)");
    r.services = "fb";
    r.resource_types = "s";
    refused(alice, &r, "roles.acct.grants[0]: resource type s not granted (allowed co)");
    r.resource_types = "o";
    r.permissions = "w";
    refused(alice, &r, "roles.acct.grants[0]: permission w not granted (allowed rlu)");
    /* letters a service SAS has but an account SAS does not are not permission letters here */
    r.permissions = "rm";
    refused(alice, &r, "request: 'm' is not a permission letter");
    r.permissions = "r";
    r.services = NULL;
    refused(alice, &r, "request: an account SAS needs services (of bqtf) and resource types (of sco), none repeated");
    /* service grants never cover an account SAS, and the reverse */
    r.services = "b";
    r.account = "acct1";
    refused(alice, &r, "default: no grant allows an account SAS for acct1");
    refused(bob, &r, "default: no grant allows an account SAS for acct1");
    policy_request_t s = blob_req("acct3", "c01", "x", "r", 60);
    refused(alice, &s, "default: no grant covers acct3/c01/x");
}

static void deny_by_default(void **state)
{
    char err[512], h[128];
    const policy_principal_t *nobody = NULL;
    policy_t *p = test_policy_from(
        "principals:\n"
        "  nobody:\n"
        "    auth: { basic: { secret_sha256: \"2bd806c97f0e00af1a1fc3328fa763a9269723c8db8fac4f93af71db186d6e90\" } }\n"
        "    roles: []\n",
        err, sizeof(err));
    assert_non_null(p);
    strcpy(h, "Basic ");
    sg_b64_encode((const uint8_t *)"nobody:alice", 12, h + 6);
    assert_int_equal(policy_authenticate_basic(p, h, &nobody, err, sizeof(err)), 0);
    policy_request_t r = blob_req("acct1", "photos", "x", "r", 1);
    refused(nobody, &r, "default: no grant covers acct1/photos/x");
    refused(NULL, &r, "request: no principal or request");
    policy_decision_t d;
    assert_int_equal(policy_decide(nobody, NULL, &d), -1);
    r.container = NULL;
    refused(alice, &r, "request: no valid container name");
    r.container = "*";
    refused(alice, &r, "request: no valid container name");
    r.account = "Acct1";
    refused(alice, &r, "request: no valid storage account name");
    r.account = "acct1";
    r.container = "photos";
    r.blob = "";
    refused(alice, &r, "request: the blob name must be 1 to 1024 bytes");
    policy_release(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(refusal_fields),
        cmocka_unit_test(resource),
        cmocka_unit_test(prefix_templating),
        cmocka_unit_test(permissions_subset),
        cmocka_unit_test(ttl),
        cmocka_unit_test(protocol),
        cmocka_unit_test(ip),
        cmocka_unit_test(account_sas),
        cmocka_unit_test(deny_by_default),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
