#!/usr/bin/env bash
# Restore a Huoqiu backup made by deploy/backup.sh into an EMPTY PostgreSQL database.
#
#   deploy/restore.sh DUMP [--media MEDIA_TAR] [--target DATABASE_URL] [--create]
#
# DUMP is huoqiu-….dump (or .dump.gpg: decrypted with gpg first). The target is
# --target or $DATABASE_URL; --create creates that database first (createdb).
# The target must hold no tables: restoring over live data is refused (drop and
# recreate it deliberately). With --media the tar is unpacked into $MEDIA_ROOT (which
# must be empty). Afterwards run `python manage.py migrate` (a no-op for a dump of the
# same release) and `python manage.py check --deploy` before starting the services.
set -euo pipefail
umask 077

DUMP=""
MEDIA_TAR=""
TARGET="${DATABASE_URL:-}"
CREATE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --media) MEDIA_TAR="$2"; shift 2 ;;
    --target) TARGET="$2"; shift 2 ;;
    --create) CREATE=1; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    -*) echo "restore.sh: unknown option $1" >&2; exit 2 ;;
    *) DUMP="$1"; shift ;;
  esac
done
[ -n "$DUMP" ] || { echo "restore.sh: which dump? (restore.sh DUMP [--target URL])" >&2; exit 2; }
[ -f "$DUMP" ] || { echo "restore.sh: no such file: $DUMP" >&2; exit 2; }
[ -n "$TARGET" ] || { echo "restore.sh: no target (--target URL or DATABASE_URL)" >&2; exit 2; }

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
if [ "${DUMP%.gpg}" != "$DUMP" ]; then
  gpg --batch --yes --output "$WORK/restore.dump" --decrypt "$DUMP"
  DUMP="$WORK/restore.dump"
fi
pg_restore --list "$DUMP" >/dev/null

if [ "$CREATE" = 1 ]; then
  NAME="${TARGET##*/}"; NAME="${NAME%%\?*}"
  SERVER="${TARGET%/*}/postgres"
  psql "$SERVER" -v ON_ERROR_STOP=1 -q -c "CREATE DATABASE \"$NAME\""
fi

TABLES="$(psql "$TARGET" -Atq -c "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")"
if [ "$TABLES" != "0" ]; then
  echo "restore.sh: the target database already has $TABLES tables; refusing to restore over data" >&2
  exit 3
fi

pg_restore --no-owner --no-privileges --exit-on-error --single-transaction \
    --dbname="$TARGET" "$DUMP"

if [ -n "$MEDIA_TAR" ]; then
  : "${MEDIA_ROOT:?restore.sh: --media needs MEDIA_ROOT}"
  mkdir -p "$MEDIA_ROOT"
  if [ -n "$(ls -A "$MEDIA_ROOT")" ]; then
    echo "restore.sh: MEDIA_ROOT $MEDIA_ROOT is not empty; refusing to unpack over it" >&2
    exit 3
  fi
  tar -C "$MEDIA_ROOT" -xzf "$MEDIA_TAR"
fi

echo "restored $(psql "$TARGET" -Atq -c "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") tables into database ${TARGET##*/}"
