/* A program built only from `pkg-config fden` flags against an installed
 * libfden: the header and library versions must agree. */
#include <fden/fden.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
	const char *v = fden_version();

	printf("fden_version() = %s, FDEN_VERSION_STRING = %s\n", v, FDEN_VERSION_STRING);
	if (strcmp(v, FDEN_VERSION_STRING) != 0 || fden_version_number() != FDEN_VERSION_NUMBER)
		return 1;
	if (strcmp(fden_strerror(FDEN_E_NOMEM), "unknown status") == 0)
		return 1;
	return 0;
}
