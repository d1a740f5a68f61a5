#!/bin/sh
# The project image's entry point: no clinic process starts on the profile's EXAMPLE
# values (clinic_assistant/clinic/placeholders.py names them; CLINIC_DEMO=true runs a
# demo on them), then the service's own command.
set -e
python -m clinic_assistant.clinic.placeholders --refuse
exec "$@"
