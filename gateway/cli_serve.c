/*
 * cli_serve.c - `sasgw serve`: loads the configuration, builds the server,
 * lets the modules register their routes and hooks, and runs until SIGTERM.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "admin_api.h"
#include "app.h"
#include "cli.h"
#include "config.h"
#include "issue_api.h"
#include "proxy.h"
#include "server.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: sasgw serve -c FILE [--threads N] [--check] [--die-with-parent]\n\n"
                 "Runs the issuing API and the validating proxy as FILE (conf/sasgw.yaml) describes.\n\n"
                 "  -c, --config FILE   the server configuration\n"
                 "  --threads N         worker threads (overrides 'threads:'; default one per core)\n"
                 "  --check             validate the configuration and exit\n"
                 "  --die-with-parent   stop (as on SIGTERM) when the process that started sasgw exits,\n"
                 "                      even by SIGKILL; refuse to start if it is already gone\n"
                 "  -h, --help          this text\n\n"
                 "Signals: SIGTERM or SIGINT stop gracefully, SIGHUP reloads the policy.\n");
}

static int parse_threads(const char *text, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || v == 0 || v > GW_CONFIG_MAX_THREADS)
        return -1;
    *out = (unsigned)v;
    return 0;
}

/*
 * --die-with-parent: asks the kernel for SIGTERM (the graceful stop) when the
 * parent exits, however it exits (PR_SET_PDEATHSIG). The parent may have died
 * before that call, and then the signal never comes: sasgw has been handed to
 * init (pid 1) or, between the two getppid() calls, to another process.
 * Returns 0, or -1 after printing why (the parent is gone, or prctl failed).
 */
static int die_with_parent(void)
{
    pid_t parent = getppid();
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0) {
        fprintf(stderr, "sasgw serve: --die-with-parent: prctl: %s\n", strerror(errno));
        return -1;
    }
    if (parent == 1 || getppid() != parent) {
        fprintf(stderr, "sasgw serve: --die-with-parent: the parent process is already gone\n");
        return -1;
    }
    return 0;
}

/*
 * Where the modules plug in: the app (vault, policy, keyring, Redis, audit;
 * its readiness checks and the SIGHUP policy reload), then the issuing API,
 * the admin API and the proxy register their routes, setup hooks and thread
 * modules. *app_out receives the app as soon as it exists (the caller
 * destroys it after the server). Returns 0, or -1 after printing why.
 */
static int register_modules(gw_server_t *server, const gw_config_t *conf, gw_app_t **app_out)
{
    char err[1024];
    gw_app_t *app;

    /* the shared state: vault, policy, keyring, Redis per thread, audit; readiness checks and SIGHUP */
    if ((app = gw_app_create(server, conf, err, sizeof(err))) == NULL) {
        fprintf(stderr, "sasgw: %s\n", err);
        return -1;
    }
    *app_out = app;
    if (conf->issuer.enabled) {
        if (gw_issue_api_register(server, app) != 0 || gw_admin_api_register(server, app) != 0) {
            fprintf(stderr, "sasgw: cannot register the issuer's routes\n");
            return -1;
        }
    }
    if (conf->proxy.enabled && gw_proxy_setup(server, app, err, sizeof(err)) != 0) {
        fprintf(stderr, "sasgw: proxy: %s\n", err);
        return -1;
    }
    return 0;
}

int gw_cli_serve(int argc, char **argv)
{
    const char *config_path = NULL;
    unsigned threads = 0;
    int check_only = 0, with_parent = 0;
    char err[512];

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return GW_EXIT_OK;
        } else if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc) {
            config_path = argv[++i];
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            if (parse_threads(argv[++i], &threads) != 0) {
                fprintf(stderr, "sasgw serve: --threads takes a number from 1 to %d\n", GW_CONFIG_MAX_THREADS);
                return GW_EXIT_USAGE;
            }
        } else if (strcmp(argv[i], "--check") == 0) {
            check_only = 1;
        } else if (strcmp(argv[i], "--die-with-parent") == 0) {
            with_parent = 1;
        } else {
            fprintf(stderr, "sasgw serve: unexpected argument '%s'\n\n", argv[i]);
            usage(stderr);
            return GW_EXIT_USAGE;
        }
    }
    if (config_path == NULL) {
        fprintf(stderr, "sasgw serve: -c FILE is required\n\n");
        usage(stderr);
        return GW_EXIT_USAGE;
    }
    if (with_parent && die_with_parent() != 0)
        return GW_EXIT_REFUSED;

    gw_config_t *conf = gw_config_load(config_path, err, sizeof(err));
    if (conf == NULL) {
        fprintf(stderr, "sasgw: %s\n", err);
        return GW_EXIT_REFUSED;
    }
    if (check_only) {
        printf("%s: configuration OK\n", config_path);
        gw_config_free(conf);
        return GW_EXIT_OK;
    }

    int ret = GW_EXIT_REFUSED;
    gw_server_t *server = gw_server_create(conf, threads);
    gw_app_t *app = NULL;
    if (register_modules(server, conf, &app) != 0)
        goto Exit;
    if (gw_server_start(server, err, sizeof(err)) != 0) {
        fprintf(stderr, "sasgw: %s\n", err);
        goto Exit;
    }
    gw_server_wait(server);
    ret = GW_EXIT_OK;
Exit:
    gw_server_destroy(server);
    gw_app_destroy(app);
    gw_config_free(conf);
    return ret;
}
