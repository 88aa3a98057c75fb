/* registry.c - see registry.h. */
#include "registry.h"

#include <string.h>

extern const struct rd_collector_type rd_queuelog_type;
extern const struct rd_collector_type rd_jsonl_type;
extern const struct rd_collector_type rd_maillog_type;

static const struct rd_collector_type *const builtin[] = {&rd_queuelog_type, &rd_jsonl_type,
                                                          &rd_maillog_type};
static const char *const planned[] = {"ami", "cdr"};

const struct rd_collector_type *rd_registry_find(const char *name)
{
	for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
		if (builtin[i]->abi == RD_COLLECTOR_ABI &&
		    builtin[i]->size >= sizeof(struct rd_collector_type) &&
		    strcmp(builtin[i]->name, name) == 0)
			return builtin[i];
	return NULL;
}

int rd_registry_planned(const char *name)
{
	for (size_t i = 0; i < sizeof(planned) / sizeof(planned[0]); i++)
		if (strcmp(planned[i], name) == 0)
			return 1;
	return 0;
}
