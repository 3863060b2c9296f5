# Start the Akita daemon in the background of this dyno (sourced at start-up).
#
# The daemon is named ${AKITA_DAEMON_NAME:-heroku}-$DYNO and listens on
# localhost:${AKITA_DAEMON_PORT:-50080}, where the middleware finds it. Set
# AKITA_DAEMON_DISABLED=1 to keep it from starting.
if [ "${AKITA_DAEMON_DISABLED:-0}" != "1" ]; then
    "$HOME/.akita/bin/akita-daemon-supervise" &
fi
