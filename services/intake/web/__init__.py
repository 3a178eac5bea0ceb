"""The privacy center: server-rendered pages for consumers at /privacy/ on intake (the only public door).

Every page works without JavaScript (htmx only enhances), loads nothing from another host, is served with a strict
Content-Security-Policy, and every form carries a CSRF token (asgi-csrf)."""
