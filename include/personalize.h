/*
 * personalize.h - libpersonalize, an embeddable personalization library.
 * The only header users need. See libpersonalize(7).
 */
#ifndef PERSONALIZE_H
#define PERSONALIZE_H

#include "personalize/common.h"
#include "personalize/version.h"
#include "personalize/errors.h"
#include "personalize/svec.h"
#include "personalize/engine.h"
#include "personalize/catalog.h"
#include "personalize/profile.h"
#include "personalize/segment.h"
#include "personalize/rank.h"
#include "personalize/cf.h"
#include "personalize/override.h"
#include "personalize/store.h"

#endif /* PERSONALIZE_H */
