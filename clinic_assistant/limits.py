"""Size limits, each defined once (issue #17). Platform limits (Messenger's 2,000
characters, an SMS segment) stay beside the channel that obeys them."""

# A request a channel refuses outright (REST 413, widget error): far above any message.
MAX_CHANNEL_MESSAGE = 20_000
# What the NLU pipeline reads: longer gets "please shorten it" (config.yml,
# PatientTextGuard max_characters; tests/test_settings_documented.py checks they agree).
MAX_READ_MESSAGE = 2_000
# A client's message id (REST and widget), used to answer a repeat from the record.
MAX_MESSAGE_ID = 100
# The widget's signed conversation token, and a REST sender name.
MAX_SESSION_TOKEN = 200
MAX_SENDER = 200
# A staff member's live reply.
MAX_STAFF_REPLY = 2_000
