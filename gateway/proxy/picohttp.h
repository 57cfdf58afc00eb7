/*
 * picohttp.h - the picohttpparser API that libh2o-evloop 2.2.5 exports
 * (phr_parse_request, phr_parse_response, phr_decode_chunked) but does not
 * install a header for. These are the declarations of the picohttpparser
 * bundled with h2o 2.2.5 (deps/picohttpparser/picohttpparser.h); the build
 * checks the h2o version so a different ABI cannot slip in unnoticed.
 */
#ifndef SASGW_GATEWAY_PICOHTTP_H
#define SASGW_GATEWAY_PICOHTTP_H

#include <stddef.h>
#include <sys/types.h>

#include <h2o/version.h>

#if H2O_VERSION_MAJOR != 2 || H2O_VERSION_MINOR != 2
#error "picohttp.h declares the picohttpparser ABI of h2o 2.2; check it against this h2o"
#endif

struct phr_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

/* Returns the head's length, -1 when malformed, -2 when incomplete. name is NULL for a folded continuation line. */
int phr_parse_request(const char *buf, size_t len, const char **method, size_t *method_len, const char **path, size_t *path_len,
                      int *minor_version, struct phr_header *headers, size_t *num_headers, size_t last_len);
int phr_parse_response(const char *buf, size_t len, int *minor_version, int *status, const char **msg, size_t *msg_len,
                       struct phr_header *headers, size_t *num_headers, size_t last_len);

struct phr_chunked_decoder {
    size_t bytes_left_in_chunk;
    char consume_trailer; /* set to 1: trailers are consumed too */
    char _hex_count;
    char _state;
};

/*
 * Decodes chunked data in place: *bufsz in = bytes in buf, out = decoded
 * bytes now at the start of buf. Returns -2 when more is needed (everything
 * given was consumed), -1 on malformed input, or >= 0 when the body is
 * complete: the count of bytes after it, moved to buf + *bufsz.
 */
ssize_t phr_decode_chunked(struct phr_chunked_decoder *decoder, char *buf, size_t *bufsz);

#endif
