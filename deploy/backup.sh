#!/usr/bin/env bash
# Back up Huoqiu: the PostgreSQL database (pg_dump custom format) and MEDIA_ROOT
# (the original import files and error reports that import batches refer to).
#
#   deploy/backup.sh [--dir DIR] [--no-media]
#
# Reads DATABASE_URL, MEDIA_ROOT, BACKUP_DIR (default /var/backups/huoqiu),
# BACKUP_KEEP_DAYS (default 30) and optionally BACKUP_GPG_RECIPIENT from the environment
# (systemd: EnvironmentFile=/etc/huoqiu/huoqiu.env). Writes
#   DIR/huoqiu-YYYYmmdd-HHMMSS.dump      the database (pg_restore format)
#   DIR/huoqiu-YYYYmmdd-HHMMSS.media.tar.gz
#   DIR/huoqiu-YYYYmmdd-HHMMSS.sha256    checksums of both
# (each with .gpg appended when BACKUP_GPG_RECIPIENT is set), checks the dump is
# readable (pg_restore --list), deletes backups older than BACKUP_KEEP_DAYS and prints
# the dump's path. Backups hold personal data: files are created mode 0600.
set -euo pipefail
umask 077

DIR="${BACKUP_DIR:-/var/backups/huoqiu}"
MEDIA=1
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) DIR="$2"; shift 2 ;;
    --no-media) MEDIA=0; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "backup.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
: "${DATABASE_URL:?backup.sh: DATABASE_URL is not set}"
case "$DATABASE_URL" in
  postgres://*|postgresql://*) ;;
  *) echo "backup.sh: DATABASE_URL must be a PostgreSQL URL (postgres://user@host:port/name)" >&2; exit 2 ;;
esac

mkdir -p "$DIR"
STAMP="$(date +%Y%m%d-%H%M%S)"
BASE="$DIR/huoqiu-$STAMP"
DUMP="$BASE.dump"

pg_dump --format=custom --compress=6 --no-owner --no-privileges --file="$DUMP.partial" "$DATABASE_URL"
pg_restore --list "$DUMP.partial" >/dev/null   # a dump that cannot be listed is no backup
mv "$DUMP.partial" "$DUMP"
FILES=("$DUMP")

if [ "$MEDIA" = 1 ] && [ -n "${MEDIA_ROOT:-}" ] && [ -d "$MEDIA_ROOT" ]; then
  tar -C "$MEDIA_ROOT" -czf "$BASE.media.tar.gz" .
  FILES+=("$BASE.media.tar.gz")
fi

(cd "$DIR" && sha256sum "${FILES[@]##*/}" > "$BASE.sha256")
FILES+=("$BASE.sha256")

if [ -n "${BACKUP_GPG_RECIPIENT:-}" ]; then
  for file in "${FILES[@]}"; do
    gpg --batch --yes --trust-model always --recipient "$BACKUP_GPG_RECIPIENT" \
        --output "$file.gpg" --encrypt "$file"
    rm -f "$file"
  done
  DUMP="$DUMP.gpg"
fi

KEEP="${BACKUP_KEEP_DAYS:-30}"
find "$DIR" -maxdepth 1 -type f -name 'huoqiu-*' -mtime +"$KEEP" -delete

echo "$DUMP"
