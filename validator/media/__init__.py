"""Media access: probe (container facts) and the one decode pass."""
