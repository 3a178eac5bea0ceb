"""Deletion and correction instructions to service providers, contractors and third parties (§7022, §7023)."""
