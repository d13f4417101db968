"""Hooks of the schemathesis end-to-end test (e2e_schemathesis.rs), loaded through
SCHEMATHESIS_HOOKS. schemathesis has no serializer for application/x-protobuf (remote
write): send the generated `format: binary` bytes as they are, as it does for
application/octet-stream, so the remote-write decoder gets arbitrary bytes."""

import schemathesis

schemathesis.serializer.alias("application/x-protobuf", "application/octet-stream")
