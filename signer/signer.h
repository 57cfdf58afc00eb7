/* signer.h - placeholder; the signer's public header. */
#ifndef SASGW_SIGNER_H
#define SASGW_SIGNER_H
#endif
