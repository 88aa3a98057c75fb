/* registry.h - the collector types compiled into this build, by name. */
#ifndef RD_REGISTRY_H
#define RD_REGISTRY_H

#include "collector.h"

const struct rd_collector_type *rd_registry_find(const char *name);
/* 1 for a type of the contract that a later version implements (ami,
 * cdr): such a section is accepted and skipped with a
 * warning, so the documented configuration always loads. */
int rd_registry_planned(const char *name);

#endif
