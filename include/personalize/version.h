/*
 * personalize/version.h - compile-time and run-time library version.
 * The Makefile reads PZ_VERSION_MAJOR/MINOR/PATCH from this file.
 */
#ifndef PERSONALIZE_VERSION_H
#define PERSONALIZE_VERSION_H

#include "common.h"

#define PZ_VERSION_MAJOR 1
#define PZ_VERSION_MINOR 2
#define PZ_VERSION_PATCH 0
#define PZ_VERSION_NUMBER \
  (PZ_VERSION_MAJOR * 10000 + PZ_VERSION_MINOR * 100 + PZ_VERSION_PATCH)
#define PZ_VERSION_STRING "1.2.0"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * The run-time library version as MAJOR*10000 + MINOR*100 + PATCH.
 * Bindings compare pz_version_number() / 10000 with the major they expect.
 * Thread safety: any thread. Since 0.1.
 */
PZ_API unsigned int pz_version_number(void);

/**
 * The run-time library version as "MAJOR.MINOR.PATCH". The string is static
 * and never freed. Thread safety: any thread. Since 0.1.
 */
PZ_API const char *pz_version_string(void);

#ifdef __cplusplus
}
#endif
#endif /* PERSONALIZE_VERSION_H */
