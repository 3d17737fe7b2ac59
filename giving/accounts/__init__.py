"""People and what they may do: accounts, passwords and roles."""
