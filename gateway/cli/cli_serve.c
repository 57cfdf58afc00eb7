/*
 * cli_serve.c - `sasgw serve`: loads the configuration, builds the server,
 * lets the modules register their routes and hooks, and runs until SIGTERM.
 */
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sasgw/admin.h"
#include "sasgw/core/app.h"
#include "cli.h"
#include "cli_args.h"
#include "sasgw/core/config.h"
#include "sasgw/issue.h"
#include "sasgw/keyvault.h"
#include "sasgw/proxy.h"
#include "sasgw/core/server.h"

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
 * The process that listens on TCP port (any local address, IPv4 or IPv6), for
 * the message that refuses a second server: its listening sockets' inodes from
 * /proc/net/tcp and tcp6, then the /proc/PID/fd link naming one of them.
 * Writes "pid N (comm)" into out; leaves it empty when no such process can be
 * seen (one of another user, without privileges). Best effort, never fails.
 */
static void find_listener(uint16_t port, char *out, size_t cap)
{
    unsigned long inodes[16];
    size_t n = 0;
    out[0] = '\0';
    static const char *const tables[] = {"/proc/net/tcp", "/proc/net/tcp6"};
    for (size_t t = 0; t < 2; t++) {
        FILE *f = fopen(tables[t], "r");
        char line[512];
        while (f != NULL && n < sizeof(inodes) / sizeof(inodes[0]) && fgets(line, sizeof(line), f) != NULL) {
            unsigned lport, state;
            unsigned long inode;
            if (sscanf(line, " %*u: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x %*s %*s %*s %*u %*u %lu", &lport, &state, &inode) == 3 &&
                lport == port && state == 0x0A /* LISTEN */ && inode != 0)
                inodes[n++] = inode;
        }
        if (f != NULL)
            fclose(f);
    }
    DIR *proc = n > 0 ? opendir("/proc") : NULL;
    struct dirent *pe;
    while (proc != NULL && out[0] == '\0' && (pe = readdir(proc)) != NULL) {
        char *end, path[300], link[64];
        long pid = strtol(pe->d_name, &end, 10);
        if (*end != '\0' || pid <= 0 || pid == (long)getpid())
            continue;
        snprintf(path, sizeof(path), "/proc/%ld/fd", pid);
        DIR *fds = opendir(path);
        struct dirent *fe;
        while (fds != NULL && out[0] == '\0' && (fe = readdir(fds)) != NULL) {
            snprintf(path, sizeof(path), "/proc/%ld/fd/%s", pid, fe->d_name);
            ssize_t len = readlink(path, link, sizeof(link) - 1);
            unsigned long inode;
            if (len <= 0)
                continue;
            link[len] = '\0';
            if (sscanf(link, "socket:[%lu]", &inode) != 1)
                continue;
            for (size_t i = 0; i < n; i++)
                if (inodes[i] == inode) {
                    char comm[64] = "";
                    snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
                    FILE *c = fopen(path, "r");
                    if (c != NULL && fgets(comm, sizeof(comm), c) != NULL)
                        comm[strcspn(comm, "\n")] = '\0';
                    if (c != NULL)
                        fclose(c);
                    snprintf(out, cap, "pid %ld%s%s%s", pid, comm[0] != '\0' ? " (" : "", comm, comm[0] != '\0' ? ")" : "");
                    break;
                }
        }
        if (fds != NULL)
            closedir(fds);
    }
    if (proc != NULL)
        closedir(proc);
}

/*
 * Refuses to start a second server on addresses another process listens on.
 * The server's own listeners set SO_REUSEPORT (one socket per worker), which
 * would let a second `sasgw serve` share the ports silently, each getting a
 * part of the connections. So each configured address is first bound once
 * without SO_REUSEPORT (with SO_REUSEADDR, as the listeners, so a port left
 * in TIME_WAIT by a server that just stopped is no obstacle): that bind fails
 * with EADDRINUSE when anything listens there. Returns 0, or -1 with err set.
 */
static int probe_listen(const gw_listen_config_t *list, size_t n, const char *section, char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        const gw_listen_config_t *l = &list[i];
        struct sockaddr_storage ss;
        socklen_t sslen = gw_listen_sockaddr(l, &ss);
        int on = 1, fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd == -1)
            continue; /* the real listener reports it */
        int bound = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == 0 &&
                    (ss.ss_family != AF_INET6 || setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) == 0) &&
                    bind(fd, (struct sockaddr *)&ss, sslen) == 0;
        int in_use = !bound && errno == EADDRINUSE;
        close(fd);
        if (in_use) {
            int v6 = strchr(l->address, ':') != NULL;
            char who[128];
            find_listener(l->port, who, sizeof(who));
            snprintf(err, errlen,
                     "%s%s%s:%u (%s listen, line %u) is already in use: %s listens there, most likely a sasgw serve with "
                     "this configuration; stop it first (this server would share the port with it)",
                     v6 ? "[" : "", l->address, v6 ? "]" : "", l->port, section, l->line, who[0] != '\0' ? who : "another process");
            return -1;
        }
    }
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
    if (conf->keyvault.enabled && gw_keyvault_register(server, app) != 0) {
        fprintf(stderr, "sasgw: cannot register the Key Vault API\n");
        return -1;
    }
    return 0;
}

int gw_cli_serve(int argc, char **argv)
{
    /* serve's options: add a row here and read it below */
    static const gw_arg_t table[] = {{"--config", "-c", GW_ARG_VALUE},
                                     {"--threads", NULL, GW_ARG_VALUE},
                                     {"--check", NULL, GW_ARG_FLAG},
                                     {"--die-with-parent", NULL, GW_ARG_FLAG},
                                     {NULL, NULL, GW_ARG_FLAG}};
    unsigned threads = 0;
    char err[512];
    gw_args_t p;

    switch (gw_args_parse(&p, table, 0, 0, argc, argv)) {
    case GW_ARGS_OK:
        break;
    case GW_ARGS_HELP:
        usage(stdout);
        return GW_EXIT_OK;
    case GW_ARGS_E_REPEATED:
        fprintf(stderr, "sasgw serve: %.*s given twice\n\n", (int)p.bad_len, p.bad);
        usage(stderr);
        return GW_EXIT_USAGE;
    default: /* an unknown option, a missing value, a positional argument */
        fprintf(stderr, "sasgw serve: unexpected argument '%s'\n\n", p.bad);
        usage(stderr);
        return GW_EXIT_USAGE;
    }
    const char *config_path = gw_args_value(&p, "--config");
    const char *threads_arg = gw_args_value(&p, "--threads");
    int check_only = gw_args_has(&p, "--check"), with_parent = gw_args_has(&p, "--die-with-parent");
    if (threads_arg != NULL && parse_threads(threads_arg, &threads) != 0) {
        fprintf(stderr, "sasgw serve: --threads takes a number from 1 to %d\n", GW_CONFIG_MAX_THREADS);
        return GW_EXIT_USAGE;
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

    /* before anything else starts: the vault, Redis, the workers */
    if ((conf->issuer.enabled && probe_listen(conf->issuer.listen, conf->issuer.num_listen, "issuer", err, sizeof(err)) != 0) ||
        (conf->proxy.enabled && probe_listen(conf->proxy.listen, conf->proxy.num_listen, "proxy", err, sizeof(err)) != 0) ||
        (conf->keyvault.enabled &&
         probe_listen(conf->keyvault.listen, conf->keyvault.num_listen, "keyvault", err, sizeof(err)) != 0)) {
        fprintf(stderr, "sasgw: %s\n", err);
        gw_config_free(conf);
        return GW_EXIT_REFUSED;
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
