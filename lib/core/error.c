/* Status text and the thread-local detail of the last failure. */
#include "core.h"

#include <stdio.h>
#include <string.h>

#define ERRMSG_CAP 512

_Thread_local int pz__unbounded;
static _Thread_local char errmsg[ERRMSG_CAP];
static _Thread_local int have_errmsg;

PZ_API const char *pz_strerror(int status) {
  switch (status) {
  case PZ_OK: return "success";
  case PZ_ERROR: return "internal error";
  case PZ_ENOMEM: return "out of memory";
  case PZ_EINVAL: return "invalid argument";
  case PZ_ENOTFOUND: return "not found";
  case PZ_EEXISTS: return "already exists";
  case PZ_EBUFS: return "buffer too small";
  case PZ_ERANGE: return "value out of range";
  case PZ_EVERSION: return "unsupported version";
  case PZ_ECONFIG: return "configuration error";
  case PZ_EIO: return "input/output error";
  case PZ_EFORMAT: return "bad format";
  case PZ_ECORRUPT: return "corrupt data";
  case PZ_ECONSENT: return "no consent for this purpose";
  case PZ_ETYPE: return "wrong type";
  case PZ_ELIMIT: return "limit exceeded";
  case PZ_EFORK: return "engine opened by another process";
  case PZ_EUSER: return "stopped by the caller";
  default: return "unknown status code";
  }
}

PZ_API const char *pz_errmsg(void) {
  return have_errmsg ? errmsg : "no error";
}

int pz__fail(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(errmsg, sizeof errmsg, fmt, ap);
  va_end(ap);
  have_errmsg = 1;
  return code;
}

int pz__oom(void) {
  static const char text[] = "out of memory";
  memcpy(errmsg, text, sizeof text);
  have_errmsg = 1;
  return PZ_ENOMEM;
}
