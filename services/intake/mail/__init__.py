"""E-mail to consumers: SMTP delivery (smtp.py), and the notices built on it."""
