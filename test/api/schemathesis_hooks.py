# schemathesis hooks for test/api/fuzz.test.ts (SCHEMATHESIS_HOOKS): what a real client does and JSON Schema cannot say.
import re
import uuid

import schemathesis
from hypothesis import strategies as st

# The document's pattern for Idempotency-Key (api/support/idempotency.ts IDEMPOTENCY_KEY).
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


@schemathesis.hook
def before_call(ctx, case, kwargs):
    # A client makes one key per intended call (IETF httpapi Idempotency-Key draft); schemathesis draws the same few
    # values for different requests, which certflow rightly refuses (422 idempotency_key_reused). A valid key becomes
    # a fresh UUID. A negative case is sent as drawn: its refusal is what is checked, and an edited header would make
    # schemathesis judge it again (a case without Authorization would become positive and get the token back).
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    headers = case.headers or {}
    for name, value in list(headers.items()):
        if name.lower() == "idempotency-key" and isinstance(value, str) and IDEMPOTENCY_KEY.match(value):
            headers[name] = str(uuid.uuid4())


# The CRL's media types (PUT /previous-cas/{profile}/{fingerprint}/crl): raw bytes, which schemathesis has no
# serializer for and so filtered every example out (its filter_too_much health check).
schemathesis.openapi.media_type("application/pkix-crl", st.binary(max_size=512))
schemathesis.openapi.media_type("application/x-pem-file", st.binary(max_size=512))
