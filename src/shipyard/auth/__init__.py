"""Users, API tokens, roles and per-experiment permissions for the server (off by default).

`AuthService` is the domain side: hashing, token checks and the access rules. The server
turns HTTP credentials into a call here; nothing in this package knows about HTTP.
"""

from shipyard.auth._passwords import hash_password, verify_password
from shipyard.auth._service import TOKEN_PREFIX, AccessPolicy, AuthService, hash_token

__all__ = [
    "TOKEN_PREFIX",
    "AccessPolicy",
    "AuthService",
    "hash_password",
    "hash_token",
    "verify_password",
]
