/*
 * internal.h - helpers shared by the signer's sources; not part of the public API (signer.h).
 */
#ifndef SASGW_SIGNER_INTERNAL_H
#define SASGW_SIGNER_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "sasgw/signer.h"

#if defined(__GNUC__)
#define SAS__PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define SAS__PRINTF(f, a)
#endif

/* Fills *err (when not NULL) with reason and a formatted sentence; returns reason. */
sas_reason_t sas__fail(sas_error_t *err, sas_reason_t reason, const char *fmt, ...) SAS__PRINTF(3, 4);
/*
 * Copies a value for quoting in a message: printable ASCII as is, anything
 * else as %XX, cut to fit cap (with "..." when cut). Returns out.
 */
const char *sas__quote(char *out, size_t cap, const char *s, size_t len);

/* The bound on one field's decoded length. */
size_t sas__field_max(sas_field_t field);
/* The sr value as written ("b", "bs", "bv", "c"); "" for SAS_SR_NONE. */
const char *sas__sr_name(sas_sr_t sr);

/* 1 when s[0..len) is well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF). */
int sas__utf8_valid(const char *s, size_t len);
/* 1 when s[0..len) holds a C0 control character or DEL. */
int sas__has_control(const char *s, size_t len);

/* Compares two sv strings of the form YYYY-MM-DD; also checks the form. -2 when malformed. */
int sas__version_cmp(const char *a, size_t alen, const char *b);
/* Parses a time, rounding a sub-microsecond fraction up (ceil) or down. Returns 0 or -1. */
int sas__time_parse_round(const char *s, size_t len, int round_up, sas_time_t *out);

/*
 * The checks shared by sas_token_parse() and sas_mint() once the fields are
 * in place: kind and sr, sp/ss/srt letters, spr, sip, sig (when check_sig).
 * Fills the derived members of tok.
 */
sas_reason_t sas__token_derive(sas_token_t *tok, int check_sig, sas_error_t *err);
/* sv in range and, below SAS_VERSION_WITH_SES, no ses. */
sas_reason_t sas__check_version(const sas_token_t *tok, sas_error_t *err);

#endif
