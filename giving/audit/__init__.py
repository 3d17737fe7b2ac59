"""An append-only record of who did what, for admins, hosts and auditors."""
