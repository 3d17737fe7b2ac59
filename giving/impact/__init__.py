"""Children helped: the pseudonymous registry, its encryption, access log and public figures."""
