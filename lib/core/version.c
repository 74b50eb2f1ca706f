#include "core.h"
#include "personalize/version.h"

PZ_API unsigned int pz_version_number(void) { return PZ_VERSION_NUMBER; }
PZ_API const char *pz_version_string(void) { return PZ_VERSION_STRING; }
