/*
 * sasgw/revocation.h - revocation's public surface (DESIGN §2): the in-memory
 * revoked set (revset), the Redis subscriber that fills it (subscriber) and
 * revocation plans (plan), and the mint the wings share (issuance). Each has its own sub-header under
 * sasgw/revocation/; include the one you use.
 */
#ifndef SASGW_REVOCATION_H
#define SASGW_REVOCATION_H

#include "sasgw/revocation/issuance.h"
#include "sasgw/revocation/plan.h"
#include "sasgw/revocation/revset.h"
#include "sasgw/revocation/subscriber.h"

#endif
