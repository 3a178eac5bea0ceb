"""Synthetic monitoring of the business's own pages: `ccpa monitor gpc URL` visits a site in a headless browser with
Global Privacy Control on and checks that no sale or sharing tag leaves the page (docs/monitor.md)."""
