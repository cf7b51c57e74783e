/* Run-time version getters. */
#include "core/error.h"

FDEN_EXPORT const char *fden_version(void)
{
	return FDEN_VERSION_STRING;
}

FDEN_EXPORT unsigned fden_version_number(void)
{
	return FDEN_VERSION_NUMBER;
}
