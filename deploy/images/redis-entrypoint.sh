#!/bin/sh
# The entrypoint of localhost/clinic-base/redis:7 (Containerfile.redis), as the official
# redis image's: `redis-server ...` runs as the redis user.
set -e
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then set -- redis-server "$@"; fi
if [ "$1" = 'redis-server' ] && [ "$(id -u)" = '0' ]; then
  find . \! -user redis -exec chown redis '{}' +
  exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi
# The official image builds redis with protected mode off by default (it listens on
# every interface of its container; set a password for anything reachable); Debian's
# binary has it on, so without this only loopback could connect when no password is set.
if [ "$1" = 'redis-server' ]; then
  case " $* " in
    *" --protected-mode "*) ;;
    *) set -- "$@" --protected-mode no ;;
  esac
fi
exec "$@"
