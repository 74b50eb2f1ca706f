#!/bin/sh
# The module dependency table of DESIGN section 2, checked on the includes:
# a module includes only its own internal header, core's and store's, and
# those of the modules it may use; the public headers it includes must
# belong to one of those modules too (personalize/<module>.h). Prints each
# violation; exits 1 if there is any.
set -u
cd "$(dirname "$0")/.."
allowed() { # module -> the modules it may use (besides core and store)
  case "$1" in
    core) echo "" ;;
    store) echo "" ;;
    svec) echo "" ;;
    catalog) echo "svec" ;;
    profile) echo "catalog svec" ;;
    segment) echo "profile catalog svec" ;;
    cf) echo "profile catalog svec" ;;
    override) echo "segment profile catalog svec" ;;
    rank) echo "cf override segment profile catalog svec" ;;
    engine) echo "ALL" ;;
    *) echo "UNKNOWN" ;;
  esac
}
# the public header each module answers for (others: engine and the umbrella)
public_of() {
  case "$1" in
    personalize/override.h) echo override ;;
    personalize/segment.h) echo segment ;;
    personalize/cf.h) echo cf ;;
    personalize/rank.h) echo rank ;;
    personalize/profile.h) echo profile ;;
    personalize/catalog.h) echo catalog ;;
    personalize/svec.h) echo svec ;;
    *) echo core ;;
  esac
}
bad=0
TMPF=$(mktemp)
trap 'rm -f "$TMPF"' EXIT
for dir in lib/*/; do
  mod=$(basename "$dir")
  ok=$(allowed "$mod")
  [ "$ok" = UNKNOWN ] && { echo "lib/$mod: a module the table does not name"; bad=1; continue; }
  [ "$ok" = ALL ] && continue
  for f in "$dir"*.c "$dir"*.h; do
    [ -f "$f" ] || continue
    grep -n '^#include "' "$f" | while IFS= read -r line; do
      inc=$(echo "$line" | sed 's/.*#include "\(.*\)".*/\1/')
      case "$inc" in
        ../*/*.h) dep=$(echo "$inc" | sed 's|\.\./\([a-z]*\)/.*|\1|') ;;
        personalize/*.h) dep=$(public_of "$inc") ;;
        personalize.h) dep=ALL ;;
        *) dep=$mod ;;
      esac
      case " $mod core store $ok " in
        *" $dep "*) ;;
        *) echo "$f:${line%%:*}: $mod may not include \"$inc\" (module $dep)"; echo x >> "$TMPF" ;;
      esac
    done
  done
done
[ -s "$TMPF" ] && bad=1
exit $bad
