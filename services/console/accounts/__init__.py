"""The console's people: accounts with roles, password hashes (argon2), sessions, lock-out, single sign-on."""
