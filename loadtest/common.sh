# Shared by the load scripts (sourced): the work directory W, the server pid SP, a throwaway
# PostgreSQL cluster, and cleaning all of them up on exit. Set W before sourcing.
SP=""; PGDATA=""
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  [ -n "$SP" ] && kill "$SP" 2>/dev/null && wait "$SP" 2>/dev/null
  [ -n "$PGDATA" ] && as_pg pg_ctl -D "$PGDATA" stop -m fast >/dev/null 2>&1
  rm -rf "$W"
}
trap cleanup EXIT
# pg_start CORE PORT [OPTIONS]: a new cluster in $W/pg on CORE, listening on 127.0.0.1:PORT.
pg_start() {
  command -v initdb >/dev/null || export PATH=$(ls -d /usr/lib/postgresql/*/bin | tail -1):$PATH
  chmod 755 "$W"; PGDATA=$W/pg; mkdir -p "$PGDATA"; chown postgres "$W" "$PGDATA" 2>/dev/null || true
  as_pg initdb -D "$PGDATA" -A trust -U postgres >/dev/null
  taskset -c "$1" runuser -u postgres -- pg_ctl -D "$PGDATA" -o "-p $2 -k $W ${3:-}" -l "$W/pg.log" start >/dev/null
}
# pg_db PORT: a database `idnode` on the cluster at PORT; DB is set to its URL.
pg_db() { as_pg createdb -h 127.0.0.1 -p "$1" -U postgres idnode; DB="postgres://postgres@127.0.0.1:$1/idnode"; }
